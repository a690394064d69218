"""Any subscriptions, meetings, restarts, crashes and Slack faults: no key is posted twice, every
post due while the scheduler runs is posted, and every message Slack holds is recorded as sent.

Real parts: a real store in a temporary folder, the real `SlackPoster` on a real slack_sdk client,
and the Web API stand-in. A Slack fault is scripted per chat.postMessage call: the answer comes after
the client's timeout (the message posted), 500 having posted, 500 without posting, or 429 with a
Retry-After too long to wait out. A crash mid-post leaves its engine blocked in the call (the stand-in
holds the answer until it stops), like a frozen process: when it wakes, whatever it tries is refused.
Time is injected: the bot's clock, and a wall clock that runs with it (crashes add a lease's worth).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient

from bot.posting import SlackPoster
from bot.scheduler import LEASE_TTL, TICK, Engine
from bot.stores import Stores
from store.db import connect
from store.desk import Desk
from store.schedule import Post
from tests.conftest import BOT_TOKEN, SEEDS, Clock, at
from tests.slack_stub import WebAPIStub

ZONES = ["UTC", "Asia/Seoul", "America/New_York", "Europe/London", "Pacific/Auckland"]
OFFSETS = ["7d", "1d", "0d", "2h", "3d"]
FAULTS = ["ok", "late answer", "500 having posted", "500", "429"]
# Faults a run: a post that meets them all is still resent within ON_TIME of its time (each costs a
# post timeout), where no "no longer useful" rule may drop it; and well under MAX_ATTEMPTS.
MOST_FAULTS = 2
SETTLE = timedelta(minutes=10)  # running this long after a post's time, its faults are resolved
TIMEOUT = 0.2  # the client's timeout: a "late answer" costs this much real time
HOLD = 60.0  # how long the stand-in holds a late answer (released when it stops)
METHOD = "chat.postMessage"

subscription = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(["C1", "C2", "C3"]),
        "tz": st.sampled_from(ZONES),
        "offsets": st.lists(st.sampled_from(OFFSETS), min_size=2, max_size=4, unique=True),
        # SOM3 is the meeting these weeks hold: every subscription wants it, and maybe others.
        "kinds": st.lists(st.sampled_from(["summit", "ministerial"]), unique=True).map(
            lambda others: ["som", *others]
        ),
    }
)
segment = st.tuples(
    st.sampled_from([True, True, False]),  # running (True) or down (False) for this stretch
    # its length in minutes: every scale from a minute to three days, drawn evenly
    st.builds(
        int.__add__,
        st.sampled_from([1, 10, 45, 3 * 60, 12 * 60, 30 * 60, 72 * 60 - 59]),
        st.integers(min_value=0, max_value=59),
    ),
    st.sampled_from(["none", "restart", "crash", "crash-mid-post"]),  # what happens at its end
)


def script(slack: WebAPIStub, faults: list[str]) -> None:
    """Arrange the answers to the next chat.postMessage calls, in order; at most MOST_FAULTS faults."""
    bad = 0
    for fault in faults:
        bad += fault != "ok"
        if fault == "ok" or bad > MOST_FAULTS:
            slack.answer_with(METHOD, posts=True)
        elif fault == "late answer":
            slack.answer_late(METHOD, HOLD)
        elif fault == "500 having posted":
            slack.fail_after_posting(METHOD, "internal_error", status=500)
        elif fault == "500":
            slack.fail(METHOD, "internal_error", status=500)
        else:
            slack.rate_limit(METHOD, retry_after=20)  # longer than is ever waited out


class World:
    """The store, Slack, and the two clocks one example runs against."""

    def __init__(self, path: Path, slack: WebAPIStub, start) -> None:
        self.stores = Stores(path, SEEDS)
        self.desk = Desk(connect(path))
        self.slack = slack
        self.clock = Clock(start)
        self.start = start
        self.shift = 1_000_000.0  # the wall clock: runs with the bot's clock, plus crashes

    def wall(self) -> float:
        return self.shift + (self.clock.now - self.start).total_seconds()

    def engine(self, timeout: float = TIMEOUT) -> Engine:
        client = WebClient(token=BOT_TOKEN, base_url=self.slack.url, timeout=timeout)
        engine = Engine(
            self.stores, SlackPoster(client), self.clock, ZoneInfo("UTC"), wall=self.wall
        )
        engine.hold_lease()
        return engine

    def pending(self) -> bool:
        """Whether anything waits on time: a claim or unknown outcome, or a retry."""
        return bool(self.desk.unresolved() or self.desk.deliveries(status="retry"))

    def run(self, engine: Engine) -> None:
        """One tick: the lease renewed (its own job in production), claims resolved, due posts sent."""
        engine.hold_lease()
        engine.recover()
        engine.run_due()

    def ticks(self, engine: Engine, until) -> None:
        """The ticks a running scheduler makes before `until` while something waits on time."""
        while self.pending() and self.clock.now + timedelta(seconds=TICK) <= until:
            self.clock.advance(seconds=TICK)
            self.run(engine)


def crash_mid_post(world: World, engine: Engine) -> threading.Thread:
    """Run the engine until Slack has its post, and leave it blocked there for good (it crashed)."""
    world.slack.delay(METHOD, HOLD)
    seen = len(world.slack.calls_to(METHOD))
    blocked = threading.Thread(target=engine.run_due, daemon=True)
    blocked.start()
    world.slack.wait_for(METHOD, count=seen + 1, timeout=30)
    return blocked


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    subs=st.lists(subscription, min_size=1, max_size=4),
    som3_day=st.integers(min_value=0, max_value=20),
    share=st.integers(min_value=0, max_value=100),  # how far into the timeline SOM3 opens, in %
    segments=st.lists(segment, min_size=2, max_size=8),
    faults=st.lists(st.sampled_from(FAULTS), max_size=12),
)
def test_no_key_is_posted_twice_and_every_post_due_while_running_is_posted(
    built_db, subs, som3_day, share, segments, faults
):
    work = Path(tempfile.mkdtemp())
    slack = WebAPIStub(token=BOT_TOKEN).start()
    blocked: list[threading.Thread] = []
    world: World | None = None
    try:
        path = work / "apec.db"
        shutil.copy(built_db, path)
        db = connect(path)
        # SOM3 gets a date in August, as the desk would give it.
        day = f"2026-08-{som3_day + 1:02d}"
        db.execute(
            "UPDATE meetings SET start_date = ?, end_date = ?, precision = 'day' WHERE id = 'som3-2026'",
            [day, day],
        )
        timeline = timedelta(minutes=sum(minutes for _, minutes, _ in segments))
        start = at(f"{day}T00:00+00:00") - timeline * share / 100
        for sub in subs:
            Desk(db).subscribe_reminders(
                sub["channel"], sub["tz"], tuple(sub["offsets"]), tuple(sub["kinds"]), "U1", start
            )
        db.close()
        world = World(path, slack, start)
        script(slack, faults)
        engine = world.engine()
        owed: set[str] = set()  # posts due while a scheduler ran long enough after them
        for running, minutes, then in segments:
            end = world.clock.now + timedelta(minutes=minutes)
            if running:
                world.run(engine)
                # As APScheduler would: a run at each moment something falls due, ticks between.
                for post in engine.upcoming(world.clock.now, end):
                    world.ticks(engine, post.due)
                    world.clock.now = post.due
                    if then == "crash-mid-post":
                        engine.hold_lease()
                        blocked.append(crash_mid_post(world, engine))
                        break
                    world.run(engine)
                    if end - post.due >= SETTLE:
                        owed.add(post.key)
                else:
                    world.ticks(engine, end)
            world.clock.now = max(world.clock.now, end)
            if then != "none":
                if then == "restart":
                    engine.release()
                else:
                    world.shift += LEASE_TTL + 1  # a dead process's lease runs out
                engine = world.engine()
        # A last, running scheduler settles everything.
        world.shift += LEASE_TTL + 1
        engine = world.engine()
        world.run(engine)
        world.ticks(engine, world.clock.now + timedelta(days=1))
        slack.stop()  # the crashed engines wake: whatever they try now is refused
        for thread in blocked:
            thread.join(timeout=30)

        posted = slack.posted_keys()
        faults_met = sorted({call.status for call in slack.calls_to(METHOD)} - {200}) or "none"
        # What the examples held: pytest --hypothesis-show-statistics shows these.
        event(f"posted {min(len(posted), 3)}{'+' if len(posted) >= 3 else ''}")
        event(f"Slack faults met: {faults_met}")
        event(f"crashed mid-post: {bool(blocked)}")
        twice = sorted(key for key, count in posted.items() if count > 1)
        assert not twice, f"posted more than once: {twice}"
        sent = {d.key for d in world.desk.deliveries(status="sent")}
        missing = owed - sent
        assert not missing, f"due while running but not posted: {sorted(missing)}"
        assert sent == set(posted), "what Slack holds and what the log says was sent differ"
        assert not world.desk.unresolved(), "a post was left unresolved"
    finally:
        slack.stop()
        if world is not None:
            world.desk.db.close()
        shutil.rmtree(work, ignore_errors=True)


def test_post_due_is_aware_and_utc():
    post = Post(
        key="k",
        channel="C",
        kind="one-off",
        due=at("2026-01-01T09:00+09:00"),
        tz="Asia/Seoul",
        since=at("2026-01-01T00:00+00:00"),
        why="x",
    )
    assert post.local.utcoffset() == timedelta(hours=9)
