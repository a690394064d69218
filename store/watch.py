"""Watched sources: the list the desk keeps (`feeds`), polling each at most once an interval,
and the watch run, which ingests what is new and proposes the changes it holds.

A source is an RSS or Atom feed (each new item's article is read: from the feed when it carries
the item's full text, else fetched) or a page (read itself; new text there is a new version).
What each poll came to is kept on the source's record: when it was fetched, when it last gave
something new, and what went wrong, so `/apec feeds` can say it.

A run fetches a few sources at once (WORKERS threads, a source's own requests one after
another), so a source that stalls until its deadline holds up no other; everything written to
the store is written by the calling thread, each source's outcome as soon as it has one.

A poll is marked begun before its first request and fetched only when it ends: a poll found
begun and never ended (the process died during it, out of memory say) is recorded as failed
with that reason, and the source is left alone for twice as long after each such death.

A feed's items are read newest first, at most MAX_ITEMS a poll; the rest wait for the next
polls (the feed is then asked for in full, not with its ETag, so a 304 cannot hide them). Each
item read, or given up on after MAX_TRIES failures, is noted (`feed_items`), so none is skipped
and none is read twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from store.db import immediate, rows
from store.desk import from_iso, iso
from store.errors import SourceError
from store.fetch import (
    DEADLINE,
    MAX_ITEMS,
    AllowList,
    Article,
    Fetched,
    Fetcher,
    FetchError,
    Item,
    check_url,
    normalize_url,
    read_article,
    read_feed,
)
from store.ingest import Document, IngestReport, ingest_many
from store.proposals import Proposal, propose
from store.text import clean, clean_lines

log = logging.getLogger("apec.watch")

INTERVAL = timedelta(minutes=15)  # one request per source per interval, whoever asks
FROM_ENV = "APEC_FEEDS"  # added_by of the sources the environment names
MAX_ERROR = 500
WORKERS = 4  # sources fetched at once
POLL_BUDGET = 240.0  # seconds a poll may start new article fetches for; the rest wait
# A poll begun longer ago than it can possibly take (its budget, then one last fetch) has died.
STALE = timedelta(seconds=POLL_BUDGET + DEADLINE + 60)
MAX_BACKOFF = timedelta(days=1)
MAX_TRIES = 3  # reads of an item that failed before it is given up
_CHUNK = 500  # addresses a query asks about at once (SQLite's limit on parameters is higher)


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
    fetch_started_at: datetime | None = None
    crashes: int = 0

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
            fetch_started_at=when(row["fetch_started_at"]),
            crashes=row["crashes"],
        )

    @property
    def pause(self) -> timedelta:
        """The time between two polls: the interval, doubled for each death in a row."""
        factor: int = 2 ** min(self.crashes, 10)  # crashes counts up from 0: a whole number
        return min(INTERVAL * factor, MAX_BACKOFF)

    def due(self, now: datetime) -> bool:
        """Whether a request may go out now (a clock set back counts as due)."""
        last = self.last_fetch_at
        return last is None or now < last or now - last >= self.pause

    @property
    def polling(self) -> bool:
        """Whether a poll has begun that has not ended (or died unrecorded)."""
        began, last = self.fetch_started_at, self.last_fetch_at
        return began is not None and (last is None or began > last)

    def died(self, now: datetime) -> bool:
        """Whether a poll begun has been running longer than any poll can (a clock set back
        counts as such)."""
        began = self.fetch_started_at
        return self.polling and began is not None and (now < began or now - began >= STALE)


def feeds(db: sqlite_utils.Database) -> list[Feed]:
    """Every watched source, in the order added."""
    return [Feed.from_row(r) for r in rows(db, "SELECT * FROM feeds ORDER BY added_at, url")]


def feed(db: sqlite_utils.Database, url: str) -> Feed | None:
    found = rows(db, "SELECT * FROM feeds WHERE url = ?", [url])
    return Feed.from_row(found[0]) if found else None


def add(
    db: sqlite_utils.Database,
    url: str,
    by: str,
    now: datetime,
    allow: AllowList | tuple[str, ...] = (),
) -> tuple[Feed, bool]:
    """Watch a source (the address checked, FetchError if it may not be fetched); whether it
    is new."""
    url = check_url(url, allow)
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
    """Stop watching a source (any, even one that may no longer be fetched); the record
    removed, or None when it was not watched."""
    url = normalize_url(url)
    with immediate(db):
        existing = feed(db, url)
        if existing is not None:
            db.execute("DELETE FROM feeds WHERE url = ?", [url])
            db.execute("DELETE FROM feed_items WHERE feed = ?", [url])
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
    max_items: int = MAX_ITEMS,
    workers: int = WORKERS,
) -> list[Polled]:
    """Poll every watched source that is due (APEC_FEEDS's and the desk's), a few at once,
    ingest what is new and propose its changes. A source that fails is recorded as failed; the
    others go on. `prune`: see `sync`. Without a `fetcher`, one with no allow list is used."""
    sync(db, env, now, prune)
    fetcher = fetcher or Fetcher()
    return _Run(db, fetcher, now, seeds, max_items).polls(feeds(db), workers)


def poll(
    db: sqlite_utils.Database,
    source: Feed,
    fetcher: Fetcher,
    now: datetime,
    seeds: Path,
    max_items: int = MAX_ITEMS,
) -> Polled:
    """Poll one source if due, as `source` was read: its outcome recorded on it."""
    return _Run(db, fetcher, now, seeds, max_items).polls([source], 1)[0]


@dataclass
class _Read:
    """What a source's fetch came to, read off the calling thread."""

    fetched: Fetched
    items: list[Item] = field(default_factory=list)
    problem: str = ""
    page: Document | None = None


@dataclass
class _Poll:
    """One source's poll under way."""

    source: Feed
    began: float  # time.monotonic(), for its budget
    read: _Read | None = None
    docs: list[Document] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # item url -> why
    items: int = 0  # in the feed
    left: int = 0  # items not read this poll: for the next
    tries: dict[str, int] = field(default_factory=dict)  # failed reads before, by item url


class _Run:
    """One watch run: sources fetched on a few threads, the store written on the calling one."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        fetcher: Fetcher,
        now: datetime,
        seeds: Path,
        max_items: int,
    ) -> None:
        self.db, self.fetcher, self.now, self.seeds = db, fetcher, now, seeds
        self.max_items = max_items

    def polls(self, sources: list[Feed], workers: int) -> list[Polled]:
        """Poll the sources, `workers` at a time; what each came to, in their order."""
        results: dict[str, Polled] = {}
        waiting = list(sources)
        active: dict[Future[Any], _Poll] = {}
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="apec-watch") as pool:
            while waiting or active:
                while waiting and len(active) < workers:
                    source = waiting.pop(0)
                    begun = self._guarded(source, partial(self._begin, source, pool))
                    if isinstance(begun, Polled):
                        results[source.url] = begun
                    else:
                        active[begun[0]] = begun[1]
                if not active:
                    continue
                done, _ = wait(active, return_when=FIRST_COMPLETED)
                for future in done:
                    state = active.pop(future)
                    step = self._guarded(
                        state.source, partial(self._step, future, state, pool), state
                    )
                    if isinstance(step, Polled):
                        results[state.source.url] = step
                    else:
                        active[step[0]] = step[1]
        return [results[s.url] for s in sources]

    def _guarded(
        self,
        source: Feed,
        step: Callable[[], Polled | tuple[Future[Any], _Poll]],
        state: _Poll | None = None,
    ) -> Polled | tuple[Future[Any], _Poll]:
        """A step of a source's poll; a failure no source should cause (a bug, the store) is
        logged and recorded on it, and the run goes on to the others."""
        try:
            return step()
        except Exception as exc:  # noqa: BLE001 - one source must not stop the others
            log.exception("polling %s failed", source.url)
            polled = Polled(source.url, "failed", f"internal: {type(exc).__name__}: {exc}")
            if state is None:
                return polled
            try:
                return self._record(state, polled)
            except Exception:  # noqa: BLE001 - the store itself is failing: logged above
                return polled

    def _begin(self, source: Feed, pool: ThreadPoolExecutor) -> Polled | tuple[Future[Any], _Poll]:
        """Claim the source's turn and start its fetch, or say why not."""
        if source.died(self.now):
            return _died(self.db, source, self.now)
        if source.polling:
            assert source.fetch_started_at is not None
            return Polled(
                source.url,
                f"being polled by another run (begun {iso(source.fetch_started_at)})",
                fetched=False,
            )
        if not source.due(self.now):
            assert source.last_fetch_at is not None
            after = source.last_fetch_at + source.pause
            return Polled(
                source.url,
                f"not due: fetched {iso(source.last_fetch_at)}, next after {iso(after)}",
                fetched=False,
            )
        if self.fetcher.stopped:
            return Polled(source.url, "not polled: the watch is stopping", fetched=False)
        if not _claim(self.db, source, self.now):
            return Polled(source.url, "taken by another run polling it now", fetched=False)
        state = _Poll(source, time.monotonic())
        return pool.submit(_fetch_source, self.fetcher, source), state

    def _step(
        self, future: Future[Any], state: _Poll, pool: ThreadPoolExecutor
    ) -> Polled | tuple[Future[Any], _Poll]:
        """The next step of a poll once its source, or its articles, have been fetched."""
        source = state.source
        if self.fetcher.stopped:  # ended by abort(): as if not begun, polled again after
            _release(self.db, source, self.now)
            return Polled(source.url, "not polled: the watch stopped during it", fetched=False)
        if state.read is None:
            try:
                state.read = future.result()
            except SourceError as exc:
                return self._record(state, Polled(source.url, "failed", str(exc)))
            assert state.read is not None
            if state.read.fetched.status == 304:
                return self._record(state, Polled(source.url, "unchanged (304)"))
            if state.read.page is not None:
                state.docs.append(state.read.page)
                return self._finish(state)
            fetch = self._choose(state)
            if fetch:
                until = state.began + POLL_BUDGET
                return pool.submit(_fetch_articles, self.fetcher, fetch, until), state
            return self._finish(state)
        docs, failed, untried = future.result()
        state.docs += docs
        state.failed.update(failed)
        state.left += untried
        return self._finish(state)

    def _choose(self, state: _Poll) -> list[Item]:
        """The feed's items this poll reads, newest first: those never read, then those whose
        reads failed before; an item carrying its own text is read at once. The articles to
        fetch are returned."""
        assert state.read is not None
        items = state.read.items
        done, tries = _item_states(self.db, state.source.url, [i.url for i in items])
        fresh = [i for i in items if i.url not in done and i.url not in tries]
        again = [i for i in items if i.url in tries and i.url not in done]
        queue = fresh + again
        take = queue[: self.max_items]
        state.items, state.left = len(items), len(queue) - len(take)
        state.tries = tries
        fetch = []
        for item in take:
            if not item.text:
                fetch.append(item)
                continue
            try:
                state.docs.append(_own_document(item))
            except SourceError as exc:
                state.failed[item.url] = str(exc)
        return fetch

    def _finish(self, state: _Poll) -> Polled:
        """Ingest what the poll read, propose from each new document, and record it all."""
        source = state.source
        read = state.read
        assert read is not None
        problem = [read.problem] if read.problem else []
        polled = Polled(
            source.url, "", "; ".join(problem + [f"{u}: {why}" for u, why in state.failed.items()])
        )
        if state.docs:
            # Read against the day the source gives, else the day it was read: never against a
            # "Reference date:" line of the page's own (one dated on no day would fail them all).
            docs = [replace(d, reference=d.reference or self.now.date()) for d in state.docs]
            for report in ingest_many(self.db, docs, now=self.now, seeds=self.seeds):
                if report.new:
                    polled.found.append(Found(report, self._propose(report, source.url)))
        if read.page is not None:
            polled.result = "new version of the page" if polled.found else "page unchanged"
        else:
            polled.result = f"{len(polled.found)} new of {state.items} items"
            given_up = [
                u for u, _ in state.failed.items() if state.tries.get(u, 0) + 1 >= MAX_TRIES
            ]
            if given_up:
                polled.result += f"; {len(given_up)} given up after {MAX_TRIES} tries"
            if state.left:
                polled.result += f"; {state.left} left for the next polls"
        return self._record(state, polled)

    def _propose(self, report: IngestReport, origin: str) -> list[Proposal]:
        # A document that names nothing (no date, meeting, economy or person) can propose
        # nothing: propose() is not asked, as it reads every meeting before it looks.
        if not report.findings:
            return []
        return propose(self.db, report, self.now, origin=origin)

    def _record(self, state: _Poll, polled: Polled) -> Polled:
        """Keep what the poll came to on the source's record, and the items it read on theirs.
        The validators (ETag, date) only from a clean read with nothing left to read: anything
        left, the feed is asked for in full next time."""
        source, read = state.source, state.read
        fetched = read.fetched if read is not None else None
        retry = any(state.tries.get(u, 0) + 1 < MAX_TRIES for u in state.failed)
        if fetched is None:
            etag = modified = None  # a failed fetch keeps the validators of the last good one
        elif fetched.status == 304:
            etag, modified = fetched.etag, fetched.last_modified
        elif state.left or retry:
            etag = modified = ""
        else:
            etag, modified = fetched.etag, fetched.last_modified
        kind = ""
        if read is not None and read.fetched.status == 200:
            kind = "page" if read.page is not None else "feed"
        found = iso(self.now) if polled.found else None
        read_now = {d.url for d in state.docs}
        with immediate(self.db):
            self.db.execute(
                """UPDATE feeds SET kind = COALESCE(NULLIF(?, ''), kind), etag = COALESCE(?, etag),
                       last_modified = COALESCE(?, last_modified), last_fetch_at = ?,
                       last_new_at = COALESCE(?, last_new_at), last_result = ?, last_error = ?,
                       crashes = 0
                   WHERE url = ?""",
                [
                    kind,
                    etag,
                    modified,
                    iso(self.now),
                    found,
                    polled.result,
                    polled.error[:MAX_ERROR],
                    source.url,
                ],
            )
            if read is not None and read.page is None and fetched and fetched.status == 200:
                _note_items(self.db, source.url, read_now, state.failed, self.now)
        if polled.error:
            log.warning("watched source %s: %s", source.url, polled.error[:MAX_ERROR])
        return polled


def _fetch_source(fetcher: Fetcher, source: Feed) -> _Read:
    """A source fetched and read (on a worker thread: no store here)."""
    fetched = fetcher.get(source.url, source.etag, source.last_modified)
    if fetched.status == 304:
        return _Read(fetched)
    if fetched.kind == "feed":
        items, problem = read_feed(fetched)
        return _Read(fetched, items, problem)
    return _Read(fetched, page=_document(read_article(fetched), source.url, page=True))


def _fetch_articles(
    fetcher: Fetcher, items: list[Item], until: float
) -> tuple[list[Document], dict[str, str], int]:
    """Each item's article fetched and read, one after another (one request at a time to a
    source's site), until the poll's budget is spent: the documents, what failed ("why" by
    address), and how many were not tried (left for the next poll)."""
    docs: list[Document] = []
    failed: dict[str, str] = {}
    for n, item in enumerate(items):
        if time.monotonic() > until or fetcher.stopped:
            return docs, failed, len(items) - n
        try:
            article = read_article(fetcher.get(item.url))
            docs.append(_document(article, item.url, title=item.title, published=item.published))
        except SourceError as exc:
            failed[item.url] = str(exc)
    return docs, failed, 0


def _claim(db: sqlite_utils.Database, source: Feed, now: datetime) -> bool:
    """Take the source's turn: its poll marked begun, only if no other run has begun or ended
    one since this one read it (two runs at once, the server's and a shell's, make one request)."""
    began = iso(source.fetch_started_at) if source.fetch_started_at else ""
    last = iso(source.last_fetch_at) if source.last_fetch_at else ""
    with immediate(db):
        cursor = db.execute(
            """UPDATE feeds SET fetch_started_at = ?
               WHERE url = ? AND fetch_started_at = ? AND last_fetch_at = ?""",
            [iso(now), source.url, began, last],
        )
    return cursor.rowcount == 1


def _release(db: sqlite_utils.Database, source: Feed, now: datetime) -> None:
    """Give the turn back: the poll marked begun as it was before this run claimed it."""
    before = iso(source.fetch_started_at) if source.fetch_started_at else ""
    with immediate(db):
        db.execute(
            "UPDATE feeds SET fetch_started_at = ? WHERE url = ? AND fetch_started_at = ?",
            [before, source.url, iso(now)],
        )


def _died(db: sqlite_utils.Database, source: Feed, now: datetime) -> Polled:
    """A poll begun and never ended: recorded as failed, the source left alone for longer."""
    began = source.fetch_started_at
    assert began is not None
    after = began + min(INTERVAL * 2 ** min(source.crashes + 1, 10), MAX_BACKOFF)
    error = (
        f"the bot stopped during this source's poll (begun {iso(began)}): it may have run "
        f"out of memory or been restarted; not tried again before {iso(after)}"
    )
    last = iso(source.last_fetch_at) if source.last_fetch_at else ""
    with immediate(db):
        db.execute(
            """UPDATE feeds SET last_fetch_at = fetch_started_at, last_result = 'failed',
                   last_error = ?, crashes = crashes + 1
               WHERE url = ? AND fetch_started_at = ? AND last_fetch_at = ?""",
            [error, source.url, iso(began), last],
        )
    log.warning("watched source %s: %s", source.url, error)
    return Polled(source.url, "failed", error, fetched=False)


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _item_states(
    db: sqlite_utils.Database, feed_url: str, urls: list[str]
) -> tuple[set[str], dict[str, int]]:
    """Of a feed's items, those read already (or given up on), and the failed reads of the
    others tried before. An article the desk holds under its address (from another feed, or
    before items were noted) counts as read."""
    done: set[str] = set()
    tries: dict[str, int] = {}
    noted = rows(db, "SELECT url, done, tries FROM feed_items WHERE feed = ?", [feed_url])
    for row in noted:
        if row["done"] or row["tries"] >= MAX_TRIES:
            done.add(row["url"])
        else:
            tries[row["url"]] = row["tries"]
    unknown = [u for u in urls if u not in done and u not in tries]
    for chunk in _chunks(unknown):
        marks = ", ".join("?" for _ in chunk)
        held = rows(db, f"SELECT url FROM desk_documents WHERE url IN ({marks})", chunk)
        done.update(r["url"] for r in held)
    return done, tries


def _note_items(
    db: sqlite_utils.Database, feed_url: str, read: set[str], failed: dict[str, str], now: datetime
) -> None:
    """Note the items read (a document, new or held already) and the reads that failed, in
    the caller's transaction."""
    at = iso(now)
    db.conn.executemany(
        """INSERT INTO feed_items (feed, url, done, tries, error, at) VALUES (?, ?, 1, 0, '', ?)
           ON CONFLICT (feed, url) DO UPDATE SET done = 1, error = '', at = excluded.at""",
        [(feed_url, url, at) for url in read],
    )
    db.conn.executemany(
        """INSERT INTO feed_items (feed, url, done, tries, error, at) VALUES (?, ?, 0, 1, ?, ?)
           ON CONFLICT (feed, url) DO UPDATE SET tries = tries + 1, error = excluded.error,
               at = excluded.at""",
        [(feed_url, url, why[:MAX_ERROR], at) for url, why in failed.items()],
    )


def documents_at(
    url: str, fetcher: Fetcher, max_items: int = MAX_ITEMS
) -> tuple[list[Document], list[str]]:
    """The documents at an address (a page's article, or a feed's newest items' articles),
    fetched as a watch fetches them, and what could not be read (FetchError when nothing could)."""
    fetched = fetcher.get(check_url(url, fetcher.allow))
    if fetched.kind != "feed":
        return [_document(read_article(fetched), fetched.url)], []
    items, problem = read_feed(fetched)
    docs: list[Document] = []
    failed: list[str] = [problem] if problem else []
    fetch = []
    for item in items[:max_items]:
        if not item.text:
            fetch.append(item)
            continue
        try:
            docs.append(_own_document(item))
        except SourceError as exc:
            failed.append(f"{item.url}: {exc}")
    fetched_docs, fetch_failed, _ = _fetch_articles(fetcher, fetch, float("inf"))
    return docs + fetched_docs, failed + [f"{u}: {why}" for u, why in fetch_failed.items()]


def _own_document(item: Item) -> Document:
    """An item whose feed carries its full text, as a document: the publisher's own text, as
    the page would give it without the page's furniture, so the page is not asked for."""
    article = Article(item.url, item.title, item.text, item.published)
    return _document(article, item.url, item.title, item.published)


def _document(
    article: Article, url: str, title: str = "", published: date | None = None, page: bool = False
) -> Document:
    """An article as a document: its title as a heading over its text, named by its address."""
    title = clean(title or article.title)
    text = clean(article.text, multiline=True)  # what a source sends is cleaned before all else
    first = text.splitlines()[0].strip() if text else ""
    if title and first.lstrip("# ").strip() != title:
        text = f"# {title}\n\n{text}"
    if not clean_lines(text):
        raise FetchError("no text left in the article once cleaned")
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or urlsplit(url).hostname or url
    return Document(text, name[:120], url, title, published or article.published, page)
