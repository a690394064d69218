"""Reminders for a person or a channel, one-off or recurring (issue 20): the desk's tables, the
plan of each reminder's occurrences in its asker's zone, and their delivery, once each.

Real parts only: a real store file in tmp_path (a second connection stands for another process),
the real scheduler Engine and SlackPoster on a real slack_sdk client, and the Web API stand-in
(tests/slack_stub.py), where a direct message goes through conversations.open as in Slack. Time is
the injected clock, moved by hand.
"""

from __future__ import annotations

import io
import itertools
import shutil
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from bot.app import web_client
from bot.config import Config
from bot.posting import ConsolePoster, SlackPoster
from bot.scheduler import LEASE_TTL, LOOKBACK, POST_TIMEOUT, RELOOK, Engine
from handlers.render import Card
from store.db import connect
from store.desk import Desk, Recurring, is_user
from store.queries import Store
from store.schedule import Schedule, next_occurrence, occurrence_key, occurrences, plan
from store.schema import ensure
from tests.conftest import BOT_TOKEN, Clock, at
from tests.slack_stub import WebAPIStub
from tests.test_scheduler_property import FAULTS, World, script

NOW = at("2026-11-06T12:00+00:00")  # a Friday
MONDAYS = "FREQ=WEEKLY;BYDAY=MO"
AHEAD = timedelta(hours=20)  # within every zone's horizon, whatever the time


@pytest.fixture
def desk(db_path):
    db = connect(db_path)
    yield Desk(db)
    db.close()


# -- the desk's tables ---------------------------------------------------------------------------

# one_offs as stores made before issue 20 have it: no for_user, no origin.
OLD_ONE_OFFS = """
    CREATE TABLE one_offs (
        id INTEGER PRIMARY KEY, channel TEXT NOT NULL, due_at TEXT NOT NULL, tz TEXT NOT NULL,
        text TEXT NOT NULL, meeting_id TEXT NOT NULL DEFAULT '',
        offset_text TEXT NOT NULL DEFAULT '',
        created_by TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL,
        cancelled INTEGER NOT NULL DEFAULT 0)"""


def test_a_store_made_before_reminders_recurred_keeps_its_one_offs_and_gains_the_new_tables(
    tmp_path,
):
    old = sqlite3.connect(tmp_path / "apec.db")
    old.execute(OLD_ONE_OFFS)
    old.execute(
        "INSERT INTO one_offs (channel, due_at, tz, text, created_by, created_at) "
        "VALUES ('C1', '2026-11-09T00:00:00+00:00', 'UTC', 'call Seoul', 'U1', ?)",
        [NOW.isoformat()],
    )
    old.commit()
    old.close()

    db = connect(tmp_path / "apec.db")
    ensure(db)
    desk = Desk(db)
    (kept,) = desk.one_offs("C1")
    assert (kept.text, kept.for_user, kept.origin) == ("call Seoul", "", "")
    snooze = desk.add_one_off("U2", NOW + timedelta(hours=1), "UTC", "x", "U2", NOW, origin="k|20m")
    assert desk.add_one_off("U2", NOW, "UTC", "x", "U2", NOW, origin="k|20m") == snooze
    assert desk.add_recurring("C1", "UTC", MONDAYS, datetime(2026, 11, 9, 9), "note", "U1", NOW)
    ensure(db)  # again: nothing to add, nothing lost
    assert len(desk.one_offs()) == 2 and len(desk.recurring()) == 1
    db.close()


def test_a_snooze_pressed_twice_at_once_on_two_connections_queues_one_one_off(db_path):
    presses = 2
    ready = threading.Barrier(presses)
    made: list[int] = []

    def press() -> None:
        db = connect(db_path)  # each press on its own connection, as two workers would
        try:
            ready.wait()
            made.append(
                Desk(db).add_one_off(
                    "U7",
                    NOW + timedelta(minutes=20),
                    "Asia/Seoul",
                    "call Seoul",
                    "U7",
                    NOW,
                    origin="one-off:4|20m",
                )
            )
        finally:
            db.close()

    threads = [threading.Thread(target=press) for _ in range(presses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    db = connect(db_path)
    desk = Desk(db)
    assert len(made) == presses and len(set(made)) == 1
    assert [one.origin for one in desk.one_offs()] == ["one-off:4|20m"]
    other = desk.add_one_off("U7", NOW, "UTC", "call Seoul", "U7", NOW, origin="one-off:4|1h")
    assert other != made[0]  # another choice on the same post is another snooze
    db.close()


def test_mark_done_counts_the_first_press_and_keeps_who_made_it(desk):
    assert desk.done_by("recurring:1:2026-11-09T09:00") is None
    assert desk.mark_done("recurring:1:2026-11-09T09:00", "U1", NOW)
    assert not desk.mark_done("recurring:1:2026-11-09T09:00", "U2", NOW + timedelta(minutes=1))
    assert desk.done_by("recurring:1:2026-11-09T09:00") == ("U1", "2026-11-06T12:00:00+00:00")


def test_recurring_reminders_are_listed_paused_resumed_and_cancelled_by_number(desk):
    mondays = desk.add_recurring(
        "C1",
        "Asia/Seoul",
        MONDAYS,
        datetime(2026, 11, 9, 9),
        "weekly note",
        "U1",
        NOW,
        until_text="until 20 November",
    )
    daily = desk.add_recurring(
        "U2", "UTC", "FREQ=DAILY", datetime(2026, 11, 7, 17), "cables", "U1", NOW, for_user="U2"
    )
    third = desk.add_recurring(
        "C1",
        "UTC",
        "FREQ=MONTHLY;BYMONTHDAY=15",
        datetime(2026, 11, 15, 9),
        "accounts",
        "U3",
        NOW,
        meeting_id="som2-2027",
    )

    (one,) = [r for r in desk.recurring() if r.id == mondays]
    assert one.start == datetime(2026, 11, 9, 9) and one.start.tzinfo is None
    assert (one.tz, one.rule, one.until_text, one.since) == (
        "Asia/Seoul",
        MONDAYS,
        "until 20 November",
        NOW,
    )
    assert [r.id for r in desk.recurring("C1")] == [mondays, third]

    later = NOW + timedelta(days=3)
    assert desk.set_recurring_paused(daily, True, now=later)
    assert not desk.set_recurring_paused(daily, True, now=later)  # already paused
    assert [r.id for r in desk.recurring(include_paused=False)] == [mondays, third]
    assert desk.recurring_by_id(daily).since == NOW  # a pause owes nothing new
    assert desk.set_recurring_paused(daily, False, now=later)
    assert desk.recurring_by_id(daily).since == later  # what fell due while paused is not owed

    assert desk.cancel_recurring(third)
    assert not desk.cancel_recurring(third)
    assert not desk.set_recurring_paused(third, True, now=later)  # a cancelled one stays so
    assert desk.recurring_by_id(third).cancelled
    assert [r.id for r in desk.recurring()] == [mondays, daily]
    assert desk.recurring_by_id(999) is None


def test_a_start_given_as_an_aware_time_is_read_as_the_wall_time_in_the_zone(desk):
    number = desk.add_recurring(
        "C1", "Asia/Seoul", MONDAYS, at("2026-11-09T00:00+00:00"), "x", "U1", NOW
    )
    assert desk.recurring_by_id(number).start == datetime(2026, 11, 9, 9)


@pytest.mark.parametrize(
    ("rule", "start", "why"),
    [
        ("FREQ=HOURLY", datetime(2026, 11, 9, 9), "daily, weekly, monthly or yearly"),
        ("FREQ=MINUTELY;INTERVAL=5", datetime(2026, 11, 9, 9), "daily, weekly, monthly or yearly"),
        ("BYDAY=MO", datetime(2026, 11, 9, 9), "daily, weekly, monthly or yearly"),
        ("FREQ=WEEKLY;BYDAY=FR", datetime(2026, 11, 9, 9), "not the first occurrence"),
        ("FREQ=WEEKLY;BYDAY=XX", datetime(2026, 11, 9, 9), "not an RFC 5545 rule"),
        ("FREQ=DAILY;UNTIL=20261101T000000", datetime(2026, 11, 9, 9), "never falls due"),
        ("DTSTART:20261109T090000\nRRULE:FREQ=DAILY", datetime(2026, 11, 9, 9), "without DTSTART"),
        ("FREQ=DAILY", datetime(2026, 11, 9, 9, 0, tzinfo=UTC), None),  # read in the zone: fine
    ],
)
def test_a_rule_the_scheduler_cannot_keep_is_refused_before_it_is_stored(desk, rule, start, why):
    if why is None:
        assert desk.add_recurring("C1", "UTC", rule, start, "x", "U1", NOW)
        return
    with pytest.raises(ValueError, match=why):
        desk.add_recurring("C1", "UTC", rule, start, "x", "U1", NOW)
    assert desk.recurring() == []


def test_an_unknown_zone_is_refused(desk):
    with pytest.raises(ValueError, match="no such time zone"):
        desk.add_recurring("C1", "Mars/Olympus", MONDAYS, datetime(2026, 11, 9, 9), "x", "U1", NOW)


def test_a_person_s_reminders_are_those_they_asked_for_and_those_for_them(desk):
    mine = desk.add_one_off("U1", NOW + timedelta(days=1), "UTC", "me", "U1", NOW)
    asked = desk.add_one_off(
        "U2", NOW + timedelta(days=2), "UTC", "for ann", "U1", NOW, for_user="U2"
    )
    channel = desk.add_one_off("C1", NOW + timedelta(hours=1), "UTC", "channel", "U1", NOW)
    theirs = desk.add_one_off(
        "U1", NOW + timedelta(days=3), "UTC", "from bo", "U3", NOW, for_user="U1"
    )
    past = desk.add_one_off(
        "U1", NOW - timedelta(days=1), "UTC", "old", "U1", NOW - timedelta(days=2)
    )
    gone = desk.add_one_off("U1", NOW + timedelta(days=1), "UTC", "gone", "U1", NOW)
    assert desk.cancel_one_off("U1", gone)
    elsewhere = desk.add_one_off("C2", NOW, "UTC", "not U1's", "U9", NOW)
    weekly = desk.add_recurring("C1", "UTC", MONDAYS, datetime(2026, 11, 9, 9), "w", "U1", NOW)
    for_me = desk.add_recurring(
        "U1", "UTC", "FREQ=DAILY", datetime(2026, 11, 7, 9), "d", "U3", NOW, for_user="U1"
    )
    desk.add_recurring("C2", "UTC", "FREQ=DAILY", datetime(2026, 11, 7, 9), "not U1's", "U9", NOW)

    one_offs, recurring = desk.reminders_for("U1")
    assert [one.id for one in one_offs] == [past, channel, mine, asked, theirs]
    assert [r.id for r in recurring] == [weekly, for_me]
    one_offs, _ = desk.reminders_for("U1", due_after=NOW)
    assert [one.id for one in one_offs] == [channel, mine, asked, theirs]
    assert [one.id for one in desk.reminders_for("U9")[0]] == [elsewhere]
    assert [one.id for one in desk.reminders_for("U2")[0]] == [asked]


@pytest.mark.parametrize(
    ("target", "person"),
    [
        ("U0ABC123", True),
        ("W0ABC123", True),
        ("C0ABC123", False),
        ("G0ABC123", False),
        ("D0ABC123", False),
        ("U1", True),
        ("u0abc123", False),
        ("U", False),
        ("", False),
    ],
)
def test_a_target_is_a_person_only_when_it_is_a_slack_user_id(target, person):
    assert is_user(target) is person


# -- planning: each occurrence at its wall time in the asker's zone ------------------------------


def planned(desk: Desk, start: datetime, end: datetime) -> dict[str, datetime]:
    """Every recurring occurrence a plan made afresh holds for [start, end): key -> due (UTC)."""
    posts = plan(Store(desk.db), desk, start, end, ZoneInfo("UTC"))
    return {post.key: post.due for post in posts if post.kind == "recurring"}


def test_a_daily_reminder_at_a_time_the_clocks_skip_falls_once_at_the_same_wall_time(desk):
    # New York's clocks go from 02:00 to 03:00 on 14 March 2027: 02:30 that night does not exist.
    number = desk.add_recurring(
        "C1", "America/New_York", "FREQ=DAILY", datetime(2027, 3, 13, 2, 30), "x", "U1", NOW
    )
    due = planned(desk, at("2027-03-13T00:00+00:00"), at("2027-03-16T00:00+00:00"))
    assert due == {
        f"recurring:{number}:2027-03-13T02:30": at("2027-03-13T02:30-05:00"),
        f"recurring:{number}:2027-03-14T02:30": at("2027-03-14T03:30-04:00"),  # on the old offset
        f"recurring:{number}:2027-03-15T02:30": at("2027-03-15T02:30-04:00"),
    }


def test_a_daily_reminder_at_a_time_the_clocks_repeat_falls_once_at_its_first_instant(desk):
    # New York's clocks go back from 02:00 to 01:00 on 1 November 2026: 01:30 comes twice.
    number = desk.add_recurring(
        "U0ANN",
        "America/New_York",
        "FREQ=DAILY",
        datetime(2026, 10, 31, 1, 30),
        "x",
        "U0ANN",
        NOW - timedelta(days=7),
    )
    due = planned(desk, at("2026-10-31T00:00+00:00"), at("2026-11-03T00:00+00:00"))
    assert due == {
        f"recurring:{number}:2026-10-31T01:30": at("2026-10-31T01:30-04:00"),
        f"recurring:{number}:2026-11-01T01:30": at("2026-11-01T01:30-04:00"),  # not -05:00 too
        f"recurring:{number}:2026-11-02T01:30": at("2026-11-02T01:30-05:00"),
    }


def test_nine_in_the_morning_stays_nine_in_the_asker_s_zone_when_its_clocks_change(desk):
    number = desk.add_recurring(
        "C1",
        "Europe/London",
        MONDAYS,
        datetime(2026, 10, 19, 9),
        "x",
        "U1",
        NOW - timedelta(days=30),
    )
    due = planned(desk, at("2026-10-19T00:00+00:00"), at("2026-11-03T00:00+00:00"))
    assert sorted(due.values()) == [
        at("2026-10-19T08:00+00:00"),
        at("2026-10-26T09:00+00:00"),
        at("2026-11-02T09:00+00:00"),
    ]
    assert sorted(due) == [f"recurring:{number}:2026-10-{d}T09:00" for d in (19, 26)] + [
        f"recurring:{number}:2026-11-02T09:00"
    ]


def test_until_a_meeting_ends_before_its_first_day_as_the_record_has_it_when_planning(db_path):
    desk = Desk(connect(db_path))
    number = desk.add_recurring(
        "C1",
        "Asia/Seoul",
        MONDAYS,
        datetime(2026, 11, 9, 9),
        "prep",
        "U1",
        NOW,
        meeting_id="aelm-2026",
        until_text="until AELM",
    )
    month = (NOW, NOW + timedelta(days=40))
    assert sorted(planned(desk, *month)) == [
        f"recurring:{number}:2026-11-{d:02d}T09:00" for d in (9, 16)
    ]

    schedule = Schedule(db_path, ZoneInfo("UTC"), "", LOOKBACK)
    clock = NOW + timedelta(days=9)  # Sunday 15 November

    def kept() -> list[str]:
        schedule.refresh(clock)
        return [p.key for p in schedule.planned() if p.kind == "recurring"]

    def summit(first_day: str) -> None:  # re-dated, as another process would
        desk.db.execute(
            "UPDATE meetings SET start_date = ?, end_date = ? WHERE id = 'aelm-2026'",
            [first_day, first_day],
        )

    assert kept() == [f"recurring:{number}:2026-11-16T09:00"]
    summit("2026-11-16")  # the summit opens on Monday: Monday's is no longer before it
    assert kept() == []
    summit("2026-11-25")
    assert kept() == [f"recurring:{number}:2026-11-16T09:00"]
    assert sorted(planned(desk, *month)) == [
        f"recurring:{number}:2026-11-{d:02d}T09:00" for d in (9, 16, 23)
    ]
    clock += timedelta(days=7)  # the day before the 23rd: planned as Seoul's days turn
    assert kept()[-1:] == [f"recurring:{number}:2026-11-23T09:00"]
    assert schedule.replans["meetings"] == 2
    schedule.close()
    desk.db.close()


def test_the_plan_kept_follows_reminders_added_paused_resumed_and_cancelled_elsewhere(db_path):
    desk = Desk(connect(db_path))  # another process's connection: it never tells the schedule
    schedule = Schedule(db_path, ZoneInfo("UTC"), "", LOOKBACK)
    clock = NOW  # Friday 6 November, 21:00 in Seoul, 09:00 in Santiago
    schedule.refresh(clock)

    def kept() -> set[str]:
        return {p.key for p in schedule.planned() if p.kind == "recurring"}

    def same_as_afresh() -> None:
        ahead = {p.key for p in schedule.planned() if clock < p.due <= clock + AHEAD}
        assert ahead == set(planned(desk, clock + timedelta(microseconds=1), clock + AHEAD))

    daily = desk.add_recurring(
        "U0ANN",
        "Asia/Seoul",
        "FREQ=DAILY",
        datetime(2026, 11, 7, 8, 30),
        "cables",
        "U0BOB",
        clock,
        for_user="U0ANN",
    )
    weekly = desk.add_recurring(
        "C1",
        "America/Santiago",
        "FREQ=WEEKLY;BYDAY=FR,SA",
        datetime(2026, 11, 6, 17),
        "note",
        "U0BOB",
        clock,
    )
    schedule.refresh(clock)
    fri_sat = {f"recurring:{weekly}:2026-11-06T17:00", f"recurring:{weekly}:2026-11-07T17:00"}
    assert kept() == {f"recurring:{daily}:2026-11-07T08:30"} | fri_sat  # to each zone's horizon
    assert schedule.replans["recurring"] == 1
    same_as_afresh()

    clock += timedelta(hours=1)
    assert desk.set_recurring_paused(daily, True, now=clock)
    schedule.refresh(clock)
    assert kept() == fri_sat
    same_as_afresh()

    clock += timedelta(days=1, hours=12)  # Sunday 8 November, 10:00 in Seoul: its 08:30 is past
    assert desk.set_recurring_paused(daily, False, now=clock)
    assert desk.cancel_recurring(weekly)
    schedule.refresh(clock)
    assert kept() == {f"recurring:{daily}:2026-11-09T08:30"}  # 8 November's fell due paused
    assert schedule.replans["recurring"] == 3
    same_as_afresh()
    schedule.close()
    desk.db.close()


# -- reading a rule from far after its start gives rrule's own occurrences -----------------------

WEEKDAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
# The zones drawn: clocks that change by an hour at 01:00, 02:00 or midnight, by half an hour (Lord
# Howe), south and north, and one that never changes.
ZONES = [
    "America/New_York",
    "Europe/London",
    "Pacific/Auckland",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Seoul",
]
# Times of day, among them those some zones skip or repeat on the nights their clocks change.
TIMES = [(0, 0), (0, 30), (1, 30), (1, 45), (2, 0), (2, 30), (8, 30), (9, 0), (17, 0), (23, 30)]
rules = st.one_of(
    st.builds("FREQ=DAILY;INTERVAL={}".format, st.integers(1, 3)),
    st.builds(
        lambda every, days, wkst: (
            f"FREQ=WEEKLY;INTERVAL={every};BYDAY={','.join(days)};WKST={wkst}"
        ),
        st.integers(1, 3),
        st.lists(st.sampled_from(WEEKDAY_CODES), min_size=1, max_size=3, unique=True),
        st.sampled_from(["MO", "SU"]),
    ),
    st.just("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
    st.builds("FREQ=MONTHLY;BYMONTHDAY={}".format, st.sampled_from([1, 15, 28, 31])),
    st.builds("FREQ=MONTHLY;INTERVAL={};BYDAY=1MO".format, st.integers(1, 2)),
    st.just("FREQ=MONTHLY;BYDAY=-1FR"),
    st.just("FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=18"),
)


def first_on_or_after(rule: str, day: datetime) -> datetime:
    """The first occurrence of `rule` read from `day` (a wall time): a reminder's start."""
    return rrulestr(rule, dtstart=day).after(day, inc=True)


@settings(max_examples=300, deadline=None)
@given(
    rule=rules,
    zone=st.sampled_from(ZONES),
    clock=st.sampled_from(TIMES),
    start_day=st.integers(0, 3 * 365),
    window_day=st.integers(0, 6 * 365),
    window_hours=st.sampled_from([1, 20, 49, 24 * 9]),
    until=st.one_of(st.none(), st.integers(30, 4 * 365)),
)
def test_a_reminder_s_occurrences_in_any_window_are_rrule_s_read_from_its_start(
    rule, zone, clock, start_day, window_day, window_hours, until
):
    base = datetime(2025, 1, 1, *clock) + timedelta(days=start_day)
    if until is not None:
        rule += f";UNTIL={base + timedelta(days=until):%Y%m%dT%H%M%S}"
    start = first_on_or_after(rule, base)
    assume(start is not None)
    tz = ZoneInfo(zone)
    reminder = Recurring(1, "C1", zone, rule, start, "x", "", "", "U1", "", NOW, NOW, False, False)
    low = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=window_day, minutes=17 * start_day)
    high = low + timedelta(hours=window_hours)

    found = occurrences(reminder, tz, low, high)

    walls = itertools.takewhile(
        lambda w: w < high.astimezone(tz).replace(tzinfo=None) + timedelta(days=1),
        rrulestr(rule, dtstart=start),
    )
    due = [(w, w.replace(tzinfo=tz).astimezone(UTC)) for w in walls]
    assert found == [(w, d) for w, d in due if low <= d < high]
    after = next((d for _, d in due if d > low), None)
    if after is not None:
        assert next_occurrence(reminder, tz, low) == after


# -- delivery: a reminder for a person is a direct message ---------------------------------------


class Wall:
    """The wall clock leases and claims are read on, moved by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def engine_for(stores, web_api, clock, wall=time.time) -> Engine:
    poster = SlackPoster(web_client(Config(api_url=web_api.url), BOT_TOKEN))
    engine = Engine(stores, poster, clock, ZoneInfo("UTC"), wall=wall)
    assert engine.hold_lease()
    return engine


def test_a_reminder_for_someone_else_reaches_them_as_a_direct_message_naming_the_asker(
    stores, desk, web_api
):
    due = at("2026-11-09T00:00+00:00")  # 09:00 in Seoul, the asker's zone
    desk.add_one_off("U0ANN", due, "Asia/Seoul", "call Seoul", "U0BOB", NOW, for_user="U0ANN")
    engine = engine_for(stores, web_api, Clock(due))

    assert engine.run_due().sent == ["one-off:1"]

    (opened,) = web_api.calls_to("conversations.open")
    assert opened.params["users"] == "U0ANN"
    (post,) = web_api.posts()
    assert post["channel"] == web_api.dm_channel("U0ANN")
    assert post["metadata"]["event_payload"]["key"] == "one-off:1"
    assert post["text"].startswith(":alarm_clock: <@U0BOB> asked me to remind you: call Seoul")
    token = (
        f"<!date^{int(due.timestamp())}^{{date_short_pretty}} at {{time}}"
        "|9 Nov 2026 09:00 (Asia/Seoul)>"
    )
    assert token in post["text"]
    assert any(
        token in e["text"] for b in post["blocks"] if b["type"] == "context" for e in b["elements"]
    )
    (buttons,) = [b for b in post["blocks"] if b["type"] == "actions"]
    assert "Mark as done" in [e["text"]["text"] for e in buttons["elements"]]
    assert desk.delivery("one-off:1").status == "sent"


def test_each_occurrence_of_a_recurring_reminder_is_one_direct_message_saying_when_the_next_is(
    stores, desk, web_api
):
    number = desk.add_recurring(
        "U0ANN", "Asia/Seoul", "FREQ=DAILY", datetime(2026, 11, 7, 8, 30), "cables", "U0ANN", NOW
    )
    clock = Clock(at("2026-11-07T08:30+09:00"))
    engine = engine_for(stores, web_api, clock)

    assert engine.run_due().sent == [f"recurring:{number}:2026-11-07T08:30"]
    clock.advance(days=1)
    assert engine.run_due().sent == [f"recurring:{number}:2026-11-08T08:30"]
    assert engine.run_due().sent == []

    assert len(web_api.calls_to("conversations.open")) == 1  # the direct message's channel, kept
    first, second = web_api.posts(web_api.dm_channel("U0ANN"))
    assert first["text"].startswith(":alarm_clock: *Reminder:* cables")  # the asker's own
    following = int(at("2026-11-08T08:30+09:00").timestamp())
    assert f"Recurring reminder #{number} — next <!date^{following}^" in first["text"]
    assert web_api.posted_keys() == {f"recurring:{number}:2026-11-0{d}T08:30": 1 for d in (7, 8)}


def test_a_direct_message_whose_answer_was_lost_is_found_in_its_history_not_sent_again(
    stores, desk, web_api
):
    desk.add_one_off("U0ANN", NOW, "UTC", "call Seoul", "U0BOB", NOW, for_user="U0ANN")
    wall = Wall()
    engine = engine_for(stores, web_api, Clock(NOW), wall)
    web_api.fail_after_posting("chat.postMessage", "internal_error", status=500)

    assert engine.run_due().unknown == ["one-off:1"]
    wall.now += POST_TIMEOUT + 1  # an accepted post shows in history by now
    assert engine.hold_lease()
    assert engine.recover() == ["one-off:1"]

    (looked,) = web_api.calls_to("conversations.history")
    assert looked.params["channel"] == web_api.dm_channel("U0ANN")
    assert desk.delivery("one-off:1").status == "sent"
    assert web_api.posted_keys() == {"one-off:1": 1}


def test_a_person_slack_will_not_open_a_direct_message_with_is_a_refusal_not_an_unknown(
    stores, desk, web_api
):
    desk.add_one_off("U0GONE", NOW, "UTC", "call Seoul", "U0BOB", NOW, for_user="U0GONE")
    web_api.fail("conversations.open", "user_not_found")
    engine = engine_for(stores, web_api, Clock(NOW))

    assert engine.run_due().failed == ["one-off:1"]

    assert web_api.calls_to("chat.postMessage") == []
    entry = desk.delivery("one-off:1")
    assert (entry.status, entry.error) == ("failed", "user_not_found")


def test_the_console_shows_a_reminder_for_a_person_as_a_direct_message():
    out = io.StringIO()
    ConsolePoster(out).post("U0ANN", Card().section("call Seoul"), "one-off:1")
    ConsolePoster(out).post("C0DESK", Card().section("weekly note"), "one-off:2")
    assert out.getvalue() == (
        "\n[direct message to U0ANN]\ncall Seoul\n\n[posted to #C0DESK]\nweekly note\n"
    )


# -- any rules, zones and clocks over a year: each occurrence posted once -------------------------

reminder = st.fixed_dictionaries(
    {
        "rule": rules,
        "zone": st.sampled_from(ZONES),
        "clock": st.sampled_from(TIMES),
        "target": st.sampled_from(["C1", "C2", "U0ANN", "U0BOB"]),  # two channels, two people
        "until": st.one_of(st.none(), st.integers(min_value=20, max_value=400)),  # days on
    }
)
# A stretch of the year: its length in minutes (an hour to two months), what happens at its end,
# and what another connection changes after that, without a word to the scheduler.
stretch = st.tuples(
    st.builds(
        int.__add__,
        st.sampled_from([60, 13 * 60, 2 * 1440, 9 * 1440, 30 * 1440, 61 * 1440]),
        st.integers(min_value=0, max_value=59),
    ),
    st.sampled_from(["none", "none", "restart", "crash", "down"]),
    st.one_of(
        st.just(("none",)),
        st.tuples(st.just("add"), reminder),
        # one of the reminders, by its place (a resume takes the one paused longest, if any)
        st.tuples(st.sampled_from(["pause", "resume", "resume", "cancel"]), st.integers(0, 2)),
    ),
)
DOWN = timedelta(hours=5)  # a "down" stretch's end: missed posts are still worth posting late
YEAR = timedelta(days=365)


@dataclass
class Made:
    """A reminder the example made, and what happened to it: what it should have posted."""

    id: int
    rule: str
    start: datetime
    zone: ZoneInfo
    paused: list[list[datetime | None]] = field(default_factory=list)  # [paused at, resumed at]
    cancelled: datetime | None = None

    def owed(self, until: datetime) -> dict[str, datetime]:
        """Every occurrence rrule gives (read from the start) due by `until`, less those that
        fell due after a pause and before its resume, or after a cancellation: key -> when due
        (a wall time the clocks skip on the old offset, one they repeat at its first instant)."""
        keys = {}
        for wall in rrulestr(self.rule, dtstart=self.start):
            due = wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
            if due > until:
                break
            quiet = any(p < due and (r is None or due < r) for p, r in self.paused)
            if not quiet and (self.cancelled is None or due <= self.cancelled):
                keys[occurrence_key(self.id, wall)] = due
        return keys


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=st.lists(reminder, min_size=1, max_size=3),
    day=st.integers(min_value=0, max_value=365),
    minute=st.integers(min_value=0, max_value=1439),
    stretches=st.lists(stretch, max_size=8),
    faults=st.lists(st.sampled_from(FAULTS), max_size=8),
)
def test_over_a_year_each_occurrence_of_any_rule_in_any_zone_is_posted_once(
    built_db, first, day, minute, stretches, faults
):
    """For random rules, zones and clocks, what the scheduler posts over a simulated year (its
    clocks' changes in the asker's zone, restarts, crashes, a few hours down, Slack's faults, and
    reminders added, paused, resumed and cancelled by another connection) is each occurrence
    rrule gives, once: in the channel, or as a direct message."""
    work = Path(tempfile.mkdtemp())
    slack = WebAPIStub(token=BOT_TOKEN).start()
    world: World | None = None
    try:
        path = work / "apec.db"
        shutil.copy(built_db, path)
        start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day, minutes=minute)
        end = start + YEAR
        world = World(path, slack, start)
        script(slack, faults)
        made: list[Made] = []

        def add(spec: dict) -> None:
            zone, now = ZoneInfo(spec["zone"]), world.clock.now
            base = datetime.combine(now.astimezone(zone).date(), dt_time(*spec["clock"]))
            rule = spec["rule"]
            if spec["until"] is not None:
                rule += f";UNTIL={base + timedelta(days=spec['until']):%Y%m%dT%H%M%S}"
            # the first occurrence still to come, as the grammar gives it
            wall = next(
                (
                    w
                    for w in rrulestr(rule, dtstart=base)
                    if w.replace(tzinfo=zone).astimezone(UTC) > now
                ),
                None,
            )
            if wall is None:
                return
            person = spec["target"] if spec["target"].startswith("U") else ""
            number = world.desk.add_recurring(
                spec["target"], spec["zone"], rule, wall, "note", "U0BOB", now, for_user=person
            )
            made.append(Made(number, rule, wall, zone))

        def change(what: tuple) -> None:
            now = world.clock.now
            if what[0] == "add":
                add(what[1])
            elif what[0] != "none" and made:
                one = made[what[1] % len(made)]
                if what[0] == "resume":
                    one = next((m for m in made if m.paused and m.paused[-1][1] is None), one)
                if what[0] == "cancel" and world.desk.cancel_recurring(one.id):
                    one.cancelled = now
                elif what[0] == "pause" and world.desk.set_recurring_paused(one.id, True, now):
                    one.paused.append([now, None])
                elif what[0] == "resume" and world.desk.set_recurring_paused(one.id, False, now):
                    one.paused[-1][1] = now

        def run_until(engine: Engine, until: datetime) -> None:
            """As APScheduler would: a run at each moment something falls due, ticks between."""
            world.run(engine)
            for post in engine.upcoming(world.clock.now, until):
                world.ticks(engine, post.due)
                world.clock.now = max(world.clock.now, post.due)
                world.run(engine)
            world.ticks(engine, until)
            world.clock.now = max(world.clock.now, until)
            world.run(engine)

        for spec in first:
            add(spec)
        engine = world.engine()
        for minutes, then, what in stretches:
            run_until(engine, min(world.clock.now + timedelta(minutes=minutes), end))
            if then in ("restart", "down"):
                engine.release()
                world.clock.now += DOWN if then == "down" else timedelta(0)
            elif then == "crash":
                world.shift += LEASE_TTL + 1  # a dead process's lease runs out
            if then != "none":
                engine = world.engine()
                world.run(engine)  # the catch-up: what fell due while down goes out late
            change(what)
        run_until(engine, end)
        world.shift += LEASE_TTL + 1  # a last scheduler settles what waits on Slack
        engine = world.engine()
        world.run(engine)
        world.ticks(engine, world.clock.now + timedelta(days=1))
        world.run(engine)
        slack.stop()

        posted = slack.posted_keys()
        owed = {k: due for one in made for k, due in one.owed(world.clock.now).items()}
        event(f"occurrences owed: {next(f'{n}+' for n in (300, 100, 10, 1, 0) if len(owed) >= n)}")
        event(f"reminders: {len(made)}")
        event(f"direct messages: {bool(slack.calls_to('conversations.open'))}")
        event(f"changes: {sorted({w[0] for _, _, w in stretches})}")
        twice = sorted(key for key, count in posted.items() if count > 1)
        assert not twice, f"posted more than once: {twice[:5]}"
        assert set(posted) - set(owed) == set(), "posted but not an occurrence owed"
        assert set(owed) - set(posted) == set(), "an occurrence owed was not posted"
        sent = {d.key: d.due_at for d in world.desk.deliveries(status="sent")}
        assert set(sent) == set(posted), "what Slack holds and what the log says was sent differ"
        assert sent == owed, "an occurrence fell due at another time than its wall time's"
        assert not world.desk.unresolved(), "a post was left unresolved"
    finally:
        slack.stop()
        if world is not None:
            world.desk.db.close()
        shutil.rmtree(work, ignore_errors=True)


def test_an_unknown_outcome_that_came_of_age_during_a_run_is_still_looked_for(
    stores, desk, web_api
):
    # The tick after a run is armed from next_look(): a claim already old enough by then (it came
    # of age while the run went on, or Slack could not be asked) must still get a look soon,
    # not wait for some later tick.
    desk.add_one_off("C1", NOW, "UTC", "call Seoul", "U0BOB", NOW)
    wall = Wall()
    engine = engine_for(stores, web_api, Clock(NOW), wall)
    web_api.fail_after_posting("chat.postMessage", "internal_error", status=500)
    assert engine.run_due().unknown == ["one-off:1"]
    assert engine.next_look() == wall.now + POST_TIMEOUT  # not before an accepted post shows

    wall.now += POST_TIMEOUT + 1  # of age, and not yet looked for
    look = engine.next_look()
    assert look is not None and wall.now < look <= wall.now + RELOOK
