"""What follows `remind`: who is reminded, when (once, or again and again), and what it says.

The grammar is Slack's `/remind` as issue 20 specifies it: WHO first (`me`, a person as Slack
sends one, `<@U…|name>`, a channel, `<#C…|name>`, or nothing for the channel asked in), then WHEN
and TEXT in either order. WHEN is the longest run of words at the start of the rest that reads
whole, else the longest at its end; TEXT is the rest, as typed, less a leading "to" or "that".
Times are read in the ASKER's zone. A recurring reminder becomes an RFC 5545 rule on wall-clock
times (python-dateutil's rrule), so 09:00 stays 09:00 across a change of clocks; a wall time the
clocks skip falls where they land (02:30 is 03:30), one they repeat at the first of the two.

Readings chosen where the specification leaves room: a bare hour in a named part of the day is
that part's ("tonight at 8" is 20:00); in a recurring reminder it is read as with a day (7 to 11
the morning's, else the afternoon's); "on the 15th", like a weekday, is the first 15th whose time
is still to come, while a date with its month ("nov 4 at 9am") whose time has gone is refused;
"until DAY" keeps occurrences on that day, "for 3 weeks" counts from the first occurrence's day;
"every week" or "every month" alone recurs on the first occurrence's weekday or day; a name Slack
did not make a link ("@casey", "#apec-desk") is refused, never kept as text or guessed at; and
"every monday until SOM2" with no text of its own takes it from the meeting. What the grammar
does not list ("tmrw", "next week" alone, "tomorrow night", "in 2 months") is refused.

The `recurrent` package (0.4.1) was measured on the spec's phrases and is not used: it cannot say
where its phrase stands in a sentence, so the text could not be kept whole; it takes weekdays out
of the text ("every monday at 9am call about the plan for friday" gave BYDAY=MO,FR); it drops
"noon", "midnight" and "morning"; it ignores "until SOM2"; "every year on 18 november" came back as
INTERVAL=18; and "until 20 November" as a bare date, which ends the day's 17:00 occurrence early.
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from dateutil.rrule import rrule, rrulestr

from store.dates import read_period
from store.models import Meeting
from store.vocabulary import (
    DAY_NAMES,
    MONTH_ABBREVIATIONS,
    MONTH_NAMES,
    MONTH_PATTERN,
    NUMBER_WORDS,
    WEEKDAY_PATTERN,
    as_matched,
    month_number,
    weekday_number,
)

AHEAD = timedelta(days=366)  # a reminder further off than a year is a typo
MAX_OFFSET = timedelta(days=365)  # "SOM2 400 days before" is one too
DEFAULT_CLOCK = time(9, 0)  # a day with no time of day, as meeting reminders
# Day parts at fixed, documented hours.
PARTS = {
    "morning": time(9),
    "noon": time(12),
    "afternoon": time(15),
    "evening": time(18),
    "tonight": time(20),
}
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_MAX_WORDS = 14  # longer than any time phrase: the search stays small on long texts
EXAMPLE = "`remind me tomorrow at 9am call Seoul` or `remind #apec-desk every monday at 9am TEXT`"


class RemindError(ValueError):
    """A reminder that cannot be read or set: the message says why, in plain words."""

    def __init__(self, message: str, meeting_name: str = "") -> None:
        super().__init__(message)
        self.meeting_name = meeting_name  # "SOM9 3 days before": a name no meeting goes by


@dataclass(frozen=True)
class Target:
    """Who is reminded: the channel asked in, the asker, a person, or a channel."""

    kind: Literal["here", "me", "person", "channel"]
    id: str = ""  # the person's or the channel's Slack id


@dataclass(frozen=True)
class Once:
    """A one-off reminder's moment."""

    due: datetime  # aware, in the asker's zone
    note: str = ""  # said with the confirmation: "`at 3pm` has passed today, so this is tomorrow's"


@dataclass(frozen=True)
class Every:
    """A recurring reminder: its rule and its first occurrence, on the asker's clocks."""

    rule: str  # RRULE without DTSTART: "FREQ=WEEKLY;BYDAY=MO", "...;UNTIL=20261120T235959"
    start: datetime  # the first occurrence's wall time, naive
    first: datetime  # the same, aware
    meeting: Meeting | None = None  # "until SOM2": occurrences before its first day
    until_text: str = ""  # the end as typed: "until 20 November", "for 3 weeks", "until SOM2"


@dataclass(frozen=True)
class Before:
    """A one-off counted back from a meeting's first day ("SOM2 3 days before")."""

    meeting: Meeting
    offset: str  # "3d", "2h", "30m", "0d"


@dataclass(frozen=True)
class Request:
    """A reminder as read: for whom, when, and what it says."""

    target: Target
    text: str
    when: Once | Every | Before
    phrase: str = ""  # WHEN as typed


# ---------------------------------------------------------------------------------------------
# The pieces of the grammar. Each named group is "g<n>_<field>": a piece may stand twice in one
# pattern (a time before "every", or after it), and the reader gathers each field's values.

_numbers = itertools.count()
_Fields = dict[str, list[str]]


def _g(field: str, pattern: str) -> str:
    return f"(?P<g{next(_numbers)}_{field}>{pattern})"


# Weekdays, with "sat" and "sun" left out: they are words too.
_WD = rf"(?:{WEEKDAY_PATTERN}|mon|tues?|wed|thu(?:rs?)?|fri)(?!\w)"
_WD_LIST = rf"{_WD}(?:(?:\s*,\s*|\s*,?\s+(?:and|&)\s+){_WD})*"
_MONTH = rf"(?:{MONTH_PATTERN}|(?:{'|'.join(MONTH_ABBREVIATIONS)})\.?)(?!\w)"
_ORDINAL_WORDS = {
    word: n
    for n, word in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
        "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth "
        "twenty-first twenty-second twenty-third twenty-fourth twenty-fifth twenty-sixth "
        "twenty-seventh twenty-eighth twenty-ninth thirtieth thirty-first".split(),
        1,
    )
}
_ORD_WORD = "|".join(sorted((w.replace("-", r"[\s-]") for w in _ORDINAL_WORDS), key=len)[::-1])
_ORD = rf"(?:\d{{1,2}}(?:st|nd|rd|th)|{_ORD_WORD})(?!\w)"  # "1st", "21st", "first"
_DAY_NUMBER = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?(?![\w:])|{_ORD_WORD}(?!\w))"
_COUNT = rf"(?:\d{{1,4}}|{'|'.join(NUMBER_WORDS)})(?!\w)"
_NTH = r"(?:first|second|third|fourth|last|1st|2nd|3rd|4th)(?!\w)"
_PART = r"(?:morning|afternoon|evening)(?!\w)"
_HOUR_12 = r"1[0-2]|0?[1-9]"
_HOUR_24 = r"[01]?\d|2[0-3]"
_MINUTE = r"[0-5]\d"
_YEAR = r"\d{4}"
_ISO_PART = r"\d{1,2}"
_IN_UNIT = r"minutes?|mins?|hours?|hrs?|days?|weeks?|wks?"
_FOR_UNIT = r"days?|weeks?|months?"
_EVERY_UNIT = r"days?|weeks?|months?|years?"
_WORKDAYS = r"weekdays?|work\s?days?|working\s+days?|business\s+days?"
_UNTIL_WORDS = r"(?:until|till|til|through|thru)"
_UNTIL_WHAT = r"\S.{0,40}?"
_OF_MONTH = r"\s+of\s+(?:the|every|each)\s+month(?!\w)"
_SEP = r",?\s+"


def _clock() -> str:
    """ "3pm", "at 3 p.m.", "15:00", "at noon", "at 9" (a bare hour only after "at")."""
    ampm = (
        _g("h", _HOUR_12)
        + rf"(?:[:.]{_g('mi', _MINUTE)})?\s*"
        + _g("ap", "[ap]")
        + r"\.?\s?m\.?(?!\w)"
    )
    h24 = f"{_g('hh', _HOUR_24)}:{_g('mm', _MINUTE)}" + r"(?![\w:])"
    word = _g("word", "noon|midday|midnight") + r"(?!\w)"
    oclock = r"\s*o'?clock(?!\w)"
    at_bare = _g("bare", _HOUR_24) + rf"(?![\w:.])(?:{oclock})?"
    bare_oclock = _g("bare", _HOUR_24) + oclock
    return _g("clock", rf"(?:at\s+)?(?:{ampm}|{h24}|{word})|at\s+{at_bare}|{bare_oclock}")


# A day said from today, read whole: "the day after tomorrow" is never "tomorrow" with "the day
# after" left in the reminder's text.
_RELATIVE_DAY = r"(?:the\s+)?day\s+(?:after\s+tomorrow|before\s+yesterday)|today|tomorrow|yesterday"
_RELATIVE_DAYS = {
    "today": 0,
    "tomorrow": 1,
    "yesterday": -1,
    "day after tomorrow": 2,
    "day before yesterday": -2,
}


def _day() -> str:
    """ "today", "tomorrow", "friday", "next friday", "next week monday", "march 5", "5 march",
    "2026-03-05", "on the 1st", "tonight", "this afternoon"."""

    def year() -> str:
        return rf"(?:,?\s+{_g('y', _YEAR)}" + r"(?!\w))?"

    iso = f"{_g('iy', _YEAR)}-{_g('in', _ISO_PART)}-{_g('id', _ISO_PART)}" + r"(?![\w-])"
    month_day = rf"(?:{_g('wdc', _WD)},?\s+)?{_g('m', _MONTH)}\s+(?:the\s+)?"
    day_month = rf"(?:the\s+)?{_g('d', _DAY_NUMBER)}(?:\s+of)?\s+{_g('m', _MONTH)}"
    return (
        rf"(?:(?:on\s+)?(?:{_g('rel', _RELATIVE_DAY)}(?!\w)"
        rf"|{_g('tonight', 'tonight')}(?!\w)"
        rf"|this\s+{_g('thispart', _PART)}"
        rf"|next\s+week(?:\s+on)?\s+{_g('nwd', _WD)}"
        rf"|{_g('nwd', _WD)}\s+(?:of\s+)?next\s+week(?!\w)"
        rf"|(?:{_g('q', 'next|this')}\s+)?{_g('wd', _WD)}"
        rf"|{month_day}{_g('d', _DAY_NUMBER)}{year()}"
        rf"|{day_month}{year()}"
        rf"|{iso}"
        rf")|on\s+(?:the\s+)?{_g('ord', _ORD)}(?:\s+of\s+(?:this|the)\s+month)?)"
    )


def _part() -> str:
    return rf"(?:in\s+the\s+)?{_g('part', _PART)}"


def _until() -> str:
    """ "until 20 November", "until SOM2", "for 3 weeks"."""
    return _g(
        "end",
        rf"{_UNTIL_WORDS}\s+{_g('until', _UNTIL_WHAT)}"
        rf"|for\s+{_g('forn', _COUNT)}\s+{_g('foru', _FOR_UNIT)}(?!\w)",
    )


def _every() -> str:
    """ "every monday", "every other friday", "every 2 weeks on tuesday", "on the first of every
    month", "every first monday of the month", "every year on 18 november", "every weekday"."""

    def month_day() -> str:
        return (
            rf"(?:{_g('ym', _MONTH)}\s+(?:the\s+)?{_g('yd', _DAY_NUMBER)}"
            rf"|(?:the\s+)?{_g('yd', _DAY_NUMBER)}(?:\s+of)?\s+{_g('ym', _MONTH)})"
        )

    anchor = (
        rf"\s+on\s+(?:{_g('wdl', _WD_LIST)}|the\s+{_g('nth', _NTH)}\s+{_g('nthwd', _WD)}"
        rf"|{month_day()}|(?:the\s+)?{_g('mday', _ORD)})"
    )
    count = _g("n", f"other|{_COUNT}")
    return (
        rf"(?:every\s+(?:(?:{count}\s+)?{_g('unit', _EVERY_UNIT)}(?!\w)(?:{anchor})?"
        rf"|(?:{_g('other', 'other')}\s+)?{_g('wdl', _WD_LIST)}(?:\s+{_part()})?"
        rf"|{_g('weekdays', _WORKDAYS)}(?!\w)(?:\s+{_part()})?"
        rf"|{_g('weekend', 'weekends?')}(?!\w)"
        rf"|{_g('nth', _NTH)}\s+{_g('nthwd', _WD)}{_OF_MONTH}"
        rf"|(?:the\s+)?{_g('mday', _ORD)}(?:{_OF_MONTH})?"
        rf"|{month_day()}"
        rf"|{_g('part', _PART)}"
        rf")|(?:on\s+)?the\s+{_g('mday', _ORD)}{_OF_MONTH}"
        rf"|(?:on\s+)?the\s+{_g('nth', _NTH)}\s+{_g('nthwd', _WD)}{_OF_MONTH}"
        rf"|{_g('unit', 'daily|weekly|monthly|yearly|annually')}(?!\w)"
        rf"(?:\s+on\s+(?:{_g('wdl', _WD_LIST)}|(?:the\s+)?{_g('mday', _ORD)}))?)"
    )


@dataclass(frozen=True)
class _Rule:
    name: str
    regex: re.Pattern[str]
    examples: tuple[str, ...]  # each reads whole by this rule (tests/test_remind_grammar.py)


def _rule(name: str, pattern: str, examples: tuple[str, ...]) -> _Rule:
    return _Rule(name, re.compile(pattern, re.IGNORECASE), examples)


WHEN_RULES = (
    _rule(
        "in a while",
        rf"in\s+{_g('n', _COUNT)}\s+{_g('u', _IN_UNIT)}(?!\w)(?:{_SEP}{_clock()})?",
        ("in 20 minutes", "in an hour", "in 3 days", "in 2 weeks", "in 2 weeks at 9am"),
    ),
    _rule(
        "day, then time",
        rf"{_day()}(?:{_SEP}{_part()})?(?:{_SEP}{_clock()})?",
        (
            "tomorrow",
            "tomorrow morning",
            "friday at 9",
            "next week monday 9am",
            "monday next week",
            "on the 1st",
            "tonight at 8pm",
            "this afternoon",
            "march 5 at 9",
            "5 march",
            "2027-03-05 10:00",
        ),
    ),
    _rule(
        "time, then day",
        rf"{_clock()}{_SEP}{_day()}(?:{_SEP}{_part()})?",
        ("9am tomorrow", "at 3pm on friday", "at 8pm tonight", "at noon on 2026-11-20"),
    ),
    _rule("time", _clock(), ("at 3pm", "3pm", "at 15:00", "at noon", "at midnight", "at 9")),
    _rule(
        "every",
        rf"(?:{_clock()}{_SEP})?{_every()}(?:{_SEP}{_part()})?(?:{_SEP}{_clock()})?"
        rf"(?:{_SEP}{_until()}(?:{_SEP}{_clock()})?)?",
        (
            "every day at 5pm",
            "every weekday at 8:30",
            "every weekend",
            "every monday at 9am",
            "every monday and thursday at 10",
            "every other friday",
            "every 2 weeks on tuesday",
            "every month on the 15th",
            "on the first of every month",
            "every first monday of the month",
            "every year on 18 november",
            "every day at 5pm until 20 November",
            "every weekday for 3 weeks",
            "at 9am every monday",
        ),
    ),
)
_FREQUENCIES = {
    "day": "DAILY",
    "daily": "DAILY",
    "week": "WEEKLY",
    "weekly": "WEEKLY",
    "month": "MONTHLY",
    "monthly": "MONTHLY",
    "year": "YEARLY",
    "yearly": "YEARLY",
    "annually": "YEARLY",
}
_UNIT_LENGTH = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_LEAD_WORD = re.compile(r"\A(?:to|that)(?:\s+|\Z)", re.IGNORECASE)
# "SOM3 3 days before", "summit 2 hours before", "SOM2 7d", "SOM1 on the first day"
_BEFORE = re.compile(
    rf"(?P<name>.+?)\s+(?:(?P<n>\d{{1,4}}|{'|'.join(NUMBER_WORDS)})\s*"
    r"(?P<u>days?|d|hours?|hrs?|h|minutes?|mins?|m|weeks?|w)(?:\s+before)?"
    r"|(?P<zero>on\s+the\s+(?:first\s+)?day|same\s+day))",
    re.IGNORECASE,
)
_PERSON = re.compile(r"<@(?P<id>[UW][A-Z0-9]{1,20})(?:\|[^>]{0,80})?>")
_CHANNEL = re.compile(r"<#(?P<id>[CG][A-Z0-9]{1,20})(?:\|[^>]{0,80})?>")
_WHO = re.compile(
    rf"\A(?:(?P<me>me)|{_PERSON.pattern}|{_CHANNEL.pattern.replace('?P<id>', '?P<cid>')}"
    r"|(?P<plain>[@#][A-Za-z][\w.-]*))(?:\s+|\Z)",
    re.IGNORECASE,
)
_WORDS = re.compile(r"\S+")
_TRAILING = re.compile(r"[\s,;:.!?]+\Z")
_SEPARATOR_AFTER = re.compile(r"\A\s*(?:[,;:]+|[-–—]+(?=\s))\s*")
_SEPARATOR_BEFORE = re.compile(r"\s*(?:[,;:]+|(?<=\s)[-–—]+)\s*\Z")


# ---------------------------------------------------------------------------------------------
# Reading a request


# A second time of day right after the first ("at noon and 5pm"): a clock time, never a number
# alone ("at 9am and 10 delegates arrive" keeps its text).
_SECOND_TIME = re.compile(
    r"\s*(?:and|&)\s+"
    r"((?:at\s+)?(?:\d{1,2}(?::\d{2})?\s*[ap]\.?m\.?|\d{1,2}:\d{2}|noon|midnight))\b",
    re.IGNORECASE,
)


def read_request(
    text: str,
    now: datetime,
    zone: tzinfo,
    meeting: Callable[[str], Meeting | None] = lambda name: None,
) -> Request:
    """What follows `remind`, read at `now` in the asker's `zone`; `meeting` finds a meeting by
    its exact name ("until SOM2", "SOM2 3 days before").

    Raises RemindError, with a plain reason and an example, for anything it cannot read or set."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be aware")
    text = text.strip()
    target, body = read_who(text)
    if not body:
        raise RemindError(f"When, and of what? Try {EXAMPLE}.")
    local = now.astimezone(zone)
    before = _BEFORE.fullmatch(as_matched(body)) if len(body) <= 200 else None
    if before is not None:
        found = meeting(before["name"])
        if found is not None:
            return Request(target, "", Before(found, _offset(before)), body)
    where = _find_when(body, lambda fields: _end_reads(fields, local, meeting))
    if where is None:
        if before is not None:
            raise RemindError(f"no meeting called `{before['name'][:60]}`", before["name"])
        raise RemindError(
            f"I can't read a time at the start or the end of `{body[:60]}`: try `tomorrow 9am "
            "TEXT`, `TEXT in 2 hours`, `every monday at 9am TEXT`, or a meeting: `SOM2 3 days "
            "before`."
        )
    rule, fields, phrase, rest = where
    unread = re.match(rf"{_UNTIL_WORDS}\s+(.{{1,40}})", rest, re.IGNORECASE)
    if rule == "every" and unread is not None:
        raise RemindError(
            f"I can't read `{unread[1]}` as the end: give a day (`until 20 November`), a meeting "
            "on record (`until SOM2`) or a length (`for 3 weeks`)."
        )
    second = _SECOND_TIME.match(rest)
    if second is not None:  # "every day at noon and 5pm": two times, one reminder each
        raise RemindError(
            f"one time of day to a reminder: `{phrase[:60]}` is one, and `{second[1]}` needs a "
            "reminder of its own."
        )
    words = _LEAD_WORD.sub("", rest, count=1)
    # "every monday until SOM2" alone: the text is made from the meeting, as "SOM2 3 days before"
    until = _one(fields, "until")
    ends_at_meeting = rule == "every" and bool(until) and meeting(until) is not None
    if not re.search(r"\w", words) and not (ends_at_meeting and not words.strip()):
        raise RemindError(
            "What should the reminder say? Put it before or after the time: "
            "`remind me tomorrow 9am call Seoul` or `remind me to call Seoul in 2 hours`."
        )
    if rule == "every":
        when: Once | Every = _every_of(fields, local, phrase, meeting)
    else:
        when = _once_of(rule, fields, local, phrase)
    return Request(target, words, when, phrase)


def read_who(text: str) -> tuple[Target, str]:
    """Who a reminder is for, and the words after; RemindError for a name Slack did not link."""
    found = _WHO.match(text)
    if found is None:
        return Target("here"), text
    rest = text[found.end() :].strip()
    if found["me"]:
        return Target("me"), rest
    if found["id"]:
        return Target("person", found["id"]), rest
    if found["cid"]:
        return Target("channel", found["cid"]), rest
    raise RemindError(
        f"I can't tell who or where `{found['plain'][:40]}` is: pick the person or channel from "
        "Slack's list as you type, so that it becomes a link (`remind @casey …` then reaches "
        "them), or say `me`."
    )


def _find_when(body: str, fits: Callable[[_Fields], bool]) -> tuple[str, _Fields, str, str] | None:
    """The longest time phrase at the start of the words, else at their end: the rule that read
    it, its fields, the phrase as typed, and the rest (the text)."""
    spans = [m.span() for m in _WORDS.finditer(body)]
    for count in range(min(len(spans), _MAX_WORDS), 0, -1):
        phrase = body[: spans[count - 1][1]]
        found = _read_phrase(phrase, fits)
        if found is not None:
            rest = _SEPARATOR_AFTER.sub("", body[spans[count - 1][1] :])
            return (*found, _TRAILING.sub("", phrase) or phrase, rest.strip())
    for first in range(max(0, len(spans) - _MAX_WORDS), len(spans)):
        phrase = body[spans[first][0] :]
        found = _read_phrase(phrase, fits)
        if found is not None:
            rest = _SEPARATOR_BEFORE.sub("", body[: spans[first][0]])
            return (*found, _TRAILING.sub("", phrase) or phrase, rest.strip())
    return None


def _read_phrase(
    phrase: str, fits: Callable[[_Fields], bool] = lambda fields: True
) -> tuple[str, _Fields] | None:
    """The rule that reads the whole phrase, and its fields; None if none does."""
    tidy = _TRAILING.sub("", as_matched(phrase))
    if not tidy or len(tidy) > 120:
        return None
    for rule in WHEN_RULES:
        match = rule.regex.fullmatch(tidy)
        if match is not None:
            fields: _Fields = defaultdict(list)
            for name, value in match.groupdict().items():
                if value is not None:
                    fields[name.split("_", 1)[1]].append(value)
            if len(fields["clock"]) <= 1 and len(fields["part"]) <= 1 and fits(fields):
                return rule.name, fields
    return None


def _end_reads(fields: _Fields, now: datetime, meeting: Callable[[str], Meeting | None]) -> bool:
    """Whether what follows "until" is a day or a meeting: if not, it is the text's."""
    until = _one(fields, "until")
    return not until or meeting(until) is not None or until_day(until, now) is not None


def _offset(match: re.Match[str]) -> str:
    if match["zero"]:
        return "0d"
    count = NUMBER_WORDS.get(match["n"].lower()) or int(match["n"])
    unit = match["u"].lower()[0]
    if unit == "w":
        count, unit = count * 7, "d"
    if count * _UNIT_LENGTH[unit] > MAX_OFFSET:
        raise RemindError(f"`{count}{unit}` is more than a year before: offsets go up to `365d`.")
    return "0d" if count == 0 else f"{count}{unit}"


# ---------------------------------------------------------------------------------------------
# Times of day


def _one(fields: _Fields, name: str) -> str:
    values = fields.get(name) or [""]
    return values[0]


def _clock_of(fields: _Fields) -> tuple[time | None, int | None]:
    """The time of day written, and the hour if it was a bare 1-12 with no am or pm."""
    if _one(fields, "h"):
        hour = int(_one(fields, "h")) % 12 + (12 if _one(fields, "ap").lower() == "p" else 0)
        return time(hour, int(_one(fields, "mi") or 0)), None
    if _one(fields, "hh"):
        return time(int(_one(fields, "hh")), int(_one(fields, "mm"))), None
    if _one(fields, "word"):
        return (time(0) if _one(fields, "word").lower() == "midnight" else time(12)), None
    bare = _one(fields, "bare")
    if bare:
        hour = int(bare)
        # "at 09" and "at 17" are a 24-hour clock; "at 9" is an hour of the morning or evening.
        if bare.startswith("0") or not 1 <= hour <= 12:
            return time(hour), None
        return None, hour
    return None, None


def _part_of(fields: _Fields) -> str:
    if _one(fields, "tonight"):
        return "tonight"
    return (_one(fields, "part") or _one(fields, "thispart")).lower()


def hour_of_day(hour: int, part: str = "") -> time:
    """A bare hour 1-12 with a day given: in its day part if one is named ("tonight at 8" is
    20:00), else the morning one from 7 to 11 and the afternoon one otherwise ("at 3" is 15:00,
    "at 12" is 12:00)."""
    if part == "morning":
        return time(hour % 12)
    if part:
        return time(hour % 12 + 12)
    return time(hour if 7 <= hour <= 12 else hour + 12)


def _time_of_day(fields: _Fields, default: time | None) -> time | None:
    """The time of day a phrase with a day in it gives (a bare hour read as with a day)."""
    clock, bare = _clock_of(fields)
    part = _part_of(fields)
    if clock is not None:
        return clock
    if bare is not None:
        return hour_of_day(bare, part)
    if part:
        return PARTS[part]
    return default


# ---------------------------------------------------------------------------------------------
# Days and moments


def localize(wall: datetime, zone: tzinfo) -> datetime:
    """A wall time on a zone's clocks, aware: in a gap (clocks forward) it moves on as the clocks
    do; when clocks go back, the first of the two."""
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)


def _wall_text(moment: datetime) -> str:
    return f"{DAY_NAMES[moment.weekday()][:3]} {moment.day} {moment:%b %Y %H:%M}"


def _zone_name(zone: tzinfo | None) -> str:
    return str(getattr(zone, "key", zone))


def _make(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise RemindError(f"no such day: {day} {MONTH_NAMES[month - 1]} {year}") from None


def _number(text: str) -> int:
    word = text.lower().replace(" ", "-")
    if word in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[word]
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    digits = re.match(r"\d+", word)
    if digits is None:  # the grammar matched a number word or digits: one of the three is there
        raise RemindError(f"not a number: `{text}`")
    return int(digits[0])


def _fixed_day(fields: _Fields, today: date) -> date | None:
    """The day a phrase names outright; None if it names a weekday (or no day)."""
    rel = " ".join(_one(fields, "rel").lower().split()).removeprefix("the ")
    if rel:
        return today + timedelta(days=_RELATIVE_DAYS[rel])
    if _one(fields, "tonight") or _one(fields, "thispart"):
        return today
    if _one(fields, "iy"):
        month = int(_one(fields, "in"))
        if not 1 <= month <= 12:
            raise RemindError(f"no such month: {_one(fields, 'in')}")
        return _make(int(_one(fields, "iy")), month, int(_one(fields, "id")))
    if _one(fields, "m"):
        month, number = month_number(_one(fields, "m")), _number(_one(fields, "d"))
        year = _one(fields, "y")
        # No year: this year's, unless that day has gone by; then next year's.
        later = (month, number) < (today.month, today.day)
        day = _make(int(year) if year else today.year + later, month, number)
        weekday = _one(fields, "wdc")
        if weekday and weekday_number(weekday) != day.weekday():
            raise RemindError(
                f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year} is a "
                f"{DAY_NAMES[day.weekday()]}, not a {DAY_NAMES[weekday_number(weekday)]}"
            )
        return day
    if _one(fields, "ord"):
        return next(_month_days(_number(_one(fields, "ord")), today))
    if _one(fields, "nwd"):
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        return monday + timedelta(days=weekday_number(_one(fields, "nwd")))
    return None


def _month_days(number: int, today: date) -> Iterator[date]:
    """The days numbered `number` from today on, month by month (a month without one is
    passed over: "on the 31st" said in November is 31 December)."""
    if not 1 <= number <= 31:
        raise RemindError(f"no month has a day {number}")
    for ahead in itertools.count():
        year, month = divmod(today.year * 12 + today.month - 1 + ahead, 12)
        if number <= calendar.monthrange(year, month + 1)[1]:
            day = date(year, month + 1, number)
            if day >= today:
                yield day


def _once_of(rule: str, fields: _Fields, now: datetime, phrase: str) -> Once:
    if rule == "in a while":
        return _in_a_while(fields, now, phrase)
    day = _fixed_day(fields, now.date())
    if day is not None:
        return _on_day(day, fields, now)
    weekday = _one(fields, "wd")
    if weekday:
        found = _on_weekday(weekday, fields, now)
        if found is not None:
            return found
    return _at_time_alone(fields, now, phrase)


def _in_a_while(fields: _Fields, now: datetime, phrase: str) -> Once:
    """ "in 20 minutes" (elapsed time), "in 3 days" (at the time now, or the one given)."""
    zone = _zone_of(now)
    count, unit = _number(_one(fields, "n")), _one(fields, "u").lower()
    if unit.startswith(("d", "w")):
        days = count * (7 if unit.startswith("w") else 1)
        clock = _time_of_day(fields, now.time().replace(second=0, microsecond=0))
        assert clock is not None
        return Once(_checked(localize(_on(now.date() + timedelta(days=days), clock), zone), now))
    if fields["clock"]:
        raise RemindError(f"minutes or hours from now, or a time of day, not both: `{phrase}`")
    minutes = count * (60 if unit.startswith("h") else 1)
    # Elapsed time, also across a change of clocks.
    return Once(_checked((now.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(zone), now))


def _clock_or_default(fields: _Fields) -> tuple[time, str]:
    """The time of day with a day given, and the note said when none was (the default's)."""
    clock = _time_of_day(fields, None)
    if clock is None:
        note = f"No time of day given: {DEFAULT_CLOCK:%H:%M}, as for meeting reminders."
        return DEFAULT_CLOCK, note
    return clock, ""


def _on_day(day: date, fields: _Fields, now: datetime) -> Once:
    """A day named outright; "on the 15th" is the first 15th whose time is still to come."""
    zone = _zone_of(now)
    clock, note = _clock_or_default(fields)
    if _one(fields, "ord"):
        numbered = _month_days(_number(_one(fields, "ord")), now.date())
        day = next(d for d in numbered if localize(_on(d, clock), zone) > now)
    due = localize(_on(day, clock), zone)
    if due <= now and (_one(fields, "tonight") or _one(fields, "thispart")):
        part = _part_of(fields)
        said = "tonight" if part == "tonight" else f"this {part}"
        raise RemindError(f"`{said}` ({clock:%H:%M}) has passed: give a time still to come.")
    return Once(_checked(due, now), note)


def _on_weekday(weekday: str, fields: _Fields, now: datetime) -> Once | None:
    """The first such weekday whose time is still to come; "next": the first after today."""
    zone = _zone_of(now)
    clock, note = _clock_or_default(fields)
    first = 1 if _one(fields, "q").lower() == "next" else 0
    wanted = weekday_number(weekday)
    for ahead in range(first, first + 8):
        candidate = now.date() + timedelta(days=ahead)
        due = localize(_on(candidate, clock), zone)
        if candidate.weekday() == wanted and due > now:
            return Once(_checked(due, now), note)
    return None


def _at_time_alone(fields: _Fields, now: datetime, phrase: str) -> Once:
    """A time of day alone: the next such time; a bare hour, the first of H:00 and (H+12):00."""
    zone = _zone_of(now)
    today = now.date()
    clock, bare = _clock_of(fields)
    if clock is not None:
        clocks = [clock]
    elif bare is not None:
        clocks = [time(bare % 12), time(bare % 12 + 12)]
    else:
        raise RemindError(f"I can't read `{phrase}` as a time.")
    due = min(
        moment
        for ahead in (0, 1)
        for c in clocks
        if (moment := localize(_on(today + timedelta(days=ahead), c), zone)) > now
    )
    note = ""
    if due.date() != today and bare is None and clock != time(0):  # midnight is always "tonight's"
        note = f"`{phrase}` has passed today, so this is tomorrow's."
    return Once(_checked(due, now), note)


def _zone_of(now: datetime) -> tzinfo:
    zone = now.tzinfo
    assert zone is not None
    return zone


def _on(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock)


def _checked(due: datetime, now: datetime) -> datetime:
    zone = _zone_name(now.tzinfo)
    if due <= now:
        raise RemindError(f"{_wall_text(due)} ({zone}) has passed: give a time still to come.")
    if due > now + AHEAD:
        raise RemindError(
            f"{_wall_text(due)} ({zone}) is more than a year ahead: I keep reminders to a year."
        )
    return due


# ---------------------------------------------------------------------------------------------
# Recurring reminders


def _every_of(
    fields: _Fields,
    now: datetime,
    phrase: str,
    meeting: Callable[[str], Meeting | None],
) -> Every:
    zone = now.tzinfo
    assert zone is not None
    parts = _rule_parts(fields, phrase)
    clock = _time_of_day(fields, DEFAULT_CLOCK)
    assert clock is not None
    interval = int(parts.pop("INTERVAL", "1"))
    start = _first(parts, clock, now)
    if start is None or localize(start, zone) > now + AHEAD:
        raise RemindError(f"`{phrase}` falls on no day in the coming year.")
    first = localize(start, zone)
    if parts["FREQ"] == "WEEKLY" and "BYDAY" not in parts:
        parts["BYDAY"] = RRULE_DAYS[start.weekday()]
    if parts["FREQ"] == "MONTHLY" and "BYDAY" not in parts and "BYMONTHDAY" not in parts:
        parts["BYMONTHDAY"] = str(start.day)
    if parts["FREQ"] == "YEARLY" and "BYMONTH" not in parts:
        parts |= {"BYMONTH": str(start.month), "BYMONTHDAY": str(start.day)}
    if interval > 1:
        parts["INTERVAL"] = str(interval)
    end, found, until_text = _end_of(fields, start.date(), now, meeting)
    if end is not None:
        parts["UNTIL"] = f"{end:%Y%m%d}T235959"
    order = ("FREQ", "INTERVAL", "BYMONTH", "BYMONTHDAY", "BYDAY", "UNTIL")
    rule = ";".join(f"{key}={parts[key]}" for key in order if key in parts)
    return Every(rule, start, first, found, until_text)


def _rule_parts(fields: _Fields, phrase: str) -> dict[str, str]:
    """FREQ, INTERVAL and BY… of an "every …" phrase (the time of day is the start's)."""
    parts: dict[str, str] = {"INTERVAL": str(_interval(fields, phrase))}
    anchor, anchored_by = _anchor(fields)
    parts |= anchor
    freq = _FREQUENCIES.get(_one(fields, "unit").lower().removesuffix("s"), "")
    if not freq:
        freq = anchored_by or "DAILY"  # "every morning"
    elif anchored_by and anchored_by != freq:
        raise RemindError(f"I can't read `{phrase}`: try `every 2 weeks on tuesday`.")
    parts["FREQ"] = freq
    return parts


def _interval(fields: _Fields, phrase: str) -> int:
    """Every how many: "every other" is 2, "every 3 weeks" 3, and "every week" 1."""
    count = _one(fields, "n").lower()
    interval = 2 if count == "other" or _one(fields, "other") else (_number(count) if count else 1)
    if not 1 <= interval <= 366:
        raise RemindError(f"`{phrase}`: every 1 to 366 days, weeks, months or years.")
    return interval


def _by_weekdays(fields: _Fields) -> dict[str, str]:
    """ "every monday and thursday"."""
    names = re.findall(_WD, _one(fields, "wdl"), re.IGNORECASE)
    days = sorted({weekday_number(name) for name in names})
    return {"BYDAY": ",".join(RRULE_DAYS[d] for d in days)}


def _by_nth_weekday(fields: _Fields) -> dict[str, str]:
    """ "every first monday of the month", "the last friday of the month"."""
    nth = _one(fields, "nth").lower()
    which = -1 if nth == "last" else _number(nth)
    return {"BYDAY": f"{which}{RRULE_DAYS[weekday_number(_one(fields, 'nthwd'))]}"}


def _by_month_day(fields: _Fields) -> dict[str, str]:
    """ "every month on the 15th"."""
    number = _number(_one(fields, "mday"))
    if not 1 <= number <= 31:
        raise RemindError(f"no month has a day {number}")
    return {"BYMONTHDAY": str(number)}


def _by_year_day(fields: _Fields) -> dict[str, str]:
    """ "every year on 18 november"."""
    month, number = month_number(_one(fields, "ym")), _number(_one(fields, "yd"))
    if number > calendar.monthrange(2000, month)[1]:  # 2000 was a leap year: 29 February is
        raise RemindError(f"no such day: {number} {MONTH_NAMES[month - 1]}")
    return {"BYMONTH": str(month), "BYMONTHDAY": str(number)}


# What an "every …" phrase is anchored on, first found first: the field that says so, the
# frequency it implies, and its BY… parts.
_ANCHORS: tuple[tuple[str, str, Callable[[_Fields], dict[str, str]]], ...] = (
    ("wdl", "WEEKLY", _by_weekdays),
    ("weekdays", "WEEKLY", lambda fields: {"BYDAY": "MO,TU,WE,TH,FR"}),
    ("weekend", "WEEKLY", lambda fields: {"BYDAY": "SA,SU"}),
    ("nth", "MONTHLY", _by_nth_weekday),
    ("mday", "MONTHLY", _by_month_day),
    ("ym", "YEARLY", _by_year_day),
)


def _anchor(fields: _Fields) -> tuple[dict[str, str], str]:
    """The BY… parts of the days a phrase names, and the frequency they imply ("" for none)."""
    for field, frequency, parts_of in _ANCHORS:
        if _one(fields, field):
            return parts_of(fields), frequency
    return {}, ""


def _first(parts: dict[str, str], clock: time, now: datetime) -> datetime | None:
    """The first occurrence still to come (today's if its time has not passed), as a wall time."""
    zone = now.tzinfo
    assert zone is not None
    rule = ";".join(f"{k}={v}" for k, v in parts.items())
    dtstart = _on(now.date(), clock)
    probe = rrulestr(rule, dtstart=dtstart, cache=False)
    assert isinstance(probe, rrule)
    for wall in probe.xafter(dtstart - timedelta(seconds=1), count=800, inc=True):
        if wall - dtstart > timedelta(days=9 * 366):
            return None
        if localize(wall, zone) > now:
            return wall
    return None


def _end_of(
    fields: _Fields,
    first: date,
    now: datetime,
    meeting: Callable[[str], Meeting | None],
) -> tuple[date | None, Meeting | None, str]:
    """The last day an occurrence may fall on, or the meeting it stops before; and as typed."""
    said = _one(fields, "end")
    if not said:
        return None, None, ""
    if _one(fields, "forn"):
        count, unit = _number(_one(fields, "forn")), _one(fields, "foru").lower()
        if unit.startswith("month"):
            index = first.year * 12 + first.month - 1 + count
            year, month = divmod(index, 12)
            end = date(year, month + 1, min(first.day, calendar.monthrange(year, month + 1)[1]))
        else:
            end = first + timedelta(days=count * (7 if unit.startswith("week") else 1))
        return end - timedelta(days=1), None, said
    until = _one(fields, "until")
    found = meeting(until)
    if found is not None:
        _check_meeting_end(found, first)
        return None, found, said
    day = until_day(until, now)
    if day is None:
        raise RemindError(f"I can't read `{until[:40]}` as a day or a meeting on record.")
    if day < first:
        raise RemindError(
            f"`{said}` ends before the first occurrence "
            f"({first.day} {MONTH_NAMES[first.month - 1]} {first.year})."
        )
    return day, None, said


def until_day(text: str, now: datetime) -> date | None:
    """The day "until …" names ("20 November", "friday", "next month"), read on now's calendar."""
    text = as_matched(text)  # as read_period gives the period's words back
    found = _read_phrase(text) or _read_phrase(f"on {text}")
    if found is not None and found[0] == "day, then time":
        fields = found[1]
        if fields["clock"] or fields["part"]:
            return None
        day = _fixed_day(fields, now.date())
        if day is not None:
            return day
        if _one(fields, "wd"):
            first = 1 if _one(fields, "q").lower() == "next" else 0
            wanted = weekday_number(_one(fields, "wd"))
            return next(
                now.date() + timedelta(days=n)
                for n in range(first, first + 7)
                if (now.date() + timedelta(days=n)).weekday() == wanted
            )
    # A period ("december", "next month", "2027"): a few words, read whole, or it is the text's.
    span = read_period(text, now) if len(text.split()) <= 3 else None
    if span is not None and span.end is not None and span.text.lower() == text.strip().lower():
        return span.end
    return None


def _check_meeting_end(found: Meeting, first: date) -> None:
    name = found.short or found.name
    if found.status == "cancelled":
        raise RemindError(f"{name} is cancelled: it cannot end a reminder.")
    start = found.span.start
    if found.span.precision != "day" or start is None:
        raise RemindError(
            f"{name} is known only to the month: I won't make up a day for the reminder to end. "
            "Give a date instead, like `until 20 November`."
        )
    if start <= first:
        raise RemindError(f"{name} begins before the first occurrence: nothing would be posted.")
