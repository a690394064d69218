"""What the bot knows about words, in one place: the kinds of meeting (what a question or a
command may call each, what the bot prints for it), weekdays, months, number words, economies by
their adjective and capital, common English, and the years the store holds (read from the store).

Every module that reads or writes these words imports them from here. A name says which side it
is for: *phrases* and *words* are what people type, *labels* what the bot prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol


@dataclass(frozen=True)
class MeetingKind:
    """One kind of meeting: its stored name, what people call it, and what the bot prints."""

    kind: str  # as stored in `meetings.kind`: "som"
    phrases: tuple[str, ...] = ()  # what a question may say, folded words: "senior officials"
    words: tuple[str, ...] = ()  # one word a command takes for it: "som", "senior"
    label: str = ""  # in a sentence: "Senior Officials' Meeting"
    short_label: str = ""  # in a list of kinds: "SOM"
    rank: int = 0  # meetings of one first day are listed by it: the summit before its SOM


# A question that names two kinds ("the SOM before the summit") means the first of them here.
KINDS: tuple[MeetingKind, ...] = (
    MeetingKind(
        "som",
        phrases=(
            "som",
            "soms",
            "senior officials meeting",
            "senior officials meetings",
            "senior officials",
        ),
        words=("som", "soms", "senior"),
        label="Senior Officials' Meeting",
        short_label="SOM",
        rank=1,
    ),
    MeetingKind(
        "summit",
        phrases=(
            "summit",
            "summits",
            "leaders meeting",
            "leaders summit",
            "aelm",
            "leaders meet",
            "leaders gather",
        ),
        words=("summit", "summits", "leaders", "leaders'", "aelm"),
        label="Leaders' Summit",
        short_label="Leaders' Summit",
        rank=0,
    ),
    MeetingKind(
        "ministerial",
        phrases=("ministerial", "ministerials", "ministers meeting", "ministerial meeting"),
        words=("ministerial", "ministerials", "minister", "ministers"),
        label="ministerial meeting",
        short_label="ministerial meeting",
        rank=2,
    ),
    MeetingKind("committee", rank=4),
    MeetingKind("event", rank=3),
)
MEETING_KINDS = frozenset(k.kind for k in KINDS)  # what a meeting record's kind may be
KIND_RANK = {k.kind: k.rank for k in KINDS}
KIND_PHRASES = {k.kind: k.phrases for k in KINDS if k.phrases}  # what a question may say
KIND_BY_WORD = {word: k.kind for k in KINDS for word in k.words}  # "soms" -> "som"
KIND_LABELS = {k.kind: k.label for k in KINDS if k.label}
KIND_SHORT_LABELS = {k.kind: k.short_label for k in KINDS if k.short_label}
# Words of a name that says only the kind of meeting ("the summit"): its year decides which.
GENERIC_MEETING = frozenset("the apec economic leaders leader summit meeting aelm s".split())

# English names, not calendar.day_name or month_name: those follow the process locale.
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_NAMES = tuple(day.title() for day in WEEKDAYS)  # "Monday", as printed
MONTHS = tuple(
    "january february march april may june july august september october november december".split()
)
MONTH_NAMES = tuple(month.title() for month in MONTHS)  # "January", as printed
# Months as written short with a full stop ("Feb. 1"); May is short enough as it is.
MONTH_ABBREVIATIONS = tuple("jan feb mar apr jun jul aug sep sept oct nov dec".split())
WEEKDAY_PATTERN = "|".join(WEEKDAYS)  # for a regex: "monday|tuesday|..."
MONTH_PATTERN = "|".join(MONTHS)

# The letters Python's IGNORECASE matching takes for ASCII ones (tests/test_look_alikes.py checks
# there are no others): a long s, a dotless and a dotted capital i, the Kelvin sign. A grammar
# reads a text with these folded, one letter for one, so that what it matched spells its keys
# ("thıs week" is "this week") and every offset still points into the text as typed.
LOOK_ALIKES = str.maketrans({"\u017f": "s", "\u0131": "i", "\u0130": "I", "\u212a": "K"})
_LOOK_ALIKE_LETTERS = tuple(map(chr, LOOK_ALIKES))


def as_matched(text: str) -> str:
    """`text` with the letters IGNORECASE takes for ASCII ones written as those: the same
    length, every other letter as it was."""
    # Nearly every text holds none: looking costs 0.6 µs a passage, translating one 18 µs.
    if text.isascii() or not any(c in text for c in _LOOK_ALIKE_LETTERS):
        return text
    return text.translate(LOOK_ALIKES)


# The letters that tell each month (three) and weekday (two) apart.
_MONTH_NUMBERS = {m[:3]: number for number, m in enumerate(MONTHS, 1)}
_WEEKDAY_NUMBERS = {d[:2]: number for number, d in enumerate(WEEKDAYS)}


def month_number(name: str) -> int:
    """1 to 12: the month a name a grammar matched begins with ("Sept.", "ſeptember")."""
    found = _MONTH_NUMBERS.get(as_matched(name[:3]).lower())
    if found is None:
        raise ValueError(f"not a month: {name[:20]!r}")
    return found


def weekday_number(name: str) -> int:
    """0 (Monday) to 6: the weekday a name a grammar matched begins with ("Tues", "frıday")."""
    found = _WEEKDAY_NUMBERS.get(as_matched(name[:2]).lower())
    if found is None:
        raise ValueError(f"not a weekday: {name[:20]!r}")
    return found


NUMBER_WORDS = {  # numbers people write as words ("three days before")
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}

# Capitals that stand for their economy when they act ("what did Seoul push"), not as places.
CAPITALS = {
    "Washington": "US",
    "Seoul": "KR",
    "Beijing": "CN",
    "Tokyo": "JP",
    "Canberra": "AU",
    "Ottawa": "CA",
    "Wellington": "NZ",
    "Moscow": "RU",
    "Jakarta": "ID",
    "Hanoi": "VN",
    "Manila": "PH",
    "Bangkok": "TH",
    "Santiago": "CL",
    "Lima": "PE",
    "Taipei": "TW",
}
# Economies by their adjective ("the Korean delegation"), for questions only.
DEMONYMS = {
    "American": "US",
    "Australian": "AU",
    "Bruneian": "BN",
    "Canadian": "CA",
    "Chilean": "CL",
    "Chinese": "CN",
    "Indonesian": "ID",
    "Japanese": "JP",
    "Korean": "KR",
    "South Korean": "KR",
    "Malaysian": "MY",
    "Mexican": "MX",
    "New Zealander": "NZ",
    "Peruvian": "PE",
    "Filipino": "PH",
    "Philippine": "PH",
    "Russian": "RU",
    "Singaporean": "SG",
    "Thai": "TH",
    "Vietnamese": "VN",
}
DEMONYMS.update({f"{n}s": i for n, i in list(DEMONYMS.items()) if not n.endswith(("s", "ese"))})

COMMON = 1000  # a word this frequent in English (pyspellchecker's counts) is meant as typed


@cache
def english() -> dict[str, int]:
    """Common English words and their counts (pyspellchecker's list), loaded on first need."""
    from spellchecker import SpellChecker

    return dict(SpellChecker(language="en", distance=1).word_frequency.dictionary)


def common(word: str) -> bool:
    """A word English uses often enough that it is meant as typed."""
    return english().get(word.lower(), 0) >= COMMON


class _Dated(Protocol):
    @property
    def year(self) -> int | None: ...


class _Meetings(Protocol):
    """What the years are read from: a store (typed so, this module imports no other of ours)."""

    def meetings(self) -> Sequence[_Dated]: ...


def years_held(store: _Meetings) -> frozenset[int]:
    """The years the store's meetings are in ("2025", "2026" on the seeds)."""
    return frozenset(m.year for m in store.meetings() if m.year is not None)
