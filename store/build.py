"""Building the store from seeds/: sources, passages, the desk's structured records, all checked."""

from __future__ import annotations

import copy
import hashlib
import json
import re
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
from store.desk import iso
from store.edits import MEETING_KINDS, STATUSES
from store.errors import SourceError
from store.names import Matcher, alias_key
from store.text import clean_lines, fold_key, passages, stands_in

DESK_FILE = "desk.toml"
# Children before parents: the order rows are deleted in, reversed for inserting.
_DELETE_ORDER = [
    "objectives",
    "delegation_members",
    "delegations",
    "roles",
    "people",
    "facts",
    "aliases",
    "non_members",
    "economies",
    "meetings",
    "passages",
    "sources",
    "build_info",
]


@dataclass
class SourceDoc:
    """A source document as read from disk (or from the desk's ingested documents)."""

    id: str
    title: str
    publisher: str
    kind: str
    reference_date: date
    file: str
    original_name: str
    text: str
    sha256: str
    origin: str = "seed"
    added_at: str = ""
    note: str = ""


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


def _sha256(data: bytes) -> str:
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
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SourceError(f"no desk file at {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"{path}: {exc}") from exc


def read_sources(seeds: Path, desk: dict[str, Any]) -> list[SourceDoc]:
    """Every seed source named in the desk file, read byte for byte and checksummed."""
    docs = []
    for rec in desk.get("sources", []):
        where = f"source {rec.get('id', '?')!r}"
        try:
            path = seeds / rec["file"]
            data = path.read_bytes()
            ref = rec["reference_date"]
            docs.append(
                SourceDoc(
                    id=rec["id"],
                    title=rec["title"],
                    publisher=rec.get("publisher", ""),
                    kind=rec.get("kind", ""),
                    reference_date=ref if isinstance(ref, date) else date.fromisoformat(ref),
                    file=rec["file"],
                    original_name=rec.get("original_name", Path(rec["file"]).name),
                    text=data.decode("utf-8"),
                    sha256=_sha256(data),
                    note=rec.get("note", ""),
                )
            )
        except KeyError as exc:
            raise SourceError(f"{where}: missing field {exc}") from exc
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise SourceError(f"{where}: {exc}") from exc
    return docs


def desk_sources(db: sqlite_utils.Database) -> list[SourceDoc]:
    """The documents the desk added with `apec-bot ingest`, as sources."""
    if "desk_documents" not in db.table_names():
        return []
    return [
        SourceDoc(
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

    def __init__(self, sources: dict[str, SourceDoc]) -> None:
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


def _passage_rows(docs: list[SourceDoc]) -> tuple[list[dict[str, Any]], int]:
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


def derive(
    docs: list[SourceDoc], desk: dict[str, Any], with_passages: bool = True
) -> tuple[dict[str, list[dict]], int]:
    """All rows of the build tables, checked; raises SourceError naming every bad record."""
    sources = {d.id: d for d in docs}
    check = _Checker(sources)
    rows: dict[str, list[dict]] = {t: [] for t in _DELETE_ORDER}
    aliases: dict[tuple[str, str], tuple[str, str]] = {}

    def alias(kind: str, name: str, target: str, where: str) -> None:
        key = alias_key(name)
        if not key:
            return
        other = aliases.get((kind, key))
        if other is not None and other[1] != target:
            check.errors.append(f"{where}: alias {name!r} already names {other[1]!r}")
        aliases.setdefault((kind, key), (name, target))

    for doc in docs:
        rows["sources"].append(
            {
                "id": doc.id,
                "title": doc.title,
                "publisher": doc.publisher,
                "kind": doc.kind,
                "reference_date": doc.reference_date.isoformat(),
                "file": doc.file,
                "original_name": doc.original_name,
                "sha256": doc.sha256,
                "origin": doc.origin,
                "added_at": doc.added_at,
                "note": doc.note,
            }
        )
    rows["passages"], duplicates = _passage_rows(docs) if with_passages else ([], 0)

    economies = {}
    for rec in desk.get("economies", []):
        where = f"economy {rec.get('id', '?')!r}"
        source_id, quote = check.cite(where, rec)
        economies[rec["id"]] = rec
        rows["economies"].append(
            {"id": rec["id"], "name": rec["name"], "source_id": source_id, "quote": quote}
        )
        for name in (rec["id"], rec["name"], *rec.get("aliases", [])):
            alias("economy", name, rec["id"], where)
    for rec in desk.get("non_members", []):
        rows["non_members"].append({"name": rec["name"]})
        for name in (rec["name"], *rec.get("aliases", [])):
            key = alias_key(name)
            if ("economy", key) in aliases:
                check.errors.append(f"non-member {rec['name']!r}: {name!r} names a member")
            alias("non_member", name, rec["name"], f"non-member {rec['name']!r}")

    meeting_ids = {rec.get("id") for rec in desk.get("meetings", [])}
    for rec in desk.get("meetings", []):
        where = f"meeting {rec.get('id', '?')!r}"
        source_id, quote = check.cite(where, rec)
        span = check.span(where, rec)
        if rec.get("kind") not in MEETING_KINDS:
            check.errors.append(f"{where}: kind must be one of {sorted(MEETING_KINDS)}")
        if rec.get("status") not in STATUSES:
            check.errors.append(f"{where}: status must be one of {sorted(STATUSES)}")
        check.ref(where, "parent meeting", rec.get("parent", ""), meeting_ids)
        check.ref(where, "host economy", rec.get("host", ""), economies)
        rows["meetings"].append(
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
        for name in (rec["id"], rec.get("short", ""), rec["name"], *rec.get("aliases", [])):
            alias("meeting", name, rec["id"], where)

    people = {rec.get("id") for rec in desk.get("people", [])}
    for rec in desk.get("people", []):
        where = f"person {rec.get('id', '?')!r}"
        source_id, quote = check.cite(where, rec)
        check.ref(where, "economy", rec.get("economy", ""), economies)
        rows["people"].append(
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
        for name in (rec["name"], *rec.get("aliases", [])):
            alias("person", name, rec["id"], where)

    for n, rec in enumerate(desk.get("roles", []), 1):
        where = f"role {n} ({rec.get('person', '?')})"
        source_id, quote = check.cite(where, rec)
        check.ref(where, "person", rec.get("person", ""), people)
        check.ref(where, "meeting", rec.get("meeting", ""), meeting_ids)
        rows["roles"].append(
            {
                "id": n,
                "person_id": rec.get("person", ""),
                "role": rec.get("role", ""),
                "meeting_id": rec.get("meeting", ""),
                "source_id": source_id,
                "quote": quote,
            }
        )

    objective_id = 0
    for rec in desk.get("delegations", []):
        where = f"delegation {rec.get('id', '?')!r}"
        source_id, quote = check.cite(where, rec)
        check.ref(where, "economy", rec.get("economy", ""), economies)
        check.ref(where, "meeting", rec.get("meeting", ""), meeting_ids)
        check.ref(where, "head", rec.get("head", ""), people)
        rows["delegations"].append(
            {
                "id": rec["id"],
                "economy_id": rec.get("economy", ""),
                "meeting_id": rec.get("meeting", ""),
                "head_id": rec.get("head", ""),
                "source_id": source_id,
                "quote": quote,
            }
        )
        for member in rec.get("members", []):
            check.ref(where, "member", member.get("person", ""), people)
            m_source, m_quote = (source_id, quote)
            if member.get("quote"):
                m_source, m_quote = check.cite(f"{where} member {member['person']!r}", member)
            rows["delegation_members"].append(
                {
                    "delegation_id": rec["id"],
                    "person_id": member.get("person", ""),
                    "role": member.get("role", ""),
                    "source_id": m_source,
                    "quote": m_quote,
                }
            )
        for obj in rec.get("objectives", []):
            objective_id += 1
            o_source, o_quote = check.cite(f"{where} objective {obj.get('text', '')[:30]!r}", obj)
            rows["objectives"].append(
                {
                    "id": objective_id,
                    "delegation_id": rec["id"],
                    "text": obj.get("text", ""),
                    "source_id": o_source,
                    "quote": o_quote,
                }
            )

    for rec in desk.get("facts", []):
        where = f"fact {rec.get('id', '?')!r}"
        source_id, quote = check.cite(where, rec)
        rows["facts"].append(
            {
                "id": rec["id"],
                "topic": rec.get("topic", ""),
                "keywords": json.dumps([k.lower() for k in rec.get("keywords", [])]),
                "answer": rec.get("answer", ""),
                "source_id": source_id,
                "quote": quote,
            }
        )

    if check.errors:
        raise SourceError(
            f"{len(check.errors)} problem(s) in {DESK_FILE}:\n  " + "\n  ".join(check.errors)
        )
    rows["aliases"] = [
        {"kind": kind, "alias": key, "name": name, "target": target}
        for (kind, key), (name, target) in aliases.items()
    ]
    digest = hashlib.sha256()
    for doc in docs:
        digest.update(doc.sha256.encode())
    digest.update(json.dumps(desk, sort_keys=True, default=str).encode())
    rows["build_info"] = [
        {"key": "schema_version", "value": str(schema.SCHEMA_VERSION)},
        {"key": "inputs_sha256", "value": digest.hexdigest()},
    ]
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
    seed_docs = read_sources(seeds, desk)
    while True:
        docs = seed_docs + desk_sources(db)
        rows, duplicates = derive(docs, desk, with_passages=not records_only)
        with immediate(db):
            if {d.id for d in desk_sources(db)} != {d.id for d in docs if d.origin == "desk"}:
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


def _replace(db: sqlite_utils.Database, rows: dict[str, list[dict[str, Any]]], records_only: bool) -> list[str]:  # fmt: skip
    """Empty the derived tables and write the new rows (in the caller's transaction)."""
    tables = [t for t in _DELETE_ORDER if not records_only or t not in ("sources", "passages")]
    for table in tables:
        db.execute(f"DELETE FROM [{table}]")
    if records_only:
        db["sources"].upsert_all(
            [r for r in rows["sources"] if r["id"] == edits.DESK_SOURCE], pk="id"
        )
    for table in reversed(tables):
        if rows[table]:
            db[table].insert_all(rows[table], batch_size=500)
    return tables


def is_built(db: sqlite_utils.Database) -> bool:
    """Whether the store holds a build (so a fresh checkout builds on first use)."""
    return "sources" in db.table_names() and db.execute("SELECT 1 FROM sources LIMIT 1").fetchone()


@dataclass
class Finding:
    """Something ingest recognised, with the sentence it stands in."""

    kind: str  # date, economy, person, meeting
    value: str
    sentence: str


@dataclass
class IngestReport:
    """What one ingested document holds."""

    source_id: str
    title: str
    reference_date: date
    passages: int
    new: bool
    findings: list[Finding]


_REFERENCE = re.compile(r"reference date:\s*(\d{4}-\d{2}-\d{2})", re.IGNORECASE)
_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'\u201c(])")


def _alias_map(db: sqlite_utils.Database, kind: str, table: str, name_col: str) -> dict[str, str]:
    """Every display name and alias of one kind, as people write them, to the record's name."""
    names = {r["id"]: r[name_col] for r in db.query(f"SELECT id, {name_col} FROM [{table}]")}
    out = {name: name for name in names.values()}
    return out | {
        r["name"]: names[r["target"]]
        for r in db.query("SELECT name, target FROM aliases WHERE kind = ?", [kind])
        if r["target"] in names
    }


def analyse(db: sqlite_utils.Database, text: str, reference: date) -> list[Finding]:
    """Dates, economies, people and meetings in a text, each with its sentence."""
    findings: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    maps = {
        "economy": Matcher(_alias_map(db, "economy", "economies", "name")),
        "person": Matcher(_alias_map(db, "person", "people", "name")),
        "meeting": Matcher(_alias_map(db, "meeting", "meetings", "name")),
    }
    sentences = dict.fromkeys(s for line in clean_lines(text) for s in _SENTENCES.split(line))
    for sentence in sentences:  # a sentence repeated is read once
        for phrase, span in find_dates(sentence, reference):
            item = ("date", f"{phrase} -> {span.describe()}", sentence)
            if item not in seen:
                seen.add(item)
                findings.append(Finding(*item))
        for kind, names in maps.items():
            for _, name in names.find(sentence):
                item = (kind, name, sentence)
                if item not in seen:
                    seen.add(item)
                    findings.append(Finding(*item))
    return findings


def ingest(db: sqlite_utils.Database, path: Path, now: datetime, seeds: Path) -> IngestReport:
    """Add a document to the desk's documents, rebuild, and report what it holds."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    lines = clean_lines(text)
    if not lines:
        raise SourceError(f"{path}: no text in it")
    sha = _sha256(data)
    match = _REFERENCE.search(text)
    reference = date.fromisoformat(match.group(1)) if match else now.date()
    schema.ensure(db)
    title = lines[0].lstrip("#").strip()[:200]
    with immediate(db):  # seen already? and kept, in one transaction: two ingests keep it once
        existing = db.execute("SELECT id FROM desk_documents WHERE sha256 = ?", [sha]).fetchone()
        source_id = existing[0] if existing else f"desk-{sha[:12]}"
        if not existing:
            db.execute(
                """INSERT INTO desk_documents (id, file_name, title, reference_date, text, sha256, added_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                [source_id, path.name, title, reference.isoformat(), text, sha, iso(now)],
            )
    build(db, seeds)
    count = db.execute("SELECT count(*) FROM passages WHERE source_id = ?", [source_id]).fetchone()
    return IngestReport(
        source_id=source_id,
        title=title,
        reference_date=reference,
        passages=count[0],
        new=not existing,
        findings=analyse(db, text, reference),
    )
