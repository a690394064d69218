"""Any subscriptions, meetings, restarts, crashes and Slack faults: no key is posted twice, every
post due while the scheduler runs is posted, and every message Slack holds is recorded as sent.

The scheduler keeps its plan between runs, so the store also changes under it between runs, from
another connection that never tells it (a channel subscribes or changes its subscription, one
stops, SOM3 is re-dated), and the timeline crosses days in every zone drawn: a post a change
leaves off the plan is never posted, and one it adds is owed like any other.

Real parts: a real store in a temporary folder, the real `SlackPoster` on a real slack_sdk client,
and the Web API stand-in. A Slack fault is scripted per chat.postMessage call: the answer comes
after the client's timeout (the message posted), 500 having posted, 500 without posting, or 429
with a Retry-After too long to wait out. A crash mid-post leaves its engine blocked in the call
(the stand-in holds the answer until it stops), like a frozen process: when it wakes, whatever it
tries is refused.
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
from bot.scheduler import LEASE_TTL, LOOKBACK, TICK, Engine
from bot.stores import Stores
from store.db import connect
from store.desk import Desk
from store.queries import Store
from store.schedule import Post, plan
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
    # and what another process changes in the store after that, without a word to the scheduler
    st.one_of(
        st.just(("none",)),
        st.tuples(st.just("subscribe"), subscription),
        st.tuples(st.just("unsubscribe"), st.sampled_from(["C1", "C2", "C3"])),
        st.tuples(st.just("re-date"), st.integers(min_value=-3, max_value=3)),
    ),
)


def script(slack: WebAPIStub, faults: list[str]) -> None:
    """Arrange the answers to the next chat.postMessage calls, in order; at most MOST_FAULTS
    faults."""
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


class CountingClient(WebClient):
    """The SDK's client, counting the posts it sends (`sent` is shared by its copies)."""

    def __init__(self, *args, sent: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sent = sent

    def api_call(self, api_method: str, **kwargs):  # type: ignore[override]
        if api_method == METHOD:
            self.sent[0] += 1
        return super().api_call(api_method, **kwargs)


class World:
    """The store, Slack, and the two clocks one example runs against.

    Time here jumps; the stand-in runs in real time. A post the client gave up on (its answer held)
    may not have reached the stand-in yet when the world has moved on past the post timeout, as
    Slack never would be: each tick first waits until the stand-in has every post that was sent."""

    def __init__(self, path: Path, slack: WebAPIStub, start) -> None:
        self.stores = Stores(path, SEEDS)
        self.desk = Desk(connect(path))
        self.slack = slack
        self.clock = Clock(start)
        self.start = start
        self.shift = 1_000_000.0  # the wall clock: runs with the bot's clock, plus crashes
        self.sent = [0]  # posts sent by every engine's client

    def wall(self) -> float:
        return self.shift + (self.clock.now - self.start).total_seconds()

    def engine(self, timeout: float = TIMEOUT) -> Engine:
        client = CountingClient(
            token=BOT_TOKEN, base_url=self.slack.url, timeout=timeout, sent=self.sent
        )
        engine = Engine(
            self.stores, SlackPoster(client), self.clock, ZoneInfo("UTC"), wall=self.wall
        )
        engine.hold_lease()
        return engine

    def planned(self, days: int = 30, back: timedelta = timedelta(0)) -> set[str]:
        """The keys of every post due from now (less `back`) on, for the next `days`, as the
        store stands."""
        now = self.clock.now
        posts = plan(
            Store(self.desk.db), self.desk, now - back, now + timedelta(days=days), ZoneInfo("UTC")
        )
        return {post.key for post in posts}

    def change(self, what: tuple) -> None:
        """Change the store as another process would: on a connection of its own, no notify."""
        if what[0] == "subscribe":
            sub = what[1]
            self.desk.subscribe_reminders(
                sub["channel"],
                sub["tz"],
                tuple(sub["offsets"]),
                tuple(sub["kinds"]),
                "U2",
                self.clock.now,
            )
        elif what[0] == "digest":
            channel, tz, cadence, weekday, at_time = what[1:]
            self.desk.subscribe_digest(channel, tz, cadence, weekday, at_time, "U2", self.clock.now)
        elif what[0] == "one-off":
            channel, minutes = what[1:]
            due = self.clock.now + timedelta(minutes=minutes)
            self.desk.add_one_off(channel, due, "UTC", "call Seoul", "U2", self.clock.now)
        elif what[0] == "cancel":
            (last,) = self.desk.db.execute("SELECT max(id) FROM one_offs").fetchone()
            if last is not None:
                self.desk.cancel_one_off(
                    self.desk.db.execute(
                        "SELECT channel FROM one_offs WHERE id = ?", [last]
                    ).fetchone()[0],
                    last,
                )
        elif what[0] == "unsubscribe":
            self.desk.unsubscribe(what[1])
        elif what[0] == "re-date":
            (start,) = self.desk.db.execute(
                "SELECT start_date FROM meetings WHERE id = 'som3-2026'"
            ).fetchone()
            day = min(max(int(start[-2:]) + what[1], 1), 28)
            self.desk.db.execute(
                "UPDATE meetings SET start_date = ?, end_date = ? WHERE id = 'som3-2026'",
                [f"2026-08-{day:02d}", f"2026-08-{day:02d}"],
            )

    def afresh(self, ahead: timedelta) -> set[str]:
        """The keys of a plan made afresh for (now, now + ahead]: owed, and not in the log."""
        start, end = (self.clock.now + timedelta(microseconds=1) + t for t in (timedelta(0), ahead))
        posts = plan(Store(self.desk.db), self.desk, start, end, ZoneInfo("UTC"))
        done = self.desk.done_keys([post.key for post in posts])
        return {post.key for post in posts if post.due >= post.since and post.key not in done}

    def pending(self) -> bool:
        """Whether anything waits on time: a claim or unknown outcome, or a retry."""
        return bool(self.desk.unresolved() or self.desk.deliveries(status="retry"))

    def run(self, engine: Engine) -> None:
        """One tick: the lease renewed (its own job in production), claims resolved, due posts
        sent."""
        if self.sent[0]:
            self.slack.wait_for(METHOD, count=self.sent[0], timeout=30)
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
            "UPDATE meetings SET start_date = ?, end_date = ?, precision = 'day' "
            "WHERE id = 'som3-2026'",
            [day, day],
        )
        timeline = timedelta(minutes=sum(minutes for _, minutes, _, _ in segments))
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
        dropped: set[str] = set()  # posts a change took off the plan before they fell due
        for running, minutes, then, change in segments:
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
            if change[0] != "none":
                before = world.planned()
                world.change(change)
                after = world.planned()
                # a key planned again, even due already (so still owed), is no longer dropped; one
                # posted before the change (its key planned anew in another zone) was not revived
                sent = set(slack.posted_keys())
                dropped = (dropped | (before - after - sent)) - world.planned(back=LOOKBACK)
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
        event(f"changes between runs: {sum(c[0] != 'none' for _, _, _, c in segments)}")
        twice = sorted(key for key, count in posted.items() if count > 1)
        assert not twice, f"posted more than once: {twice}"
        sent = {d.key for d in world.desk.deliveries(status="sent")}
        missing = owed - sent
        assert not missing, f"due while running but not posted: {sorted(missing)}"
        revived = dropped & set(posted)
        assert not revived, f"posted after a change took them off the plan: {sorted(revived)}"
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


# -- the plan kept between runs is the plan made afresh ------------------------------------------

digest = st.tuples(
    st.just("digest"),
    st.sampled_from(["C1", "C2", "C3"]),
    st.sampled_from(ZONES),
    st.sampled_from(["daily", "weekly"]),
    st.integers(min_value=0, max_value=6),
    st.sampled_from(["09:00", "08:30", "00:00", "23:45"]),
)
change = st.one_of(
    st.just(("none",)),
    st.tuples(st.just("subscribe"), subscription),
    digest,
    st.tuples(st.just("unsubscribe"), st.sampled_from(["C1", "C2", "C3"])),
    st.tuples(st.just("re-date"), st.integers(min_value=-3, max_value=3)),
    st.tuples(st.just("one-off"), st.sampled_from(["C1", "C2", "C3"]), st.integers(1, 3 * 24 * 60)),
    st.just(("cancel",)),
)
# How far the clock moves before the next run: a tick, hours, across one or two days.
step = st.tuples(
    st.builds(
        int.__add__,
        st.sampled_from([0, 30, 6 * 60, 23 * 60, 25 * 60, 49 * 60]),
        st.integers(min_value=1, max_value=59),
    ),
    change,
)
AHEAD = timedelta(hours=20)  # within every zone's horizon whatever the time (and a short DST day)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    subs=st.lists(subscription, min_size=1, max_size=3),
    digests=st.lists(digest, max_size=2),
    som3_day=st.integers(min_value=0, max_value=20),
    lead=st.integers(min_value=0, max_value=14 * 24),  # hours from the start to SOM3's first day
    steps=st.lists(step, min_size=1, max_size=12),
)
def test_the_plan_kept_between_runs_is_the_plan_made_afresh(
    built_db, subs, digests, som3_day, lead, steps
):
    """After every run, what one scheduler plans for the next hours is what a plan made afresh
    from the store holds (less what the delivery log holds), whatever changed between runs and
    however many days in any zone passed; and nothing is posted twice."""
    work = Path(tempfile.mkdtemp())
    slack = WebAPIStub(token=BOT_TOKEN).start()
    world: World | None = None
    try:
        path = work / "apec.db"
        shutil.copy(built_db, path)
        day = f"2026-08-{som3_day + 1:02d}"
        start = at(f"{day}T00:00+00:00") - timedelta(hours=lead)
        world = World(path, slack, start)
        world.desk.db.execute(
            "UPDATE meetings SET start_date = ?, end_date = ?, precision = 'day' "
            "WHERE id = 'som3-2026'",
            [day, day],
        )
        for what in [*(("subscribe", sub) for sub in subs), *digests]:
            world.change(what)
        engine = world.engine()
        world.run(engine)
        for minutes, what in steps:
            world.change(what)
            world.clock.advance(minutes=minutes)
            world.run(engine)
            now = world.clock.now
            kept = {p.key for p in engine.schedule.planned() if now < p.due <= now + AHEAD}
            assert kept == world.afresh(AHEAD), f"at {now}, after {what}"
        event(f"re-plans: {sorted(engine.replans)}")
        twice = sorted(key for key, count in slack.posted_keys().items() if count > 1)
        assert not twice, f"posted more than once: {twice}"
    finally:
        slack.stop()
        if world is not None:
            world.desk.db.close()
        shutil.rmtree(work, ignore_errors=True)
