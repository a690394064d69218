"""The scheduler keeps its plan between ticks: it re-plans only when the store changed (in this
process or another) or a zone's day turned, and still catches what was missed while it was down.

A real store file in tmp_path; changes "from another process" are written on a second connection
and never announced with `notify()`. Re-plans are counted by the engine itself (`Engine.replans`,
by cause). The real APScheduler runs where a test says so, with fast ticks, and the test waits on
APScheduler's own job events; elsewhere a tick is called as APScheduler calls it. Time is the
injected clock, moved by hand: nothing sleeps for time to pass.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

from bot.app import web_client
from bot.config import Config
from bot.posting import SlackPoster
from bot.scheduler import Engine, Outcome, Scheduler, Timing
from store.db import connect
from store.desk import Desk
from tests.conftest import BOT_TOKEN, Clock, at
from tests.test_scheduler import SUMMIT_7D, SUMMIT_KEY, UTC_ZONE

SUBSCRIBED = "2026-11-01T00:00+00:00"


@pytest.fixture
def other(db_path):
    """Another process's view of the store: a connection of its own, which never notifies."""
    db = connect(db_path)
    yield Desk(db)
    db.close()


def engine_for(stores, web_api, clock, **kw) -> Engine:
    poster = SlackPoster(web_client(Config(api_url=web_api.url), BOT_TOKEN))
    return Engine(stores, poster, clock, UTC_ZONE, **kw)


def subscribe(desk, channel="C1", tz="UTC", offsets=("7d",), kinds=("summit",), since=SUBSCRIBED):
    desk.subscribe_reminders(channel, tz, offsets, kinds, "U1", at(since))


class Ticks:
    """The real scheduler's finished ticks (and lease renewals), from APScheduler's job events."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.done = 0
        self.renewed = 0
        self._cond = threading.Condition()
        scheduler.aps.add_listener(self._seen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def _seen(self, event) -> None:
        with self._cond:
            self.done += event.job_id in ("tick", "changed")
            self.renewed += event.job_id == "lease"
            self._cond.notify_all()

    def wait(self, more: int = 1, renewals: int = 0, timeout: float = 10.0) -> None:
        """Wait until `more` ticks (and `renewals` renewals) have finished after those seen."""
        with self._cond:
            ticks, renewed = self.done + more, self.renewed + renewals
            ok = self._cond.wait_for(
                lambda: self.done >= ticks and self.renewed >= renewed, timeout
            )
            assert ok, "no tick came"


@pytest.fixture
def running(stores, web_api):
    """Start a real scheduler (ticks every 0.1 s) on an engine; stopped at the end."""
    started: list[Scheduler] = []

    def start(clock) -> tuple[Scheduler, Ticks]:
        engine = engine_for(stores, web_api, clock, timing=Timing(tick=0.1, lease_ttl=3.0))
        scheduler = Scheduler(engine)
        ticks = Ticks(scheduler)
        scheduler.start()
        started.append(scheduler)
        ticks.wait()  # the first tick: the lease taken, the plan built (the catch-up)
        return scheduler, ticks

    yield start
    for scheduler in started:
        scheduler.stop()


# -- a change from another process -------------------------------------------------------------


def test_a_subscription_written_by_another_process_is_picked_up_by_the_next_tick(
    running, other, web_api
):
    scheduler, ticks = running(Clock(SUMMIT_7D))
    assert web_api.posts() == []

    subscribe(other)  # no notify(): another process wrote it
    (call,) = web_api.wait_for("chat.postMessage", timeout=10)
    ticks.wait()  # the tick that posted it has recorded it

    assert call.params["metadata"]["event_payload"]["key"] == SUMMIT_KEY
    assert scheduler.engine.replans["subscriptions"] == 1
    assert other.delivery(SUMMIT_KEY).status == "sent"


def test_a_tick_with_nothing_changed_does_not_replan(running, other, web_api):
    subscribe(other)
    scheduler, ticks = running(Clock(SUMMIT_7D))
    web_api.wait_for("chat.postMessage")  # the scheduler wrote its claim and the post's ts
    other.rotate_feed_token()  # a write elsewhere in the store: data_version moves, plans do not
    ticks.wait(3, renewals=1)  # and the lease renewed on its own thread: writes of its own

    assert scheduler.engine.replans == Counter({"catch-up": 1})
    assert len(web_api.posts()) == 1


def test_the_scheduler_s_own_writes_between_runs_never_replan(stores, other, web_api):
    subscribe(other, channel="C1")
    subscribe(other, channel="C2")
    clock = Clock(SUMMIT_7D - timedelta(minutes=1))
    engine = engine_for(stores, web_api, clock)
    assert engine.hold_lease()
    for _ in range(6):  # runs 30 s apart across the reminders' time: claims, posts, lease renewals
        engine.run_due()
        clock.advance(seconds=30)
        assert engine.hold_lease()

    assert sorted(web_api.posted_keys()) == [SUMMIT_KEY, "reminder:C2:aelm-2026:2026-11-18:7d"]
    assert engine.replans == Counter({"catch-up": 1})


def test_a_one_off_cancelled_and_another_added_by_another_process_are_followed(
    stores, other, web_api
):
    clock = Clock(SUMMIT_7D)
    soon = clock.now + timedelta(hours=1)
    kept = other.add_one_off("C5", soon, "UTC", "kept", "U1", clock.now)
    dropped = other.add_one_off("C5", soon, "UTC", "gone", "U1", clock.now)
    engine = engine_for(stores, web_api, clock)
    assert engine.hold_lease()
    engine.run_due()
    assert {p.key for p in engine.schedule.planned()} == {f"one-off:{kept}", f"one-off:{dropped}"}

    assert other.cancel_one_off("C5", dropped)  # the only change before this run
    clock.advance(minutes=1)
    engine.run_due()
    assert {p.key for p in engine.schedule.planned()} == {f"one-off:{kept}"}
    added = other.add_one_off("C6", soon, "UTC", "new", "U1", clock.now)
    clock.now = soon

    assert sorted(engine.run_due().sent) == [f"one-off:{kept}", f"one-off:{added}"]
    assert engine.replans["one-offs"] == 2 and engine.replans["catch-up"] == 1


def test_a_post_left_for_a_retry_by_the_look_in_its_channel_is_tried_on_the_next_run(
    stores, other, web_api
):
    subscribe(other)
    web_api.fail("chat.postMessage", "internal_error", status=500)  # may have posted: unknown
    wall = [1_000_000.0]
    clock = Clock(SUMMIT_7D)
    engine = engine_for(stores, web_api, clock, wall=lambda: wall[0])
    assert engine.hold_lease()
    assert engine.run_due().unknown == [SUMMIT_KEY]
    for _ in range(2):  # ticks while it is too soon to look: it leaves the plan (the log holds it)
        wall[0] += engine.timing.post_timeout / 2
        clock.advance(seconds=engine.timing.post_timeout / 2)
        assert engine.hold_lease() and engine.run_due() == Outcome()
    web_api.rate_limit("chat.postMessage", retry_after=20)  # the resend is refused: a retry
    assert engine.recover() == [SUMMIT_KEY]
    assert other.delivery(SUMMIT_KEY).status == "retry"

    clock.advance(seconds=30)  # the next tick: no catch-up, the plan as kept
    assert engine.run_due().sent == [SUMMIT_KEY]
    assert web_api.posted_keys() == Counter({SUMMIT_KEY: 1})
    assert engine.replans == Counter({"catch-up": 1})


def test_a_channel_unsubscribed_by_another_process_gets_nothing_more(stores, other, web_api):
    subscribe(other, channel="C1")
    subscribe(other, channel="C2")
    clock = Clock(SUMMIT_7D - timedelta(hours=1))
    engine = engine_for(stores, web_api, clock)
    assert engine.hold_lease()
    engine.run_due()
    assert other.unsubscribe("C1") == 1
    clock.now = SUMMIT_7D

    assert engine.run_due().sent == ["reminder:C2:aelm-2026:2026-11-18:7d"]
    assert engine.replans["subscriptions"] == 1 and web_api.posts("C1") == []


def test_a_meeting_redated_by_another_process_moves_its_reminders(stores, other, web_api, db_path):
    other.db.execute(
        "UPDATE meetings SET start_date = '2026-08-10', end_date = '2026-08-21', precision = 'day' "
        "WHERE id = 'som3-2026'"
    )
    subscribe(other, kinds=("som",), since="2026-07-01T00:00+00:00")
    clock = Clock(at("2026-08-02T12:00+00:00"))
    engine = engine_for(stores, web_api, clock)
    assert engine.hold_lease()
    engine.run_due()
    old = "reminder:C1:som3-2026:2026-08-10:7d"
    assert [p.key for p in engine.schedule.planned()] == [old]  # 3 August, 09:00

    other.db.execute(  # as `apec-bot build` or another worker's edit-meeting writes it
        "UPDATE meetings SET start_date = '2026-08-17', end_date = '2026-08-28' "
        "WHERE id = 'som3-2026'"
    )
    clock.now = at("2026-08-03T09:00+00:00")
    assert engine.run_due().sent == []
    clock.now = at("2026-08-10T09:00+00:00")

    assert engine.run_due().sent == ["reminder:C1:som3-2026:2026-08-17:7d"]
    assert engine.replans["meetings"] == 1 and other.delivery(old) is None


# -- a day boundary in a subscription's zone -----------------------------------------------------


def test_a_day_boundary_in_a_subscription_zone_replans_that_zone_only(stores, other, web_api):
    other.subscribe_digest(
        "C1", "Asia/Seoul", "daily", 0, "09:00", "U1", at("2026-07-01T00:00+00:00")
    )
    other.subscribe_digest(
        "C2", "America/New_York", "daily", 0, "09:00", "U1", at("2026-07-01T00:00+00:00")
    )
    clock = Clock(at("2026-07-01T14:59:30+00:00"))  # 23:59:30 in Seoul, 10:59:30 in New York
    scheduler = Scheduler(engine_for(stores, web_api, clock))
    engine = scheduler.engine
    scheduler.tick()
    assert "digest:C1:2026-07-03" not in {p.key for p in engine.schedule.planned()}

    clock.advance(seconds=30)  # midnight in Seoul
    scheduler.tick()
    assert engine.replans == Counter({"catch-up": 1, "day": 1})
    assert "digest:C1:2026-07-03" in {p.key for p in engine.schedule.planned()}

    clock.now = at("2026-07-02T03:59:30+00:00")  # Seoul's day has run on, New York's has not
    scheduler.tick()
    assert engine.replans["day"] == 1
    clock.advance(seconds=30)  # midnight in New York
    scheduler.tick()
    assert engine.replans["day"] == 2

    clock.now = at("2026-07-03T00:00+00:00")  # 3 July, 09:00 in Seoul: planned by the day's turn
    scheduler.tick()
    assert "digest:C1:2026-07-03" in web_api.posted_keys()
    assert engine.replans["catch-up"] == 1


def test_the_plan_holds_only_the_next_days_not_the_year(stores, other, web_api):
    other.subscribe_digest("C1", "UTC", "daily", 0, "09:00", "U1", at("2026-01-01T00:00+00:00"))
    subscribe(
        other, channel="C2", kinds=("som", "summit", "ministerial"), since="2026-01-01T00:00+00:00"
    )
    clock = Clock(at("2026-03-01T00:00+00:00"))
    engine = engine_for(stores, web_api, clock)
    assert engine.hold_lease()
    engine.run_due()

    planned = engine.schedule.planned()
    assert planned and max(p.due for p in planned) < clock.now + timedelta(days=3)
    assert len(engine.plan(clock.now, clock.now + timedelta(days=365))) > 300  # what it leaves


# -- missed while down: the catch-up on start ----------------------------------------------------


def test_a_post_missed_while_down_is_caught_on_start(running, other, web_api):
    subscribe(other)
    scheduler, ticks = running(Clock(SUMMIT_7D + timedelta(days=2)))

    (call,) = web_api.wait_for("chat.postMessage")
    ticks.wait()
    assert call.params["metadata"]["event_payload"]["key"] == SUMMIT_KEY
    assert "Posted late" in call.params["text"]
    assert other.delivery(SUMMIT_KEY).late
    assert scheduler.engine.replans == Counter({"catch-up": 1})


def test_a_restart_with_half_the_posts_made_makes_the_rest_once(stores, other, web_api):
    for channel in ("C1", "C2", "C3"):
        subscribe(other, channel=channel)
    web_api.fail("chat.postMessage", "service_unavailable", times=1, channel="C2")  # refused
    first = engine_for(stores, web_api, Clock(SUMMIT_7D))
    assert first.hold_lease()
    outcome = first.run_due()
    assert outcome.sent == [SUMMIT_KEY, "reminder:C3:aelm-2026:2026-11-18:7d"]
    assert outcome.failed == ["reminder:C2:aelm-2026:2026-11-18:7d"]
    first.release()  # it stops with C2 left for a retry, its plan gone with it
    subscribe(other, channel="C4")  # meanwhile, another process subscribes a fourth channel

    second = engine_for(stores, web_api, Clock(SUMMIT_7D + timedelta(minutes=5)))
    assert second.hold_lease()
    outcome = second.run_due()

    assert sorted(outcome.sent) == [f"reminder:{c}:aelm-2026:2026-11-18:7d" for c in ("C2", "C4")]
    assert sorted(web_api.posted_keys().values()) == [1, 1, 1, 1]


def test_taking_the_lease_over_catches_up_with_what_the_last_holder_left(stores, other, web_api):
    subscribe(other, channel="C1")
    wall = [1_000_000.0]
    clock = Clock(SUMMIT_7D - timedelta(hours=1))
    first = engine_for(stores, web_api, clock, wall=lambda: wall[0], host="host-a")
    second = engine_for(stores, web_api, clock, wall=lambda: wall[0], host="host-b")
    assert first.hold_lease() and not second.hold_lease()
    first.run_due()
    assert second.run_due().sent == []  # a standby plans nothing and posts nothing

    wall[0] += first.timing.lease_ttl + 1  # the leader froze; its lease ran out
    clock.now = SUMMIT_7D + timedelta(minutes=1)
    assert second.hold_lease()

    assert second.run_due().sent == [SUMMIT_KEY]
    assert second.replans == Counter({"catch-up": 1})
    assert first.run_due().sent == []  # woken, it claims nothing: the lease is not its own
    assert web_api.posted_keys() == Counter({SUMMIT_KEY: 1})
