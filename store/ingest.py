"""Reading new documents into the store: a document is kept among the desk's documents (once,
by content and by address), made a source with its passages at once (as a rebuild would make
them, without rebuilding), and what it holds reported (dates, economies, people and meetings,
each with the sentence it stands in). Many documents go in one transaction (`ingest_many`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import sqlite_utils

from store import schema
from store.build import build, is_built, sha256
from store.dates import find_dates
from store.db import immediate
from store.desk import iso
from store.errors import SourceError
from store.names import Matcher
from store.text import clean, clean_lines, fold_key, passages


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
    url: str = ""


@dataclass(frozen=True)
class Document:
    """A document to ingest: its text, a name for it (a file name, or the address's last part),
    where it came from, and, when known, its title and the day its relative dates are read from.
    `page`: a watched page, whose new text at a known address is a new version to keep."""

    text: str
    name: str
    url: str = ""
    title: str = ""
    reference: date | None = None
    page: bool = False


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
    return _analyse(_matchers(db), text, reference)


def _matchers(db: sqlite_utils.Database) -> dict[str, Matcher]:
    return {
        "economy": Matcher(_alias_map(db, "economy", "economies", "name")),
        "person": Matcher(_alias_map(db, "person", "people", "name")),
        "meeting": Matcher(_alias_map(db, "meeting", "meetings", "name")),
    }


def _analyse(maps: dict[str, Matcher], text: str, reference: date) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
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


def read_file(path: Path) -> Document:
    """A document file (plain text or Markdown); SourceError when it is not UTF-8 text."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    if not clean_lines(clean(text, multiline=True)):
        raise SourceError(f"{path}: no text in it")
    return Document(text, path.name)


def ingest(db: sqlite_utils.Database, path: Path, now: datetime, seeds: Path) -> IngestReport:
    """Add a document file to the desk's documents and report what it holds."""
    return ingest_many(db, [read_file(path)], now=now, seeds=seeds)[0]


def ingest_text(
    db: sqlite_utils.Database,
    text: str,
    *,
    now: datetime,
    seeds: Path,
    name: str,
    url: str = "",
    title: str = "",
    reference: date | None = None,
) -> IngestReport:
    """Add one document's text and report what it holds; seen before (the same address or the
    same text), it is not added again and its report says `new=False`."""
    doc = Document(text, name, url, title, reference)
    return ingest_many(db, [doc], now=now, seeds=seeds)[0]


def ingest_many(
    db: sqlite_utils.Database,
    docs: Sequence[Document],
    *,
    now: datetime,
    seeds: Path,
    progress: Callable[[int], None] = lambda _: None,
) -> list[IngestReport]:
    """Add documents in one write transaction (each a source with its passages at once, no
    rebuild), then report what each holds; `progress(n)` after each of the two steps' documents."""
    schema.ensure(db)
    kept = [_prepared(doc, now) for doc in docs]
    # Added in the order a build reads them (by added_at, the same for all, then id): the passage
    # two of them share is held by the same one either way.
    order = sorted(range(len(kept)), key=lambda i: sha256(kept[i].text.encode("utf-8")))
    added: dict[int, tuple[str, bool]] = {}
    with immediate(db):  # seen already? and kept, in one transaction: two ingests keep it once
        built = is_built(db)
        for i in order:
            added[i] = _add(db, kept[i], now, indexed=built)
            progress(1)
    if not built:
        build(db, seeds)
    maps = _matchers(db)
    reports = []
    for i, doc in enumerate(kept):
        source_id, new = added[i]
        count = db.execute("SELECT count(*) FROM passages WHERE source_id = ?", [source_id])
        reports.append(
            IngestReport(
                source_id=source_id,
                title=doc.title,
                reference_date=doc.reference or now.date(),
                passages=count.fetchone()[0],
                new=new,
                findings=_analyse(maps, doc.text, doc.reference or now.date()),
                url=doc.url,
            )
        )
        progress(1)
    return reports


def _prepared(doc: Document, now: datetime) -> Document:
    """The document with its text cleaned (store.text.clean: what enters the store) and its title
    and reference date settled; SourceError when it holds no text."""
    doc = replace(doc, text=clean(doc.text, multiline=True), title=clean(doc.title))
    lines = clean_lines(doc.text)
    if not lines:
        raise SourceError(f"{doc.url or doc.name}: no text in it")
    reference = doc.reference
    if reference is None:
        match = _REFERENCE.search(doc.text)
        stated = match.group(1) if match else ""
        try:
            reference = date.fromisoformat(stated) if stated else now.date()
        except ValueError:  # "2026-02-31": a document dated on no day is not one to read
            raise SourceError(f"{doc.url or doc.name}: reference date {stated} is no day") from None
    title = " ".join((doc.title or lines[0].lstrip("#")).split())[:200]
    return Document(doc.text, doc.name, doc.url, title, reference, doc.page)


def _add(
    db: sqlite_utils.Database, doc: Document, now: datetime, indexed: bool
) -> tuple[str, bool]:
    """Keep the document unless its text (or, for an article, its address) is kept already: its
    source id, and whether it is new. In the caller's transaction."""
    sha = sha256(doc.text.encode("utf-8"))
    existing = db.execute("SELECT id FROM desk_documents WHERE sha256 = ?", [sha]).fetchone()
    if existing is None and doc.url and not doc.page:
        existing = db.execute(
            "SELECT id FROM desk_documents WHERE url = ? ORDER BY added_at LIMIT 1", [doc.url]
        ).fetchone()
    if existing is not None:
        return existing[0], False
    source_id = f"desk-{sha[:12]}"
    assert doc.reference is not None
    row = [source_id, doc.name, doc.title, doc.reference.isoformat(), doc.text, sha, iso(now)]
    db.execute(
        """INSERT INTO desk_documents (id, file_name, title, reference_date, text, sha256,
                                      added_at, url)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [*row, doc.url],
    )
    if indexed:
        _index(db, source_id, doc, sha, iso(now))
    return source_id, True


def _index(
    db: sqlite_utils.Database, source_id: str, doc: Document, sha: str, added_at: str
) -> None:
    """The document's source row and passages, as the next build will make them: a passage some
    source holds already is noted there (`also_in`), not kept twice."""
    assert doc.reference is not None
    db.execute(
        """INSERT INTO sources (id, title, publisher, kind, reference_date, file, original_name,
                                sha256, origin, added_at, note)
           VALUES (?, ?, '', 'desk document', ?, ?, ?, ?, 'desk', ?, '')""",
        [source_id, doc.title, doc.reference.isoformat(), doc.name, doc.name, sha, added_at],
    )
    for seq, passage in enumerate(passages(doc.text)):
        key = fold_key(passage.text)
        held = db.execute(
            "SELECT id, source_id, also_in FROM passages WHERE hash = ?", [key]
        ).fetchone()
        if held is None:
            db.execute(
                """INSERT INTO passages (source_id, seq, heading, text, hash, also_in)
                   VALUES (?, ?, ?, ?, ?, '[]')""",
                [source_id, seq, passage.heading, passage.text, key],
            )
            continue
        also = json.loads(held[2])
        if source_id != held[1] and source_id not in also:
            db.execute(
                "UPDATE passages SET also_in = ? WHERE id = ?",
                [json.dumps([*also, source_id]), held[0]],
            )
