"""The records the store holds, as the query layer hands them out: sources, meetings, economies,
people, delegations, facts, glossary terms and search hits. Plain frozen dataclasses with no
database in them."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache, cached_property
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from store.dates import Span

UTC = ZoneInfo("UTC")
_YEAR = re.compile(r"(?<!\d)(?:19[89]\d|20\d\d)(?!\d)")


@dataclass(frozen=True)
class Source:
    """A source document: what the bot cites. As a build reads it (from its file in seeds/, or
    from the desk's documents) it has its text and checksum too; as the store hands it out, not."""

    id: str
    title: str
    publisher: str
    kind: str
    reference_date: date
    file: str
    origin: str  # 'seed', or 'desk' (added with `apec-bot ingest`)
    added_at: str = ""  # UTC ISO, for the desk's own documents
    original_name: str = ""
    text: str = field(default="", repr=False)
    sha256: str = ""
    note: str = ""

    def cite(self) -> str:
        """The citation shown under an answer."""
        who = f", {self.publisher}" if self.publisher else ""
        return f"{self.title}{who} ({self.reference_date.isoformat()})"


@dataclass(frozen=True)
class Meeting:
    """A meeting with its dates as the source writes them and as read, and its venue's zone."""

    id: str
    name: str
    short: str
    kind: str
    parent_id: str
    span: Span
    status: str
    city: str
    host_id: str
    host_name: str
    tz: str
    source: Source
    quote: str
    note: str  # as it stands (store.models.standing_note): never one about a field since set
    origin: str
    within: Span | None = None  # the parent's dates, for a part with none of its own

    @cached_property
    def zone(self) -> ZoneInfo:
        """The venue's time zone (UTC when the venue is unknown)."""
        try:
            return ZoneInfo(self.tz) if self.tz else UTC
        except (ZoneInfoNotFoundError, ValueError):
            return UTC

    @cached_property
    def starts_at(self) -> datetime | None:
        """Midnight at the venue on the first day (the first of the month when only that is
        known)."""
        start = self.span.start
        if not self.placed or start is None:  # placed: the first day is known
            return None
        return datetime.combine(start, time(0), self.zone)

    @cached_property
    def ends_at(self) -> datetime | None:
        """Midnight at the venue after the last day."""
        end = self.span.end
        if not self.placed or end is None:  # placed: the last day is known
            return None
        return datetime.combine(end + timedelta(days=1), time(0), self.zone)

    @cached_property
    def dated(self) -> bool:
        """Known to the day: only such a meeting gets reminders at a real time."""
        return self.span.precision == "day" and self.span.start is not None

    @cached_property
    def month_only(self) -> bool:
        """Known only to one month ("in August"); "From May" is not a month but a lower bound."""
        s = self.span
        return (
            s.precision == "month"
            and s.start is not None
            and s.end is not None
            and (s.start.year, s.start.month) == (s.end.year, s.end.month)
        )

    @cached_property
    def placed(self) -> bool:
        """Placed on the calendar: known to the day, or to one month."""
        return self.dated or self.month_only

    @cached_property
    def place(self) -> str:
        """City and host economy, as far as the source names them."""
        return ", ".join(p for p in (self.city, self.host_name) if p)

    @cached_property
    def year(self) -> int | None:
        """The APEC year it belongs to: its dates' year, else a year its names carry."""
        for span in (self.span, self.within):
            if span is not None and span.start is not None:
                return span.start.year
        found = _YEAR.search(f"{self.short} {self.name} {self.id}")
        return int(found[0]) if found else None

    def bounds(self) -> tuple[datetime, datetime] | None:
        """The stretch it is held in, its own days or else its parent's, at the venue."""
        span = self.span if self.placed else self.within
        if span is None or span.start is None or span.end is None or span.precision == "unknown":
            return None
        end = span.end + timedelta(days=1)
        return datetime.combine(span.start, time(0), self.zone), datetime.combine(
            end, time(0), self.zone
        )


# A desk note may say what a meeting's record lacks ("Exact SOM3 dates were not given."): it then
# names that field (desk.toml's `note_when_missing`), and stands only while the field is missing.
# Dates are missing until known to the day; the others while empty. Keys: a meetings row's columns.
MISSING: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "dates": lambda row: row.get("precision") != "day",
    "city": lambda row: not row.get("city"),
    "host": lambda row: not row.get("host_id"),
    "tz": lambda row: not row.get("tz"),
}


def standing_note(row: Mapping[str, Any]) -> str:
    """A meetings row's note as it stands: one about a missing field (its `note_when_missing`)
    is gone once the field is set. Every reader of a meeting's note reads it through this."""
    missing = MISSING.get(row.get("note_when_missing") or "")
    if missing is not None and not missing(row):
        return ""
    return str(row.get("note") or "")


@dataclass(frozen=True)
class Economy:
    """A member economy under its official APEC name."""

    id: str
    name: str
    source: Source
    quote: str


@dataclass(frozen=True)
class Role:
    """Something a person did, where, with its source."""

    role: str
    meeting_id: str
    source: Source
    quote: str


@dataclass(frozen=True)
class Person:
    """A person the sources name, with their title and what they did."""

    id: str
    name: str
    economy_id: str
    title: str
    organization: str
    source: Source
    quote: str
    roles: tuple[Role, ...] = ()


@dataclass(frozen=True)
class Member:
    """A person in a delegation."""

    person: Person
    role: str
    source: Source
    quote: str


@dataclass(frozen=True)
class Objective:
    """A stated objective of a delegation."""

    text: str
    source: Source
    quote: str


@dataclass(frozen=True)
class Delegation:
    """An economy's delegation to a meeting: its head, members and stated objectives."""

    id: str
    economy: Economy
    meeting: Meeting
    head: Person | None
    members: tuple[Member, ...]
    objectives: tuple[Objective, ...]
    source: Source
    quote: str


@dataclass(frozen=True)
class Fact:
    """A thing a desk officer asks about (theme, host, Bogor Goals...), answered from a source."""

    id: str
    topic: str
    keywords: tuple[str, ...]
    answer: str
    source: Source
    quote: str


@dataclass(frozen=True)
class Term:
    """A glossary entry: an abbreviation or term, what it stands for and the record it names.

    A cited term carries its source and quote, and may be given as an answer; a reading-only one
    (the desk's shorthand, which no source spells out) has no source and only helps read a question.
    """

    term: str
    aliases: tuple[str, ...]
    expansion: str  # what an abbreviation stands for, "" for a term that is none
    definition: str  # what it is, only as its source states it; "" if none does
    kind: str  # committee, meeting, economy, organization, office, event, term, shorthand
    refers_to: str  # the id of the meeting, economy or person it names, "" if none
    source: Source | None
    quote: str

    @property
    def reading_only(self) -> bool:
        """The desk's own shorthand: it reads a question, it is never cited as an answer."""
        return self.source is None


@dataclass(frozen=True)
class Hit:
    """A passage found by full-text search, with its source and its BM25 score (lower is better)."""

    passage_id: int
    heading: str
    text: str
    source: Source
    also_in: tuple[Source, ...]
    score: float
    terms_matched: float = 0.0  # share of the question's words the passage holds


@dataclass(frozen=True)
class Sentence:
    """One sentence of a source's passage, for answers gathered statement by statement."""

    text: str
    source: Source
    passage_id: int
    seq: int  # its place in the passage


@dataclass(frozen=True)
class MemberAnswer:
    """What `member X` finds: a member, a known non-member, or nothing (names close to it:
    `Store.economy_suggestions`)."""

    economy: Economy | None = None
    non_member: str = ""


T = TypeVar("T")


def replaced(record: T, **changes: Any) -> T:
    """`dataclasses.replace(record, **changes)` for the paths every request takes: the record's
    fields copied as they are, then `changes`, in a fifth of the time (1.0 µs against 5.1 for a
    question's 19 fields, twice a command). Only for a dataclass whose fields are all set by its
    `__init__` and checked by nothing (no `__post_init__`), with a `__dict__`; any other goes
    through `replace`. Nothing else its `__dict__` holds is copied (a `cached_property` worked out
    from the old fields). A name that is not a field is a TypeError, as for `replace`."""
    cls = type(record)
    names = _plain_fields(cast(type, cls))  # (a class: hashable, whatever T is)
    if not names or not names.issuperset(changes):
        return dataclasses.replace(record, **changes)  # type: ignore[type-var]
    copy = object.__new__(cls)
    state, old = copy.__dict__, record.__dict__
    state.update(old)
    if len(state) != len(names):  # something besides the fields: the fields alone
        state.clear()
        state.update({name: old[name] for name in names})
    state.update(changes)
    return copy


@cache
def _plain_fields(cls: type) -> frozenset[str]:
    """The field names of a dataclass `replaced` may copy; none for one it may not (fields set
    outside `__init__`, a `__post_init__` that checks or derives, slots)."""
    slotted = any("__slots__" in vars(base) for base in cls.__mro__[:-1])  # (object's: none)
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__") or slotted:
        return frozenset()
    fields = dataclasses.fields(cls)
    # (`fields` leaves out InitVar and ClassVar pseudo-fields, which `__dataclass_fields__` holds)
    if any(not f.init for f in fields) or len(fields) != len(cls.__dataclass_fields__):
        return frozenset()
    return frozenset(f.name for f in fields)
