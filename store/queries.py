"""The query layer everything else uses: meetings, members, delegations, people, facts, the
glossary, search."""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import sqlite_utils

from store.dates import Span
from store.db import rows
from store.models import (
    Delegation,
    Economy,
    Fact,
    Hit,
    Meeting,
    Member,
    MemberAnswer,
    Objective,
    Person,
    Role,
    Sentence,
    Source,
    Term,
    standing_note,
)
from store.names import Matcher, alias_key
from store.schema import RECORDS_VERSION, SOURCE_ORDER
from store.text import fold, sentences
from store.vocabulary import KIND_RANK

UTC = ZoneInfo("UTC")
K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    """a about after all also an and any are as at be been before being between both but by can
    could did do does doing during each for from had has have having he her here hers him his how i
    if in into is it its itself just me more most my no nor not now of off on once only or other our
    out over own same she should so some such than that the their them then there these they this
    those through to too under until up very was we were what when where which while who whom why
    will with would you your tell please know give show explain describe list say said
    apec""".split()
)


MAX_PASSAGES = 400  # read for one gathered answer

# Words so common in these sources that a passage holding them says nothing about a question.
GENERIC = frozenset({"2026", "meeting", "meetings", "economic", "cooperation", "asia", "pacific"})


class Store:
    """Queries over one store connection. Cheap to make; make one per thread.

    `at(day)` is the same store as published by a day: every accessor of it hands out only what
    was published by then (see `at`). A view shares the connection (writes go through it as
    through the store) and is kept by the store until it changes.
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        rank_cap: int | None = None,
        day: date | None = None,
        base: Store | None = None,
    ) -> None:
        self.db = db
        # passages a word may be in and still be ranked by bm25() (see `_common`)
        self.rank_cap = RANK_CAP if rank_cap is None else rank_cap
        self.day = day  # None: everything on record; else what was published by this day
        self._base = base
        self._cache: dict[str, Any] = {}
        self._version: tuple[int, int] | None = None
        self._records: int | None = None  # the records version (store.schema) read at
        self._generation = 0  # moves each time what was read is forgotten (views follow it)
        self._born = base._generation if base is not None else 0
        self._forget()

    def at(self, day: date) -> Store:
        """The store as published by `day`: each record as its latest version published by then
        (its fields and citation), none that no version of was; sources, passages, names and
        counts alike. The whole store when everything on record was published by then.

        Views are kept by the store, the last few days asked (dropped when it changes), so asking
        again for a day costs a look-up. A store built before versions were kept has none: it is
        the whole store on every day until it is built again (`apec-bot build`).
        """
        base = self._base or self
        if day == self.day:
            return self
        if day >= base._cached("published_until", base._published_until):
            return base
        view = base._views.get(day)
        if view is None:
            view = Store(base.db, base.rank_cap, day=day, base=base)
            base._views.put(day, view)
        return view

    def _published_until(self) -> date:
        """The last day anything on record was published (date.min: no versions kept)."""
        if "versions" not in self.db.table_names():
            return date.min
        last = self.db.execute("SELECT max(published) FROM versions").fetchone()[0]
        if last is None:
            return date.min
        newest = self.db.execute("SELECT max(reference_date) FROM sources").fetchone()[0]
        return date.fromisoformat(max(last, newest or last))

    def refresh(self) -> Store:
        """Forget what was read if the store changed since (another connection or this one
        wrote)."""
        if self._base is not None:  # a view: its store asks, and the view follows
            self._base.refresh()
            if self._born != self._base._generation:
                self._born = self._base._generation
                self._forget()
            return self
        version = (self.db.execute("PRAGMA data_version").fetchone()[0], self.db.conn.total_changes)
        if version != self._version:
            self._version = version
            records = records_version(self.db.conn)
            if records is None or records != self._records:  # not only bookkeeping changed
                self._records = records
                self._forget()
        return self

    def _forget(self) -> None:
        """Drop everything read from the store: it changed. Each cache here is bounded, so a
        store of any size costs each thread the same memory."""
        self._cache = {}
        self._one_source: Lru[str, Source] = Lru(SOURCES_KEPT)
        self._common: Lru[str, bool] = Lru(WORDS_KEPT)
        self._views: Lru[date, Store] = Lru(VIEWS_KEPT)
        self._generation += 1

    def version(self) -> tuple[int, int] | None:
        """What was read is good while this stays the same (see refresh)."""
        return self._base.version() if self._base is not None else self._version

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """A value worked out from the store, kept until the store changes."""
        return self._cached(key, compute)

    def _cached(self, key: str, compute: Callable[[], T]) -> T:
        # A key is always computed by the same function, so what it holds is that one's T.
        if key in self._cache:
            cached: T = self._cache[key]
            return cached
        value = self._cache[key] = compute()
        return value

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return rows(self.db, sql, params)

    def _table(self, table: str) -> list[dict[str, Any]]:
        """A record table's rows in its order: as stored, or in a view each record's latest
        version published by its day (`_cited` reads the citation of either)."""
        order, key = TABLE_ORDER[table]
        day = self.day
        if day is None:
            return self._rows(f"SELECT * FROM [{table}] ORDER BY {order}")
        return self._cached(f"table:{table}", lambda: sorted(self._as_of(table, day), key=key))

    def _as_of(self, table: str, day: date) -> list[dict[str, Any]]:
        """Each record's version that a view shows: the desk's latest once published (a desk
        change wins over the seeds, as in the store), else the latest published; in the order
        the records were first made. A record the desk took out is left out."""
        chosen: dict[str, tuple[int, str | None, str, str, str]] = {}
        first: dict[str, int] = {}
        for n, record_id, fields, source_id, quote, published in self.db.execute(
            """SELECT rowid, record_id, fields, source_id, quote, published FROM versions
               WHERE kind = ? AND published <= ?
               ORDER BY record_id, origin = 'desk', published, seq""",
            [table, day.isoformat()],
        ):
            first[record_id] = min(n, first.get(record_id, n))
            chosen[record_id] = (n, fields, source_id, quote, published)
        first_of = {chosen[r][0]: n for r, n in first.items()}  # the chosen version: its record's
        out = []
        for _, fields, source_id, quote, published in sorted(
            chosen.values(), key=lambda v: first_of[v[0]]
        ):
            row = json.loads(fields) if fields else None
            if row is not None:
                out.append({**row, "source_id": source_id, "quote": quote, PUBLISHED: published})
        return out

    def _cited(self, r: dict[str, Any]) -> Source:
        """The source a record's row cites, dated as its version was published: a statement
        its source dates earlier than itself (desk.toml's `earlier`), or a desk change."""
        source = self._src(r["source_id"])
        published = r.get(PUBLISHED)
        if published and published < source.reference_date.isoformat():
            return replace(source, reference_date=date.fromisoformat(published))
        return source

    def _published(self, alias: str = "") -> str:
        """A condition on a sources table (`alias`.) that holds in a view only for sources
        published by its day (no condition on the whole store); its parameters: `_day()`."""
        return f"{alias}reference_date <= ?" if self.day is not None else "1"

    def _day(self) -> list[str]:
        return [self.day.isoformat()] if self.day is not None else []

    # -- sources -------------------------------------------------------------------------------

    def sources(self) -> list[Source]:
        """Every source, seeds first, then the desk's in the order added: the whole table, read
        afresh and kept by nobody (a listing reads one page, see `source_page`)."""
        return [
            _source(r)
            for r in self._rows(
                f"SELECT * FROM sources WHERE {self._published()} ORDER BY {SOURCE_ORDER}",
                self._day(),
            )
        ]

    def desk_sources_since(self, since: str) -> list[Source]:
        """The desk's sources added after `since` (an ISO time), in the order added."""
        found = self._rows(
            f"""SELECT * FROM sources WHERE origin = 'desk' AND added_at > ? AND {self._published()}
                ORDER BY {SOURCE_ORDER}""",
            [since, *self._day()],
        )
        return [_source(r) for r in found]

    def source_count(self) -> int:
        """How many sources the store holds."""
        return self._cached(
            "source_count",
            lambda: int(
                self.db.execute(
                    f"SELECT count(*) FROM sources WHERE {self._published()}", self._day()
                ).fetchone()[0]
            ),
        )

    def source_page(self, offset: int, limit: int) -> list[Source]:
        """`limit` sources from the `offset`-th on, in the order of `sources()`."""
        found = self._rows(
            f"SELECT * FROM sources WHERE {self._published()} ORDER BY {SOURCE_ORDER} "
            "LIMIT ? OFFSET ?",
            [*self._day(), max(0, limit), max(0, offset)],
        )
        return [_source(r) for r in found]

    def source(self, source_id: str) -> Source | None:
        """One source by id (in a view, if published by its day)."""
        found = self._read_source(source_id)
        if found is not None and self.day is not None and found.reference_date > self.day:
            return None
        return found

    def _read_source(self, source_id: str) -> Source | None:
        found = self._one_source.get(source_id)
        if found is None:
            row = self._rows("SELECT * FROM sources WHERE id = ?", [source_id])
            if not row:
                return None
            found = _source(row[0])
            self._one_source.put(source_id, found)
        return found

    def _src(self, source_id: str) -> Source:
        """One source, read on first need and kept among the last few used (a store may hold
        100,000 and more: answers cite a handful)."""
        return self._read_source(source_id) or Source(
            source_id, source_id, "", "", date.min, "", ""
        )

    # -- meetings ------------------------------------------------------------------------------

    def meetings(self) -> list[Meeting]:
        """Every meeting, dated ones in date order, then the rest."""
        return list(self._cached("meetings", self._read_meetings))

    def _read_meetings(self) -> tuple[Meeting, ...]:
        # A host by its name (a word, not a record): the meeting's version says who hosts it.
        hosts = {r["id"]: r["name"] for r in self._rows("SELECT id, name FROM economies")}
        out = [self._meeting(r, hosts) for r in self._table("meetings")]
        spans = {m.id: m.span for m in out}
        out = [
            replace(m, within=spans.get(m.parent_id)) if m.parent_id and not m.placed else m
            for m in out
        ]
        return tuple(sorted(out, key=_meeting_order))

    def _meeting(self, r: dict[str, Any], hosts: dict[str, str]) -> Meeting:
        span = Span(
            date.fromisoformat(r["start_date"]) if r["start_date"] else None,
            date.fromisoformat(r["end_date"]) if r["end_date"] else None,
            r["precision"],
            r["date_text"],
        )
        return Meeting(
            id=r["id"],
            name=r["name"],
            short=r["short"],
            kind=r["kind"],
            parent_id=r["parent_id"],
            span=span,
            status=r["status"],
            city=r["city"],
            host_id=r["host_id"],
            host_name=hosts.get(r["host_id"], ""),
            tz=r["tz"],
            source=self._cited(r),
            quote=r["quote"],
            note=standing_note(r),
            origin=r["origin"],
        )

    def next_meeting(self, after: datetime, kind: str | None = None) -> Meeting | None:
        """The first meeting starting after `after` (of one kind if given); parts of a meeting
        only when asked for their kind, and month-only dates after dated ones of the same month."""
        upcoming = [
            m
            for m in self.meetings()
            if m.starts_at is not None
            and m.starts_at > after
            and m.status != "cancelled"
            and (m.kind == kind if kind else not m.parent_id)
        ]
        return upcoming[0] if upcoming else None

    def last_meeting(self, before: datetime, kind: str | None = None) -> Meeting | None:
        """The meeting that most recently ended before `before`."""
        past = [
            (m.ends_at, m)
            for m in self.meetings()
            if m.ends_at is not None
            and m.ends_at <= before
            and m.status != "cancelled"
            and (m.kind == kind if kind else not m.parent_id)
        ]
        return max(past, key=lambda ended: ended[0])[1] if past else None

    def ongoing(self, at: datetime) -> list[Meeting]:
        """Meetings under way at `at` (known to the day)."""
        return [
            m
            for m in self.meetings()
            if m.starts_at is not None
            and m.ends_at is not None
            and m.dated
            and m.starts_at <= at < m.ends_at
            and m.status != "cancelled"
        ]

    def meetings_between(self, start: date, end: date) -> list[Meeting]:
        """Meetings placed on the calendar (to the day or one month) that overlap start..end."""
        return [m for m in self.meetings() if m.placed and m.span.overlaps(start, end)]

    def meeting(self, name: str) -> Meeting | None:
        """One meeting by id, short name, name or alias."""
        key = alias_key(name)
        row = self.db.execute(
            "SELECT target FROM aliases WHERE kind = 'meeting' AND alias = ?", [key]
        ).fetchone()
        if row is None:
            return None
        return next((m for m in self.meetings() if m.id == row[0]), None)

    def meeting_names(self, meeting_id: str) -> list[str]:
        """Every name a meeting goes by."""
        return list(self._cached("meeting_names", self._read_meeting_names).get(meeting_id, ()))

    def _read_meeting_names(self) -> dict[str, tuple[str, ...]]:
        by_meeting: dict[str, list[str]] = {}
        for name, target in self.names("meeting").items():
            by_meeting.setdefault(target, []).append(name)
        return {m: tuple(names) for m, names in by_meeting.items()}

    def parts(self, meeting_id: str) -> list[Meeting]:
        """The meetings held as part of another (SOM1's committee meetings)."""
        return [m for m in self.meetings() if m.parent_id == meeting_id]

    def meeting_suggestions(self, name: str, n: int = 3) -> list[str]:
        """Names close to what was typed, for a helpful "did you mean"."""
        return self._suggest("meeting", name, n)

    def meetings_in_text(self, text: str) -> list[Meeting]:
        """Meetings named anywhere in a sentence."""
        ids = [t for _, t in self.named_in_text("meeting", text)]
        by_id = {m.id: m for m in self.meetings()}
        return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]

    # -- members -------------------------------------------------------------------------------

    def members(self) -> list[Economy]:
        """The member economies, by official name."""
        return list(
            self._cached(
                "members",
                lambda: tuple(
                    Economy(r["id"], r["name"], self._cited(r), r["quote"])
                    for r in self._table("economies")
                ),
            )
        )

    def economy(self, economy_id: str) -> Economy | None:
        """One member economy by id (in a view, only once the members' list is published)."""
        return next((e for e in self.members() if e.id == economy_id), None)

    def economy_named(self, economy_id: str) -> Economy | None:
        """The economy an id names, whatever a view's day: a question names an economy by its
        name before any source lists it as a member (its citation is the members' list: a reply
        that says it is a member asks `economy`)."""
        return (self._base or self).economy(economy_id)

    def member(self, name: str) -> MemberAnswer:
        """Is `name` a member economy (by any alias), a known non-member, or unknown?"""
        key = alias_key(name)
        for row in self.db.query(
            "SELECT kind, target FROM aliases "
            "WHERE kind IN ('economy', 'non_member') AND alias = ?",
            [key],
        ):
            if self.day is not None and row["target"] not in self._present(row["kind"]):
                break  # not on record yet as of the view's day
            if row["kind"] == "economy":
                return MemberAnswer(economy=self.economy(row["target"]))
            return MemberAnswer(non_member=row["target"])
        return MemberAnswer()

    def economy_suggestions(self, name: str, n: int = 3) -> list[str]:
        """Economies' names close to what was typed, for a "did you mean" (asked only where one
        is said: `delegation` tries many runs of words as a name and says none of them)."""
        return self._suggest("economy", name, n)

    def economies_in_text(self, text: str) -> list[Economy]:
        """Member economies named anywhere in a sentence."""
        ids = [t for _, t in self.named_in_text("economy", text)]
        by_id = {e.id: e for e in self.members()}
        return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]

    def named_in_text(self, kind: str, text: str) -> list[tuple[str, str]]:
        """(words as typed, id) for each economy, meeting, person or non-member named in a text."""
        return self.matcher(kind).find(text)

    def matcher(self, kind: str) -> Matcher:
        """The names of one kind, made ready to find in texts (kept until the store changes)."""
        return self._cached(f"matcher:{kind}", lambda: Matcher(self.names(kind)))

    def named_later(self, kind: str, text: str) -> list[tuple[str, str]]:
        """(words as typed, id) for each meeting, person or member economy named in a text that
        a view does not hold yet: on record only after its day. What a reader may say of them
        is that they are not on record as of that day, and nothing more. None on the whole
        store."""
        if self._base is None or kind not in (*NAMED_AS_OF, "economy"):
            return []
        held = self._present(kind)
        return [(typed, i) for typed, i in self._base.matcher(kind).find(text) if i not in held]

    def non_members_in_text(self, text: str) -> list[str]:
        """Known non-members named anywhere in a sentence."""
        return list(dict.fromkeys(t for _, t in self.named_in_text("non_member", text)))

    # -- delegations ---------------------------------------------------------------------------

    def delegations(
        self, economy_id: str | None = None, meeting_id: str | None = None
    ) -> list[Delegation]:
        """Delegations on record, optionally of one economy and/or to one meeting (all of them
        read once, and kept until the store changes: a delegation's members and objectives, each
        cited, took half of `/apec delegation`'s time, read twice a question)."""
        return [
            d
            for d in self._cached("delegations", self._read_delegations)
            if (not economy_id or d.economy.id == economy_id)
            and (not meeting_id or d.meeting.id == meeting_id)
        ]

    def _read_delegations(self) -> tuple[Delegation, ...]:
        meetings = {m.id: m for m in self.meetings()}
        economies = {e.id: e for e in self.members()}
        out = []
        for r in self._table("delegations"):
            members = tuple(
                Member(p, m["role"], self._cited(m), m["quote"])
                for m in self._parts_of("delegation_members", r["id"])
                if (p := self.person_by_id(m["person_id"])) is not None
            )
            objectives = tuple(
                Objective(o["text"], self._cited(o), o["quote"])
                for o in self._parts_of("objectives", r["id"])
            )
            economy = economies.get(r["economy_id"]) or self._named_by(r)
            if r["meeting_id"] not in meetings or economy is None:
                continue
            out.append(
                Delegation(
                    id=r["id"],
                    economy=economy,
                    meeting=meetings[r["meeting_id"]],
                    head=self.person_by_id(r["head_id"]) if r["head_id"] else None,
                    members=members,
                    objectives=objectives,
                    source=self._cited(r),
                    quote=r["quote"],
                )
            )
        return tuple(sorted(out, key=lambda d: _meeting_order(d.meeting)))

    def _named_by(self, r: dict[str, Any]) -> Economy | None:
        """In a view, a delegation's economy before the members' list is out: as its own source
        names it (the US update of 1 February sends the U.S. delegation a day before the list)."""
        if self.day is None:
            return None
        found = self.db.execute("SELECT name FROM economies WHERE id = ?", [r["economy_id"]])
        name = found.fetchone()
        return Economy(r["economy_id"], name[0], self._cited(r), r["quote"]) if name else None

    def _parts_of(self, table: str, delegation_id: str) -> list[dict[str, Any]]:
        """A delegation's members or objectives, in their order."""
        if self.day is None:
            order = TABLE_ORDER[table][0]
            return self._rows(
                f"SELECT * FROM [{table}] WHERE delegation_id = ? ORDER BY {order}", [delegation_id]
            )
        return [r for r in self._table(table) if r["delegation_id"] == delegation_id]

    # -- people --------------------------------------------------------------------------------

    def person_by_id(self, person_id: str) -> Person | None:
        """One person by id, with their roles."""
        return self._people().get(person_id)

    def _people(self) -> dict[str, Person]:
        """Everyone, by id, in the order of their names (two queries, kept until the store
        changes)."""
        return self._cached("people", self._read_people)

    def _read_people(self) -> dict[str, Person]:
        roles: dict[str, list[Role]] = {}
        for x in self._table("roles"):
            role = Role(x["role"], x["meeting_id"], self._cited(x), x["quote"])
            roles.setdefault(x["person_id"], []).append(role)
        return {
            r["id"]: Person(
                id=r["id"],
                name=r["name"],
                economy_id=r["economy_id"],
                title=r["title"],
                organization=r["organization"],
                source=self._cited(r),
                quote=r["quote"],
                roles=tuple(roles.get(r["id"], ())),
            )
            for r in self._table("people")
        }

    def person(self, name: str) -> Person | None:
        """One person by name or alias ("Casey Mace", "Mace")."""
        row = self.db.execute(
            "SELECT target FROM aliases WHERE kind = 'person' AND alias = ?", [alias_key(name)]
        ).fetchone()
        return self.person_by_id(row[0]) if row else None

    def people(self) -> list[Person]:
        """Everyone the sources name."""
        return list(self._people().values())

    def people_in_text(self, text: str) -> list[Person]:
        """People named anywhere in a sentence."""
        ids = [t for _, t in self.named_in_text("person", text)]
        return [p for i in dict.fromkeys(ids) if (p := self.person_by_id(i)) is not None]

    def name_parts(self) -> dict[str, tuple[str, ...]]:
        """Each word of a person's name ("lee", "jae", "myung") to the people who bear it."""
        return self._cached("name_parts", self._read_name_parts)

    def _read_name_parts(self) -> dict[str, tuple[str, ...]]:
        parts: dict[str, list[str]] = {}
        for p in self._people().values():
            for word in dict.fromkeys(alias_key(p.name).replace("-", " ").split()):
                if len(word) >= 2:
                    parts.setdefault(word, []).append(p.id)
        return {w: tuple(ids) for w, ids in parts.items()}

    def people_named(self, word: str) -> list[Person]:
        """Everyone with `word` as one of their names ("Lee": Lee Ji-yoon and Lee Jae-myung)."""
        key = alias_key(word)
        if len(key) < 3:
            return []
        return [
            p for p in self._people().values() if key in alias_key(p.name).replace("-", " ").split()
        ]

    def person_suggestions(self, name: str, n: int = 3) -> list[str]:
        """Names close to what was typed."""
        return self._suggest("person", name, n)

    # -- facts and search ----------------------------------------------------------------------

    def facts(self) -> list[Fact]:
        """Every fact record."""
        return list(self._cached("facts", self._read_facts))

    def _read_facts(self) -> tuple[Fact, ...]:
        return tuple(
            Fact(
                r["id"],
                r["topic"],
                tuple(json.loads(r["keywords"])),
                r["answer"],
                self._cited(r),
                r["quote"],
            )
            for r in self._table("facts")
        )

    # -- glossary ------------------------------------------------------------------------------

    def glossary(self) -> list[Term]:
        """Every glossary term: the cited ones, then the desk's shorthand, each as listed. In a
        view, a cited term only if its source was published by the view's day (the desk's
        shorthand is no statement: always)."""
        return list(self._cached("glossary", self._read_glossary))

    def term(self, text: str) -> Term | None:
        """The glossary term `text` writes, by its term or an alias, whatever its case, dots and
        apostrophes ("S.C.E." is "SCE"); None when the glossary has no such term."""
        return self._cached("glossary_keys", self._glossary_keys).get(alias_key(text))

    def _read_glossary(self) -> tuple[Term, ...]:
        return tuple(
            Term(
                term=r["term"],
                aliases=tuple(json.loads(r["aliases"])),
                expansion=r["expansion"],
                definition=r["definition"],
                kind=r["kind"],
                refers_to=r["refers_to"],
                source=None if r["reading_only"] else self._src(r["source_id"]),
                quote=r["quote"],
            )
            for r in self._rows(
                f"""SELECT * FROM glossary WHERE reading_only OR source_id IN
                    (SELECT id FROM sources WHERE {self._published()})
                    ORDER BY reading_only, rowid""",
                self._day(),
            )
        )

    def _glossary_keys(self) -> dict[str, Term]:
        return {
            alias_key(name): term
            for term in self._cached("glossary", self._read_glossary)
            for name in (term.term, *term.aliases)
        }

    def search(self, text: str, limit: int = 5) -> list[Hit]:
        """Passages that answer `text`, best first; any string is safe (it is quoted for MATCH).

        Passages holding every meaningful word come first; then those missing one of them. What
        a search costs is bounded, however many documents the store holds (see `_ranked`, and
        bench/store_bench.py).
        """
        words = content_words(text)
        # Generic words ("APEC", "meeting") are in most passages: judge a passage by the rest.
        terms = [w for w in words if w not in GENERIC][:MAX_TERMS] or words[:MAX_TERMS]
        if not terms:
            return []
        found: dict[int, float] = {}  # passage id: its score, in the order found
        for group in _and_groups(terms):
            for pid, score in self._ranked(group, limit * 3):
                found.setdefault(pid, score)
            if len(found) >= limit:
                break
        stems = {stem(w) for w in terms}
        passages = self._passages(list(found))
        hits = []
        for pid, score in found.items():
            heading, body, source_id, also_in = passages[pid]
            in_text = _stems(body) & stems
            placed = self._placed(source_id, also_in)
            if not in_text or placed is None:
                continue  # a heading alone (a title over all its passages) makes no answer
            hits.append(
                Hit(
                    passage_id=pid,
                    heading=heading,
                    text=body,
                    source=self._src(placed[0]),
                    also_in=tuple(self._src(s) for s in placed[1:]),
                    score=score,
                    terms_matched=len(in_text | (_stems(heading) & stems)) / len(stems),
                )
            )
        hits.sort(key=lambda h: (-round(h.terms_matched, 2), h.score))
        return hits[:limit]

    def sentences_naming(self, phrases: Sequence[str], limit: int = MAX_PASSAGES) -> list[Sentence]:
        """The sentences of every passage that holds one of `phrases`, in document order (the
        first `limit` passages: in the full-text index's own order, so it stops there rather
        than sort every passage holding a common word)."""
        _, found = self._naming(
            phrases,
            f"""SELECT p.id, p.text, p.source_id, p.also_in FROM passages_fts
               JOIN passages p ON p.id = passages_fts.rowid {self._through()}
               WHERE passages_fts MATCH ? {self._shown()} ORDER BY passages_fts.rowid LIMIT ?""",
            limit,
        )
        return [
            Sentence(text, self._src(placed[0]), pid, n)
            for pid, body, source_id, also_in in found
            if (placed := self._placed(source_id, also_in)) is not None
            for n, text in enumerate(sentences(body))
        ]

    def sources_naming(self, phrases: Sequence[str], limit: int = 10) -> list[Sentence]:
        """The newest `limit` sources whose passages hold one of `phrases` (by reference date,
        then as added, then by their first passage holding one), each with the first sentence
        of theirs that holds one.

        A phrase held by at most `rank_cap` passages: those passages' sources, sorted by date. A
        phrase held by more (SOM1 in a store of 100,000 documents, in 116,000 passages): the
        sources read newest first from the index on their dates, until `limit` of them have a
        passage among those matching (see `_newest_naming`); looking up the date of every
        matching passage's source and sorting them all cost 0.5 s there.
        """
        words = _phrase_words(phrases)
        if not words or limit <= 0:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        found = self._newest_naming(match, limit) if self._held_by_many(match) else None
        if found is None:
            found = self._sorted_naming(match, limit)
        bodies = self._passages([pid for _, pid in found]) if found else {}
        return [
            Sentence(text, self._src(source_id), pid, n)
            for source_id, pid in found
            for n, text in [_first_naming(bodies[pid][1], words)]
        ]

    def _held_by_many(self, match: str) -> bool:
        """Whether more than `rank_cap` passages match (counted no further than that)."""
        held = self.db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM passages_fts WHERE passages_fts MATCH ? LIMIT ?)",
            [match, self.rank_cap + 1],
        ).fetchone()[0]
        return bool(held > self.rank_cap)

    def _sorted_naming(self, match: str, limit: int) -> list[tuple[str, int]]:
        """(source id, its first passage matching) of the newest `limit` sources with a passage
        matching, from every matching passage's source, sorted: costs what they number."""
        found = self.db.execute(
            f"""SELECT p.source_id, min(p.id) FROM passages_fts
               JOIN passages p ON p.id = passages_fts.rowid
               JOIN sources s ON s.id = p.source_id
               WHERE passages_fts MATCH ? AND {self._published("s.")} GROUP BY p.source_id
               ORDER BY max(s.reference_date) DESC, max(s.added_at) DESC, min(p.id) LIMIT ?""",
            [match, *self._day(), limit],
        )
        return [(r[0], r[1]) for r in found]

    def _newest_naming(self, match: str, limit: int) -> list[tuple[str, int]] | None:
        """What `_sorted_naming` gives, read from the newest source back (sources_date: no
        sort), each source's first passage found among the matching ones (read from the
        full-text index once; `+p.id` keeps SQLite on the source's own passages, not walking
        every match for each source). It stops once `limit` are found and every source of the
        last one's date and time added is read (among those, the first passage decides). None
        when NEWEST_READ sources are read first: few of the newest name it, and sorting its
        passages' sources costs less."""
        found: list[tuple[str, str, str, int]] = []  # date, added, source id, passage
        read = 0
        for day, added, source_id, pid in self.db.execute(
            f"""SELECT s.reference_date, s.added_at, s.id,
                   (SELECT p.id FROM passages p WHERE p.source_id = s.id AND +p.id IN
                      (SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?)
                    ORDER BY p.id LIMIT 1)
               FROM sources s WHERE {self._published("s.")}
               ORDER BY s.reference_date DESC, s.added_at DESC""",
            [match, *self._day()],
        ):
            if len(found) >= limit and (day, added) != found[limit - 1][:2]:
                break
            read += 1
            if read > NEWEST_READ:
                return None
            if pid is not None:
                found.append((day, added, source_id, pid))
        found.sort(key=lambda f: f[3])  # within one date and time added, by first passage
        found.sort(key=lambda f: f[:2], reverse=True)  # stable: newest first
        return [(source_id, pid) for _, _, source_id, pid in found[:limit]]

    def _naming(self, phrases: Sequence[str], sql: str, limit: int) -> tuple[list[str], list[Any]]:
        """The phrases' words, and the rows of `sql` over the passages holding any of them (its
        parameters: the match, the view's day, the limit); no rows when the phrases hold no word."""
        words = _phrase_words(phrases)
        if not words:
            return words, []
        match = " OR ".join(f'"{w}"' for w in words)
        return words, self.db.execute(sql, [match, *self._day(), limit]).fetchall()

    def vocabulary(self) -> frozenset[str]:
        """Every word the records use: names, aliases, titles, roles, facts (for mending typos)."""
        return self._cached("vocabulary", self._read_vocabulary)

    def _read_vocabulary(self) -> frozenset[str]:
        if self.day is not None:
            return self._view_vocabulary()
        texts = [r[0] for r in self.db.execute("SELECT name FROM aliases")]
        for sql in (
            "SELECT name || ' ' || short || ' ' || city FROM meetings",
            "SELECT name || ' ' || title || ' ' || organization FROM people",
            "SELECT role FROM roles",
            "SELECT topic || ' ' || keywords || ' ' || answer FROM facts",
            "SELECT text FROM objectives",
        ):
            texts += [r[0] for r in self.db.execute(sql)]
        texts += self._glossary_words()
        return frozenset(w for t in texts for w in _WORD.findall(fold(t)))

    def _glossary_words(self) -> list[str]:
        """The glossary's spellings: "AMM" and "cmte" are meant as typed, not typos to mend."""
        return [" ".join((t.term, *t.aliases)) for t in self.glossary()]

    def _view_vocabulary(self) -> frozenset[str]:
        """The vocabulary of what a view holds: the same texts, from its records."""
        texts = [n for kind in NAME_KINDS for n in self.names(kind)]
        texts += [f"{m.name} {m.short} {m.city}" for m in self.meetings()]
        texts += [f"{p.name} {p.title} {p.organization}" for p in self.people()]
        texts += [r.role for p in self.people() for r in p.roles]
        texts += [f"{f.topic} {' '.join(f.keywords)} {f.answer}" for f in self.facts()]
        texts += [o.text for d in self.delegations() for o in d.objectives]
        texts += self._glossary_words()
        return frozenset(w for t in texts for w in _WORD.findall(fold(t)))

    def _ranked(self, group: list[str], limit: int) -> list[tuple[int, float]]:
        """The best `limit` passages holding every word of `group`: (id, BM25 score, lower is
        better), at a cost bounded however many passages the store holds.

        FTS5's bm25() first counts every passage holding each word (for its IDF): a word in most
        of a large store costs a scan of them all, in every query. So only words in at most
        RANK_CAP passages (every word, on the seeds) go to bm25(). Words all as rare as that:
        FTS5's own ranking, exactly. A common word among rare ones: the passages holding every
        word (no more than the rarest holds), ranked by bm25() of the rare words, the ones that
        tell passages apart. Common words only: the first passages holding all of them among
        the first RANK_CAP that hold one (seeds first: they are built first), unranked (score 0,
        after every ranked passage of the same share of words).
        """
        rare = [w for w in group if not self._common_word(w)]
        if len(rare) == len(group):
            return self.db.execute(
                f"""SELECT passages_fts.rowid, bm25(passages_fts) AS score
                   FROM passages_fts {self._through()} WHERE passages_fts MATCH ? {self._shown()}
                   ORDER BY score, passages_fts.rowid LIMIT ?""",
                [_all_of(group), *self._day(), limit],
            ).fetchall()
        if rare:
            holding = {
                r[0]
                for r in self.db.execute(
                    f"""SELECT passages_fts.rowid FROM passages_fts {self._through()}
                        WHERE passages_fts MATCH ? {self._shown()}""",
                    [_all_of(group), *self._day()],
                )
            }
            if not holding:
                return []
            ranked = self.db.execute(
                """SELECT rowid, bm25(passages_fts) AS score FROM passages_fts
                   WHERE passages_fts MATCH ? AND rowid BETWEEN ? AND ? ORDER BY score, rowid""",
                [_all_of(rare), min(holding), max(holding)],
            ).fetchall()
            return [r for r in ranked if r[0] in holding][:limit]
        # A rowid bound is a constraint FTS5 applies while it scans: it stops there.
        bound = self.db.execute(
            "SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? LIMIT 1 OFFSET ?",
            [_all_of(group[:1]), self.rank_cap - 1],
        ).fetchone()
        return [
            (r[0], 0.0)
            for r in self.db.execute(
                f"""SELECT passages_fts.rowid FROM passages_fts {self._through()}
                    WHERE passages_fts MATCH ? AND passages_fts.rowid <= ? {self._shown()}
                    LIMIT ?""",
                [_all_of(group), bound[0] if bound else 2**62, *self._day(), limit],
            )
        ]

    def _common_word(self, word: str) -> bool:
        """Held by more than RANK_CAP passages (counted no further than that)."""
        common = self._common.get(word)
        if common is None:
            held = self.db.execute(
                """SELECT count(*) FROM
                   (SELECT 1 FROM passages_fts WHERE passages_fts MATCH ? LIMIT ?)""",
                [_all_of([word]), self.rank_cap + 1],
            ).fetchone()[0]
            common = held > self.rank_cap
            self._common.put(word, common)
        return common

    def _through(self) -> str:
        """In a view, the joins from a full-text match to its passage's source that `_shown`
        reads, in this order (CROSS JOIN: the match drives, each join a look-up by key);
        nothing on the whole store."""
        if self.day is None:
            return ""
        return """CROSS JOIN passages sp ON sp.id = passages_fts.rowid
                  CROSS JOIN sources ss ON ss.id = sp.source_id"""

    def _shown(self) -> str:
        """In a view, a condition (`AND ...`, parameters `_day()`) on matched passages: those of
        a source published by its day, and those whose text is in more than one source
        (`_placed` tells which of them); nothing on the whole store."""
        if self.day is None:
            return ""
        return "AND (ss.reference_date <= ? OR sp.also_in != '[]')"

    def _placed(self, source_id: str, also_in: str) -> tuple[str, ...] | None:
        """The sources a passage is in (its first, then the others), those of a view published
        by its day; None when none of them is."""
        ids = (source_id, *json.loads(also_in))
        if self.day is None:
            return ids
        day = self.day
        shown = tuple(i for i in ids if (s := self._read_source(i)) and s.reference_date <= day)
        return shown or None

    def _passages(self, ids: list[int]) -> dict[int, tuple[str, str, str, str]]:
        """(heading, text, source id, also_in) of each passage asked for, read once."""
        marks = ", ".join("?" * len(ids))
        found = self.db.execute(
            f"SELECT id, heading, text, source_id, also_in FROM passages WHERE id IN ({marks})",
            ids,
        )
        return {r[0]: r[1:] for r in found}

    # -- names ---------------------------------------------------------------------------------

    def names(self, kind: str) -> dict[str, str]:
        """Every name of one kind (economy, non_member, meeting, person) as written, to its id."""
        return self._cached(
            f"names:{kind}",
            lambda: {
                r["name"]: r["target"]
                for r in self._rows("SELECT name, target FROM aliases WHERE kind = ?", [kind])
                if self.day is None or kind not in NAMED_AS_OF or r["target"] in self._present(kind)
            },
        )

    def _present(self, kind: str) -> frozenset[str]:
        """The ids of one kind a view holds: a meeting or person not yet on record by its day is
        not named at all (no question is matched to it). Economies' names are the desk's words
        for reading questions, kept on every day; but no economy is a member on record (nor
        any other a known non-member) before the members' list is published."""
        return self._cached(f"present:{kind}", lambda: frozenset(self._ids(kind)))

    def _ids(self, kind: str) -> list[str]:
        if kind == "meeting":
            return [m.id for m in self.meetings()]
        if kind == "economy":
            return [e.id for e in self.members()]
        if kind == "person":
            return list(self._people())
        if not self.members():
            return []
        return [r["name"] for r in self._rows("SELECT name FROM non_members")]

    def _suggest(self, kind: str, name: str, n: int) -> list[str]:
        key = alias_key(name)
        names = self.names(kind)
        keys = self._cached(f"keys:{kind}", lambda: {alias_key(a): a for a in names})
        close = difflib.get_close_matches(key, list(keys), n=n * 3, cutoff=0.6)
        close += [k for k in keys if key and len(key) >= 3 and key in k and k not in close]
        out: list[str] = []
        for k in close:
            display = self._display(kind, names[keys[k]])
            if display not in out:
                out.append(display)
        return out[:n]

    def _display(self, kind: str, target: str) -> str:
        table, col = {
            "meeting": ("meetings", "short"),
            "economy": ("economies", "name"),
            "person": ("people", "name"),
        }.get(kind, ("non_members", "name"))
        key = "name" if table == "non_members" else "id"
        row = self.db.execute(f"SELECT {col} FROM [{table}] WHERE {key} = ?", [target]).fetchone()
        return row[0] if row else target


MAX_TERMS = 8
# Passages ranked by FTS5's bm25() at most, per query; a word held by more is "common" (see
# `Store._ranked`). On the seeds no word is: FTS5 ranks every search as it always did.
RANK_CAP = 2000
# Sources `sources_naming` reads newest first before it sorts the matching passages' sources
# instead (few of the newest sources name the phrase).
NEWEST_READ = 2000
SOURCES_KEPT = 256  # sources each Store keeps once read: what answers cite, never the whole table
VIEWS_KEPT = 8  # days each Store keeps a view of (`Store.at`): requests', briefs', digests' days
PUBLISHED = "_published"  # a view's row: the day its version was published (not a column)
NAME_KINDS = ("economy", "non_member", "meeting", "person")
NAMED_AS_OF = frozenset({"meeting", "person"})  # a view names only those on record by its day
# Each record table's order: as SQL over the table, and as a key over a view's rows.
TABLE_ORDER: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "meetings": ("rowid", lambda r: 0),  # sorted by date when read
    "economies": ("name COLLATE NOCASE", lambda r: r["name"].lower()),
    "people": ("name", lambda r: r["name"]),
    "roles": ("id", lambda r: r["id"]),
    "delegations": ("id", lambda r: r["id"]),
    "delegation_members": ("rowid", lambda r: 0),  # as made
    "objectives": ("id", lambda r: r["id"]),
    "facts": ("id", lambda r: r["id"]),
}
WORDS_KEPT = 1024  # words each Store remembers as common or rare


def _phrase_words(phrases: Sequence[str]) -> list[str]:
    """Each phrase as the folded words FTS5 matches (once each, empty ones left out)."""
    return [w for w in dict.fromkeys(" ".join(_WORD.findall(fold(p))) for p in phrases) if w]


def _all_of(words: list[str]) -> str:
    """An FTS5 query for passages holding every one of `words` (each [a-z0-9]+, quoted)."""
    return " AND ".join(f'"{w}"' for w in words)


def _stems(text: str) -> set[str]:
    """The stems of a text's words."""
    return {stem(w) for w in set(_WORD.findall(fold(text)))}


class Lru(Generic[K, V]):
    """At most `size` values, the least recently used dropped first (one Store, one thread)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def _and_groups(terms: list[str]) -> list[list[str]]:
    """All the terms, then each set missing one of them (a passage may word one thing otherwise)."""
    groups = [terms]
    if len(terms) > 1:
        groups += [terms[:i] + terms[i + 1 :] for i in range(len(terms))]
    return groups


def content_words(text: str) -> list[str]:
    """The words of a question that carry meaning, folded, de-duplicated, in order."""
    words = [w for w in _WORD.findall(fold(text)) if w not in STOPWORDS and len(w) > 1]
    return list(dict.fromkeys(words))


def _source(r: dict[str, Any]) -> Source:
    return Source(
        id=r["id"],
        title=r["title"],
        publisher=r["publisher"],
        kind=r["kind"],
        reference_date=date.fromisoformat(r["reference_date"]),
        file=r["file"],
        origin=r["origin"],
        added_at=r["added_at"],
    )


def stem(word: str) -> str:
    # Close enough to porter for comparing a question's words with a passage's.
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    # "announce" and "announced" alike ("announc"), as porter has it.
    return word[:-1] if word.endswith("e") and len(word) >= 4 else word


def _meeting_order(m: Meeting) -> tuple[date, int, bool, int, str]:
    rank = KIND_RANK.get(m.kind, len(KIND_RANK))
    start = m.span.start or date.max
    precision = {"day": 0, "month": 1, "year": 2}.get(m.span.precision, 3)
    return (start, precision, bool(m.parent_id), rank, m.name)


def records_version(conn: sqlite3.Connection) -> int | None:
    """The store's records version (it moves with every write that can change an answer); None
    when the store has none (not made by this version), which readers take as a change."""
    try:
        row = conn.execute(RECORDS_VERSION).fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _first_naming(body: str, words: list[str]) -> tuple[int, str]:
    """The first sentence of a passage holding one of `words` (folded phrases), and its place;
    the first sentence when none does (its heading matched, or another form of a word)."""
    found = sentences(body)
    return next(
        ((n, s) for n, s in enumerate(found) if any(w in _folded(s) for w in words)),
        (0, found[0]),
    )


def _folded(text: str) -> str:
    """A text's words, folded and joined by single spaces (to find a phrase in it)."""
    return " ".join(_WORD.findall(fold(text)))
