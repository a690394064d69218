"""Slow and strange faults in delivery: each post is still made exactly once.

A real store in tmp_path, the real `SlackPoster` (a real slack_sdk client with a short timeout) and
the Web API stand-in, which can post and then hold its answer past the client's timeout, post and
then answer 500, refuse with 500, or answer 429 with a long Retry-After. Leases and claims run on an
injected wall clock (`Wall`) where a test needs time to pass, so nothing here sleeps; the tests with
two schedulers or two `apec-bot serve` processes run in real time on a short lease and wait on
conditions. Every test counts the messages Slack holds per key and reports the counts.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient

from bot.clock import Clock as RunningClock
from bot.posting import SlackPoster
from bot.scheduler import POST_TIMEOUT, Engine, Outcome, Scheduler, Timing
from store import schema
from store.db import connect
from store.desk import Desk
from tests.conftest import BOT_TOKEN, Clock, at
from tests.test_serve_scheduler import Bots, delivery, lease_pid

UTC_ZONE = ZoneInfo("UTC")
SUMMIT_7D = at("2026-11-11T09:00:00+00:00")  # 7 days before the Leaders' Summit, 09:00 UTC
KEY = "reminder:C1:aelm-2026:2026-11-18:7d"
TIMEOUT = 0.5  # the posting client's timeout in these tests (10 s in production)


class Wall:
    """An injected wall clock (seconds), started at the real time: Slack's ts stay comparable."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def desk(db_path: Path):
    db = connect(db_path)
    yield Desk(db)
    db.close()


def poster(web_api, timeout: float = TIMEOUT, **kw) -> SlackPoster:
    """The real poster on a real client with a short timeout."""
    return SlackPoster(WebClient(token=BOT_TOKEN, base_url=web_api.url, timeout=timeout), **kw)


def engine(stores, web_api, clock, wall=time.time, host="host-a", **kw) -> Engine:
    """An engine of one host posting through `poster`."""
    return Engine(stores, poster(web_api), clock, UTC_ZONE, wall=wall, host=host, **kw)


def subscribe(desk: Desk, *channels: str) -> None:
    for channel in channels or ("C1",):
        desk.subscribe_reminders(
            channel, "UTC", ("7d",), ("summit",), "U1", at("2026-11-01T00:00+00:00")
        )


def counted(web_api, reports: list[str], what: str) -> dict[str, int]:
    """Messages Slack holds per key, reported at the end of the run."""
    counts = dict(sorted(web_api.posted_keys().items()))
    reports.append(f"posts per key, {what}: {counts}")
    return counts


# -- unknown outcomes are looked for before anything is sent again ------------------------------


def test_a_post_answered_after_the_client_timeout_is_recorded_sent_after_the_history_check(
    stores, desk, web_api, reports
):
    subscribe(desk)
    web_api.answer_late("chat.postMessage", 30)  # Slack posts it, the answer comes too late
    wall = Wall()
    bot = engine(stores, web_api, Clock(SUMMIT_7D), wall)
    assert bot.hold_lease()

    assert bot.run_due().unknown == [KEY]
    entry = desk.delivery(KEY)
    assert (entry.status, entry.holder, entry.attempted_at) == ("unknown", bot.holder, wall.now)
    assert bot.recover() == [] and bot.run_due().sent == []  # too soon to trust the history
    assert web_api.calls_to("conversations.history") == []

    wall.advance(POST_TIMEOUT)
    assert bot.recover() == [KEY]
    entry = desk.delivery(KEY)
    assert entry.status == "sent" and entry.ts == web_api.history("C1")[0]["ts"]
    assert len(web_api.calls_to("conversations.history")) == 1
    assert len(web_api.calls_to("chat.postMessage")) == 1
    assert counted(web_api, reports, "answered after the client's timeout") == {KEY: 1}


@pytest.mark.parametrize(
    "fault, calls",
    [
        ("500 having posted", 1),
        ("503 having posted", 1),
        ("internal_error having posted", 1),  # HTTP 200: Slack says part of it may have happened
        ("500 without posting", 2),
        ("held 500 without posting", 2),  # the client times out; nothing was posted
    ],
)
def test_a_5xx_is_looked_for_before_it_is_sent_again(stores, desk, web_api, reports, fault, calls):
    subscribe(desk)
    method = "chat.postMessage"
    if fault.endswith("having posted"):
        status = 200 if fault.startswith("internal_error") else int(fault[:3])
        web_api.fail_after_posting(method, "internal_error", status=status)
    elif fault.startswith("held"):
        web_api.answer_with(method, status=500, error="internal_error", hold=30)
    else:
        web_api.fail(method, "internal_error", status=500)
    wall = Wall()
    bot = engine(stores, web_api, Clock(SUMMIT_7D + timedelta(seconds=5)), wall)
    assert bot.hold_lease()

    assert bot.run_due().unknown == [KEY] and desk.delivery(KEY).status == "unknown"
    wall.advance(POST_TIMEOUT)
    assert bot.recover() == [KEY]

    entry = desk.delivery(KEY)
    assert entry.status == "sent" and entry.ts == web_api.history("C1")[0]["ts"]
    assert len(web_api.calls_to(method)) == calls
    assert counted(web_api, reports, fault) == {KEY: 1}


def test_an_unknown_outcome_not_found_and_no_longer_useful_is_given_up_with_the_reason(
    stores, desk, web_api
):
    wall, clock = Wall(), Clock(SUMMIT_7D)
    desk.add_one_off("C1", clock.now, "UTC", "call Seoul", "U1", clock.now)
    web_api.fail("chat.postMessage", "internal_error", status=500)
    bot = engine(stores, web_api, clock, wall)
    assert bot.hold_lease()
    assert bot.run_due().unknown == ["one-off:1"]
    clock.advance(hours=13)  # the bot could not look for it until too late to be worth sending
    wall.advance(POST_TIMEOUT)
    assert bot.recover() == ["one-off:1"]
    entry = desk.delivery("one-off:1")
    assert entry.status == "failed" and "more than 12 hours late" in entry.error
    assert web_api.posted_keys() == {} and len(web_api.calls_to("chat.postMessage")) == 1


def test_the_scheduler_looks_for_an_unknown_outcome_on_its_own_once_the_grace_is_over(
    stores, desk, web_api, reports
):
    subscribe(desk)
    web_api.answer_late("chat.postMessage", 30)
    timing = Timing(lease_ttl=3.0, post_timeout=0.5)
    scheduler = Scheduler(engine(stores, web_api, RunningClock(SUMMIT_7D), timing=timing))
    scheduler.start()
    try:
        web_api.wait_for("conversations.history", timeout=15)
    finally:
        scheduler.stop()  # returns once the run under way has recorded what it found
    assert desk.delivery(KEY).status == "sent"
    assert counted(web_api, reports, "resolved by the scheduler's own look") == {KEY: 1}


def test_a_long_retry_after_is_a_refusal_tried_on_a_later_run_not_a_wait(stores, desk, web_api):
    subscribe(desk)
    web_api.rate_limit("chat.postMessage", times=1, retry_after=20)
    bot = engine(stores, web_api, Clock(SUMMIT_7D), Wall())
    assert bot.hold_lease()
    assert bot.run_due().failed == [KEY]
    assert desk.delivery(KEY).status == "retry" and web_api.posted_keys() == {}
    assert [c.status for c in web_api.calls_to("chat.postMessage")] == [429]  # not waited out
    assert bot.run_due().sent == [KEY] and web_api.posted_keys() == {KEY: 1}


# -- the lease: claims and results only while this scheduler holds it ---------------------------


def test_a_scheduler_that_lost_its_lease_unawares_claims_nothing(stores, desk, web_api):
    subscribe(desk)
    wall, clock = Wall(), Clock(SUMMIT_7D)
    frozen = engine(stores, web_api, clock, wall, host="host-a")
    assert frozen.hold_lease()
    wall.advance(frozen.timing.lease_ttl + 1)  # frozen past its lease: the standby takes it
    standby = engine(stores, web_api, clock, wall, host="host-b")
    assert standby.hold_lease()

    assert frozen.leader  # what it last believed
    assert frozen.run_due() == Outcome()  # no claim, no skip, no post
    assert desk.delivery(KEY) is None and web_api.calls_to("chat.postMessage") == []
    assert standby.run_due().sent == [KEY]
    assert web_api.posted_keys() == {KEY: 1}


def test_a_result_for_a_claim_taken_over_meanwhile_is_dropped_not_recorded(
    stores, desk, web_api, reports, caplog
):
    subscribe(desk)
    web_api.answer_late("chat.postMessage", 60)  # posted; the answer held until the stub stops
    wall, clock = Wall(), Clock(SUMMIT_7D)
    frozen = Engine(stores, poster(web_api, timeout=30), clock, UTC_ZONE, wall=wall, host="a")
    assert frozen.hold_lease()
    worker = threading.Thread(target=frozen.run_due)
    worker.start()
    web_api.wait_for("chat.postMessage")

    wall.advance(frozen.timing.lease_ttl + 1)  # its lease and its claim run out while it waits
    standby = engine(stores, web_api, clock, wall, host="b")
    assert standby.hold_lease()
    assert standby.recover() == [KEY]
    assert desk.delivery(KEY).holder == standby.holder
    web_api.stop()  # the held answer reaches the frozen one at last
    worker.join(10)

    entry = desk.delivery(KEY)
    assert entry.status == "sent" and entry.holder == standby.holder
    assert f"result for {KEY} dropped" in caplog.text
    assert counted(web_api, reports, "answer after a take-over") == {KEY: 1}


def test_a_standby_leaves_a_claim_alone_while_its_holder_holds_a_live_lease(stores, desk, web_api):
    subscribe(desk)
    wall, clock = Wall(), Clock(SUMMIT_7D)
    leader = engine(stores, web_api, clock, wall, host="host-a")
    assert leader.hold_lease()
    desk.claim(KEY, "C1", "reminder", "aelm-2026", SUMMIT_7D, leader.holder, wall(), leased=True)
    wall.advance(POST_TIMEOUT + 1)  # the claim is old, but its holder still renews
    assert leader.hold_lease()
    standby = engine(stores, web_api, clock, wall, host="host-b")
    assert not standby.hold_lease() and standby.recover() == []
    # Asked directly, the store refuses too: the take-over needs the taker's own live lease.
    assert not desk.take_over(KEY, leader.holder, standby.holder, wall(), min_age=0, dead=False)
    assert desk.delivery(KEY).holder == leader.holder
    assert web_api.calls_to("conversations.history") == []


def _two_hosts(stores, web_api, timing: Timing, **poster_kw) -> tuple[Scheduler, Scheduler]:
    """A leader on host-a and a standby on host-b, each a real scheduler on the one store."""
    clock = RunningClock(SUMMIT_7D)
    made = []
    for host in ("host-a", "host-b"):
        bot = Engine(
            stores, poster(web_api, **poster_kw), clock, UTC_ZONE, host=host, timing=timing
        )
        made.append(Scheduler(bot))
    assert made[0].engine.hold_lease() and not made[1].engine.hold_lease()
    return made[0], made[1]


def _stop(standby: Scheduler, leader: Scheduler) -> None:
    standby.stop()  # first: a standby still running would take the lease the leader gives up
    leader.stop()


def test_long_429s_never_let_the_lease_lapse_and_the_standby_never_posts(
    stores, desk, web_api, reports, caplog
):
    subscribe(desk, "C1", "C2", "C3")
    web_api.rate_limit("chat.postMessage", times=4, retry_after=20)
    timing = Timing(tick=0.3, lease_ttl=2.4, post_timeout=1.6)
    leader, standby = _two_hosts(stores, web_api, timing)
    for scheduler in (leader, standby):
        scheduler.start()
    try:
        calls = web_api.wait_for("chat.postMessage", count=4 + 3, timeout=30)
    finally:
        _stop(standby, leader)

    assert [c.status for c in calls[:4]] == [429] * 4 and all(c.status == 200 for c in calls[4:])
    assert leader.engine.lapses == 0
    assert f"scheduler {standby.engine.holder} holds the lease" not in caplog.text
    entries = [desk.delivery(f"reminder:{c}:aelm-2026:2026-11-18:7d") for c in ("C1", "C2", "C3")]
    assert all(e.status == "sent" and e.holder == leader.engine.holder for e in entries)
    counts = counted(web_api, reports, "four 429s of Retry-After 20 s, two hosts")
    assert sorted(counts.values()) == [1, 1, 1]


def test_a_short_retry_after_is_waited_out_while_the_lease_renews_on_its_own(
    stores, desk, web_api, reports, caplog
):
    subscribe(desk)
    web_api.rate_limit("chat.postMessage", times=3, retry_after=1)
    timing = Timing(lease_ttl=2.4, post_timeout=1.6)
    leader, standby = _two_hosts(stores, web_api, timing, waits=3)
    for scheduler in (leader, standby):
        scheduler.start()
    try:
        calls = web_api.wait_for("chat.postMessage", count=4, timeout=30)
    finally:
        _stop(standby, leader)

    assert [c.status for c in calls] == [429, 429, 429, 200]
    assert calls[-1].at - calls[0].at > timing.lease_ttl  # one post waited longer than a lease
    assert leader.engine.lapses == 0
    assert f"scheduler {standby.engine.holder} holds the lease" not in caplog.text
    assert desk.delivery(KEY).status == "sent"
    assert counted(web_api, reports, "three 429s of Retry-After 1 s, two hosts") == {KEY: 1}


# -- two `apec-bot serve` processes as two hosts: the leader frozen mid-post -------------------


T = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)  # the summit's "7d" reminder in a UTC channel
FOUND = re.compile(rf"found {re.escape(KEY)} already posted in C1")
DROPPED = re.compile(rf"result for {re.escape(KEY)} dropped")
STANDING_BY = re.compile(r"lost the lease: standing by")


def test_a_leader_frozen_past_its_lease_mid_post_then_resumed_posts_each_key_once(
    db_path, web_api, bots: Bots, reports
):
    db = connect(db_path)
    try:
        subscribe(Desk(db))
        later = Desk(db).add_one_off("C2", T + timedelta(seconds=4), "UTC", "Brief", "U1", T)
    finally:
        db.close()
    web_api.answer_late("chat.postMessage", 60)  # the first post is made; its answer is held
    lease = {"APEC_LEASE_TTL": "3"}  # renewed every second; a claim is taken after 2 s
    leader = bots.start(T - timedelta(seconds=2), APEC_HOST_ID="host-a", **lease)
    # Frozen the moment Slack has its post, before its 2 s post timeout can run out: on a loaded
    # machine a SIGSTOP sent after the test saw the post came late, and the leader had already
    # found its own post and recorded it (nothing left for the standby to resolve).
    # (Its first tick may be the one that posts: no waiting for that tick to end.)
    web_api.on_call("chat.postMessage", lambda call: leader.proc.send_signal(signal.SIGSTOP))
    web_api.wait_for("chat.postMessage", timeout=30)
    assert lease_pid(db_path) == leader.pid
    standby = bots.start(T - timedelta(seconds=2), APEC_HOST_ID="host-b", **lease)
    try:
        standby.wait_line(FOUND)
        web_api.wait_for("chat.postMessage", count=2, timeout=30)  # the one-off, by the standby
        web_api.release_held()  # Slack's answer to the frozen leader's post waits in its socket
    finally:
        leader.proc.send_signal(signal.SIGCONT)
    leader.wait_line(DROPPED)
    leader.wait_line(STANDING_BY)
    leader.stop()
    standby.stop()

    counts = counted(web_api, reports, "serve leader frozen with SIGSTOP mid-post, resumed")
    assert counts == {KEY: 1, f"one-off:{later}": 1}
    assert len(web_api.calls_to("chat.postMessage")) == 2
    for key in (KEY, f"one-off:{later}"):
        entry = delivery(db_path, key)
        assert entry.status == "sent" and entry.holder.startswith(f"host-b:{standby.pid}:")
    assert delivery(db_path).ts == web_api.history("C1")[0]["ts"]


# -- the store: a column added to an existing store --------------------------------------------


def test_an_existing_store_without_attempted_at_gains_it_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        """CREATE TABLE deliveries (key TEXT PRIMARY KEY, channel TEXT NOT NULL, kind TEXT NOT NULL,
               meeting_id TEXT NOT NULL DEFAULT '', due_at TEXT NOT NULL, status TEXT NOT NULL,
               holder TEXT NOT NULL DEFAULT '', claimed_at REAL NOT NULL DEFAULT 0, ts TEXT,
               late INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
               error TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL DEFAULT '')"""
    )
    old.execute(
        "INSERT INTO deliveries (key, channel, kind, due_at, status, ts) "
        "VALUES ('k', 'C1', 'reminder', '2026-11-11T09:00:00+00:00', 'sent', '1.2')"
    )
    old.commit()
    old.close()

    db = connect(path)
    schema.ensure(db)
    schema.ensure(db)  # twice: nothing added again
    entry = Desk(db).delivery("k")
    assert (entry.status, entry.ts, entry.attempted_at) == ("sent", "1.2", 0.0)
    assert [c for c in db["deliveries"].columns_dict if c == "attempted_at"] == ["attempted_at"]
    db.close()


class FreezingWall(Wall):
    """A wall clock under which the leader freezes once, right after its claim is in the store:
    time jumps past its lease and the post timeout, and `meanwhile` (a standby's work) runs."""

    def __init__(self, db_path: Path, key: str, jump: float) -> None:
        super().__init__()
        self.db_path, self.key, self.jump = db_path, key, jump
        self.meanwhile = lambda: None
        self.frozen = False

    def __call__(self) -> float:
        if not self.frozen and self._claimed():
            self.frozen = True  # once, and not again from inside `meanwhile`
            self.now += self.jump
            self.meanwhile()
        return self.now

    def _claimed(self) -> bool:
        conn = sqlite3.connect(self.db_path)
        try:
            row = conn.execute("SELECT status FROM deliveries WHERE key = ?", [self.key]).fetchone()
        finally:
            conn.close()
        return row is not None and row[0] == "claimed"


def test_a_leader_frozen_between_its_claim_and_the_send_posts_nothing_after_a_take_over(
    stores, db_path, desk, web_api, reports
):
    subscribe(desk)
    clock = Clock(SUMMIT_7D)
    timing = Timing()
    wall = FreezingWall(db_path, KEY, timing.lease_ttl + timing.post_timeout + 1)
    leader = engine(stores, web_api, clock, wall, host="host-a")
    standby = engine(stores, web_api, clock, wall, host="host-b")
    assert leader.hold_lease()

    def standby_takes_over() -> None:
        assert standby.hold_lease()  # the leader's lease lapsed while it was frozen
        assert standby.recover() == [KEY]  # not in the channel: the standby sends it

    wall.meanwhile = standby_takes_over
    outcome = leader.run_due()  # claims, freezes, wakes, and must find its claim gone

    assert wall.frozen and outcome.sent == []
    entry = desk.delivery(KEY)
    assert entry.status == "sent" and entry.holder == standby.holder
    assert counted(web_api, reports, "leader frozen between claim and send") == {KEY: 1}


def test_a_leader_whose_lease_lapsed_between_claim_and_send_leaves_the_claim_to_be_resolved(
    stores, db_path, desk, web_api
):
    subscribe(desk)
    clock = Clock(SUMMIT_7D)
    wall = FreezingWall(db_path, KEY, Timing().lease_ttl + 1)
    leader = engine(stores, web_api, clock, wall, host="host-a")
    assert leader.hold_lease()
    assert leader.run_due().sent == []  # woke past its lease: nothing sent, the claim left
    assert desk.delivery(KEY).status == "claimed" and web_api.posted_keys() == {}

    assert leader.hold_lease()  # nobody took the lease: it takes it again, and resolves its claim
    assert leader.recover() == [KEY]
    assert web_api.posted_keys() == {KEY: 1} and desk.delivery(KEY).status == "sent"
