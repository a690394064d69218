"""Proposals: what a new document plainly states that the calendar does not, for the desk to decide.

A new document's sentences are compared with the store: a meeting newly dated or re-dated, a meeting
moved to another city, a meeting not on record, a person named to lead or join a delegation. Each
difference is a proposal, kept in the desk's `proposals` table until an admin approves or ignores
it. An approved proposal becomes a desk record that cites the document and the sentence, in one
write transaction.

Reading: precision over recall. A sentence is read only when it names one meeting, at most one date
(to the day or to one month: a month stays a month, and no time of day is ever kept), and nothing
hedged or negated ("may", "not", "cancelled"). Which year it is about binds its meeting:
- Its years (every four-digit number in it, and the year of every date it gives, read against the
  document's reference date) must be one year, from YEARS_BACK before the reference year to
  YEARS_AHEAD after it (and so of the year it is read in: an archive page of 2003 is no news); the
  sentence speaks of that year's meeting of the series only (re-dated, moved, or added anew),
  never of another year's. "In 1993, SOM1 was held in Seattle" and "SOM1 will be held in Seattle
  next year" leave 2026's SOM1 alone; "year 9999" and "March 2199" are out.
- A date written as one that is none (31 February, month 13, year 9999: store.dates'
  find_unreadable_dates) leaves the sentence unread: "no date read" is not "no date said".
- A past-tense frame ("was held", "took place", "hosted") must write its year out, be about the
  reference year or one before it, and about a meeting begun by the reference date: "SOM1 was held
  in Seattle on 2-4 March" on a history page dated 2026 is not read as 2026's. A retelling ("first
  held", "back in", "since", "has been held") proposes nothing.
- A document dated before APEC began (1989) or after the day it is read (REFERENCE_GRACE) proposes
  nothing: every reading above is relative to that date.

Keeping: once, not once a poll. A proposal is about a slot, a meeting and a field (its kind and
target: a meeting's dates, its city, a meeting added, one delegate), and comes from an origin (the
watched source, `propose(origin=)`, else the document's address; a document given by hand is an
origin of its own).
- The same change open or ignored is never proposed again, whatever states it (its fingerprint is
  the change itself).
- An origin with a proposal open for a slot proposes nothing further for it: the open one stands,
  so a page that re-words or re-dates a meeting each poll makes one card, not one a poll. (Within
  one document, too, the first sentence for a slot stands.)
- An origin whose proposal for a slot was decided (approved or ignored) proposes nothing for that
  slot for REPROPOSE_AFTER after the decision; after it, or from another origin, it may again.

Flood hold: an origin that makes more than FLOOD_LIMIT proposals in a (UTC) day is held. Every
proposal it made that day is marked held (when the hold began): kept, open, listed as held, and
decided as any other; instead of one card per document, the desk's channel gets one card per
origin and day (key `proposals-held:<day>:<origin digest>`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import sqlite_utils

from store import changes, edits
from store.build import build
from store.dates import Span, find_dates, find_unreadable_dates, read_span
from store.db import immediate, inserted_id, rows
from store.desk import from_iso, iso
from store.models import Meeting
from store.names import alias_key
from store.queries import Store
from store.text import clean, one_line
from store.vocabulary import DAY_NAMES, MONTH_NAMES

ADD, DATE, MOVE, DELEGATE = "add-meeting", "date-meeting", "move-meeting", "add-delegate"
OPEN, APPROVED, IGNORED = "open", "approved", "ignored"
POST_KIND = "proposals"  # the scheduler's post of one document's proposals to APEC_DESK_CHANNEL
HELD_POST = "proposals-held"  # the key's start of one held origin's card of a day (also POST_KIND)
MAX_QUOTE = 200  # characters of the sentence a proposal's line shows
HEAD = edits.HEAD_ROLE
MEMBER = "Delegate"
# The years a sentence may be about, around its document's reference year: the year before (a
# meeting just held, reported in January) to three ahead (hosts are named years in advance).
YEARS_BACK, YEARS_AHEAD = 1, 3
FIRST_YEAR = 1989  # APEC's first meeting: a document dated before it is dated wrongly
REFERENCE_GRACE = timedelta(days=2)  # a document dated after the day it is read (zones, clocks)
REPROPOSE_AFTER = timedelta(days=30)  # after a decision, its origin is not heard on that slot
FLOOD_LIMIT = 5  # proposals one origin makes in a day before the rest of its day is held


class ProposalError(Exception):
    """A proposal that cannot be acted on: unknown (`unknown`), or already decided."""

    def __init__(self, message: str, unknown: bool = False) -> None:
        super().__init__(message)
        self.unknown = unknown


@dataclass(frozen=True)
class Proposal:
    """One change a document proposes, and what the desk decided."""

    id: int
    source_id: str
    kind: str  # add-meeting, date-meeting, move-meeting, add-delegate
    target: str  # the meeting's id (a new one's intended id), or economy/meeting/name
    record: dict[str, Any]  # the fields the change sets
    quote: str  # the sentence that states it
    change: str  # the change in words, as proposed
    status: str  # open, approved, ignored
    created_at: str
    decided_by: str = ""
    decided_at: str = ""
    fingerprint: str = ""
    origin: str = ""  # the watched source it came from ('' for a document given by hand)
    held: str = ""  # UTC ISO when its origin's flood hold began ('' if not held)

    def line(self) -> str:
        """`proposal N: <change> — “<sentence>”` on one line (`proposal N (held): …` if held)."""
        mark = " (held)" if self.held else ""
        return f"proposal {self.id}{mark}: {self.change} — “{short_quote(self.quote)}”"


def short_quote(text: str, limit: int = MAX_QUOTE) -> str:
    """The sentence on one line, cut with … when very long."""
    return one_line(text, limit)


class Report(Protocol):
    """What `propose` needs of store.ingest.IngestReport."""

    source_id: str
    reference_date: date
    new: bool
    findings: list[Any]
    url: str


# -- reading a sentence --------------------------------------------------------------------------

_MONTHS = "|".join(MONTH_NAMES)
_EXPLICIT = re.compile(rf"\d{{4}}|\b(?:{_MONTHS})\b")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")  # any four digits: "1993" and "9999" are years too
_HEDGED = re.compile(
    r"\b(?:not|no longer|never|may|might|could|possibly|perhaps|reportedly|rumou?red|"
    r"considering|cancel(?:l?ed|s)?|postponed indefinitely|unconfirmed|if)\b|n't\b|\?"
)
_PAST = re.compile(
    r"\b(?:was|were) (?:held|hosted|convened|organi[sz]ed)\b|\btook place\b|\bconcluded\b|"
    r"\bwrapped up\b|(?<!\bbe )\b(?:hosted|convened)\b",
    re.I,
)
# A retelling of history, not news of a meeting: "first held in", "back in 1993", "since 1993".
_RETOLD = re.compile(
    r"\b(?:first (?:held|met|hosted|convened|took place)|back in|since|"
    r"ha(?:s|ve) been (?:held|hosted)|inaugural|ago|founded|established|historically|"
    r"traditionally|annually)\b",
    re.I,
)
_SERIES = re.compile(r"\bSOM ?([1-4])\b")  # a Senior Officials' Meeting of any year
_VENUE_VERB = re.compile(
    r"\b(?:held|host|hosts|hosted|take[sn]? place|taking place|convene[sd]?|meet|meets|moved|"
    r"relocated|venue)\b",
    re.I,
)
_CAP = r"[A-Z][a-z\u00C0-\u017F'’-]+"
_PLACE = re.compile(
    rf"\b(?:in|moved to|relocated to|changed to|shifted to)\s+(?P<city>{_CAP}(?:\s{_CAP}){{0,2}})"
)
_NOT_PLACES = (
    set(MONTH_NAMES)
    | set(DAY_NAMES)
    | {
        "APEC",
        "The",
        "Senior",
        "Economic",
        "Leaders",
        "Ministers",
        "Ministerial",
        "Committee",
        "Person",
        "Person-",
        "Early",
        "Late",
        "Mid",
        "Spring",
        "Summer",
        "Autumn",
        "Fall",
        "Winter",
        "Addition",
        "Order",
    }
)
_NAME = r"(?:[A-Z][\w'’.-]+\s){1,3}[A-Z][\w'’-]+"
_LEADS = re.compile(
    rf"(?P<name>{_NAME})(?:,\s(?P<title>[^,]{{3,100}}),)?\s+(?:will|is to|is set to|has been "
    r"(?:named|appointed|chosen) to)\s+(?P<verb>lead|head|attend|join)\b"
)
_LED_BY = re.compile(
    rf"delegation\b.*?\b(?:led|headed)\s+by\s+(?P<name>{_NAME})(?:,\s(?P<title>[^,.;]{{3,100}}))?"
)


@dataclass(frozen=True)
class _Draft:
    kind: str
    target: str
    record: dict[str, Any]
    quote: str
    change: str

    @property
    def fingerprint(self) -> str:
        """The change itself, whatever document states it."""
        value = {k: v for k, v in self.record.items() if k not in ("id",)}
        text = json.dumps([self.kind, self.target, value], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def date_text(span: Span) -> str:
    """A span as a desk record keeps it: "2–4 March 2027", or "March 2027" for a month."""
    assert span.start is not None
    if span.precision == "month":
        return f"{span.start:%B %Y}"
    return span.describe()


def _when(m: Meeting) -> str:
    if m.span.precision == "unknown" or m.span.start is None:
        return "no dates"
    return date_text(m.span) if m.placed else m.span.describe()


def series(short: str) -> str:
    """A meeting's short name without its year: "AELM 2026" -> "AELM"."""
    return " ".join(_YEAR.sub("", short).split())


def label(m: Meeting) -> str:
    """A meeting's short name with its year: "SOM1 2026"."""
    return m.short if m.year is None or str(m.year) in m.short else f"{m.short} {m.year}"


class _Reader:
    """Reads sentences against the store as it stands (inside the proposing transaction)."""

    def __init__(self, store: Store, reference: date, today: date | None = None) -> None:
        self.store = store
        self.reference = reference
        self.today = today or reference  # the day it is read: an old page's years are not news
        self.meetings = store.meetings()

    def read(self, sentence: str) -> list[_Draft]:
        """The changes a sentence proposes: none unless it reads plainly (the module's rules)."""
        if _HEDGED.search(sentence) or _RETOLD.search(sentence):
            return []
        mentions = self._mentions(sentence)
        if len(mentions) != 1:
            return []  # none, or two meetings in one sentence: which is which is not plain
        ((key, known),) = mentions.items()
        try:
            said = self._said(sentence)
            meeting = self._about(sentence, key, known, said)
        except _Unclear:
            return []
        if _LEADS.search(sentence) or _LED_BY.search(sentence):
            return self._delegate(sentence, meeting)
        if meeting is None:
            return self._new(sentence, key, known, said.span, said.year)
        return self._changes(sentence, meeting, said.span)

    def _said(self, sentence: str) -> _Said:
        """The one date and the one year a sentence gives, if any; _Unclear when it gives
        them otherwise than plainly."""
        if find_unreadable_dates(sentence, self.reference):
            raise _Unclear  # "on 31 February": a date was said, and it is none
        found = find_dates(sentence, self.reference)
        dated = [(p, s) for p, s in found if s.precision in ("day", "month")]
        if len(dated) > 1:
            raise _Unclear  # two dates: which one the meeting is held on is not plain
        span = dated[0][1] if dated and _plain_date(*dated[0]) else None
        written = {int(y) for y in _YEAR.findall(sentence)}
        years = written | {d.year for _, s in found for d in (s.start, s.end) if d is not None}
        if len(years) > 1:
            raise _Unclear  # "the 2026 SOM1 ... in March 2027": which year is not plain
        year = next(iter(years), None)
        if year is not None and not self._near(year):
            raise _Unclear  # 1993, 9999, or a year too far ahead to be news of a meeting
        return _Said(span, year, frozenset(written))

    def _about(self, sentence: str, key: str, known: Meeting | None, said: _Said) -> Meeting | None:
        """The meeting on record a sentence is about, None when it is not on record; _Unclear
        when which one is not plain, or a sentence in the past tense does not plainly tell of
        one just held."""
        past = _PAST.search(sentence) is not None
        if past and not self._told_of(said.written, said.span):
            raise _Unclear
        meeting = self._resolve(key, known, said.year)
        if past and meeting is not None and not self._begun(meeting):
            raise _Unclear  # told as held, yet ahead of the document: not plain
        return meeting

    def _near(self, year: int) -> bool:
        """Whether a year is one a sentence of this document may be news of: near its date, and
        near the day it is read."""
        return all(
            day.year - YEARS_BACK <= year <= day.year + YEARS_AHEAD
            for day in (self.reference, self.today)
        )

    def _told_of(self, written: frozenset[int], span: Span | None) -> bool:
        """Whether a past-tense sentence plainly tells of a meeting just held: its year written
        out (else a history page's "on 2-4 March" would read as the page's year), the reference
        year or the one before, and no day after the document's."""
        if len(written) != 1 or next(iter(written)) > self.reference.year:
            return False
        return span is None or span.start is None or span.start <= self.reference

    def _begun(self, m: Meeting) -> bool:
        return m.span.start is not None and m.span.start <= self.reference

    def _mentions(self, sentence: str) -> dict[str, Meeting | None]:
        """The meetings a sentence names, by series ("SOM1"), with the one on record it matched."""
        by_id = {m.id: m for m in self.meetings}
        found: dict[str, Meeting | None] = {}
        for _, target in self.store.named_in_text("meeting", sentence):
            m = by_id.get(target)
            if m is not None:
                found.setdefault(series(m.short).lower(), m)
        for match in _SERIES.finditer(sentence):
            found.setdefault(f"som{match[1]}", None)
        return found

    def _resolve(self, key: str, known: Meeting | None, year: int | None) -> Meeting | None:
        """The meeting on record the mention is about: of its series and year (with no year
        given, the one it matched if not over before the document, else one of the series
        still ahead of it); None when there is none."""
        same = [m for m in self.meetings if series(m.short).lower() == key]
        if year is not None:
            if known is not None and known.year == year:
                return known
            found = [m for m in same if m.year == year]
            if len(found) > 1:
                raise _Unclear
            return found[0] if found else None
        ahead = [m for m in same if m.span.end is None or m.span.end >= self.reference]
        if known is not None and known in ahead:
            return known
        return ahead[0] if len(ahead) == 1 else None

    def _place(self, sentence: str) -> str:
        """The city a sentence says a meeting is held in, if it plainly names one."""
        if not _VENUE_VERB.search(sentence):
            return ""
        economies = {alias_key(n) for n, _ in self.store.named_in_text("economy", sentence)}
        meetings = {alias_key(n) for n, _ in self.store.named_in_text("meeting", sentence)}
        cities = []
        for match in _PLACE.finditer(sentence):
            city = match["city"].strip()
            words = city.split()
            if words[0] in _NOT_PLACES or alias_key(city) in economies | meetings:
                continue
            if self.store.member(city).economy is not None or self.store.member(city).non_member:
                continue
            cities.append(city)
        return cities[0] if len(set(cities)) == 1 else ""

    def _host(self, sentence: str, city: str) -> str:
        """The host economy: the one economy named, as host or as where the meeting or its city
        is."""
        named = self.store.named_in_text("economy", sentence)
        if len({target for _, target in named}) != 1:
            return ""
        words, target = named[0]
        where = [f"in {words}", f"in the {words}"] + ([f"{city}, {words}"] if city else [])
        hosted = re.search(r"\bhost", sentence, re.I) or any(w in sentence for w in where)
        return target if hosted else ""

    def _changes(self, sentence: str, m: Meeting, span: Span | None) -> list[_Draft]:
        """A meeting on record, dated or placed otherwise than the sentence says."""
        out = []
        if m.status == "cancelled":
            return []
        late = span is not None and span.end is not None and span.end < self.reference
        if (
            span is not None
            and _differs(m.span, span)
            and not (late and not _PAST.search(sentence))
        ):
            verb = "re-date" if m.dated else "date"
            out.append(
                _Draft(
                    DATE,
                    m.id,
                    {"dates": date_text(span)},
                    sentence,
                    f"{verb} {label(m)} to {date_text(span)} (on record: {_when(m)})",
                )
            )
        city = self._place(sentence)
        if city and alias_key(city) != alias_key(m.city):
            was = m.city or "no city"
            out.append(
                _Draft(
                    MOVE,
                    m.id,
                    {"city": city},
                    sentence,
                    f"move {label(m)} to {city} (on record: {was})",
                )
            )
        return out

    def _new(
        self, sentence: str, key: str, known: Meeting | None, span: Span | None, year: int | None
    ) -> list[_Draft]:
        """A meeting of a known series in a year not on record, dated by the sentence."""
        if span is None or year is None or span.start is None or span.end is None:
            return []
        if known is not None and known.parent_id:
            return []  # a part of another meeting: which one is not plain
        past = span.end < self.reference
        if past and not _PAST.search(sentence):
            return []
        name = f"{series(known.short) if known else key.upper()} {year}"
        kind = known.kind if known else "som"
        city = self._place(sentence)
        host = self._host(sentence, city)
        record = {
            "name": name,
            "short": name,
            "kind": kind,
            "dates": date_text(span),
            "city": city,
            "host": host,
            "status": "held" if past else "scheduled",
        }
        where = ", ".join(p for p in (city, self._economy_name(host)) if p)
        change = f"add meeting {name} ({kind}): {date_text(span)}" + (f", {where}" if where else "")
        return [_Draft(ADD, edits.slug(name), record, sentence, change)]

    def _economy_name(self, economy_id: str) -> str:
        economy = self.store.economy(economy_id) if economy_id else None
        return economy.name if economy else ""

    def _delegate(self, sentence: str, m: Meeting | None) -> list[_Draft]:
        """A person named to lead or join an economy's delegation to a meeting on record."""
        if m is None or "delegation" not in sentence.lower():
            return []
        economies = self.store.economies_in_text(sentence)
        found = _LEADS.search(sentence) or _LED_BY.search(sentence)
        if len(economies) != 1 or found is None:
            return []
        economy = economies[0]
        name = " ".join(found["name"].split())
        if self.store.member(name).economy is not None or self.store.meeting(name) is not None:
            return []
        person = self.store.person(name)
        name = person.name if person else name
        head = found.re is _LED_BY or found["verb"] in ("lead", "head")
        role = _role(head, found["title"])
        if self._on_record(economy.id, m.id, name, role, head):
            return []
        record = {"economy": economy.id, "meeting": m.id, "name": name, "role": role}
        change = f"add {name} to the {economy.name} delegation to {label(m)} as {role}"
        return [_Draft(DELEGATE, f"{economy.id}/{m.id}/{name}", record, sentence, change)]

    def _on_record(
        self, economy_id: str, meeting_id: str, name: str, role: str, head: bool
    ) -> bool:
        """Whether the delegation on record already has the person: as its head, or in the
        role."""
        key = alias_key(name)
        for d in self.store.delegations(economy_id=economy_id, meeting_id=meeting_id):
            if head and d.head is not None and alias_key(d.head.name) == key:
                return True
            if any(alias_key(x.person.name) == key and x.role == role for x in d.members):
                return True
        return False


def _role(head: bool, title: str | None) -> str:
    """A delegate's role as a proposal gives it: head or member, with the title the sentence
    gives (one with a year in it is news of another year's post, and left out)."""
    role = HEAD if head else MEMBER
    title = " ".join((title or "").split())
    return f"{role} ({title})" if title and not _YEAR.search(title) else role


@dataclass(frozen=True)
class _Said:
    """What a sentence says of when: the one plain date it gives (to the day or one month),
    the one year it is about, and the years it writes out."""

    span: Span | None
    year: int | None
    written: frozenset[int]


def _plain_date(phrase: str, span: Span) -> bool:
    """A date written out (a month's name or a year in it), to the day or to one month."""
    if not _EXPLICIT.search(phrase) or span.start is None or span.end is None:
        return False
    one_month = (span.start.year, span.start.month) == (span.end.year, span.end.month)
    return span.precision == "day" or one_month


class _Unclear(Exception):
    """A sentence that does not read plainly: two dates or years, a date that is none, a year
    too far, or two meetings on record it could mean. It proposes nothing."""


def _differs(on_record: Span, said: Span) -> bool:
    """Whether a date the sentence gives changes what is on record (a month that holds the days
    on record says nothing new)."""
    if on_record.start is None or on_record.precision not in ("day", "month"):
        return True
    if said.precision == "month":
        assert said.start is not None and said.end is not None
        within = (
            on_record.end is not None
            and said.start <= on_record.start
            and on_record.end <= said.end
        )
        if on_record.precision == "day":
            return not within
        return (on_record.start, on_record.end) != (said.start, said.end)
    return (on_record.precision, on_record.start, on_record.end) != ("day", said.start, said.end)


# -- keeping proposals ---------------------------------------------------------------------------


def propose(
    db: sqlite_utils.Database, report: Report, now: datetime, *, origin: str = ""
) -> list[Proposal]:
    """Compare a new document's sentences with the store and keep each difference as an open
    proposal, as the module's rules allow (none made twice, none again from its origin while
    one is open or lately decided, a flooding origin held); the proposals made. `origin`: the
    watched source the document came from (else the document's address)."""
    if not report.new or not _dated_sanely(report.reference_date, now):
        return []
    origin = origin or report.url
    # Read as the store keeps text (ingest cleaned it already; a report may come from elsewhere).
    sentences = list(dict.fromkeys(clean(f.sentence) for f in report.findings))
    # Read against the store outside the write lock (a page's sentences take a while, and posts
    # and edits wait on the lock): a change meanwhile only makes a proposal that approving
    # re-reads anyway. What was proposed before is read under the lock, as it is written.
    reader = _Reader(Store(db), report.reference_date, now.astimezone(UTC).date())
    drafts = [d for s in sentences for d in reader.read(s)]
    made: list[int] = []
    with immediate(db):
        sql = "SELECT fingerprint FROM proposals WHERE status IN (?, ?)"
        taken = {r["fingerprint"] for r in rows(db, sql, [OPEN, IGNORED])}
        quiet = _quiet_slots(db, origin, now) if origin else set()
        for d in drafts:
            slot = (d.kind, d.target)
            if d.fingerprint in taken or slot in quiet:
                continue
            taken.add(d.fingerprint)
            quiet.add(slot)
            cursor = db.execute(
                """INSERT INTO proposals (source_id, kind, target, record, quote, change, status,
                                          created_at, fingerprint, origin)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    report.source_id,
                    d.kind,
                    d.target,
                    json.dumps(d.record, ensure_ascii=False),
                    d.quote,
                    d.change,
                    OPEN,
                    iso(now),
                    d.fingerprint,
                    origin,
                ],
            )
            made.append(inserted_id(cursor))
        if made and origin:
            _hold_flood(db, origin, now)
        return [p for p in (get(db, i) for i in made) if p is not None]


def _dated_sanely(reference: date, now: datetime) -> bool:
    """Whether a document's reference date is one to read it against: not before APEC began,
    not after the day it is read (a page "dated" 9999 or 0100 proposes nothing)."""
    day = reference.date() if isinstance(reference, datetime) else reference
    return date(FIRST_YEAR, 1, 1) <= day <= now.astimezone(UTC).date() + REFERENCE_GRACE


def _quiet_slots(db: sqlite_utils.Database, origin: str, now: datetime) -> set[tuple[str, str]]:
    """The slots (kind, target) an origin is not heard on now: one of its proposals for it is
    open, or was decided less than REPROPOSE_AFTER ago."""
    found = rows(
        db,
        "SELECT kind, target FROM proposals WHERE origin = ? AND (status = ? OR decided_at >= ?)",
        [origin, OPEN, iso(now - REPROPOSE_AFTER)],
    )
    return {(r["kind"], r["target"]) for r in found}


def _day(moment: datetime) -> tuple[str, str]:
    """The UTC day a moment falls in, as the [start, end) of stored times."""
    start = datetime.combine(moment.astimezone(UTC).date(), time(0), UTC)
    return iso(start), iso(start + timedelta(days=1))


def _hold_flood(db: sqlite_utils.Database, origin: str, now: datetime) -> None:
    """An origin past FLOOD_LIMIT proposals today: all of today's marked held, with the moment
    the hold began (in the caller's transaction)."""
    start, end = _day(now)
    today = "origin = ? AND created_at >= ? AND created_at < ?"
    count, began = db.execute(
        f"SELECT count(*), min(NULLIF(held, '')) FROM proposals WHERE {today}", [origin, start, end]
    ).fetchone()
    if count <= FLOOD_LIMIT:
        return
    db.execute(
        f"UPDATE proposals SET held = ? WHERE {today} AND held = ''",
        [began or iso(now), origin, start, end],
    )


def _proposal(r: dict[str, Any]) -> Proposal:
    return Proposal(**{**r, "record": json.loads(r["record"])})


def get(db: sqlite_utils.Database, proposal_id: int) -> Proposal | None:
    """One proposal by its number."""
    found = rows(db, "SELECT * FROM proposals WHERE id = ?", [proposal_id])
    return _proposal(found[0]) if found else None


def open_proposals(db: sqlite_utils.Database) -> list[Proposal]:
    """Every open proposal, oldest first."""
    return [
        _proposal(r)
        for r in rows(db, "SELECT * FROM proposals WHERE status = ? ORDER BY id", [OPEN])
    ]


def of_source(db: sqlite_utils.Database, source_id: str) -> list[Proposal]:
    """A document's proposals, whatever was decided, in order."""
    found = rows(db, "SELECT * FROM proposals WHERE source_id = ? ORDER BY id", [source_id])
    return [_proposal(r) for r in found]


def pending(db: sqlite_utils.Database) -> list[tuple[str, datetime]]:
    """(document, when its proposals were made) for each document with open proposals not held:
    what the scheduler posts to the desk's channel, once each (key `proposals:<document>`)."""
    found = rows(
        db,
        """SELECT source_id, min(created_at) AS at FROM proposals GROUP BY source_id
           HAVING sum(status = 'open' AND held = '') > 0 ORDER BY at, source_id""",
    )
    return [(r["source_id"], from_iso(r["at"])) for r in found]


def held_pending(db: sqlite_utils.Database) -> list[tuple[str, str, datetime]]:
    """(key, origin, when its hold began) for each origin and day held with open proposals: the
    scheduler posts one card of each to the desk's channel, once."""
    found = rows(
        db,
        """SELECT origin, held FROM proposals WHERE held != '' GROUP BY origin, held
           HAVING sum(status = 'open') > 0 ORDER BY held, origin""",
    )
    return [(held_key(r["origin"], r["held"]), r["origin"], from_iso(r["held"])) for r in found]


def post_key(source_id: str) -> str:
    return f"{POST_KIND}:{source_id}"


def source_of(key: str) -> str:
    """The document a proposals post's key is about."""
    return key.partition(":")[2]


def _digest(origin: str) -> str:
    return hashlib.sha256(origin.encode()).hexdigest()[:16]


def held_key(origin: str, held: str) -> str:
    """The key of a held origin's card of the day its hold began (`held`, UTC ISO): the origin
    by a digest, as an address may be long and carry anything."""
    return f"{HELD_POST}:{held[:10]}:{_digest(origin)}"


def is_held_key(key: str) -> bool:
    return key.startswith(f"{HELD_POST}:")


def held_of(db: sqlite_utils.Database, key: str) -> tuple[str, list[Proposal]]:
    """(origin, its held proposals, in order) of a held card's key; ("", []) if none."""
    _, day, digest = (key.split(":", 2) + ["", ""])[:3]
    try:
        start, end = _day(datetime.combine(date.fromisoformat(day), time(12), UTC))
    except ValueError:
        return "", []
    found = rows(
        db, "SELECT * FROM proposals WHERE held >= ? AND held < ? ORDER BY id", [start, end]
    )
    mine = [_proposal(r) for r in found if _digest(r["origin"]) == digest]
    return (mine[0].origin if mine else ""), mine


def where(origin: str) -> str:
    """An origin as shown: its address without query or credentials (they may hold a token)."""
    try:
        parts = urlsplit(origin)
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host:
        return origin.split("?")[0].split("#")[0][:200]
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}"[:200]


# -- deciding ------------------------------------------------------------------------------------


def decide(
    db: sqlite_utils.Database,
    seeds: Path | None,
    proposal_id: int,
    approve: bool,
    user: str,
    now: datetime,
    fields: dict[str, Any] | None = None,
) -> Proposal:
    """Approve (the change made a desk record citing the document) or ignore a proposal, in one
    write transaction that reads its status first; the proposal as decided. With `fields`, the
    change was made already (the form's edit, in the caller's transaction): only marked."""
    with immediate(db):
        p = get(db, proposal_id)
        if p is None:
            raise ProposalError(f"there is no proposal {proposal_id}", unknown=True)
        if p.status != OPEN:
            by = f" by {p.decided_by}" if p.decided_by else ""
            raise ProposalError(f"proposal {p.id} was already {p.status}{by} ({p.decided_at[:10]})")
        if approve and fields is None:
            _apply(db, p, user, now)
        status = APPROVED if approve else IGNORED
        db.execute(
            "UPDATE proposals SET status = ?, decided_by = ?, decided_at = ? "
            "WHERE id = ? AND status = ?",
            [status, user, iso(now), p.id, OPEN],
        )
        edits.audit(
            db,
            user,
            now,
            f"{'approve' if approve else 'ignore'}-proposal",
            f"proposal/{p.id}",
            {"status": OPEN},
            {
                "status": status,
                "change": p.change,
                "source": p.source_id,
                **({"edited": fields} if fields else {}),
            },
        )
        if approve and fields is None and seeds is not None:
            build(db, seeds, records_only=True)
        decided = get(db, p.id)
    assert decided is not None
    return decided


def _apply(db: sqlite_utils.Database, p: Proposal, user: str, now: datetime) -> None:
    """The proposal made a desk record that cites its document and sentence (in the caller's
    transaction): the meeting changed or added, or the delegate added."""
    cite = {"source": p.source_id, "quote": p.quote}
    if p.kind == DELEGATE:
        r = p.record
        if changes.current_meeting(db, r["meeting"]) is None:
            raise ProposalError(f"proposal {p.id}: {r['meeting']} is no longer on record")
        before = changes.current_delegate(db, r["economy"], r["meeting"], r["name"])
        kept = before["name"] if before else r["name"]
        edits.save_delegate(
            db, r["economy"], r["meeting"], kept, r["role"], False, user, now, before, **cite
        )
        return
    if p.kind == ADD:
        taken = db.execute(
            "SELECT target FROM aliases WHERE kind = 'meeting' AND alias = ?",
            [alias_key(p.record["name"])],
        ).fetchone()
        if taken is not None:
            raise ProposalError(
                f"proposal {p.id}: {p.record['name']} is on record now ({taken[0]}); "
                "change it there"
            )
        ident = changes.unique_meeting_id(db, p.target)
        after = {**p.record, "tz": changes.venue_zone(db, p.record), **cite, "id": ident}
        edits.save_meeting(db, after, user, now, ADD, None)
        return
    before = changes.current_meeting(db, p.target)
    if before is None:
        raise ProposalError(f"proposal {p.id}: {p.target} is no longer on record")
    after = {**changes.uncited(before), **p.record, **cite, "id": p.target}
    edits.save_meeting(db, after, user, now, "edit-meeting", before)


def proposed_span(p: Proposal, reference: date) -> Span | None:
    """The dates a meeting proposal gives, read (None for a delegate, or none given)."""
    text = p.record.get("dates", "")
    return read_span(text, reference) if text else None
