"""Watched sources: the list the desk keeps (`feeds`), polling each at most once an interval,
and the watch run, which ingests what is new and proposes the changes it holds.

A source is an RSS or Atom feed (each new item's article is fetched and read) or a page (read
itself; new text there is a new version). What each poll came to is kept on the source's record:
when it was fetched, when it last gave something new, and what went wrong, so `/apec feeds`
can say it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from store.db import immediate, rows
from store.desk import from_iso, iso
from store.errors import SourceError
from store.fetch import (
    Article,
    Fetched,
    Fetcher,
    FetchError,
    Item,
    check_url,
    read_article,
    read_feed,
)
from store.ingest import Document, IngestReport, ingest_many
from store.proposals import Proposal, propose
from store.text import clean_lines

log = logging.getLogger("apec.watch")

INTERVAL = timedelta(minutes=15)  # one request per source per interval, whoever asks
FROM_ENV = "APEC_FEEDS"  # added_by of the sources the environment names
MAX_ERROR = 500


@dataclass(frozen=True)
class Feed:
    """A watched source and what its last poll came to."""

    url: str
    added_by: str
    added_at: datetime
    kind: str = ""
    etag: str = ""
    last_modified: str = ""
    last_fetch_at: datetime | None = None
    last_new_at: datetime | None = None
    last_result: str = ""
    last_error: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Feed:
        def when(text: str) -> datetime | None:
            return from_iso(text) if text else None

        return cls(
            url=row["url"],
            added_by=row["added_by"],
            added_at=from_iso(row["added_at"]),
            kind=row["kind"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            last_fetch_at=when(row["last_fetch_at"]),
            last_new_at=when(row["last_new_at"]),
            last_result=row["last_result"],
            last_error=row["last_error"],
        )

    def due(self, now: datetime) -> bool:
        """Whether a request may go out now (a clock set back counts as due)."""
        last = self.last_fetch_at
        return last is None or now < last or now - last >= INTERVAL


def feeds(db: sqlite_utils.Database) -> list[Feed]:
    """Every watched source, in the order added."""
    return [Feed.from_row(r) for r in rows(db, "SELECT * FROM feeds ORDER BY added_at, url")]


def feed(db: sqlite_utils.Database, url: str) -> Feed | None:
    found = rows(db, "SELECT * FROM feeds WHERE url = ?", [url])
    return Feed.from_row(found[0]) if found else None


def add(db: sqlite_utils.Database, url: str, by: str, now: datetime) -> tuple[Feed, bool]:
    """Watch a source (the address checked, FetchError if it is not one); whether it is new."""
    url = check_url(url)
    with immediate(db):
        existing = feed(db, url)
        if existing is not None:
            return existing, False
        db.execute(
            "INSERT INTO feeds (url, added_by, added_at) VALUES (?, ?, ?)", [url, by, iso(now)]
        )
    added = feed(db, url)
    assert added is not None
    return added, True


def remove(db: sqlite_utils.Database, url: str) -> Feed | None:
    """Stop watching a source; the record removed, or None when it was not watched."""
    url = check_url(url)
    with immediate(db):
        existing = feed(db, url)
        if existing is not None:
            db.execute("DELETE FROM feeds WHERE url = ?", [url])
    return existing


def sync(db: sqlite_utils.Database, urls: tuple[str, ...], now: datetime, prune: bool) -> None:
    """The sources APEC_FEEDS names are watched; with `prune` (the server, whose environment is
    the one of record), those it no longer names are not. A run from a shell without the
    setting must not drop the server's sources. A source an admin added stays either way, and
    nothing is written when nothing changes."""
    held = {r["url"] for r in rows(db, "SELECT url FROM feeds WHERE added_by = ?", [FROM_ENV])}
    known = {r["url"] for r in rows(db, "SELECT url FROM feeds")}
    if set(urls) <= known and not (prune and held - set(urls)):
        return
    with immediate(db):
        for url in urls:
            db.execute(
                "INSERT OR IGNORE INTO feeds (url, added_by, added_at) VALUES (?, ?, ?)",
                [url, FROM_ENV, iso(now)],
            )
        if prune:
            marks = ", ".join("?" for _ in urls)
            db.execute(
                f"DELETE FROM feeds WHERE added_by = ? AND url NOT IN ({marks})", [FROM_ENV, *urls]
            )


@dataclass
class Found:
    """A new document from a watched source, and the proposals made from it."""

    report: IngestReport
    proposals: list[Proposal] = field(default_factory=list)


@dataclass
class Polled:
    """What polling one source came to."""

    url: str
    result: str
    error: str = ""
    found: list[Found] = field(default_factory=list)
    fetched: bool = True  # False: not due yet, no request made


def run(
    db: sqlite_utils.Database,
    *,
    now: datetime,
    seeds: Path,
    env: tuple[str, ...] = (),
    prune: bool = False,
    fetcher: Fetcher | None = None,
) -> list[Polled]:
    """Poll every watched source that is due (APEC_FEEDS's and the desk's), ingest what is new
    and propose its changes. A source that fails is recorded as failed; the others go on.
    `prune`: see `sync`."""
    sync(db, env, now, prune)
    own = fetcher is None
    fetcher = fetcher or Fetcher()
    try:
        return [_poll_guarded(db, f, fetcher, now, seeds) for f in feeds(db)]
    finally:
        if own:
            fetcher.close()


def _poll_guarded(db: sqlite_utils.Database, source: Feed, fetcher: Fetcher, now: datetime, seeds: Path) -> Polled:  # fmt: skip
    """One source's poll; a failure no source should cause (a bug, the store) is logged and
    recorded on it, and the run goes on to the next."""
    try:
        return poll(db, source, fetcher, now, seeds)
    except Exception as exc:  # noqa: BLE001 - one source must not stop the others
        log.exception("polling %s failed", source.url)
        polled = Polled(source.url, "failed", f"internal: {type(exc).__name__}: {exc}")
        try:
            return _record(db, source, now, polled)
        except Exception:  # noqa: BLE001 - the store itself is failing: logged above
            return polled


def poll(db: sqlite_utils.Database, source: Feed, fetcher: Fetcher, now: datetime, seeds: Path) -> Polled:  # fmt: skip
    """Poll one source if due: one conditional request, then its new articles; the outcome is
    recorded on the source."""
    if not source.due(now):
        assert source.last_fetch_at is not None
        after = source.last_fetch_at + INTERVAL
        return Polled(source.url, f"not due: fetched {iso(source.last_fetch_at)}, next after {iso(after)}", fetched=False)  # fmt: skip
    if not _claim(db, source, now):
        return Polled(source.url, "taken by another run polling it now", fetched=False)
    try:
        fetched = fetcher.get(source.url, source.etag, source.last_modified)
    except FetchError as exc:
        return _record(db, source, now, Polled(source.url, "failed", str(exc)))
    if fetched.status == 304:
        return _record(db, source, now, Polled(source.url, "unchanged (304)"), fetched)
    try:
        if fetched.kind == "feed":
            return _feed(db, source, fetched, fetcher, now, seeds)
        doc = _document(read_article(fetched), source.url, page=True)
    except SourceError as exc:
        return _record(db, source, now, Polled(source.url, "failed", str(exc)), kind=fetched.kind)
    polled = _ingest(db, [doc], now, seeds, Polled(source.url, ""))
    polled.result = "new version of the page" if polled.found else "page unchanged"
    return _record(db, source, now, polled, fetched, kind="page")


def _feed(db: sqlite_utils.Database, source: Feed, fetched: Fetched, fetcher: Fetcher,
          now: datetime, seeds: Path) -> Polled:  # fmt: skip
    """A feed's new items: each article fetched and read (one failing does not stop the rest)."""
    items, problem = read_feed(fetched)
    known = _known_urls(db, [i.url for i in items])
    docs, failed = _articles([i for i in items if i.url not in known], fetcher)
    error = "; ".join(([problem] if problem else []) + failed)
    polled = _ingest(db, docs, now, seeds, Polled(source.url, "", error))
    polled.result = f"{len(polled.found)} new of {len(items)} items"
    # An article that failed is tried again next time: the feed is asked for in full again.
    return _record(db, source, now, polled, None if failed else fetched, kind="feed")


def _claim(db: sqlite_utils.Database, source: Feed, now: datetime) -> bool:
    """Take the source's turn: its last fetch set to now, only if no other run has moved it since
    this one read it (two runs at once, the server's and a shell's, make one request)."""
    seen = iso(source.last_fetch_at) if source.last_fetch_at else ""
    with immediate(db):
        cursor = db.execute(
            "UPDATE feeds SET last_fetch_at = ? WHERE url = ? AND last_fetch_at = ?",
            [iso(now), source.url, seen],
        )
    return cursor.rowcount == 1


def _articles(items: list[Item], fetcher: Fetcher) -> tuple[list[Document], list[str]]:
    """Each item's article fetched and read as a document, and what failed ("URL: why")."""
    docs, failed = [], []
    for item in items:
        try:
            article = read_article(fetcher.get(item.url))
            docs.append(_document(article, item.url, title=item.title, published=item.published))
        except FetchError as exc:
            failed.append(f"{item.url}: {exc}")
    return docs, failed


def documents_at(url: str, fetcher: Fetcher) -> tuple[list[Document], list[str]]:
    """The documents at an address (a page's article, or a feed's items' articles), fetched as
    a watch fetches them, and what could not be read (FetchError when nothing could)."""
    fetched = fetcher.get(check_url(url))
    if fetched.kind != "feed":
        return [_document(read_article(fetched), fetched.url)], []
    items, problem = read_feed(fetched)
    docs, failed = _articles(items, fetcher)
    return docs, ([problem] if problem else []) + failed


def _known_urls(db: sqlite_utils.Database, urls: list[str]) -> set[str]:
    if not urls:
        return set()
    marks = ", ".join("?" for _ in urls)
    return {r["url"] for r in rows(db, f"SELECT url FROM desk_documents WHERE url IN ({marks})", urls)}  # fmt: skip


def _document(article: Article, url: str, title: str = "", published: date | None = None,
              page: bool = False) -> Document:  # fmt: skip
    """An article as a document: its title as a heading over its text, named by its address."""
    title = title or article.title
    text = article.text
    first = text.splitlines()[0].strip() if text else ""
    if title and first.lstrip("# ").strip() != title:
        text = f"# {title}\n\n{text}"
    if not clean_lines(text):
        raise FetchError("no text left in the article once cleaned")
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or urlsplit(url).hostname or url
    return Document(text, name[:120], url, title, published or article.published, page)


def _ingest(db: sqlite_utils.Database, docs: list[Document], now: datetime, seeds: Path,
            polled: Polled) -> Polled:  # fmt: skip
    """Ingest the documents in one go, and propose from each new one."""
    if not docs:
        return polled
    for report in ingest_many(db, docs, now=now, seeds=seeds):
        if report.new:
            polled.found.append(Found(report, propose(db, report, now)))
    return polled


def _record(db: sqlite_utils.Database, source: Feed, now: datetime, polled: Polled,
            fetched: Fetched | None = None, kind: str = "") -> Polled:  # fmt: skip
    """Keep what the poll came to on the source's record: the validators only from a clean
    fetch, and the last new item only when this poll found one (another run's is kept)."""
    etag = fetched.etag if fetched is not None else None
    modified = fetched.last_modified if fetched is not None else None
    found = iso(now) if polled.found else None
    with immediate(db):
        db.execute(
            """UPDATE feeds SET kind = COALESCE(NULLIF(?, ''), kind), etag = COALESCE(?, etag),
                   last_modified = COALESCE(?, last_modified), last_fetch_at = ?,
                   last_new_at = COALESCE(?, last_new_at), last_result = ?, last_error = ?
               WHERE url = ?""",
            [kind, etag, modified, iso(now), found, polled.result, polled.error[:MAX_ERROR],
             source.url],
        )  # fmt: skip
    if polled.error:
        log.warning("watched source %s: %s", source.url, polled.error)
    return polled
