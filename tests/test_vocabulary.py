"""The one vocabulary (store/vocabulary.py): what people may call a kind of meeting and what the
bot prints for it, weekdays, months, number words, and the years the store holds."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest

from handlers.question import parse
from handlers.router import Ask, route
from store.dates import find_dates, read_period, read_when
from store.desk import Desk
from store.vocabulary import (
    DAY_NAMES,
    KIND_BY_WORD,
    KIND_LABELS,
    KIND_PHRASES,
    KIND_SHORT_LABELS,
    KINDS,
    MEETING_KINDS,
    MONTH_NAMES,
    NUMBER_WORDS,
    years_held,
)
from tests.conftest import ADMIN, SEEDS, at

JULY = at("2026-07-20T09:00+09:00")


def says(store, text: str, admin: bool = False) -> str:
    ask = Ask(
        store=store,
        now=JULY,
        text=text,
        user=ADMIN if admin else "U1",
        channel="C1",
        can_edit=lambda: admin,
        seeds=SEEDS,
    )
    return route(ask).plain()


@pytest.mark.parametrize(
    ("kind", "phrase"), [(k, p) for k, phrases in KIND_PHRASES.items() for p in phrases]
)
def test_each_phrase_of_a_kind_is_read_as_that_kind_in_a_question(store, kind, phrase):
    assert parse(store, f"where is the next {phrase} held?", JULY).kind == kind


@pytest.mark.parametrize(("word", "kind"), sorted(KIND_BY_WORD.items()))
def test_each_word_of_a_kind_subscribes_a_channel_to_that_kind(store, word, kind):
    says(store, f"subscribe reminders {word}")
    (sub,) = Desk(store.db).subscriptions("C1")
    assert sub.kinds == (kind,)


def test_a_subscription_is_described_with_the_short_labels(store):
    says(store, "subscribe reminders som summit")
    assert f"before every {KIND_SHORT_LABELS['som']} and {KIND_SHORT_LABELS['summit']}" in says(
        store, "subscriptions"
    )


@pytest.mark.parametrize("kind", sorted(KIND_LABELS))
def test_next_meeting_of_a_kind_is_named_by_its_label(store, kind):
    reply = says(store, f"next-meeting {kind}")
    assert f"{KIND_LABELS[kind]} " in reply
    assert reply.startswith(("The next ", "No upcoming ", "Under way now"))


def test_the_kinds_are_the_five_a_meeting_record_may_have_and_the_three_people_name():
    assert MEETING_KINDS == {"som", "summit", "ministerial", "committee", "event"}
    assert set(KIND_PHRASES) == set(KIND_LABELS) == set(KIND_SHORT_LABELS)
    assert set(KIND_BY_WORD.values()) == set(KIND_PHRASES)
    assert [k.rank for k in sorted(KINDS, key=lambda k: k.rank)] == list(range(len(KINDS)))


def test_every_meeting_in_the_seeds_has_a_kind_of_the_vocabulary(store):
    assert {m.kind for m in store.meetings()} <= MEETING_KINDS


def test_day_and_month_names_are_the_calendar_s_in_english():
    monday = date(2024, 1, 1)
    assert [(monday + timedelta(days=n)).weekday() for n in range(7)] == list(range(7))
    with calendar.different_locale("C"):
        assert DAY_NAMES == tuple(calendar.day_name)
        assert MONTH_NAMES == tuple(calendar.month_name)[1:]


@pytest.mark.parametrize(("word", "count"), sorted(NUMBER_WORDS.items()))
def test_each_number_word_counts_in_a_period_and_in_a_moment(word, count):
    period = read_period(f"the next {word} days", JULY)
    assert period is not None and period.start is not None and period.end is not None
    assert (period.end - period.start).days + 1 in (count, count + 1)
    assert read_when(f"in {word} hours", JULY) == JULY + timedelta(hours=count)


@pytest.mark.parametrize(("number", "name"), list(enumerate(MONTH_NAMES, 1)))
def test_each_month_name_reads_as_its_month(number, name):
    ((_, span),) = find_dates(f"held on 9 {name} 2026 in Lima", date(2026, 1, 1))
    assert span.start == date(2026, number, 9)


def test_the_years_held_are_read_from_the_store_and_follow_it(store):
    assert years_held(store) == {m.year for m in store.meetings() if m.year is not None}
    assert 2027 not in years_held(store)
    says(store, 'add-meeting "SOM1 2027" 2027-02-10..2027-02-12 Lima', admin=True)
    assert 2027 in years_held(store.refresh())
