"""The scheduler inside the real `apec-bot serve`: killed with SIGKILL around a post, or run twice
on one store, a post is made exactly once.

Real processes on a real store file (a copy in tmp_path), posting to the Web API stand-in that runs
in the test process. `APEC_NOW` starts each bot's clock about two seconds before a post falls due:
the Leaders' Summit opens on 18 November 2026, so a channel subscribed in UTC to its "7d" reminder
is owed a post at 2026-11-11 09:00 UTC. Nothing here sleeps: tests wait on the stand-in's calls
(`wait_for`) or on lines the bot writes to stderr (it runs with `--debug`, so the scheduler's own
log lines and APScheduler's "executed successfully" show when a post or a tick is done).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient

from store.db import connect
from store.desk import Delivery, Desk
from tests.conftest import BOT_TOKEN, ROOT, SIGNING_SECRET, Served

T = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)  # the summit's "7d" reminder in a UTC channel
KEY = "reminder:C1:aelm-2026:2026-11-18:7d"
METADATA = {"event_type": "apec_post", "event_payload": {"key": KEY}}
SUBSCRIBED = datetime(2026, 11, 1, tzinfo=UTC)

POSTED = re.compile(rf"posted reminder {re.escape(KEY)} to C1")
# APScheduler's line once a tick (the first at start-up, or one after a change) has run to its end:
# the lease taken or refused, claims left by a crash resolved, whatever was due sent.
TICK_DONE = re.compile(r'Job "Scheduler\.tick \(.*executed successfully')
WAIT = 30.0  # generous bound for anything a bot does (each is done in well under a second)


class Bot:
    """One `apec-bot --debug serve` process; its stderr is read as it comes, line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--debug", "serve", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.pid = self.proc.pid
        self.lines: list[str] = []
        self.ended = False
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._base = ""

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # drained all along: a full pipe would block the bot
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self.ended = True
            self._cond.notify_all()

    def wait_line(self, pattern: re.Pattern[str], count: int = 1) -> list[str]:
        """Block until `count` stderr lines match; the matching lines."""

        def found() -> list[str]:
            return [line for line in self.lines if pattern.search(line)]

        with self._cond:
            self._cond.wait_for(lambda: len(found()) >= count or self.ended, WAIT)
            seen = found()
            if len(seen) >= count:
                return seen
            tail = "".join(self.lines[-40:])
        raise AssertionError(
            f"bot {self.pid}: {len(seen)} of {count} line(s) matching {pattern.pattern!r} "
            f"({'exited' if self.ended else 'still running'}); last lines:\n{tail}"
        )

    @property
    def served(self) -> Served:
        """Its HTTP front, once it says where it listens."""
        if not self._base:
            (line, *_) = self.wait_line(re.compile(r"serving HTTP on http://[\d.]+:\d+"))
            found = re.search(r"(http://[\d.]+:\d+)", line)
            assert found
            self._base = found.group(1)
        return Served(self._base, SIGNING_SECRET)

    def health(self) -> tuple[int, dict]:
        status, body = self.served.get("/healthz")
        return status, json.loads(body)

    def kill(self) -> None:
        """SIGKILL, and reap it: a zombie's pid looks alive to the next scheduler."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=WAIT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=WAIT)
        self._reader.join(timeout=5)


class Bots:
    """Starts bots on one store against the stand-in; every one is stopped and reaped at the end."""

    def __init__(self, db_path: Path, api_url: str) -> None:
        self.db_path = db_path
        self.api_url = api_url
        self.started: list[Bot] = []

    def start(self, now: datetime, **env: str) -> Bot:
        """A bot whose clock starts at `now`; `env` adds variables (APEC_HOST_ID=..., ...)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
        bot = Bot(
            {
                **base,
                "APEC_DB": str(self.db_path),
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": self.api_url,
                "APEC_NOW": now.isoformat(),
                "APEC_WORKERS": "1",  # one process each: the tests freeze and kill it by its pid
                **env,
            }
        )
        self.started.append(bot)
        return bot


def subscribe(db_path: Path) -> None:
    """C1 wants the summit's "7d" reminder, at 09:00 UTC."""
    db = connect(db_path)
    try:
        Desk(db).subscribe_reminders("C1", "UTC", ("7d",), ("summit",), "U1", now=SUBSCRIBED)
    finally:
        db.close()


def delivery(db_path: Path, key: str = KEY) -> Delivery | None:
    db = connect(db_path)
    try:
        return Desk(db).delivery(key)
    finally:
        db.close()


def lease_pid(db_path: Path) -> int | None:
    db = connect(db_path)
    try:
        lease = Desk(db).lease()
        return lease[2] if lease else None
    finally:
        db.close()


# -- the stand-in can hold an answer -----------------------------------------------------------


def test_a_delayed_answer_is_recorded_and_stored_before_it_is_held(web_api):
    web_api.delay("chat.postMessage", 30)
    client = WebClient(token=BOT_TOKEN, base_url=web_api.url, timeout=0.5)
    client.retry_handlers.clear()  # one try: the held answer must time out, not be asked again
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="held")
    assert [c.params["text"] for c in web_api.calls_to("chat.postMessage")] == ["held"]
    assert [m["text"] for m in web_api.history("C1")] == ["held"]
    again = client.chat_postMessage(channel="C1", text="answered")  # times=1: the next is not held
    assert again["ok"] and [m["text"] for m in web_api.history("C1")] == ["answered", "held"]


# -- killed and started again ------------------------------------------------------------------


@pytest.mark.parametrize("when", ["after the store recorded it", "as soon as Slack has it"])
def test_killed_right_after_a_post_the_restarted_bot_does_not_post_it_again(
    db_path, web_api, bots, when
):
    subscribe(db_path)
    first = bots.start(T - timedelta(seconds=2))
    web_api.wait_for("chat.postMessage", timeout=WAIT)
    if when == "after the store recorded it":
        first.wait_line(POSTED)  # logged after the ts is recorded
    first.kill()
    if when == "after the store recorded it":
        assert delivery(db_path).status == "sent"

    second = bots.start(T + timedelta(seconds=5))  # back 5 s after the post was due
    second.wait_line(TICK_DONE)
    status, health = second.health()
    assert status == 200 and health["scheduler"] == "posting"
    assert lease_pid(db_path) == second.pid  # took the lease of the dead process at once

    (post,) = web_api.posts()
    assert post["channel"] == "C1" and post["metadata"] == METADATA
    assert len(web_api.calls_to("chat.postMessage")) == 1
    if when == "after the store recorded it":
        assert web_api.calls_to("conversations.history") == []  # nothing was left in doubt
    entry = delivery(db_path)
    assert entry.status == "sent" and entry.ts == web_api.history("C1")[0]["ts"]
    assert not entry.late


def test_killed_while_the_post_is_in_flight_recovery_finds_it_in_the_channel(
    db_path, web_api, bots
):
    subscribe(db_path)
    web_api.delay("chat.postMessage", 30)  # posted and stored, the answer held: the bot dies first
    first = bots.start(T - timedelta(seconds=2))
    web_api.wait_for("chat.postMessage", timeout=WAIT)
    first.kill()
    left = delivery(db_path)
    assert left.status == "claimed" and left.ts is None
    assert left.holder.split(":")[1] == str(first.pid)

    second = bots.start(T + timedelta(seconds=10))
    second.wait_line(TICK_DONE)
    second.wait_line(re.compile(rf"found {re.escape(KEY)} already posted in C1"))

    assert len(web_api.calls_to("chat.postMessage")) == 1
    (look,) = web_api.calls_to("conversations.history")
    assert look.params["channel"] == "C1"
    assert float(look.params["oldest"]) <= float(web_api.history("C1")[0]["ts"])
    entry = delivery(db_path)
    assert entry.status == "sent" and entry.ts == web_api.history("C1")[0]["ts"]
    assert entry.holder.split(":")[1] == str(second.pid)
    status, health = second.health()
    assert status == 200 and health["scheduler"] == "posting"


# -- two processes, one store ------------------------------------------------------------------


def test_two_serve_processes_on_one_store_post_once(db_path, web_api, bots):
    subscribe(db_path)
    both = [bots.start(T - timedelta(seconds=3)) for _ in range(2)]  # both started, then waited on
    for bot in both:
        bot.wait_line(TICK_DONE)
    web_api.wait_for("chat.postMessage", timeout=WAIT)
    holder = lease_pid(db_path)
    (leader,) = [bot for bot in both if bot.pid == holder]
    (standby,) = [bot for bot in both if bot is not leader]
    leader.wait_line(POSTED)

    for bot, role in ((leader, "posting"), (standby, "standby")):
        status, health = bot.health()
        assert status == 200 and health["ok"] and health["scheduler"] == role
    # A change made through either re-derives at once, after the post's time: still one post.
    for bot, channel in ((standby, "C8"), (leader, "C9")):
        status, body = bot.served.command("subscribe reminders som", channel=channel)
        assert status == 200 and "now gets" in json.loads(body)["text"], (status, body)
        bot.wait_line(TICK_DONE, count=2)

    (post,) = web_api.posts()
    assert post["channel"] == "C1" and post["metadata"] == METADATA
    assert len(web_api.calls_to("chat.postMessage")) == 1
    entry = delivery(db_path)
    assert entry.status == "sent" and entry.ts == web_api.history("C1")[0]["ts"]
    assert entry.holder.split(":")[1] == str(leader.pid)
    assert standby.health()[1]["scheduler"] == "standby" and lease_pid(db_path) == leader.pid


def test_two_schedulers_taking_the_lease_at_the_same_moment_neither_fails(db_path):
    first = Desk(connect(db_path))
    took: dict[str, bool | Exception] = {}
    threads: list[threading.Thread] = []

    def take(name: str, desk: Desk | None = None) -> None:
        desk = desk or Desk(connect(db_path))  # another connection, as another process has
        try:
            took[name] = desk.acquire_lease(name, "host", 1, time.time(), 90.0)
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            took[name] = exc
        finally:
            if desk is not first:
                desk.db.close()

    def meanwhile(sql: str) -> None:
        """Just before the first writes the lease, the second takes it (given half a second)."""
        if sql.lstrip().startswith("INSERT INTO scheduler_lease"):
            first.db.conn.set_trace_callback(None)
            other = threading.Thread(target=take, args=("second",))
            other.start()
            other.join(timeout=0.5)  # had the first taken the write lock first, this one waits
            threads.append(other)

    first.db.conn.set_trace_callback(meanwhile)
    take("first", first)
    for thread in threads:
        thread.join(timeout=WAIT)
    first.db.close()
    assert sorted(took.values(), key=repr) == [False, True], took


# -- down across the due time ------------------------------------------------------------------


def test_missed_while_down_what_is_still_useful_is_posted_late_the_rest_skipped_with_a_reason(
    db_path, web_api, bots
):
    now = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # the summit opened at 16:00 UTC yesterday
    db = connect(db_path)
    try:
        desk = Desk(db)
        late = desk.add_one_off(
            "C1", now - timedelta(hours=2), "UTC", "Brief the team", "U1", SUBSCRIBED
        )
        stale = desk.add_one_off(
            "C1", now - timedelta(hours=14), "UTC", "Old news", "U1", SUBSCRIBED
        )
        soon = desk.add_one_off(
            "C3", now - timedelta(seconds=60), "UTC", "Just now", "U1", SUBSCRIBED
        )
        # "0d" in UTC is 09:00 UTC on 18 November, hours after the summit opened in Shenzhen
        desk.subscribe_reminders("C2", "UTC", ("0d",), ("summit",), "U1", now=SUBSCRIBED)
        desk.subscribe_digest("C4", "UTC", "daily", 0, "09:00", "U1", now - timedelta(hours=22))
    finally:
        db.close()

    bot = bots.start(now)
    bot.wait_line(TICK_DONE)

    (one_off,) = web_api.posts("C1")
    assert "Brief the team" in one_off["text"] and "Posted late" in one_off["text"]
    (digest,) = web_api.posts("C4")
    assert "APEC digest" in digest["text"] and "Posted late" in digest["text"]
    (just_now,) = web_api.posts("C3")  # a minute is within the on-time margin: not marked late
    assert "Just now" in just_now["text"] and "late" not in just_now["text"].lower()
    assert web_api.posts("C2") == []
    assert len(web_api.calls_to("chat.postMessage")) == 3

    assert delivery(db_path, f"one-off:{late}").late
    assert delivery(db_path, "digest:C4:2026-11-18").late
    assert not delivery(db_path, f"one-off:{soon}").late
    skipped = {
        key: delivery(db_path, key)
        for key in (f"one-off:{stale}", "reminder:C2:aelm-2026:2026-11-18:0d")
    }
    assert {k: (d.status, d.error) for k, d in skipped.items()} == {
        f"one-off:{stale}": ("skipped", "missed while the bot was down: more than 12 hours late"),
        "reminder:C2:aelm-2026:2026-11-18:0d": (
            "skipped",
            "missed while the bot was down: the meeting has begun",
        ),
    }
    assert delivery(db_path, "digest:C4:2026-11-17") is None  # due before it was subscribed
