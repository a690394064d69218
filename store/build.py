"""Building the store from seeds/: sources, passages, the desk's structured records, all checked."""

from __future__ import annotations

import copy
import hashlib
import json
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlite_utils

from store import edits, schema
from store.dates import DateError, Span, find_dates, read_span
from store.db import immediate
from store.edits import STATUSES
from store.errors import SourceError
from store.models import MISSING, Source
from store.names import alias_key
from store.text import clean, fold_key, passages, stands_in
from store.vocabulary import MEETING_KINDS

DESK_FILE = "desk.toml"
GLOSSARY_FILE = "glossary.toml"
GLOSSARY_KINDS = frozenset(
    {"committee", "meeting", "economy", "organization", "office", "event", "term", "shorthand"}
)
# Words a glossary definition may use beyond its quote's: they join words, they state nothing.
_GLUE = frozenset("a an the is are it its that which and of in to".split())
# Children before parents: the order rows are deleted in, reversed for inserting.
_DELETE_ORDER = [
    "versions",
    "objectives",
    "delegation_members",
    "delegations",
    "roles",
    "people",
    "facts",
    "glossary",
    "aliases",
    "non_members",
    "economies",
    "meetings",
    "passages",
    "sources",
    "build_info",
]


@dataclass
class BuildReport:
    """What a build did, for the one-screen summary."""

    counts: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def summary(self, path: str) -> str:
        """The one-screen summary `apec-bot build` prints."""
        lines = [f"Built {path} in {self.seconds * 1000:.0f} ms"]
        for table, n in self.counts.items():
            lines.append(f"  {table:<19}{n:>7}")
        if self.duplicates:
            lines.append(
                f"  {self.duplicates} repeated passages kept once (the same text in two sources)"
            )
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_desk(seeds: Path) -> dict[str, Any]:
    """The desk file as TOML, with a clear error when it is missing or malformed (parsed once
    while the file is unchanged: every desk edit re-derives the records from it)."""
    path = seeds / DESK_FILE
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise SourceError(f"no desk file at {path}") from exc
    return copy.deepcopy(_parsed_desk(path, stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=4)
def _parsed_desk(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            desk: dict[str, Any] = _cleaned(tomllib.load(fh))
            return desk
    except FileNotFoundError as exc:
        raise SourceError(f"no desk file at {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"{path}: {exc}") from exc


def _cleaned(value: Any) -> Any:
    """A parsed desk file with every string in it as the store keeps text (store.text.clean):
    what a seed says enters the store as a desk edit's words do."""
    if isinstance(value, str):
        return clean(value, multiline="\n" in value)
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    if isinstance(value, dict):
        return {k: _cleaned(v) for k, v in value.items()}
    return value


def load_glossary(seeds: Path) -> list[dict[str, Any]]:
    """The glossary's entries as TOML records; no glossary file is no glossary."""
    path = seeds / GLOSSARY_FILE
    try:
        stat = path.stat()
    except FileNotFoundError:
        return []
    terms = _parsed_desk(path, stat.st_mtime_ns, stat.st_size).get("terms", [])
    return copy.deepcopy(terms)


def read_sources(seeds: Path, desk: dict[str, Any]) -> list[Source]:
    """Every seed source named in the desk file, read byte for byte and checksummed."""
    docs = []
    for rec in desk.get("sources", []):
        where = f"source {rec.get('id', '?')!r}"
        try:
            path = seeds / rec["file"]
            data = path.read_bytes()
            ref = rec["reference_date"]
            docs.append(
                Source(
                    id=rec["id"],
                    title=rec["title"],
                    publisher=rec.get("publisher", ""),
                    kind=rec.get("kind", ""),
                    reference_date=ref if isinstance(ref, date) else date.fromisoformat(ref),
                    file=rec["file"],
                    origin="seed",
                    original_name=rec.get("original_name", Path(rec["file"]).name),
                    text=clean(data.decode("utf-8"), multiline=True),
                    sha256=sha256(data),
                    note=rec.get("note", ""),
                )
            )
        except KeyError as exc:
            raise SourceError(f"{where}: missing field {exc}") from exc
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise SourceError(f"{where}: {exc}") from exc
    return docs


def desk_sources(db: sqlite_utils.Database) -> list[Source]:
    """The documents the desk added with `apec-bot ingest`, as sources."""
    if "desk_documents" not in db.table_names():
        return []
    return [
        Source(
            id=row["id"],
            title=row["title"],
            publisher="",
            kind="desk document",
            reference_date=date.fromisoformat(row["reference_date"]),
            file=row["file_name"],
            original_name=row["file_name"],
            text=row["text"],
            sha256=row["sha256"],
            origin="desk",
            added_at=row["added_at"],
        )
        for row in db.query("SELECT * FROM desk_documents ORDER BY added_at, id")
    ]


class _Checker:
    """Collects every problem in the desk file, so one build names them all."""

    def __init__(self, sources: dict[str, Source]) -> None:
        self.sources = sources
        self.errors: list[str] = []

    def cite(self, where: str, rec: dict[str, Any]) -> tuple[str, str]:
        source_id, quote = rec.get("source", ""), rec.get("quote", "")
        doc = self.sources.get(source_id)
        if doc is None:
            self.errors.append(f"{where}: unknown source {source_id!r}")
        elif not quote:
            self.errors.append(f"{where}: no quote from {source_id!r}")
        elif not stands_in(quote, doc.text):
            self.errors.append(f"{where}: quote not found in {doc.file}: {quote[:80]!r}")
        return source_id, quote

    def ref(self, where: str, what: str, value: str, known: Iterable[str]) -> None:
        if value and value not in known:
            self.errors.append(f"{where}: unknown {what} {value!r}")

    def span(self, where: str, rec: dict[str, Any]) -> Span:
        text = rec.get("dates", "")
        if not text:
            return Span(None, None, "unknown", "")
        doc = self.sources.get(rec.get("source", ""))
        if doc is None:
            return Span(None, None, "unknown", text)
        if not stands_in(text, doc.text):
            self.errors.append(f"{where}: date phrase {text!r} not found in {doc.file}")
        try:
            return read_span(text, doc.reference_date)
        except DateError as exc:
            self.errors.append(f"{where}: cannot read date {text!r}: {exc}")
            return Span(None, None, "unknown", text)

    def published(self, where: str, rec: dict[str, Any], quote: str) -> date | None:
        """When a version's statement was published: its source's reference date, or an earlier
        `published` date that the source itself states, in the quote or in `dated_by` (a second
        quote from the same source, such as the line of its source list that dates it)."""
        doc = self.sources.get(rec.get("source", ""))
        given, dating = rec.get("published"), rec.get("dated_by", "")
        if doc is None:
            return None
        if given is None:
            if dating:
                self.errors.append(f"{where}: dated_by without a published date")
            return doc.reference_date
        if not isinstance(given, date) or isinstance(given, datetime):
            self.errors.append(f"{where}: published must be a date (2025-12-13), not {given!r}")
            return None
        if dating and not stands_in(dating, doc.text):
            self.errors.append(f"{where}: dated_by not found in {doc.file}: {dating[:80]!r}")
        stated = {
            span.start
            for text in (quote, dating)
            for _, span in find_dates(text, doc.reference_date)
            if span.precision == "day"
        }
        if given not in stated:
            self.errors.append(f"{where}: published {given} is not a date its quote states")
        if given > doc.reference_date:
            self.errors.append(f"{where}: published {given} is after its source's date")
        return given


def _held_to_quote(
    check: _Checker, where: str, names: list[str], rec: dict[str, Any], quote: str
) -> None:
    """A cited glossary term says no more than its quote: the quote writes the term (or one of
    its `names`), its expansion stands in it, and its definition uses no word the quote lacks
    (beyond a few that only join words)."""
    words = f" {alias_key(quote)} "
    if not any(f" {alias_key(n)} " in words for n in names if alias_key(n)):
        check.errors.append(f"{where}: its quote does not write the term")
    expansion = rec.get("expansion", "")
    if expansion and not stands_in(expansion, quote):
        check.errors.append(f"{where}: expansion {expansion!r} is not in its quote")
    said = set(alias_key(quote).split()) | _GLUE
    extra = [w for w in alias_key(rec.get("definition", "")).split() if w not in said]
    if extra:
        lacking = ", ".join(dict.fromkeys(extra))
        check.errors.append(f"{where}: definition has words its quote lacks: {lacking}")


def _passage_rows(docs: list[Source]) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    first: dict[str, dict[str, Any]] = {}
    duplicates = 0
    for doc in docs:
        for seq, p in enumerate(passages(doc.text)):
            key = fold_key(p.text)
            if key in first:
                duplicates += 1
                also = json.loads(first[key]["also_in"])
                if doc.id not in also and doc.id != first[key]["source_id"]:
                    first[key]["also_in"] = json.dumps([*also, doc.id])
                continue
            row = {
                "source_id": doc.id,
                "seq": seq,
                "heading": p.heading,
                "text": p.text,
                "hash": key,
                "also_in": "[]",
            }
            first[key] = row
            rows.append(row)
    return rows, duplicates


# What an `earlier` version of a record may say differently, by table: desk.toml's key to the
# row's column. The first keys of each are what a source states (a version must give them: it
# says what its own source says, never what a later one added); the rest default to the record's.
VERSION_FIELDS: dict[str, dict[str, str]] = {
    "meetings": {
        "dates": "date_text",
        "city": "city",
        "status": "status",
        "name": "name",
        "short": "short",
        "kind": "kind",
        "parent": "parent_id",
        "host": "host_id",
        "tz": "tz",
        "note": "note",
    },
    "people": {
        "title": "title",
        "organization": "organization",
        "name": "name",
        "economy": "economy_id",
    },
    "roles": {"role": "role", "meeting": "meeting_id"},
    "delegations": {"head": "head_id", "economy": "economy_id", "meeting": "meeting_id"},
    "delegation_members": {"role": "role"},
    "objectives": {"text": "text"},
    "facts": {"answer": "answer", "topic": "topic", "keywords": "keywords"},
    "economies": {"name": "name"},
}
_STATED = {"meetings": 3, "people": 2}  # how many of the first keys a version must give (else 1)
_CITING = frozenset({"source", "quote", "published", "dated_by"})
# The ids a version's reference must name: its column, and the set of ids on record.
_REFS = {
    "parent_id": "meeting_ids",
    "host_id": "economy_ids",
    "economy_id": "economy_ids",
    "meeting_id": "meeting_ids",
    "head_id": "person_ids",
}


def _ids(records: list[dict[str, Any]]) -> set[str]:
    """The records' ids that a reference can name (a reference is a string)."""
    return {rec["id"] for rec in records if isinstance(rec.get("id"), str)}


class _Rows:
    """The rows of the build tables, one small builder per record kind, checked as they are made:
    each builder reads its kind of record from the desk file and writes its table's rows (and the
    aliases people type for it)."""

    def __init__(self, docs: list[Source]) -> None:
        self.check = _Checker({d.id: d for d in docs})
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in _DELETE_ORDER}
        self.aliases: dict[tuple[str, str], tuple[str, str]] = {}  # (kind, key) -> (name, target)
        self.economy_ids: set[str] = set()
        self.meeting_ids: set[str] = set()
        self.person_ids: set[str] = set()

    def versioned(self, table: str, record_id: str, rec: dict[str, Any], where: str) -> None:
        """The versions of the record just made (the last row of `table`): each `earlier` one as
        its own source has it, checked like the record, then the record itself."""
        check, row = self.check, self.rows[table][-1]
        doc = check.sources.get(row["source_id"])
        latest = doc.reference_date if doc else None
        earlier = rec.get("earlier", [])
        if not isinstance(earlier, list):
            check.errors.append(f"{where}: earlier must be a list of versions")
            earlier = []
        for seq, version in enumerate(earlier):
            at = f"{where} (earlier version {seq + 1})"
            self._earlier(table, record_id, seq, version, at, latest)
        if latest:
            cited = (row["source_id"], row["quote"])
            self.rows["versions"].append(
                edits.version_row(table, record_id, len(earlier), latest, cited, row)
            )

    def _earlier(
        self,
        table: str,
        record_id: str,
        seq: int,
        version: dict[str, Any],
        where: str,
        latest: date | None,
    ) -> None:
        """One earlier version of the record just made, checked, as the `seq`th of its
        versions (none when it names no day it was published)."""
        check = self.check
        source_id, quote = check.cite(where, version)
        published = check.published(where, version, quote)
        self._check_version_keys(table, version, where)
        fields = self._version_fields(table, version, where, quote)
        if published and latest and published > latest:
            check.errors.append(f"{where}: published after the record itself ({latest})")
        if published:
            self.rows["versions"].append(
                edits.version_row(table, record_id, seq, published, (source_id, quote), fields)
            )

    def _check_version_keys(self, table: str, version: dict[str, Any], where: str) -> None:
        """A version gives only fields a version of its table may, and those its source must
        state."""
        keys = VERSION_FIELDS[table]
        for key in sorted(set(version) - _CITING - set(keys)):
            self.check.errors.append(f"{where}: {key!r} is not a field a version may give")
        for key in list(keys)[: _STATED.get(table, 1)]:
            if key not in version:
                self.check.errors.append(
                    f"{where}: give {key!r}: what its own source says, if nothing"
                )

    def _version_fields(
        self, table: str, version: dict[str, Any], where: str, quote: str
    ) -> dict[str, Any]:
        """The row as a version has it: the record's, with the fields the version gives (the
        records they name checked, a meeting's dates read from its quote)."""
        keys = VERSION_FIELDS[table]
        row = self.rows[table][-1]
        fields = {**row, "note": ""} if table == "meetings" else dict(row)
        fields.update({column: version[key] for key, column in keys.items() if key in version})
        given = {column for key, column in keys.items() if key in version}
        for column, known in _REFS.items():
            if column in fields and column in given:
                self.check.ref(
                    where, column.removesuffix("_id"), fields[column], getattr(self, known)
                )
        if table == "meetings":
            self._version_dates(where, version, quote, fields)
        if table == "facts" and "keywords" in version:
            fields["keywords"] = json.dumps([k.lower() for k in version["keywords"]])
        return fields

    def _version_dates(
        self, where: str, version: dict[str, Any], quote: str, fields: dict[str, Any]
    ) -> None:
        """A meeting version's dates, as its quote writes them (read as all its source's words
        are, against the source's reference date), its kind and status checked."""
        text = fields["date_text"]
        if text and not stands_in(text, quote):
            self.check.errors.append(f"{where}: date phrase {text!r} is not in its quote")
        span = self.check.span(where, {"dates": text, "source": version.get("source", "")})
        fields.update(
            start_date=span.start.isoformat() if span.start else None,
            end_date=span.end.isoformat() if span.end else None,
            precision=span.precision,
        )
        if fields["status"] not in STATUSES:
            self.check.errors.append(f"{where}: status must be one of {sorted(STATUSES)}")
        if fields["kind"] not in MEETING_KINDS:
            self.check.errors.append(f"{where}: kind must be one of {sorted(MEETING_KINDS)}")

    def alias(self, kind: str, name: str, target: str, where: str) -> None:
        key = alias_key(name)
        if not key:
            return
        other = self.aliases.get((kind, key))
        if other is not None and other[1] != target:
            self.check.errors.append(f"{where}: alias {name!r} already names {other[1]!r}")
        self.aliases.setdefault((kind, key), (name, target))

    def sources(self, docs: list[Source]) -> None:
        self.rows["sources"] = [
            {
                "id": d.id,
                "title": d.title,
                "publisher": d.publisher,
                "kind": d.kind,
                "reference_date": d.reference_date.isoformat(),
                "file": d.file,
                "original_name": d.original_name,
                "sha256": d.sha256,
                "origin": d.origin,
                "added_at": d.added_at,
                "note": d.note,
            }
            for d in docs
        ]

    def economies(self, records: list[dict[str, Any]]) -> None:
        for rec in records:
            where = f"economy {rec.get('id', '?')!r}"
            source_id, quote = self.check.cite(where, rec)
            self.economy_ids.add(rec["id"])
            self.rows["economies"].append(
                {"id": rec["id"], "name": rec["name"], "source_id": source_id, "quote": quote}
            )
            self.versioned("economies", rec["id"], rec, where)
            for name in (rec["id"], rec["name"], *rec.get("aliases", [])):
                self.alias("economy", name, rec["id"], where)

    def non_members(self, records: list[dict[str, Any]]) -> None:
        for rec in records:
            self.rows["non_members"].append({"name": rec["name"]})
            for name in (rec["name"], *rec.get("aliases", [])):
                if ("economy", alias_key(name)) in self.aliases:
                    self.check.errors.append(f"non-member {rec['name']!r}: {name!r} names a member")
                self.alias("non_member", name, rec["name"], f"non-member {rec['name']!r}")

    def meetings(self, records: list[dict[str, Any]]) -> None:
        check = self.check
        self.meeting_ids = _ids(records)
        for rec in records:
            where = f"meeting {rec.get('id', '?')!r}"
            source_id, quote = check.cite(where, rec)
            span = check.span(where, rec)
            if rec.get("kind") not in MEETING_KINDS:
                check.errors.append(f"{where}: kind must be one of {sorted(MEETING_KINDS)}")
            if rec.get("status") not in STATUSES:
                check.errors.append(f"{where}: status must be one of {sorted(STATUSES)}")
            check.ref(where, "parent meeting", rec.get("parent", ""), self.meeting_ids)
            check.ref(where, "host economy", rec.get("host", ""), self.economy_ids)
            self.rows["meetings"].append(
                {
                    "id": rec["id"],
                    "name": rec["name"],
                    "short": rec.get("short") or rec["name"],
                    "kind": rec.get("kind", "event"),
                    "parent_id": rec.get("parent", ""),
                    "date_text": rec.get("dates", ""),
                    "start_date": span.start.isoformat() if span.start else None,
                    "end_date": span.end.isoformat() if span.end else None,
                    "precision": span.precision,
                    "status": rec.get("status", "tbc"),
                    "city": rec.get("city", ""),
                    "host_id": rec.get("host", ""),
                    "tz": rec.get("tz", ""),
                    "source_id": source_id,
                    "quote": quote,
                    "note": rec.get("note", ""),
                    "origin": "seed",
                }
            )
            row = self.rows["meetings"][-1]
            row["note_when_missing"] = self._note_when_missing(where, rec, row)
            self.versioned("meetings", rec["id"], rec, where)
            for name in (rec["id"], rec.get("short", ""), rec["name"], *rec.get("aliases", [])):
                self.alias("meeting", name, rec["id"], where)

    def _note_when_missing(self, where: str, rec: dict[str, Any], row: dict[str, Any]) -> str:
        """The field whose absence a meeting's note describes (store.models.MISSING), checked:
        one such a note can be about, and one the record does lack."""
        field = rec.get("note_when_missing", "")
        if not field:
            return ""
        if field not in MISSING:
            self.check.errors.append(f"{where}: note_when_missing is one of {sorted(MISSING)}")
        elif not rec.get("note"):
            self.check.errors.append(f"{where}: note_when_missing without a note")
        elif not MISSING[field](row):
            self.check.errors.append(f"{where}: its note says {field} is missing, and it is given")
        return str(field)

    def people(self, records: list[dict[str, Any]]) -> None:
        self.person_ids = _ids(records)
        for rec in records:
            where = f"person {rec.get('id', '?')!r}"
            source_id, quote = self.check.cite(where, rec)
            self.check.ref(where, "economy", rec.get("economy", ""), self.economy_ids)
            self.rows["people"].append(
                {
                    "id": rec["id"],
                    "name": rec["name"],
                    "economy_id": rec.get("economy", ""),
                    "title": rec.get("title", ""),
                    "organization": rec.get("organization", ""),
                    "source_id": source_id,
                    "quote": quote,
                }
            )
            self.versioned("people", rec["id"], rec, where)
            for name in (rec["name"], *rec.get("aliases", [])):
                self.alias("person", name, rec["id"], where)

    def roles(self, records: list[dict[str, Any]]) -> None:
        for n, rec in enumerate(records, 1):
            where = f"role {n} ({rec.get('person', '?')})"
            source_id, quote = self.check.cite(where, rec)
            self.check.ref(where, "person", rec.get("person", ""), self.person_ids)
            self.check.ref(where, "meeting", rec.get("meeting", ""), self.meeting_ids)
            self.rows["roles"].append(
                {
                    "id": n,
                    "person_id": rec.get("person", ""),
                    "role": rec.get("role", ""),
                    "meeting_id": rec.get("meeting", ""),
                    "source_id": source_id,
                    "quote": quote,
                }
            )
            self.versioned("roles", str(n), rec, where)

    def delegations(self, records: list[dict[str, Any]]) -> None:
        check = self.check
        for rec in records:
            where = f"delegation {rec.get('id', '?')!r}"
            source_id, quote = check.cite(where, rec)
            check.ref(where, "economy", rec.get("economy", ""), self.economy_ids)
            check.ref(where, "meeting", rec.get("meeting", ""), self.meeting_ids)
            check.ref(where, "head", rec.get("head", ""), self.person_ids)
            self.rows["delegations"].append(
                {
                    "id": rec["id"],
                    "economy_id": rec.get("economy", ""),
                    "meeting_id": rec.get("meeting", ""),
                    "head_id": rec.get("head", ""),
                    "source_id": source_id,
                    "quote": quote,
                }
            )
            self.versioned("delegations", rec["id"], rec, where)
            self._members(rec, where, (source_id, quote))
            self._objectives(rec, where)

    def _members(self, rec: dict[str, Any], where: str, cited: tuple[str, str]) -> None:
        """A delegation's members, each citing its own quote or else the delegation's."""
        for member in rec.get("members", []):
            self.check.ref(where, "member", member.get("person", ""), self.person_ids)
            source_id, quote = cited
            if member.get("quote"):
                source_id, quote = self.check.cite(f"{where} member {member['person']!r}", member)
            self.rows["delegation_members"].append(
                {
                    "delegation_id": rec["id"],
                    "person_id": member.get("person", ""),
                    "role": member.get("role", ""),
                    "source_id": source_id,
                    "quote": quote,
                }
            )
            member_id = f"{rec['id']}/{member.get('person', '')}"
            self.versioned("delegation_members", member_id, member, f"{where} member {member_id!r}")

    def _objectives(self, rec: dict[str, Any], where: str) -> None:
        for obj in rec.get("objectives", []):
            what = f"{where} objective {obj.get('text', '')[:30]!r}"
            source_id, quote = self.check.cite(what, obj)
            self.rows["objectives"].append(
                {
                    "id": len(self.rows["objectives"]) + 1,
                    "delegation_id": rec["id"],
                    "text": obj.get("text", ""),
                    "source_id": source_id,
                    "quote": quote,
                }
            )
            self.versioned("objectives", str(self.rows["objectives"][-1]["id"]), obj, what)

    def facts(self, records: list[dict[str, Any]]) -> None:
        for rec in records:
            where = f"fact {rec.get('id', '?')!r}"
            source_id, quote = self.check.cite(where, rec)
            self.rows["facts"].append(
                {
                    "id": rec["id"],
                    "topic": rec.get("topic", ""),
                    "keywords": json.dumps([k.lower() for k in rec.get("keywords", [])]),
                    "answer": rec.get("answer", ""),
                    "source_id": source_id,
                    "quote": quote,
                }
            )
            self.versioned("facts", rec["id"], rec, where)

    def glossary(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The glossary's rows, checked after the records they may refer to: a cited term's
        quote stands in its source and holds its expansion and its definition's words; a
        reading-only term carries no source, quote or definition; a spelling names one term.
        Raises SourceError naming every bad term."""
        check = _Checker(self.check.sources)
        known = self.meeting_ids | self.economy_ids | self.person_ids
        named: dict[str, str] = {}  # a spelling's alias key: the term it names
        out = []
        for rec in records:
            term = str(rec.get("term", ""))
            where = f"term {term!r}"
            aliases = rec.get("aliases", [])
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                check.errors.append(f"{where}: aliases must be a list of strings")
                aliases = []
            source_id: str | None = None
            quote = ""
            reading = rec.get("reading_only", False) is True
            if reading:
                if rec.get("source") != "desk" or rec.get("quote") or rec.get("definition"):
                    check.errors.append(
                        f'{where}: a reading-only term has source "desk", no quote, no definition'
                    )
            else:
                problems = len(check.errors)
                source_id, quote = check.cite(where, rec)
                if len(check.errors) == problems:  # a quote that stands: is it the term's?
                    _held_to_quote(check, where, [term, *aliases], rec, quote)
            if rec.get("kind") not in GLOSSARY_KINDS:
                check.errors.append(f"{where}: kind must be one of {sorted(GLOSSARY_KINDS)}")
            check.ref(where, "record", rec.get("refers_to", ""), known)
            for name in (term, *aliases):
                key = alias_key(name)
                if not key:
                    check.errors.append(f"{where}: a spelling with no letters: {name!r}")
                elif named.setdefault(key, term) != term:
                    check.errors.append(f"{where}: {name!r} already names term {named[key]!r}")
            out.append(
                {
                    "term": term,
                    "aliases": json.dumps(aliases),
                    "expansion": rec.get("expansion", ""),
                    "definition": rec.get("definition", ""),
                    "kind": rec.get("kind", ""),
                    "refers_to": rec.get("refers_to", ""),
                    "source_id": source_id,
                    "quote": quote,
                    "reading_only": int(reading),
                }
            )
        if check.errors:
            raise SourceError(
                f"{len(check.errors)} problem(s) in {GLOSSARY_FILE}:\n  "
                + "\n  ".join(check.errors)
            )
        return out

    def finish(self, docs: list[Source], desk: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """The aliases and the build's own record; raises SourceError naming every bad record."""
        errors = self.check.errors
        if errors:
            raise SourceError(f"{len(errors)} problem(s) in {DESK_FILE}:\n  " + "\n  ".join(errors))
        self.rows["aliases"] = [
            {"kind": kind, "alias": key, "name": name, "target": target}
            for (kind, key), (name, target) in self.aliases.items()
        ]
        digest = hashlib.sha256()
        for doc in docs:
            digest.update(doc.sha256.encode())
        digest.update(json.dumps(desk, sort_keys=True, default=str).encode())
        self.rows["build_info"] = [
            {"key": "schema_version", "value": str(schema.SCHEMA_VERSION)},
            {"key": "inputs_sha256", "value": digest.hexdigest()},
        ]
        return self.rows


def derive(
    docs: list[Source], desk: dict[str, Any], with_passages: bool = True
) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """All rows of the build tables, checked; raises SourceError naming every bad record."""
    made = _Rows(docs)
    made.sources(docs)
    rows, duplicates = made.rows, 0
    if with_passages:
        rows["passages"], duplicates = _passage_rows(docs)
    made.economies(desk.get("economies", []))
    made.non_members(desk.get("non_members", []))
    made.meetings(desk.get("meetings", []))
    made.people(desk.get("people", []))
    made.roles(desk.get("roles", []))
    made.delegations(desk.get("delegations", []))
    made.facts(desk.get("facts", []))
    rows = made.finish(docs, desk)
    rows["glossary"] = made.glossary(desk.get("glossary", []))
    return rows, duplicates


def build(db: sqlite_utils.Database, seeds: Path, records_only: bool = False) -> BuildReport:
    """Replace everything derived from `seeds/` (and the desk's documents) in one transaction,
    then the desk's own changes over it: where they disagree the desk's change wins, in a note.

    The passages are derived before the write lock is taken (they are the slow part), then the
    transaction checks that the desk's documents are still those it derived from (an ingest may
    have added one: derive again) and reads the desk's edits inside, so an edit acknowledged
    while a build runs is never left out. `records_only` re-derives the structured records and
    leaves the passages as they are: what a desk edit needs, fast however many documents there are.
    """
    started = time.perf_counter()
    schema.ensure(db)
    desk = load_desk(seeds)
    desk["glossary"] = load_glossary(seeds)  # its own file; in the build's inputs digest too
    seed_docs = read_sources(seeds, desk)
    while True:
        docs = seed_docs + desk_sources(db)
        rows, duplicates = derive(docs, desk, with_passages=not records_only)
        with immediate(db):
            held = {r[0] for r in db.execute("SELECT id FROM desk_documents")}  # ids, not texts
            if held != {d.id for d in docs if d.origin == "desk"}:
                continue  # a document was added meanwhile: derive again (the lock is let go)
            notes = edits.apply(rows, edits.load(db))
            tables = _replace(db, rows, records_only)
            break
    report = BuildReport(
        counts={t: len(rows[t]) for t in reversed(tables) if t != "build_info"},
        duplicates=duplicates,
        notes=notes,
    )
    report.seconds = time.perf_counter() - started
    return report


def _replace(
    db: sqlite_utils.Database, rows: dict[str, list[dict[str, Any]]], records_only: bool
) -> list[str]:
    """Empty the derived tables and write the new rows (in the caller's transaction)."""
    tables = [t for t in _DELETE_ORDER if not records_only or t not in ("sources", "passages")]
    for table in tables:
        db.execute(f"DELETE FROM [{table}]")
    if records_only:
        db.table("sources").upsert_all(
            [r for r in rows["sources"] if r["id"] == edits.DESK_SOURCE], pk="id"
        )
    for table in reversed(tables):
        if rows[table]:
            db.table(table).insert_all(rows[table], batch_size=500)
    return tables


def is_built(db: sqlite_utils.Database) -> bool:
    """Whether the store holds a build (so a fresh checkout builds on first use)."""
    return "sources" in db.table_names() and db.execute("SELECT 1 FROM sources LIMIT 1").fetchone()
