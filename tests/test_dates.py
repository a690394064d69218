"""store.dates: the seeds' date phrases, the range grammar, periods and moments users type."""

import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.dates import (
    DateError,
    Span,
    find_dates,
    find_unreadable_dates,
    read_period,
    read_span,
    read_when,
    warm_up,
)
from store.remind import read_request

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
D = date.fromisoformat

# Reference dates from seeds/SOURCES.md.
REF_000 = D("2026-02-10")
REF_001 = D("2026-02-01")
REF_002 = D("2026-02-02")
REF_003 = D("2026-02-01")
REF_004 = D("2025-06-10")
REF_SUPPLEMENTARY = D("2026-05-19")

NOW_NOV = datetime(2026, 11, 24, 9, 0, tzinfo=SEOUL)  # a Tuesday
NOW_JAN = datetime(2026, 1, 20, 9, 0, tzinfo=SEOUL)  # a Tuesday

HOSTILE = [
    "",
    " ",
    "\n\t ",
    "x" * 5000,
    "May 18 " * 700,
    "1" * 5000,
    '"',
    "'",
    '""',
    "“”",
    "NOT",
    "😀",
    "🗓️ 18 May 2026 🎉",
    "\x00",
    "\x00May 18\x00",
    "May\x0018",
    "\ud800",
    "\u202e2026",
    "February 30",
    "9999-99-99",
    "0000-01-01",
    "9999-12-31 to 9999-12-31",
    "31/31/2026",
    "in 99999 hours",
    "next 999 months",
    "--",
    "......",
    "between and",
    "from to",
    "'; DROP TABLE meetings; --",
]


def span(start: str | None, end: str | None, precision: str, text: str) -> Span:
    first, last = D(start) if start else None, D(end) if end else None
    return Span(first, last, precision, text)  # type: ignore[arg-type]


def seed(name: str) -> str:
    return next(SEEDS.rglob(f"{name}*")).read_text(encoding="utf-8")


# -- every date phrase in the seeds, read against its document's reference date -----------------

SEED_PHRASES = [
    # 000: Korea MOFA press release
    ("from February 1 to 10", REF_000, "2026-02-01", "2026-02-10", "day"),
    ("this year", REF_000, "2026-01-01", "2026-12-31", "year"),
    ("scheduled for November", REF_000, "2026-11-01", "2026-11-30", "month"),
    ("November", REF_000, "2026-11-01", "2026-11-30", "month"),
    ("held on February 9", REF_000, "2026-02-09", "2026-02-09", "day"),
    ("February 9", REF_000, "2026-02-09", "2026-02-09", "day"),
    ("on November 18–19", REF_000, "2026-11-18", "2026-11-19", "day"),
    ("November 18–19", REF_000, "2026-11-18", "2026-11-19", "day"),
    # 001: US State Department update
    ("Feb. 1–10, 2026", REF_001, "2026-02-01", "2026-02-10", "day"),
    # 002: news article
    ("scheduled from February 1 to 10, 2026", REF_002, "2026-02-01", "2026-02-10", "day"),
    ("from February 1 to 10, 2026", REF_002, "2026-02-01", "2026-02-10", "day"),
    # 004: news commentary, the 2025 summit
    ("later this year", REF_004, "2025-06-10", "2025-12-31", "year"),
    # supplementary: China's 2026 calendar
    ("2026-05-19", REF_SUPPLEMENTARY, "2026-05-19", "2026-05-19", "day"),
    ("On December 12, 2025", REF_SUPPLEMENTARY, "2025-12-12", "2025-12-12", "day"),
    ("December 12, 2025", REF_SUPPLEMENTARY, "2025-12-12", "2025-12-12", "day"),
    ("on November 18 and 19, 2026", REF_SUPPLEMENTARY, "2026-11-18", "2026-11-19", "day"),
    ("November 18 and 19, 2026", REF_SUPPLEMENTARY, "2026-11-18", "2026-11-19", "day"),
    ("in February", REF_SUPPLEMENTARY, "2026-02-01", "2026-02-28", "month"),
    ("in May", REF_SUPPLEMENTARY, "2026-05-01", "2026-05-31", "month"),
    ("in August", REF_SUPPLEMENTARY, "2026-08-01", "2026-08-31", "month"),
    ("From May", REF_SUPPLEMENTARY, "2026-05-01", "2026-12-31", "month"),
    ("May 11 to 17, 2026", REF_SUPPLEMENTARY, "2026-05-11", "2026-05-17", "day"),
    ("on Monday, May 18, 2026", REF_SUPPLEMENTARY, "2026-05-18", "2026-05-18", "day"),
    ("Monday, May 18, 2026", REF_SUPPLEMENTARY, "2026-05-18", "2026-05-18", "day"),
    ("running May 18 to 19", REF_SUPPLEMENTARY, "2026-05-18", "2026-05-19", "day"),
    ("May 18 to 19", REF_SUPPLEMENTARY, "2026-05-18", "2026-05-19", "day"),
    ("2025-12-13", REF_SUPPLEMENTARY, "2025-12-13", "2025-12-13", "day"),
    ("May 2026", REF_SUPPLEMENTARY, "2026-05-01", "2026-05-31", "month"),
]


@pytest.mark.parametrize(("text", "reference", "start", "end", "precision"), SEED_PHRASES)
def test_every_seed_date_phrase_reads_as_its_span(text, reference, start, end, precision):
    assert read_span(text, reference) == span(start, end, precision, text)


@pytest.mark.parametrize(
    "text", ["not given", "dates were not given", "TBC", "(TBC)", "to be confirmed", "TBD", "n/a"]
)
def test_a_date_said_to_be_unknown_reads_as_unknown(text):
    assert read_span(text, REF_SUPPLEMENTARY) == Span(None, None, "unknown", text.strip("()"))


# -- the range grammar, and the single dates, months and years around it ------------------------

GRAMMAR = [
    ("from February 1 to 10", "2026-02-01", "2026-02-10", "day"),
    ("February 1 to 10", "2026-02-01", "2026-02-10", "day"),
    ("Feb. 1–10, 2026", "2026-02-01", "2026-02-10", "day"),
    ("Feb. 1-10, 2026", "2026-02-01", "2026-02-10", "day"),
    ("Feb 1 — 10, 2026", "2026-02-01", "2026-02-10", "day"),
    ("February 1 to 10, 2026", "2026-02-01", "2026-02-10", "day"),
    ("from February 1 to 10, 2026", "2026-02-01", "2026-02-10", "day"),
    ("February 1 through 10, 2027", "2027-02-01", "2027-02-10", "day"),
    ("November 18–19", "2026-11-18", "2026-11-19", "day"),
    ("November 18-19, 2026", "2026-11-18", "2026-11-19", "day"),
    ("November 18 and 19, 2026", "2026-11-18", "2026-11-19", "day"),
    ("on November 18 and 19, 2026", "2026-11-18", "2026-11-19", "day"),
    ("between May 5 and 12", "2026-05-05", "2026-05-12", "day"),
    ("May 11 to 17, 2026", "2026-05-11", "2026-05-17", "day"),
    ("May 18 to 19", "2026-05-18", "2026-05-19", "day"),
    ("running May 18 to 19", "2026-05-18", "2026-05-19", "day"),
    ("January 30 to February 2", "2026-01-30", "2026-02-02", "day"),
    ("January 30, 2026 – February 2, 2026", "2026-01-30", "2026-02-02", "day"),
    ("30 January – 2 February 2026", "2026-01-30", "2026-02-02", "day"),
    ("1–10 February 2026", "2026-02-01", "2026-02-10", "day"),
    ("18 and 19 November", "2026-11-18", "2026-11-19", "day"),
    ("December 30 to January 2", "2026-12-30", "2027-01-02", "day"),
    ("December 30 – January 2, 2027", "2026-12-30", "2027-01-02", "day"),
    ("30 December 2025 – 2 January 2026", "2025-12-30", "2026-01-02", "day"),
    ("2026-08-10..2026-08-21", "2026-08-10", "2026-08-21", "day"),
    ("2026-08-10 to 2026-08-21", "2026-08-10", "2026-08-21", "day"),
    ("2026-08-10 – 2026-08-21", "2026-08-10", "2026-08-21", "day"),
    ("between March and June", "2026-03-01", "2026-06-30", "month"),
    ("from March to June", "2026-03-01", "2026-06-30", "month"),
    ("March–June 2027", "2027-03-01", "2027-06-30", "month"),
    ("November 2026 to February 2027", "2026-11-01", "2027-02-28", "month"),
    # single dates
    ("February 9", "2026-02-09", "2026-02-09", "day"),
    ("held on February 9", "2026-02-09", "2026-02-09", "day"),
    ("December 12, 2025", "2025-12-12", "2025-12-12", "day"),
    ("Monday, May 18, 2026", "2026-05-18", "2026-05-18", "day"),
    ("Mon. May 18, 2026", "2026-05-18", "2026-05-18", "day"),
    ("2026-11-18", "2026-11-18", "2026-11-18", "day"),
    ("Nov. 18, 2026", "2026-11-18", "2026-11-18", "day"),
    ("November 18th", "2026-11-18", "2026-11-18", "day"),
    ("the 18th of November", "2026-11-18", "2026-11-18", "day"),
    ("9 February 2026", "2026-02-09", "2026-02-09", "day"),
    ("Sept. 3", "2026-09-03", "2026-09-03", "day"),
    ("18/11/2026", "2026-11-18", "2026-11-18", "day"),
    ("2026/11/18", "2026-11-18", "2026-11-18", "day"),
    ("18-Nov-2026", "2026-11-18", "2026-11-18", "day"),
    ("  “February 9.”  ", "2026-02-09", "2026-02-09", "day"),
    # months
    ("in May", "2026-05-01", "2026-05-31", "month"),
    ("in August", "2026-08-01", "2026-08-31", "month"),
    ("May 2026", "2026-05-01", "2026-05-31", "month"),
    ("in February", "2026-02-01", "2026-02-28", "month"),
    ("in early August", "2026-08-01", "2026-08-31", "month"),
    ("from May", "2026-05-01", "2026-12-31", "month"),
    ("From May 2027", "2027-05-01", "2027-12-31", "month"),
    ("next month", "2026-03-01", "2026-03-31", "month"),
    # years
    ("later this year", "2026-02-10", "2026-12-31", "year"),
    ("earlier this year", "2026-01-01", "2026-02-10", "year"),
    ("this year", "2026-01-01", "2026-12-31", "year"),
    ("next year", "2027-01-01", "2027-12-31", "year"),
    ("in 2026", "2026-01-01", "2026-12-31", "year"),
    ("2026", "2026-01-01", "2026-12-31", "year"),
]


@pytest.mark.parametrize(("text", "start", "end", "precision"), GRAMMAR)
def test_range_grammar_and_single_dates_read_against_a_document_of_2026_02_10(
    text, start, end, precision
):
    got = read_span(text, REF_000)
    assert (got.start, got.end, got.precision) == (D(start), D(end), precision)


def test_a_date_without_a_year_takes_the_reference_year_even_when_already_past():
    assert read_span("February 9", D("2026-11-30")).start == D("2026-02-09")
    assert read_span("November 18–19", D("2026-02-10")).start == D("2026-11-18")


def test_a_year_written_in_the_phrase_wins_over_the_reference_year():
    assert read_span("December 12, 2025", REF_SUPPLEMENTARY).start == D("2025-12-12")
    assert read_span("May 11 to 17, 2027", REF_SUPPLEMENTARY).end == D("2027-05-17")


def test_the_span_keeps_the_phrase_as_written():
    assert (
        read_span("  on November 18 and 19, 2026 ", REF_000).text == "on November 18 and 19, 2026"
    )


def test_a_reference_given_as_datetime_counts_as_its_day():
    assert read_span("later this year", datetime(2025, 6, 10, 23, 0)).start == REF_004


UNREADABLE = [
    ("alongside the summit", "not a date"),
    ("", "no date"),
    ("   ", "no date"),
    ("soon", "not a date"),
    ("NOT", "not a date"),
    ("x" * 5000, "too long"),
    ("Feb 30", "no such day"),
    ("February 30, 2026", "no such day"),
    ("2026-02-30", "no such day"),
    ("2026-13-01", "no such month"),
    ("February 10 to 1", "ends before it starts"),
    ("2026-08-21..2026-08-10", "ends before it starts"),
    ("June 2026 to March 2026", "ends before it starts"),
    ("May 5 and 12", "two separate dates"),
    ("March and June", "two separate dates"),
    ("Tuesday, May 18, 2026", "is a Monday"),
    ("05/11/2026", "order unclear"),
    ("November 18-19-20", "not a date"),
    ("May 18, 1066", "not a plausible year"),
    ("in 2 hours", "not a date"),
]


@pytest.mark.parametrize(("text", "message"), UNREADABLE)
def test_what_cannot_be_read_raises_date_error_with_a_short_reason(text, message):
    with pytest.raises(DateError, match=message) as caught:
        read_span(text, REF_000)
    assert len(str(caught.value)) < 100


def test_date_error_is_a_value_error():
    assert issubclass(DateError, ValueError)


@pytest.mark.parametrize("text", HOSTILE + [None, 42, b"May 18"])
def test_read_span_raises_nothing_but_date_error_on_hostile_input(text):
    try:
        read_span(text, REF_000)
    except DateError:
        pass


def test_read_span_refuses_a_reference_that_is_not_a_date():
    with pytest.raises(DateError):
        read_span("February 9", "2026-02-10")  # type: ignore[arg-type]


def test_a_span_that_ends_before_it_starts_cannot_be_made():
    with pytest.raises(DateError):
        Span(D("2026-02-10"), D("2026-02-01"), "day")


# -- Span ----------------------------------------------------------------------------------------

DESCRIBED = [
    (span("2026-02-01", "2026-02-10", "day", ""), "1–10 February 2026"),
    (span("2026-11-18", "2026-11-19", "day", ""), "18–19 November 2026"),
    (span("2026-02-09", "2026-02-09", "day", ""), "9 February 2026"),
    (span("2026-01-30", "2026-02-02", "day", ""), "30 January – 2 February 2026"),
    (span("2026-12-30", "2027-01-02", "day", ""), "30 December 2026 – 2 January 2027"),
    (span("2026-05-01", "2026-05-31", "month", ""), "May 2026, dates not confirmed"),
    (span("2026-08-01", "2026-08-31", "month", ""), "August 2026, dates not confirmed"),
    (span("2026-05-01", "2026-12-31", "month", ""), "May – December 2026, dates not confirmed"),
    (
        span("2026-11-01", "2027-02-28", "month", ""),
        "November 2026 – February 2027, dates not confirmed",
    ),
    (span("2025-06-10", "2025-12-31", "year", ""), "2025, date not confirmed"),
    (span("2025-01-01", "2026-12-31", "year", ""), "2025 – 2026, dates not confirmed"),
    (span(None, None, "unknown", "not given"), "date not known"),
]


@pytest.mark.parametrize(("value", "text"), DESCRIBED)
def test_describe_says_the_span_in_words_and_how_much_is_known(value, text):
    assert value.describe() == text


def test_describe_of_what_the_seeds_say():
    assert read_span("from February 1 to 10", REF_000).describe() == "1–10 February 2026"
    assert read_span("in May", REF_SUPPLEMENTARY).describe() == "May 2026, dates not confirmed"
    assert read_span("later this year", REF_004).describe() == "2025, date not confirmed"


OVERLAPS = [
    (span("2026-02-01", "2026-02-10", "day", ""), "2026-02-10", "2026-02-28", True),
    (span("2026-02-01", "2026-02-10", "day", ""), "2026-01-01", "2026-02-01", True),
    (span("2026-02-01", "2026-02-10", "day", ""), "2026-02-03", "2026-02-04", True),
    (span("2026-02-01", "2026-02-10", "day", ""), "2026-02-11", "2026-03-01", False),
    (span("2026-02-01", "2026-02-10", "day", ""), "2026-01-01", "2026-01-31", False),
    (span("2026-05-01", "2026-05-31", "month", ""), "2026-05-18", "2026-05-18", True),
    (span("2026-02-09", None, "day", ""), "2026-02-09", "2026-02-09", True),
    (span(None, None, "unknown", ""), "1900-01-01", "2199-12-31", False),
]


@pytest.mark.parametrize(("value", "start", "end", "expected"), OVERLAPS)
def test_overlaps_counts_shared_days_inclusively_and_never_for_an_unknown_date(
    value, start, end, expected
):
    assert value.overlaps(D(start), D(end)) is expected


# -- find_dates on the real seed files -----------------------------------------------------------

FOUND_IN_SEEDS = [
    (
        "000",
        REF_000,
        [
            ("from February 1 to 10", "2026-02-01", "2026-02-10", "day"),
            ("this year", "2026-01-01", "2026-12-31", "year"),
            ("November", "2026-11-01", "2026-11-30", "month"),
            ("this year", "2026-01-01", "2026-12-31", "year"),
            ("February 9", "2026-02-09", "2026-02-09", "day"),
            ("November 18–19", "2026-11-18", "2026-11-19", "day"),
        ],
    ),
    ("001", REF_001, [("Feb. 1–10, 2026", "2026-02-01", "2026-02-10", "day")]),
    ("002", REF_002, [("from February 1 to 10, 2026", "2026-02-01", "2026-02-10", "day")]),
    ("003", REF_003, []),
    ("004", REF_004, [("later this year", "2025-06-10", "2025-12-31", "year")]),
    (
        "china-2026",
        REF_SUPPLEMENTARY,
        [
            ("2026-05-19", "2026-05-19", "2026-05-19", "day"),
            ("December 12, 2025", "2025-12-12", "2025-12-12", "day"),
            ("November 18 and 19, 2026", "2026-11-18", "2026-11-19", "day"),
            ("February", "2026-02-01", "2026-02-28", "month"),
            ("May", "2026-05-01", "2026-05-31", "month"),
            ("August", "2026-08-01", "2026-08-31", "month"),
            ("From May", "2026-05-01", "2026-12-31", "month"),
            ("May 11 to 17, 2026", "2026-05-11", "2026-05-17", "day"),
            ("Monday, May 18, 2026", "2026-05-18", "2026-05-18", "day"),
            ("May 18 to 19", "2026-05-18", "2026-05-19", "day"),
            ("2025-12-13", "2025-12-13", "2025-12-13", "day"),
            ("May 2026", "2026-05-01", "2026-05-31", "month"),
        ],
    ),
]


@pytest.mark.parametrize(("name", "reference", "expected"), FOUND_IN_SEEDS)
def test_find_dates_in_each_seed_file_finds_exactly_its_dates_in_order(name, reference, expected):
    found = find_dates(seed(name), reference)
    assert [(p, s.start, s.end, s.precision) for p, s in found] == [
        (p, D(start), D(end), precision) for p, start, end, precision in expected
    ]


@pytest.mark.parametrize(("name", "reference", "expected"), FOUND_IN_SEEDS)
def test_every_phrase_found_reads_back_as_the_same_span(name, reference, expected):
    for phrase, found in find_dates(seed(name), reference):
        assert found.text == phrase
        assert read_span(phrase, reference) == found


def test_find_dates_reads_the_summit_of_000_in_2026_not_2019():
    found = dict(find_dates(seed("000"), REF_000))
    assert found["November 18–19"] == span("2026-11-18", "2026-11-19", "day", "November 18–19")


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("SOM1 will be held on 31 February.", "31 February"),
        ("SOM1 will be held on 30 February 2026.", "30 February 2026"),
        ("SOM1 will be held on 2026-13-02.", "2026-13-02"),
        ("SOM1 will be held in March 9999.", "March 9999"),
        ("SOM1 will be held on 2-4 March 0100.", "2-4 March 0100"),
        ("SOM1 opens on Monday, 3 March 2026.", "Monday, 3 March 2026"),  # a Tuesday
    ],
)
def test_a_date_that_is_no_date_is_found_as_unreadable_and_never_read(text, phrase):
    """find_dates passes over it; find_unreadable_dates says it was there (a reader of a
    sentence must not take "no date" for "no date said")."""
    assert find_dates(text, REF_000) == []
    assert find_unreadable_dates(text, REF_000) == [phrase]


def test_a_real_date_is_not_unreadable_and_nor_is_prose():
    assert find_unreadable_dates("SOM1 will be held on 2-4 March 2027 in Hanoi.", REF_000) == []
    assert find_unreadable_dates("the Putrajaya Vision 2040, with 21 members.", REF_000) == []
    assert find_unreadable_dates(seed("000"), REF_000) == []


NOT_DATES = [
    "notes the United States has hosted APEC three times.",
    "APEC is a 21‑member intergovernmental economic forum",
    "consensus among all 21 members",
    "the Putrajaya Vision 2040.",
    "In a conversation lasting approximately 30 minutes, the two leaders",
    "his first visit to South Korea in 11 years, a notable milestone",
    "Merely a day prior, President Lee had engaged",
    "adopted by APEC Leaders at their 1994 meeting in Bogor, Indonesia, with targets set for "
    "2010 for industrialized economies and 2020 for developing economies.",
    "the key outcomes of the 2025 Leaders' Summit",
    "US Engages in APEC 2026 Senior Officials' Meeting in Guangzhou",
    "http://en.people.cn/n3/2025/1213/c90000-20401994.html",
    "the 33rd APEC Economic Leaders' Meeting",
    "About 300 events are expected",
    "Interesting: 0/0 • Support: 0/0Log in to vote",
    "Only logged-in users can comment. Loading…",
    "Members may 5 times review it; we march on in march.",
    "SOM2 in Shanghai, SOM3 in Dalian",
    "Tuesday, May 18, 2026",  # the weekday contradicts the date: trust neither
    "February 30, 2026",
    "Version 1.2.3 of the plan, page 18/11",
]


@pytest.mark.parametrize("text", NOT_DATES)
def test_find_dates_finds_no_date_where_there_is_none(text):
    assert find_dates(text, REF_000) == []


def test_find_dates_leaves_out_on_and_in_but_keeps_from_and_between():
    text = "It was held on February 9, in May, from March to June and between 3 and 5 April."
    assert [p for p, _ in find_dates(text, REF_000)] == [
        "February 9",
        "May",
        "from March to June",
        "between 3 and 5 April",
    ]


def test_find_dates_reads_two_separate_days_joined_by_and_as_the_first_day_only():
    assert [(p, s.start) for p, s in find_dates("on May 5 and 12", REF_000)] == [
        ("May 5", D("2026-05-05"))
    ]


def test_find_dates_does_not_run_a_date_across_a_line_break():
    assert find_dates("Agenda, May\n18 delegates", REF_000) == []


def test_find_dates_does_not_pick_day_words_out_of_documents():
    assert find_dates("The delegation arrives tomorrow and leaves next week.", REF_000) == []


@pytest.mark.parametrize("text", HOSTILE + [None, 42])
def test_find_dates_never_raises(text):
    assert isinstance(find_dates(text, REF_000), list)


def test_find_dates_on_5000_characters_is_quick():
    text = "On May 18, 2026, in Shanghai, 21 members met. " * 108  # 4,968 characters
    started = time.perf_counter()
    found = find_dates(text, REF_000)
    assert time.perf_counter() - started < 1.0
    assert found and all(s.start == D("2026-05-18") for _, s in found)


# -- read_period: what users type, against the request's time ------------------------------------

PERIODS = [
    ("in May", NOW_NOV, "2026-05-01", "2026-05-31", "month"),
    ("May", NOW_NOV, "2026-05-01", "2026-05-31", "month"),
    ("in may", NOW_JAN, "2026-05-01", "2026-05-31", "month"),
    ("meetings in May", NOW_JAN, "2026-05-01", "2026-05-31", "month"),
    ("May 2026", NOW_NOV, "2026-05-01", "2026-05-31", "month"),
    ("next May", NOW_NOV, "2027-05-01", "2027-05-31", "month"),
    ("next month", NOW_NOV, "2026-12-01", "2026-12-31", "month"),
    ("next month", NOW_JAN, "2026-02-01", "2026-02-28", "month"),
    ("this month", NOW_NOV, "2026-11-01", "2026-11-30", "month"),
    ("last month", NOW_JAN, "2025-12-01", "2025-12-31", "month"),
    ("this week", NOW_NOV, "2026-11-23", "2026-11-29", "day"),
    ("this week", NOW_JAN, "2026-01-19", "2026-01-25", "day"),
    ("next week", NOW_NOV, "2026-11-30", "2026-12-06", "day"),
    ("what may happen next week", NOW_NOV, "2026-11-30", "2026-12-06", "day"),
    ("2026", NOW_NOV, "2026-01-01", "2026-12-31", "year"),
    ("this year", NOW_JAN, "2026-01-01", "2026-12-31", "year"),
    ("next year", NOW_NOV, "2027-01-01", "2027-12-31", "year"),
    ("between March and June", NOW_NOV, "2026-03-01", "2026-06-30", "month"),
    ("from March to June", NOW_JAN, "2026-03-01", "2026-06-30", "month"),
    ("March to June 2026", NOW_NOV, "2026-03-01", "2026-06-30", "month"),
    ("today", NOW_NOV, "2026-11-24", "2026-11-24", "day"),
    ("tomorrow", NOW_NOV, "2026-11-25", "2026-11-25", "day"),
    ("next 30 days", NOW_NOV, "2026-11-24", "2026-12-24", "day"),
    ("in the next 2 weeks", NOW_JAN, "2026-01-20", "2026-02-03", "day"),
    ("last 7 days", NOW_NOV, "2026-11-17", "2026-11-24", "day"),
    ("2026-05-18", NOW_NOV, "2026-05-18", "2026-05-18", "day"),
    ("May 18", NOW_NOV, "2026-05-18", "2026-05-18", "day"),
    ("May 11 to 17", NOW_JAN, "2026-05-11", "2026-05-17", "day"),
    ("next friday", NOW_NOV, "2026-11-27", "2026-11-27", "day"),
]


@pytest.mark.parametrize(("text", "now", "start", "end", "precision"), PERIODS)
def test_read_period_reads_what_users_type_against_now(text, now, start, end, precision):
    got = read_period(text, now)
    assert got is not None
    assert (got.start, got.end, got.precision) == (D(start), D(end), precision)


def test_read_period_counts_days_in_nows_time_zone():
    # 23:30 UTC on the 24th is already the 25th in Seoul.
    now = datetime(2026, 11, 24, 23, 30, tzinfo=UTC).astimezone(SEOUL)
    assert read_period("today", now).start == D("2026-11-25")


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("what's happening on november eighteenth?", "2026-11-18"),
        ("anything on the ninth of february?", "2026-02-09"),
        ("on the twenty-first of may", "2026-05-21"),
        ("February Ninth", "2026-02-09"),
        ("the first of march", "2026-03-01"),
    ],
)
def test_read_period_reads_a_day_written_as_an_ordinal_word_beside_its_month(text, day):
    got = read_period(text, NOW_NOV)
    assert got is not None and (got.start, got.end, got.precision) == (D(day), D(day), "day")


@pytest.mark.parametrize("text", ["the first SOM", "the second senior officials meeting", "third"])
def test_an_ordinal_word_without_a_month_is_no_date(text):
    assert read_period(text, NOW_NOV) is None


@pytest.mark.parametrize(
    "text", ["", "   ", "next-meeting som", "who leads the US delegation", "may I ask"]
)
def test_read_period_without_a_period_is_none(text):
    assert read_period(text, NOW_NOV) is None


@pytest.mark.parametrize("text", HOSTILE + [None, 42])
def test_read_period_never_raises(text):
    got = read_period(text, NOW_NOV)
    assert got is None or isinstance(got, Span)


# -- read_when: moments users type --------------------------------------------------------------

WHEN = [
    ("tomorrow 9am", "2026-11-25T09:00:00+09:00"),
    ("tomorrow at 9:00", "2026-11-25T09:00:00+09:00"),
    ("in 2 hours", "2026-11-24T11:00:00+09:00"),
    ("in 30 minutes", "2026-11-24T09:30:00+09:00"),
    ("next friday 15:00", "2026-11-27T15:00:00+09:00"),
    ("friday 3pm", "2026-11-27T15:00:00+09:00"),
    ("2026-05-11 09:00", "2026-05-11T09:00:00+09:00"),  # in the past: returned, the caller refuses
    ("May 11 09:00", "2027-05-11T09:00:00+09:00"),
    ("15:00 UTC", "2026-11-25T00:00:00+09:00"),
]


@pytest.mark.parametrize(("text", "expected"), WHEN)
def test_read_when_reads_a_moment_in_nows_time_zone(text, expected):
    got = read_when(text, NOW_NOV)
    assert got == datetime.fromisoformat(expected)
    assert got.tzinfo is SEOUL


def test_read_when_keeps_a_fixed_offset_zone():
    now = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    got = read_when("tomorrow 9am", now)
    assert got == datetime(2026, 11, 25, 9, 0, tzinfo=SEOUL)
    assert got.utcoffset() == timedelta(hours=9)


def test_read_when_counts_hours_as_elapsed_time_across_a_dst_change():
    now = datetime(2026, 3, 7, 23, 30, tzinfo=NEW_YORK)  # clocks go forward at 02:00 on the 8th
    got = read_when("in 3 hours", now)
    assert got.astimezone(UTC) - now.astimezone(UTC) == timedelta(hours=3)
    assert (got.day, got.hour, got.minute) == (8, 3, 30)


def test_read_when_moves_a_time_in_the_dst_gap_forward():
    now = datetime(2026, 3, 7, 23, 30, tzinfo=NEW_YORK)
    got = read_when("tomorrow 2:30am", now)
    assert (got.hour, got.minute, got.utcoffset()) == (3, 30, timedelta(hours=-4))


def test_read_when_takes_a_naive_now_as_utc():
    assert read_when("tomorrow 9am", datetime(2026, 11, 24, 9, 0)) == datetime(
        2026, 11, 25, 9, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("text", HOSTILE + ["21", "soon-ish", "remind me", None, 42])
def test_read_when_returns_none_or_an_aware_time_and_never_raises(text):
    got = read_when(text, NOW_NOV)
    assert got is None or got.tzinfo is not None


@pytest.mark.parametrize("text", ["", "NOT", "21", "x" * 5000, "\x00", "😀", '"'])
def test_read_when_unreadable_is_none(text):
    assert read_when(text, NOW_NOV) is None


# -- any text at all -----------------------------------------------------------------------------

ANY_TEXT = st.text(max_size=300) | st.from_regex(
    r"(from |between |on |in )?(May|Feb\.|November|2026-0\d-\d\d)"
    r"[ \-–]?\d{0,2}( (to|and|–) )?\d{0,4}",
    fullmatch=True,
)


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT)
def test_any_text_gives_a_span_or_date_error_and_never_another_exception(text):
    try:
        assert isinstance(read_span(text, REF_000), Span)
    except DateError:
        pass
    assert isinstance(find_dates(text, REF_000), list)
    assert read_period(text, NOW_NOV) is None or isinstance(read_period(text, NOW_NOV), Span)
    moment = read_when(text, NOW_NOV)
    assert moment is None or moment.tzinfo is not None


def test_warm_up_pays_the_first_parse_cost():
    warm_up()
    started = time.perf_counter()
    read_when("tomorrow 9am", NOW_NOV)
    assert time.perf_counter() - started < 0.05


# Letters the grammar's IGNORECASE expressions take for ASCII ones: a long s for "s", a dotless
# and a dotted capital i for "i", the Kelvin sign for "k". A name matched so is looked up so: it
# reads as the month or weekday it spells, never as a KeyError in the middle of an answer.
LOOK_ALIKE_DATES = [
    ("ſeptember 9 2026", D("2026-09-09")),
    ("9 ſep 2026", D("2026-09-09")),
    ("frıday, ſeptember 11, 2026", D("2026-09-11")),
    ("FRİDAY, SEPTEMBER 11, 2026", D("2026-09-11")),
    ("ſunday 13 ſeptember 2026", D("2026-09-13")),
]


@pytest.mark.parametrize(("text", "day"), LOOK_ALIKE_DATES)
def test_a_name_in_look_alike_letters_reads_as_the_rules_match_it(text, day):
    found = read_span(text, REF_000)
    assert (found.start, found.end) == (day, day)


def test_a_document_s_date_in_look_alike_capitals_is_found():
    # In a document a month is written with a capital: a long s has none, a dotted İ has.
    text = "It was held on FRİDAY, SEPTEMBER 11, 2026 and on Frıday, September 18, 2026."
    assert [span.start for _, span in find_dates(text, REF_000)] == [
        D("2026-09-11"),
        D("2026-09-18"),
    ]


def test_a_weekday_in_look_alike_letters_is_checked_against_the_day():
    with pytest.raises(DateError, match="is a Friday"):
        read_span("ſunday 11 ſeptember 2026", REF_000)


def test_a_question_s_period_in_look_alike_letters_reads():
    now = datetime(2026, 3, 2, 9, tzinfo=SEOUL)
    assert read_period("in ſeptember", now).start == D("2026-09-01")
    found = read_request("next frıday 9am ring the embassy", now, SEOUL)
    due = found.when.due.astimezone(SEOUL)  # type: ignore[union-attr]
    assert found.text == "ring the embassy" and (due.weekday(), due.hour) == (4, 9)
