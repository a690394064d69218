"""Dates as sources write them and as users type them.

dateparser reads no ranges ("from February 1 to 10" gives February 1 alone) and takes a day number
after a month for a year ("November 18–19" came back as 2019-11-18), so dates written with a month
name or in ISO form, alone or as ranges, are read by the small grammar below. dateparser is left the
moments users type ("tomorrow 9am", "next friday 15:00") and odd single-date formats. A reminder's
time phrase ("remind call Seoul tomorrow at 9am") is found by a grammar of its own, at the end.
"""

import calendar
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from store.vocabulary import (
    DAY_NAMES,
    MONTH_ABBREVIATIONS,
    MONTH_NAMES,
    MONTH_PATTERN,
    WEEKDAY_PATTERN,
    as_matched,
    month_number,
    weekday_number,
)
from store.vocabulary import NUMBER_WORDS as NUMBER_WORDS  # store/remind.py imports it here

log = logging.getLogger(__name__)

Precision = Literal["day", "month", "year", "unknown"]


class DateError(ValueError):
    """A phrase that cannot be read as a date or a date range."""


_NUMBER = "|".join(NUMBER_WORDS)  # for a regex: "a|an|one|two|..."

# APEC began in 1989; a "year" far outside this is a number that is not a year.
_FIRST_YEAR, _LAST_YEAR = 1900, 2199
# Longer than any date phrase; keeps hostile text away from dateparser.
_MAX_PHRASE = 120
_LANGUAGES = ["en"]


@dataclass(frozen=True)
class Span:
    """A stretch of whole days, and how precisely the source knows it."""

    start: date | None  # first day (inclusive); None when unknown
    end: date | None  # last day (inclusive)
    precision: Precision  # "day", "month" (only the month(s) known), "year", "unknown"
    text: str = ""  # the phrase as written

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise DateError(f"ends before it starts: {self.start} to {self.end}")

    def overlaps(self, start: date, end: date) -> bool:
        """Whether any day of this span falls within start..end (inclusive)."""
        if self.start is None:
            return False
        return self.start <= end and start <= (self.end or self.start)

    def describe(self) -> str:
        """Human text for the span, saying how much of it is known."""
        first, last = self.start, self.end or self.start
        if first is None or last is None or self.precision == "unknown":
            return "date not known"
        if self.precision == "day":
            if first == last:
                return _day_month_year(first)
            if (first.year, first.month) == (last.year, last.month):
                return f"{first.day}–{last.day} {MONTH_NAMES[first.month - 1]} {first.year}"
            if first.year == last.year:
                return f"{first.day} {MONTH_NAMES[first.month - 1]} – {_day_month_year(last)}"
            return f"{_day_month_year(first)} – {_day_month_year(last)}"
        if self.precision == "month":
            one, other = MONTH_NAMES[first.month - 1], MONTH_NAMES[last.month - 1]
            if (first.year, first.month) == (last.year, last.month):
                return f"{one} {first.year}, dates not confirmed"
            if first.year == last.year:
                return f"{one} – {other} {first.year}, dates not confirmed"
            return f"{one} {first.year} – {other} {last.year}, dates not confirmed"
        if first.year == last.year:
            return f"{first.year}, date not confirmed"
        return f"{first.year} – {last.year}, dates not confirmed"


def _day_month_year(day: date) -> str:
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


# ---------------------------------------------------------------------------------------------
# The grammar. Every pattern is compiled once, case-insensitive; "x" is the date phrase itself,
# without a leading "in"/"during"/"for" that only told us a bare month or year is a date.

# A space that is not a line break: joined across lines, a heading and a list make false dates.
_S = r"[^\S\r\n]"
_SEP = (
    rf"(?:{_S}*(?P<sep>--?|[\u2010-\u2015\u2212]|\.\.){_S}*"
    rf"|{_S}+(?P<sepw>to|through|thru|until|till|and){_S}+)"
)
_LEAD = rf"(?:(?P<lead>from|between){_S}+)?"
_YEAR_AFTER_DAY = rf"(?:,{_S}*|{_S}+)"  # "May 18, 2026", "May 18 2026"
_YEAR_AFTER_MONTH = rf",?{_S}+"  # "February 2026", "9 February, 2026"


_SHORT_MONTHS = "|".join(MONTH_ABBREVIATIONS)


def _month(name: str) -> str:
    # Only an abbreviation takes a full stop: after "August" it ends the sentence.
    return rf"(?<!\w)(?P<{name}>(?:{MONTH_PATTERN})(?![a-z])|(?:{_SHORT_MONTHS})(?![a-z])\.?)"


def _day(name: str) -> str:
    # Not part of a longer number, a time ("18:00") or a decimal.
    return rf"(?<![\w.,])(?P<{name}>\d{{1,2}})(?:st|nd|rd|th)?(?!\w|[:.,]\d)"


def _year(name: str) -> str:
    return rf"(?<![\w.,])(?P<{name}>\d{{4}})(?!\w|[:.,/-]\d)"


def _weekday(name: str) -> str:
    # Abbreviations only with their full stop: "sat" and "sun" are words too.
    return (
        rf"(?:(?<!\w)(?P<{name}>{WEEKDAY_PATTERN}"
        rf"|(?:mon|tues?|wed|thu(?:rs?)?|fri|sat|sun)\.),?{_S}+)?"
    )


def _iso(year: str, month: str, day: str, first: bool = True) -> str:
    guard = r"(?<![\w./-])" if first else ""  # not the tail of a URL, an ID or another date
    return rf"{guard}(?P<{year}>\d{{4}})-(?P<{month}>\d{{1,2}})-(?P<{day}>\d{{1,2}})(?!\d|-\d)"


class _NotARange(DateError):
    """Two dates joined by "and" that are not next to each other: two dates, not a range."""


def _number(text: str) -> int:
    return int(text) if text.isdigit() else NUMBER_WORDS[text.lower()]


def _year_of(text: str | None, reference: date) -> int:
    year = int(text) if text else reference.year
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        raise DateError(f"not a plausible year: {year}")
    return year


def _make(year: int, month: int, day: int | str) -> date:
    try:
        return date(year, month, int(day))
    except ValueError:
        raise DateError(f"no such day: {int(day)} {MONTH_NAMES[month - 1]} {year}") from None


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _check_weekday(word: str | None, day: date) -> None:
    # A weekday that does not match is a typo in the date or in the weekday; trust neither.
    if word and weekday_number(word) != day.weekday():
        raise DateError(f"{_day_month_year(day)} is a {DAY_NAMES[day.weekday()]}, not {word}")


def _check_and(m: re.Match[str], adjacent: bool) -> None:
    # "November 18 and 19" is a range; "May 5 and 12" is two days, and "between" makes any pair one.
    joined_by_and = (m["sepw"] or "").lower() == "and"
    if joined_by_and and (m["lead"] or "").lower() != "between" and not adjacent:
        raise _NotARange(f"two separate dates, not a range: {m[0]}")


def _years_of_pair(
    y1: str | None, y2: str | None, first: tuple[int, int], last: tuple[int, int], ref: date
) -> tuple[int, int]:
    # A year written once belongs to both ends; a range that wraps past December crosses the year.
    if y1 and y2:
        return _year_of(y1, ref), _year_of(y2, ref)
    if y2:
        year = _year_of(y2, ref)
        return (year if first <= last else year - 1), year
    year = _year_of(y1, ref)
    return year, (year if last >= first else year + 1)


_Reading = tuple[date | None, date | None, Precision]


def _read_days(m: re.Match[str], first: date, last: date) -> _Reading:
    _check_and(m, (last - first).days == 1)
    if last < first:
        raise DateError(f"ends before it starts: {m[0]}")
    _check_weekday(m.groupdict().get("w1"), first)
    _check_weekday(m.groupdict().get("w2"), last)
    return first, last, "day"


def _days_of_month(m: re.Match[str], ref: date) -> _Reading:
    year, month = _year_of(m["y"], ref), month_number(m["m1"])
    return _read_days(m, _make(year, month, m["d1"]), _make(year, month, m["d2"]))


def _day_pair(m: re.Match[str], ref: date) -> _Reading:
    m1, m2 = month_number(m["m1"]), month_number(m["m2"])
    d1, d2 = int(m["d1"]), int(m["d2"])
    y1, y2 = _years_of_pair(m["y1"], m["y2"], (m1, d1), (m2, d2), ref)
    return _read_days(m, _make(y1, m1, d1), _make(y2, m2, d2))


def _iso_date(year: str, month: str, day: str, ref: date) -> date:
    if not 1 <= int(month) <= 12:
        raise DateError(f"no such month: {year}-{month}-{day}")
    return _make(_year_of(year, ref), int(month), day)


def _iso_pair(m: re.Match[str], ref: date) -> _Reading:
    first = _iso_date(m["y1"], m["n1"], m["d1"], ref)
    return _read_days(m, first, _iso_date(m["y2"], m["n2"], m["d2"], ref))


def _month_pair(m: re.Match[str], ref: date) -> _Reading:
    m1, m2 = month_number(m["m1"]), month_number(m["m2"])
    _check_and(m, m2 - m1 in (1, -11))
    y1, y2 = _years_of_pair(m["y1"], m["y2"], (m1, 1), (m2, 1), ref)
    first, last = date(y1, m1, 1), _last_day(y2, m2)
    if last < first:
        raise DateError(f"ends before it starts: {m[0]}")
    return first, last, "month"


def _month_day(m: re.Match[str], ref: date) -> _Reading:
    day = _make(_year_of(m["y"], ref), month_number(m["m"]), m["d"])
    _check_weekday(m["w"], day)
    return day, day, "day"


def _iso_day(m: re.Match[str], ref: date) -> _Reading:
    day = _iso_date(m["y"], m["n"], m["d"], ref)
    return day, day, "day"


def _numeric_day(m: re.Match[str], ref: date) -> _Reading:
    a, b, c = m["a"], int(m["b"]), m["c"]
    if len(a) != 4 and len(c) != 4:
        raise DateError(f"year not written in full: {m[0]}")
    if len(a) == 4:
        year, month, day = int(a), b, int(c)
    elif int(a) > 12 or int(a) == b:
        year, month, day = int(c), b, int(a)
    elif b > 12:
        year, month, day = int(c), int(a), b
    else:
        # 05/11/2026 is 5 November in Seoul and May 11 in Washington; refuse to guess.
        raise DateError(f"day and month order unclear: {m[0]}")
    if not 1 <= month <= 12:
        raise DateError(f"no such month: {m[0]}")
    found = _make(_year_of(str(year), ref), month, day)
    return found, found, "day"


def _month_only(m: re.Match[str], ref: date) -> _Reading:
    year, month = _year_of(m.groupdict().get("y"), ref), month_number(m["m"])
    return date(year, month, 1), _last_day(year, month), "month"


def _month_onwards(m: re.Match[str], ref: date) -> _Reading:
    # "From May" opens a stretch to the end of that year, known to the month.
    year, month = _year_of(m.groupdict().get("y"), ref), month_number(m["m"])
    return date(year, month, 1), date(year, 12, 31), "month"


def _year_only(m: re.Match[str], ref: date) -> _Reading:
    year = _year_of(m["y"], ref)
    return date(year, 1, 1), date(year, 12, 31), "year"


def _relative_year_or_month(m: re.Match[str], ref: date) -> _Reading:
    which = (m["w"] or "this").lower()
    later, earlier = (m["q"] or "").lower() == "later", (m["q"] or "").lower() == "earlier"
    if m["u"].lower() == "year":
        year = ref.year + {"this": 0, "next": 1, "last": -1}[which]
        first, last = date(year, 1, 1), date(year, 12, 31)
        return (ref if later else first), (ref if earlier else last), "year"
    month = ref.year * 12 + ref.month - 1 + {"this": 0, "next": 1, "last": -1}[which]
    first = date(month // 12, month % 12 + 1, 1)
    last = _last_day(first.year, first.month)
    return (ref if later else first), (ref if earlier else last), "month"


def _relative_day(m: re.Match[str], ref: date) -> _Reading:
    said = " ".join(m["x"].lower().split())
    offset = {
        "today": 0,
        "tonight": 0,
        "tomorrow": 1,
        "yesterday": -1,
        "the day after tomorrow": 2,
        "day after tomorrow": 2,
        "the day before yesterday": -2,
        "day before yesterday": -2,
    }[said]
    day = ref + timedelta(days=offset)
    return day, day, "day"


def _relative_week(m: re.Match[str], ref: date) -> _Reading:
    shift = {"this": 0, "next": 7, "coming": 7, "last": -7, "previous": -7}[m["w"].lower()]
    monday = ref - timedelta(days=ref.weekday()) + timedelta(days=shift)
    if m["u"].lower() == "weekend":
        return monday + timedelta(days=5), monday + timedelta(days=6), "day"
    return monday, monday + timedelta(days=6), "day"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _coming_days(m: re.Match[str], ref: date) -> _Reading:
    count, unit = _number(m["n"]), m["u"].lower()
    if unit.startswith("month"):
        other = _add_months(ref, count if m["w"].lower() in ("next", "coming") else -count)
    else:
        days = count * (7 if unit.startswith("week") else 1)
        other = ref + timedelta(days=days if m["w"].lower() in ("next", "coming") else -days)
    return min(ref, other), max(ref, other), "day"


def _named_month(m: re.Match[str], ref: date) -> _Reading:
    month, which = month_number(m["m"]), m["w"].lower()
    year = ref.year
    if which == "next" and month <= ref.month:
        year += 1
    elif which == "last" and month >= ref.month:
        year -= 1
    return date(year, month, 1), _last_day(year, month), "month"


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    read: Callable[[re.Match[str], date], _Reading]
    in_documents: bool = True  # found in running text by find_dates
    prep: Literal["", "documents", "always"] = ""  # where searching needs the "prep" group


def _rule(
    pattern: str,
    read: Callable[[re.Match[str], date], _Reading],
    in_documents: bool = True,
    prep: Literal["", "documents", "always"] = "",
) -> _Rule:
    # Every phrase starts a word; saying so first lets the engine skip the middle of words fast.
    return _Rule(re.compile(rf"(?<!\w)(?=\w){pattern}", re.IGNORECASE), read, in_documents, prep)


_RULES = (
    # Ranges first: in the same place, the longer reading wins anyway, but this is the order
    # read_span tries them in.
    _rule(  # "from February 1 to 10", "Feb. 1–10, 2026", "November 18 and 19, 2026"
        rf"(?P<x>{_LEAD}{_weekday('w1')}{_month('m1')}{_S}+{_day('d1')}{_SEP}"
        rf"{_weekday('w2')}{_day('d2')}(?:{_YEAR_AFTER_DAY}{_year('y')})?)",
        _days_of_month,
    ),
    _rule(  # "January 30 to February 2", "December 30, 2025 – January 2, 2026"
        rf"(?P<x>{_LEAD}{_weekday('w1')}{_month('m1')}{_S}+{_day('d1')}"
        rf"(?:{_YEAR_AFTER_DAY}{_year('y1')})?{_SEP}"
        rf"{_weekday('w2')}{_month('m2')}{_S}+{_day('d2')}(?:{_YEAR_AFTER_DAY}{_year('y2')})?)",
        _day_pair,
    ),
    _rule(  # "1–10 February 2026"
        rf"(?P<x>{_LEAD}{_weekday('w1')}(?:the{_S}+)?{_day('d1')}{_SEP}{_weekday('w2')}"
        rf"{_day('d2')}(?:{_S}+of)?{_S}+{_month('m1')}(?:{_YEAR_AFTER_MONTH}{_year('y')})?)",
        _days_of_month,
    ),
    _rule(  # "30 January – 2 February 2026"
        rf"(?P<x>{_LEAD}{_weekday('w1')}{_day('d1')}{_S}+{_month('m1')}"
        rf"(?:{_YEAR_AFTER_MONTH}{_year('y1')})?{_SEP}"
        rf"{_weekday('w2')}{_day('d2')}{_S}+{_month('m2')}(?:{_YEAR_AFTER_MONTH}{_year('y2')})?)",
        _day_pair,
    ),
    _rule(  # "2026-08-10..2026-08-21", "2026-08-10 to 2026-08-21"
        rf"(?P<x>{_LEAD}{_iso('y1', 'n1', 'd1')}{_SEP}{_iso('y2', 'n2', 'd2', first=False)})",
        _iso_pair,
    ),
    _rule(  # "between March and June", "from March to June", "March–June 2026"
        rf"(?P<x>{_LEAD}{_month('m1')}(?:{_YEAR_AFTER_MONTH}{_year('y1')})?{_SEP}"
        rf"{_month('m2')}(?:{_YEAR_AFTER_MONTH}{_year('y2')})?)(?!{_S}*\d)",
        _month_pair,
    ),
    _rule(  # "February 9", "Monday, May 18, 2026", "Nov. 18, 2026", "November 18th"
        rf"(?P<x>{_weekday('w')}{_month('m')}{_S}+{_day('d')}"
        rf"(?:{_YEAR_AFTER_DAY}{_year('y')})?)",
        _month_day,
    ),
    _rule(  # "9 February 2026", "the 18th of November"
        rf"(?P<x>{_weekday('w')}(?:(?<!\w)the{_S}+)?{_day('d')}(?:{_S}+of)?{_S}+{_month('m')}"
        rf"(?:{_YEAR_AFTER_MONTH}{_year('y')})?)",
        _month_day,
    ),
    _rule(rf"(?P<x>{_iso('y', 'n', 'd')})", _iso_day),  # "2026-11-18"
    _rule(  # "18/11/2026", "2026/11/18"; numbers with slashes in prose are as often not dates
        r"(?<![\w./-])(?P<x>(?P<a>\d{4}|\d{1,2})(?P<s>[/.])(?P<b>\d{1,2})(?P=s)"
        r"(?P<c>\d{4}|\d{1,2}))(?![\w/-]|\.\d)",
        _numeric_day,
        in_documents=False,
    ),
    _rule(rf"(?P<x>{_month('m')}{_YEAR_AFTER_MONTH}{_year('y')})", _month_only),  # "May 2026"
    _rule(  # "from May": a month known, the end of the stretch not
        rf"(?P<x>(?<!\w)from{_S}+{_month('m')}(?:{_YEAR_AFTER_MONTH}{_year('y')})?)(?!{_S}*\d)",
        _month_onwards,
    ),
    _rule(  # "in May", "in early August"; "May" alone in prose is as often a verb
        rf"(?:(?<!\w)(?P<prep>in|during|for){_S}+)?"
        rf"(?P<x>(?:(?:early|mid|late)(?:-|{_S}+))?{_month('m')})(?!{_S}*\d)",
        _month_only,
        prep="always",
    ),
    _rule(  # "in 2026"; a bare year in prose is as often a name ("Vision 2040", "APEC 2026")
        rf"(?:(?<!\w)(?P<prep>in|during){_S}+)?(?P<x>{_year('y')})",
        _year_only,
        prep="documents",
    ),
    _rule(  # "later this year", "next year", "this month"
        rf"(?<!\w)(?P<x>(?:(?P<q>later|earlier){_S}+this|(?P<w>this|next|last)){_S}+"
        rf"(?P<u>year|month))(?!\w)",
        _relative_year_or_month,
    ),
    # Day-level words are read, but not picked out of documents: a document's reference date
    # is what its text implies, not a printed date, so "tomorrow" in one is a guess.
    _rule(
        rf"(?<!\w)(?P<x>(?:(?:the{_S}+)?day{_S}+(?:after{_S}+tomorrow|before{_S}+yesterday))"
        r"|today|tonight|tomorrow|yesterday)(?!\w)",
        _relative_day,
        in_documents=False,
    ),
    _rule(
        rf"(?<!\w)(?P<x>(?P<w>this|next|last|previous|coming){_S}+(?P<u>week(?:end)?))(?!\w)",
        _relative_week,
        in_documents=False,
    ),
    _rule(
        rf"(?<!\w)(?P<x>(?P<w>next|coming|past|last){_S}+"
        rf"(?P<n>\d{{1,3}}|{_NUMBER}){_S}+(?P<u>days?|weeks?|months?))(?!\w)",
        _coming_days,
        in_documents=False,
    ),
    _rule(
        rf"(?P<x>(?<!\w)(?P<w>next|this|last){_S}+{_month('m')})(?!{_S}*\d)",
        _named_month,
        in_documents=False,
    ),
)

# What every rule's phrase holds, whatever else it holds: a digit, a month's name, or one of
# these words ("day" is in "today", "yesterday" and "days"). Searched for as written, inside
# words too, with the rules' own flag, so that a letter that folds to a month's under IGNORECASE
# ("ſeptember") does so here as well. A rule added must keep to it (tests/test_dates_prefilter.py).
_MAYBE = re.compile(
    rf"\d|{MONTH_PATTERN}|{_SHORT_MONTHS}|year|month|week|day|tonight|tomorrow", re.IGNORECASE
)

_UNKNOWN = re.compile(
    r"(?:(?:the\s+)?(?:exact\s+)?dates?\s+(?:are\s+|is\s+|were\s+|was\s+)?)?"
    r"(?:not\s+(?:yet\s+)?(?:given|known|confirmed|announced|set|fixed|decided|available)"
    r"|to\s+be\s+(?:confirmed|determined|announced|decided|set|fixed)"
    r"|tb[cda]|unknown|unconfirmed|n/?a|-+|[\u2010-\u2015]|\?+)",
    re.IGNORECASE,
)
# Words a source puts before a date: "held on February 9", "running May 18 to 19".
_FILLER = re.compile(
    r"^(?:(?:was|were|is|are|will|be|to|held|holding|running|runs|run|scheduled|planned|slated"
    r"|set|expected|due|taking|takes|place|on|in|for|during|at|dated)\s+)+",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]+")
_EDGES = re.compile(r"^[\s\"'“”‘’«»()\[\]]+|[\s\"'“”‘’«»()\[\].,;:!?]+$")
_RELATIVE_WORDS = re.compile(
    r"\b(?:ago|now|today|tonight|tomorrow|yesterday|next|last|this|in|within|hours?|minutes?"
    r"|seconds?|days?|weeks?|months?|years?)\b",
    re.IGNORECASE,
)
_WEEKDAY_PHRASE = re.compile(
    rf"(?<!\w)(?:(?P<q>next|this|last|coming|on){_S}+)?"
    rf"(?P<d>{WEEKDAY_PATTERN})(?!\w)",
    re.IGNORECASE,
)
_IN_A_WHILE = re.compile(
    rf"in{_S}+(?P<n>\d{{1,4}}|{_NUMBER}){_S}+"
    rf"(?P<u>minutes?|mins?|hours?|hrs?)",
    re.IGNORECASE,
)


def _tidy(text: str) -> str:
    return _EDGES.sub("", " ".join(_CONTROL.sub(" ", text).split()))


def _as_date(reference: date) -> date:
    if isinstance(reference, datetime):
        return reference.date()
    if not isinstance(reference, date):
        raise DateError(f"not a reference date: {reference!r}")
    return reference


def _read_whole(phrase: str, ref: date) -> Span | None:
    """The span the whole phrase reads as by the grammar; None if no rule fits it all."""
    core = _FILLER.sub("", phrase)
    for rule in _RULES:
        match = rule.regex.fullmatch(core)
        if match:
            return _read(rule, match, ref, phrase)
    return None


def _read(rule: _Rule, match: re.Match[str], ref: date, phrase: str) -> Span:
    try:
        return Span(*rule.read(match, ref), text=phrase)
    except (OverflowError, ValueError) as error:
        if isinstance(error, DateError):
            raise
        # Date arithmetic past year 9999 (a reference or "now" at the edge of the calendar).
        raise DateError(f"out of the calendar: {phrase[:60]!r}") from None


def _search(text: str, ref: date, documents: bool) -> list[tuple[str, Span]]:
    """Every reading in text, longest first where two overlap, in order of appearance."""
    return [(phrase, span) for phrase, span in _readings(text, ref, documents) if span is not None]


def _readings(text: str, ref: date, documents: bool) -> list[tuple[str, Span | None]]:
    """As `_search`, with each phrase written as a date that is none (31 February) as None."""
    # Most questions hold no date: one search, not one per rule (a sixth of a mention's answer).
    return _scan(text, ref, documents) if _MAYBE.search(text) else []


def _scan(text: str, ref: date, documents: bool) -> list[tuple[str, Span | None]]:
    """`_readings`, every rule scanning the whole text (each phrase given as typed)."""
    typed, text = text, as_matched(text)
    found: list[tuple[int, int, str, Span | None]] = []
    for rule in _RULES:
        if documents and not rule.in_documents:
            continue
        needs_prep = rule.prep == "always" or (rule.prep == "documents" and documents)
        for match in rule.regex.finditer(text):
            if needs_prep and not match["prep"]:
                continue
            if documents and not _months_capitalised(match):
                continue
            start, end = match.span("x")
            try:
                span: Span | None = _read(rule, match, ref, typed[start:end])
            except _NotARange:
                continue  # the single dates inside it are read by the single-date rules
            except DateError:
                span = None  # a bad date still holds its place: its parts are not dates either
            found.append((start, end, typed[start:end], span))
    found.sort(key=lambda item: (item[0], item[0] - item[1]))
    chosen: list[tuple[str, Span | None]] = []
    taken_until = -1
    for start, end, phrase, span in found:
        if start < taken_until:
            continue
        taken_until = end
        chosen.append((span.text if span is not None else phrase, span))
    return chosen


def _months_capitalised(match: re.Match[str]) -> bool:
    # In prose "may" and "march" are verbs; a month is written with a capital.
    groups = match.groupdict()
    return all(not groups.get(name) or groups[name][0].isupper() for name in ("m", "m1", "m2"))


def _dateparser(text: str, settings: dict[str, object]) -> datetime | None:
    import dateparser  # 50 ms to import: on the first odd date, or the warm-up after start

    try:
        return dateparser.parse(text, languages=_LANGUAGES, settings=settings)
    except Exception:  # a heuristic parser's odd failure on odd text must not fail a request
        log.debug("dateparser failed on %r", text, exc_info=True)
        return None


def _aware(now: datetime) -> datetime:
    # Callers pass aware times; a naive one is taken as UTC, not as the machine's zone.
    if now.tzinfo is None or now.utcoffset() is None:
        return now.replace(tzinfo=UTC)
    return now


def _localize(wall: datetime, zone: tzinfo) -> datetime:
    if isinstance(zone, ZoneInfo | timezone):
        # A wall time in a DST gap does not exist; the round trip moves it on as clocks do.
        return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    localize = getattr(zone, "localize", None)  # pytz: replace() would pick the zone's LMT offset
    if callable(localize):
        localized: datetime = localize(wall)
        return localized
    return wall.replace(tzinfo=zone)


def read_span(text: str, reference: date) -> Span:
    """A date or date range as a source writes it, read against the source's reference date."""
    ref = _as_date(reference)
    if not isinstance(text, str):
        raise DateError(f"not text: {text!r}")
    phrase = _tidy(as_matched(text))
    if not phrase:
        raise DateError("no date given")
    if len(phrase) > _MAX_PHRASE:
        raise DateError("too long to be one date")
    if _UNKNOWN.fullmatch(phrase):
        return Span(None, None, "unknown", phrase)
    span = _read_whole(phrase, ref)
    if span is not None:
        return span
    # Odd formats ("18-Nov-2026") go to dateparser, but only with the year written out and
    # nothing relative in them: its guesses at missing parts are how 2019-11-18 happened.
    core = _FILLER.sub("", phrase)
    year = re.search(r"(?<!\d)(\d{4})(?!\d)", core)
    if year and not _RELATIVE_WORDS.search(core):
        settings = {
            "RELATIVE_BASE": datetime(ref.year, ref.month, ref.day),
            "REQUIRE_PARTS": ["day", "month", "year"],
        }
        parsed = _dateparser(core, settings)
        if parsed is not None and parsed.year == int(year[1]):
            return Span(parsed.date(), parsed.date(), "day", phrase)
    raise DateError(f"not a date: {phrase[:60]!r}")


def find_dates(text: str, reference: date) -> list[tuple[str, Span]]:
    """Every date and date range in running text, with the phrase it stands in, in order of
    appearance."""
    if not isinstance(text, str) or not isinstance(reference, date):
        return []
    return _search(text, _as_date(reference), documents=True)


def find_unreadable_dates(text: str, reference: date) -> list[str]:
    """The phrases in running text written as a date that is none (31 February, month 13, year
    9999, a weekday that is not the day's), which find_dates passes over: a reader must not take
    a sentence holding one for a sentence that gives no date."""
    if not isinstance(text, str) or not isinstance(reference, date):
        return []
    return [p for p, span in _readings(text, _as_date(reference), documents=True) if span is None]


_ORDINALS = {
    word: day
    for day, word in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
        "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth "
        "twentieth".split(),
        1,
    )
}
_ORDINALS |= {f"twenty {w}": 20 + d for w, d in list(_ORDINALS.items()) if d < 10}
_ORDINALS |= {"thirtieth": 30, "thirty first": 31}
_ORDINAL = "|".join(sorted(_ORDINALS, key=len, reverse=True))
_MONTH_WORD = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
# "November eighteenth", "the ninth of February": a day written as a word, beside its month only
# ("the first SOM" is no date).
_ORDINAL_DAY = re.compile(
    rf"\b(?P<m1>{_MONTH_WORD})\s+(?:the\s+)?(?P<o1>{_ORDINAL})\b"
    rf"|\b(?:the\s+)?(?P<o2>{_ORDINAL})\s+(?:of\s+)?(?P<m2>{_MONTH_WORD})(?=\W|$)",
    re.IGNORECASE,
)


def _ordinal_days(text: str) -> str:
    """Days written as ordinal words, beside a month, as numbers: "9 February", "November 18"."""

    def number(found: re.Match[str]) -> str:
        day = _ORDINALS[(found["o1"] or found["o2"]).lower()]
        return f"{found['m1']} {day}" if found["m1"] else f"{day} {found['m2']}"

    return _ORDINAL_DAY.sub(number, re.sub(r"\b(twenty|thirty)-(\w)", r"\1 \2", text))


def read_period(text: str, now: datetime) -> Span | None:
    """A period as a user types it ("in May", "next month", "this week", "2026",
    "between March and June", "November eighteenth"), against the request's time; None if no
    period is there."""
    if not isinstance(text, str) or not isinstance(now, datetime):
        return None
    now = _aware(now)
    today = now.date()
    phrase = _tidy(_ordinal_days(as_matched(text)))
    if not phrase:
        return None
    try:
        whole = _read_whole(phrase, today) if len(phrase) <= _MAX_PHRASE else None
    except DateError:
        whole = None
    if whole is not None:
        return whole
    found = _search(phrase, today, documents=False)
    if found:
        return found[0][1]
    weekday = _WEEKDAY_PHRASE.search(phrase)
    if weekday:
        which = (weekday["q"] or "").lower()
        asked = f"{which} {weekday['d']}" if which in ("next", "this", "last") else weekday["d"]
        settings: dict[str, object] = {
            "RELATIVE_BASE": now.replace(tzinfo=None),
            "PREFER_DATES_FROM": "past" if which == "last" else "future",
        }
        parsed = _dateparser(asked, settings)
        if parsed is not None:
            return Span(parsed.date(), parsed.date(), "day", weekday[0])
    return None


def read_when(text: str, now: datetime) -> datetime | None:
    """A moment as a user types it ("tomorrow 9am", "in 2 hours", "next friday 15:00",
    "2026-05-11 09:00"), read in now's time zone; aware; None if unreadable."""
    if not isinstance(text, str) or not isinstance(now, datetime):
        return None
    now = _aware(now)
    zone = now.tzinfo or UTC
    phrase = _tidy(as_matched(text))
    # A bare number is a day of some month only by guesswork.
    if not phrase or len(phrase) > _MAX_PHRASE or phrase.isdigit():
        return None
    try:
        return _moment(phrase, now, zone)
    except (OverflowError, ValueError):  # a moment past the ends of the calendar
        log.debug("no moment in %r at %s", phrase, now, exc_info=True)
        return None


def _moment(phrase: str, now: datetime, zone: tzinfo) -> datetime | None:
    soon = _IN_A_WHILE.fullmatch(phrase)
    if soon:
        # Minutes and hours are elapsed time, also across a DST change; days keep the wall
        # clock time, which dateparser already does.
        count = _number(soon["n"])
        unit = timedelta(hours=1) if soon["u"].lower().startswith("h") else timedelta(minutes=1)
        return (now.astimezone(UTC) + count * unit).astimezone(zone)
    # RETURN_AS_TIMEZONE_AWARE is left at its default: set to False, dateparser drops a zone the
    # user wrote ("15:00 UTC" became 15:00 local); by default it keeps it and we convert.
    settings = {"RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "future"}
    parsed = _dateparser(phrase, settings)
    if parsed is None:
        return None
    if parsed.tzinfo is not None and parsed.utcoffset() is not None:
        return parsed.astimezone(zone)
    return _localize(parsed.replace(tzinfo=None), zone)


def warm_up() -> None:
    """Pay dateparser's first-parse cost (~80 ms) at start-up rather than on a user's request."""
    base = datetime(2026, 1, 1, 9, 0)
    _dateparser("tomorrow 9am", {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future"})
    _dateparser("18-Nov-2026", {"RELATIVE_BASE": base})
