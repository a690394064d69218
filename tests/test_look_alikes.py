"""Letters Python's IGNORECASE matching takes for ASCII ones: a long s (ſ) for s, a dotless ı and a
dotted İ for i, the Kelvin sign (K) for k. Every grammar matches with that flag, so a phrase
written with them is matched; what it matched must then read as the same phrase in ASCII, never
raise in the middle of an answer (it did: "thıs week", "yeſterday 9am", "November eıghteenth"
were KeyErrors), and never read as something else ("this weeKend" as a week).

Written so: a period for each kind of date rule, every reminder of the two reminder corpora, and
every question of the test corpora, each with its look-alike letters put in."""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from handlers.answer import answer
from store.dates import DateError, find_dates, read_period, read_span, read_when
from store.remind import Every, RemindError, read_request, until_day
from store.vocabulary import LOOK_ALIKES

HERE = Path(__file__).parent
SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 3, 2, 9, tzinfo=SEOUL)
REF = date(2026, 2, 10)
SWAP = {"s": "ſ", "i": "ı", "I": "İ", "k": "\u212a", "K": "\u212a"}


def looks_alike(text: str) -> str:
    return "".join(SWAP.get(c, c) for c in text)


def _said(name: str, field: str) -> list[str]:
    cases = tomllib.loads((HERE / "corpus" / name).read_text(encoding="utf-8"))["case"]
    return sorted({c[field] for c in cases if field in c})


PERIODS = [
    "this week", "this weekend", "next week", "last week", "this year", "next month",
    "later this year", "earlier this year", "in September", "in early August", "mid-September",
    "between March and June", "from May", "next 3 days", "past two weeks", "next September",
    "November eighteenth", "the ninth of February", "today", "tonight", "tomorrow", "yesterday",
    "the day after tomorrow", "the day before yesterday",
    "in 2026", "September 9, 2026", "Friday, September 11, 2026", "9 Sept. 2026",
    "1-10 February 2026", "30 January - 2 February 2026", "2026-11-18",
]  # fmt: skip
REMINDERS = [
    t
    for t in _said("reminders.toml", "say") + _said("reminders-slack.toml", "say")
    if looks_alike(t) != t
]


def _until_folded(when):
    return replace(when, until_text=when.until_text.lower()) if isinstance(when, Every) else when


def _reading(call):
    try:
        return call()
    except (DateError, RemindError) as error:
        return type(error).__name__


@pytest.mark.parametrize("text", [p for p in PERIODS if looks_alike(p) != p])
def test_a_period_in_look_alike_letters_reads_as_in_ascii(text):
    odd = looks_alike(text)

    def key(span):
        return (
            span
            if isinstance(span, str) or span is None
            else (span.start, span.end, span.precision)
        )

    assert key(_reading(lambda: read_period(odd, NOW))) == key(
        _reading(lambda: read_period(text, NOW))
    )
    assert key(_reading(lambda: read_span(odd, REF))) == key(_reading(lambda: read_span(text, REF)))
    found = [(s.start, s.end) for _, s in find_dates(f"Held {odd}.", REF)]
    assert found == [(s.start, s.end) for _, s in find_dates(f"Held {text}.", REF)]


@pytest.mark.parametrize("text", REMINDERS)
def test_a_reminder_in_look_alike_letters_reads_as_in_ascii_and_keeps_its_words(text):
    odd = looks_alike(text)
    plain = _reading(lambda: read_request(text, NOW, SEOUL))
    read = _reading(lambda: read_request(odd, NOW, SEOUL))
    if isinstance(plain, str):
        assert read == plain
        return
    assert not isinstance(read, str), read
    # An end as typed ("for 1 week") is kept as read: its look-alike letters written in ASCII.
    assert _until_folded(read.when) == _until_folded(plain.when)
    assert read.text == looks_alike(plain.text)  # the words to be sent, as typed
    assert read.phrase == looks_alike(plain.phrase)


@pytest.mark.parametrize("text", ["tomorrow 9am", "next friday 15:00", "in 2 hours", "yesterday"])
def test_a_moment_in_look_alike_letters_reads_as_in_ascii(text):
    assert read_when(looks_alike(text), NOW) == read_when(text, NOW)


def test_the_look_alikes_are_every_letter_ignorecase_takes_for_an_ascii_one():
    ascii_letter = re.compile("[a-z]", re.IGNORECASE)
    found = {chr(c) for c in range(0x80, sys.maxunicode + 1) if ascii_letter.fullmatch(chr(c))}
    assert found == set(map(chr, LOOK_ALIKES))
    for odd, plain in LOOK_ALIKES.items():
        assert re.fullmatch(str(plain if isinstance(plain, str) else chr(plain)), chr(odd), re.I)


def _asked() -> list[str]:
    asked: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "ask" and isinstance(item, str):
                    asked.add(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for path in sorted((HERE / "corpus").glob("*.toml")):
        walk(tomllib.loads(path.read_text(encoding="utf-8")))
    return sorted(q for q in asked if looks_alike(q) != q)


def test_every_corpus_question_in_look_alike_letters_is_answered(store):
    # "SOM2 related mtgſ dateſ" raised KeyError in the reader's shorthand before it was read with
    # them folded. Written so, a question may read as another language: a plain reply too.
    questions = _asked()
    assert len(questions) > 500
    for question in questions:
        first = answer(store, looks_alike(question), NOW).plain().splitlines()
        assert first and first[0].strip(), question


@pytest.mark.parametrize("text", ["september", "20 november", "next friday", "next month", "2027"])
def test_an_end_day_in_look_alike_letters_reads_as_in_ascii(text):
    # until_day compares the period it read with the words given: both as matched.
    assert until_day(looks_alike(text), NOW) == until_day(text, NOW)
