"""Reading new documents into the store: a document is kept among the desk's documents (once,
by content), the store rebuilt over it, and what it holds reported (dates, economies, people and
meetings, each with the sentence it stands in)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import sqlite_utils

from store import schema
from store.build import build, sha256
from store.dates import find_dates
from store.db import immediate
from store.desk import iso
from store.errors import SourceError
from store.names import Matcher
from store.text import clean_lines


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
    sha = sha256(data)
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
