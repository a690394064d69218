"""Any subscriptions, meetings, restarts and crashes: no key is posted twice, and every post due
while the scheduler runs is posted."""

from __future__ import annotations

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.scheduler import LEASE_TTL, Engine
from bot.stores import Stores
from store.db import connect
from store.desk import Desk
from store.schedule import Post
from tests.conftest import SEEDS, Clock, at

ZONES = ["UTC", "Asia/Seoul", "America/New_York", "Europe/London", "Pacific/Auckland"]
OFFSETS = ["7d", "1d", "0d", "2h", "3d"]


class Crash(BaseException):
    """The process dies: raised past every `except Exception`."""


class Slack:
    """Stands in for Slack: every message it received, and a switch to kill the poster mid-post."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.crash_next = False

    def post(self, channel: str, payload: dict, key: str) -> str:
        self.messages.append(key)  # Slack has the message...
        if self.crash_next:
            self.crash_next = False
            raise Crash()  # ...but the bot dies before it learns the ts
        return f"{len(self.messages)}.000100"

    def find(self, channel: str, key: str, since: float) -> str | None:
        return f"{self.messages.index(key) + 1}.000100" if key in self.messages else None


subscription = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(["C1", "C2", "C3"]),
        "tz": st.sampled_from(ZONES),
        "offsets": st.lists(st.sampled_from(OFFSETS), min_size=1, max_size=3, unique=True),
        "kinds": st.lists(
            st.sampled_from(["som", "summit", "ministerial"]), min_size=1, max_size=3, unique=True
        ),
    }
)
segment = st.tuples(
    st.booleans(),  # running (True) or down (False) for this stretch
    st.integers(min_value=1, max_value=72 * 60),  # its length in minutes
    st.sampled_from(["none", "restart", "crash", "crash-mid-post"]),  # what happens at its end
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    subs=st.lists(subscription, min_size=1, max_size=4),
    som3_day=st.integers(min_value=0, max_value=20),
    start_day=st.integers(min_value=0, max_value=20),
    segments=st.lists(segment, min_size=1, max_size=8),
)
def test_no_key_is_posted_twice_and_every_post_due_while_running_is_posted(
    built_db, subs, som3_day, start_day, segments
):
    work = Path(tempfile.mkdtemp())
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
        desk = Desk(db)
        start = at("2026-07-20T00:00+00:00") + timedelta(days=start_day)
        for sub in subs:
            desk.subscribe_reminders(
                sub["channel"], sub["tz"], tuple(sub["offsets"]), tuple(sub["kinds"]), "U1", start
            )
        slack = Slack()
        clock = Clock(start)
        wall = [1_000_000.0]
        stores = Stores(path, SEEDS)

        def new_engine() -> Engine:
            engine = Engine(stores, slack, clock, ZoneInfo("UTC"), wall=lambda: wall[0])
            engine.hold_lease()
            return engine

        engine = new_engine()
        owed: set[str] = set()  # posts due while a scheduler was running
        for running, minutes, event in segments:
            end = clock.now + timedelta(minutes=minutes)
            if running:
                engine.hold_lease()
                engine.recover()
                engine.run_due()
                # As APScheduler would: a run at each moment something falls due.
                for post in engine.upcoming(clock.now, end):
                    clock.now = post.due
                    owed.add(post.key)
                    if event == "crash-mid-post" and not slack.crash_next:
                        slack.crash_next = True
                        try:
                            engine.run_due()
                        except Crash:
                            break
                    else:
                        engine.run_due()
            clock.now = max(clock.now, end)
            if event != "none":
                slack.crash_next = False
                if event == "restart":
                    engine.release()
                else:
                    wall[0] += LEASE_TTL + 1  # a dead process's lease runs out
                engine = new_engine()
        # A last, running scheduler settles everything.
        wall[0] += LEASE_TTL + 1
        engine = new_engine()
        engine.recover()
        engine.run_due()

        assert len(slack.messages) == len(set(slack.messages)), "a key was posted twice"
        sent = {d.key for d in desk.deliveries(status="sent")}
        missing = owed - sent
        assert not missing, f"due while running but not posted: {sorted(missing)}"
        assert sent <= set(slack.messages)
        db.close()
    finally:
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
