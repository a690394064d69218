"""What the HTTP front has already seen: signed requests (replays) and Slack events (retries).

A request's path writes nothing to disk, and reads it at most once every PULL_EVERY. Each process
keeps in memory what it has seen, for as long as each kind is good for (one memory a file,
whichever `Seen` asks), and memory decides. Every process serving the same store shares a small
SQLite file beside it (`apec.db.seen`): one writer thread a process records its keys there, in
one transaction for all the keys that wait, and prunes what is past its time (a key that comes
after a quiet spell is written at once; under load the writer begins a transaction at most every
FLUSH_EVERY seconds). What the other processes wrote comes into memory by pulls: the rows added
since the last pull, read by the writer after each write, or by a request that finds the last
pull PULL_EVERY old or more before it decides (a process's first request pulls the whole file).

So a replay (or an event retried) is refused in the process that saw the first, always; in another
process, once this one's writer has written the key and that one has pulled since: after a quiet
spell, the write's time (about a millisecond) and up to PULL_EVERY (20 ms); under load, up to
FLUSH_EVERY and PULL_EVERY (120 ms). Two copies sent to two workers inside that window both pass
(Slack retries an event seconds apart, not milliseconds). A read on each new key would close the
window to the write's time, but it let each request thread's interpreter lock go and wait to take
it back: 40% of the CPU of a kept reply under load. Not a table in the store: every write to the
store drops the store's read cache.

Writing the file is best-effort: on a full or read-only disk, or with the file's folder gone, a
request is still answered, checked against this process's memory; the failure is logged once, and
again when the file takes writes. `close()` (serve's stop) writes what waits, as does a clean exit.
The writer starts in the process that uses the record, when it first does: a thread of the parent
does not exist in a forked child.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import random
import sqlite3
import threading
import time
from pathlib import Path

from bot.kept import Kept
from store.db import open_sqlite
from store.errors import StoreError

log = logging.getLogger("apec.http")

SIGNATURE_TTL = 300.0  # Slack's signatures are good for 5 minutes either side of their timestamp
EVENT_TTL = 86_400.0  # Slack gives up retrying an event well within a day
PRUNE_EVERY = 60.0  # seconds between clearing out keys past their time to live
MAX_KEPT = 200_000  # keys of a kind a process keeps in memory at most (3.5 MB): the oldest go
# Seconds between the writer's transactions at most under load (keys wait, gathered). Each write
# takes the interpreter's lock back from the request threads half a dozen times (after each
# SQLite call), and the requests it meets wait: every 20 ms, the p99 of a kept reply at one
# connection was 1.9-2.8 times a bare Bolt app's over four runs; every 100 ms, 1.2-1.8 over eight
# (bench/load_bench.py --kinds cached).
FLUSH_EVERY = 0.1
PULL_EVERY = 0.02  # seconds a pull of the others' keys is good for, before a request pulls again
IDLE_EXIT = 5.0  # seconds without a key after which the writer ends (the next key starts one)
FLUSH_WAIT = 15.0  # seconds `close()` waits at most for the writer (past SQLite's busy timeout)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    key TEXT PRIMARY KEY,      -- kind, a space, then the signature or the event id
    kind TEXT NOT NULL,        -- 'signature' or 'event'
    at REAL NOT NULL,          -- epoch seconds the record is kept from
    writer INTEGER             -- the writing process's own number (NULL: written before it was)
);
CREATE INDEX IF NOT EXISTS seen_kind_at ON seen (kind, at);
"""
# A batch's keys of one kind (and time to live), as a JSON list of [key, kept from], in one
# statement: SQLite steps each statement with the interpreter's lock let go, and taking it
# back waits for a busy request thread (about 1 ms a step: row by row, 5,000 keys took 4 s, not
# 18 ms). A key past its time to live in the file (it may not be pruned yet) is kept from its new
# time and moved to the end, as a new row would be: the other processes pull rows past the last.
_UPSERT = """INSERT INTO seen (key, kind, at, writer)
SELECT value ->> 0, ?, value ->> 1, ? FROM json_each(?) WHERE true
ON CONFLICT (key) DO UPDATE SET at = excluded.at, writer = excluded.writer,
    rowid = (SELECT max(rowid) + 1 FROM seen)
WHERE seen.at < excluded.at - ?"""
# What is past its time, but never the last row: a new row takes the last rowid + 1, so with the
# last kept, rowids only grow and a pull (which reads past the last rowid it read) misses none.
# A batch whose keys another process wrote a moment before adds no row, and its prune could else
# take the last one and hand its rowid to the next key.
_PRUNE = "DELETE FROM seen WHERE kind = ? AND at < ? AND rowid < (SELECT max(rowid) FROM seen)"
# The rows the other processes added since a pull, up to the last row there was when it began:
# this process's own are in its memory already (read back, each a short-lived row made between
# the long-lived keys, they kept its memory growing). Rowids only grow (see _PRUNE), unless the
# file was made anew: then the next pull starts again from the first.
_TOP = "SELECT coalesce(max(rowid), 0) FROM seen"
_PULL = """SELECT key, kind, at FROM seen WHERE rowid > ? AND rowid <= ? AND writer IS NOT ?
ORDER BY rowid"""
# The same from a file an older version made, which this process's writer has not yet brought up
# to date (it has no column `writer`: none of its rows is this process's own).
_PULL_OLD = "SELECT key, kind, at FROM seen WHERE rowid > ? AND rowid <= ? ORDER BY rowid"

# Each connection's page cache (SQLite's default: 2 MB). Every request thread that pulls has its
# own connection, and over a long run each walks the whole file, a pull's few pages at a time:
# eight readers that had walked a 110,000-key file held 17 MB more between them, and 0 with this.
_SMALL_CACHE = "PRAGMA cache_size = -128"
Pending = tuple[str, str, float, float]  # key, kind, kept from, time to live


def seen_path(store_path: str | Path) -> Path:
    """The record's file for the store at `store_path`: `/x/apec.db` → `/x/apec.db.seen`."""
    return Path(f"{store_path}.seen")


class Seen:
    """Records keys once each, forgetting each kind after its time to live: in this process's
    memory, then (off the request's path) in the shared file, as far as the disk allows."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._memory = _memory_of(self.path)

    def first(self, kind: str, key: str, at: float, ttl: float, now: float) -> bool:
        """Record `key` as kept from `at`; False when it already was, within `ttl`. `now` is the
        request's time, from which what is past its time is pruned: a key may be kept from later
        (a signature stamped ahead), and pruning from there would forget keys still within
        their time.

        Memory decides: it holds this process's keys, and the others' as last pulled from the
        file (pulled first if that was PULL_EVERY ago or more). A key past its time to live
        counts as new. Nothing is written here: the writer does it.
        """
        full = f"{kind} {key}"
        if not full.isascii():  # JSON may carry a lone surrogate, which SQLite cannot take
            full = full.encode("utf-8", "backslashreplace").decode("utf-8")
        memory = self._memory
        memory.refresh()
        prune = memory.claim(full, kind, at, ttl, now)
        if prune is None:
            return False
        memory.put((full, kind, at, ttl), prune)
        return True

    def signature(self, timestamp: str, signature: str, now: float) -> bool:
        """True the first time a (timestamp, signature) pair is seen within its 5 minutes."""
        # Kept from the later of now and its timestamp: the check accepts timestamps up to 5
        # minutes ahead too, and the record must outlive every moment the pair could pass it.
        at = max(now, float(timestamp))
        return self.first("signature", f"{timestamp}:{signature}", at, SIGNATURE_TTL, now)

    def event(self, event_id: str, now: float) -> bool:
        """True the first time an `event_id` is seen within a day (False: a retry)."""
        return self.first("event", event_id[:200], now, EVENT_TTL, now)

    def flush(self, timeout: float = FLUSH_WAIT) -> bool:
        """Wait until the keys seen so far are written (or their write failed); False if the
        writer took longer than `timeout` seconds."""
        return self._memory.flush(timeout)

    def count(self, kind: str) -> int:
        """How many keys of `kind` the file holds once the waiting ones are written (for tests
        and operators)."""
        self.flush()
        return self._memory.count(kind)

    def close(self) -> None:
        """Write what waits, end the writer, and close this thread's connection."""
        self._memory.flush(FLUSH_WAIT, end=True)
        self._memory.close_reader()


class _Memory:
    """One process's record of one file: the keys it has seen, and those waiting for the file.

    `lock` guards everything here; no I/O happens while it is held."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reset()

    def reset(self) -> None:
        """Locks and threads anew (at start, and in a forked child: the parent's may be held)."""
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.local = threading.local()  # each thread's read connection
        # kind -> each key's digest, with the time it is kept from. A digest (`hash`, 64 bits,
        # keyed afresh for each process) in place of the key: two keys of a few hundred thousand
        # share one by a chance of about 1 in 10^9. 16 bytes a key, not a dict's 90 (`Kept`).
        self.kept: dict[str, Kept] = getattr(self, "kept", {})
        self.pruned: dict[str, float] = getattr(self, "pruned", {})  # kind -> last pruned at
        self.pending: list[Pending] = []
        self.prunes: dict[str, float] = {}  # kind -> the file forgets what is kept from before
        self.queued = self.written = 0  # writes handed to the writer, and those it has done
        self.writer = 0  # pid of the process whose writer thread runs; 0: none runs
        self.token: object = None  # the running writer's own
        self.idle = False  # the writer waits for keys (so a new key wakes it)
        self.urgent = False  # someone waits for the writer: no gathering
        self.wrote = float("-inf")  # when the last write began (time.monotonic())
        self.end = False  # the writer ends once nothing waits
        self.failing = False  # whether the file's last use failed (logged once a spell)
        # Goes up when a spell ends: a connection opened during it (read-only) is opened anew.
        self.spells = getattr(self, "spells", 0)
        self.pulling = threading.Lock()  # one pull at a time; held across its read, not `lock`
        self.pulled = getattr(self, "pulled", 0)  # the last rowid pulled
        self.pulled_at = float("-inf")  # when the last pull began (time.monotonic())
        self.unreadable = False  # whether the last pull failed (logged once a spell)
        self.rows_pulled = getattr(self, "rows_pulled", 0)  # rows pulls have read (for tests)
        # This process's own number in the file's `writer` column, new in a forked child (a
        # process id may come again after a restart, in a container above all: this may not).
        self.writer_id = random.getrandbits(62)

    def claim(self, full: str, kind: str, at: float, ttl: float, now: float) -> float | None:
        """In memory: None if `full` is kept within `ttl`, else claim it from `at`; the file's
        prune cutoff (what was kept from before `now` less `ttl`) to pass on (-inf: none due)."""
        digest = hash(full)
        with self.lock:
            if not self._kept(kind).claim(digest, at, ttl):  # in this process, before the file
                return None
            if now - self.pruned.get(kind, float("-inf")) < PRUNE_EVERY:
                return float("-inf")
            self.pruned[kind] = now
            self._forget(kind, now - ttl)
            return now - ttl

    def _kept(self, kind: str) -> Kept:
        """(lock held) This kind's keys."""
        kept = self.kept.get(kind)
        if kept is None:
            kept = self.kept[kind] = Kept()
        return kept

    def _forget(self, kind: str, before: float) -> None:
        """Drop this kind's keys kept from before `before`, and the oldest past MAX_KEPT."""
        kept = self.kept.get(kind)
        if kept is not None:
            kept.forget(before, MAX_KEPT)

    def refresh(self) -> None:
        """Pull the keys added to the file since the last pull, if that began PULL_EVERY ago or
        more; unless another thread is pulling this moment: then memory decides as it stands (a
        pull just begun brings little), and this request waits for nobody; but for the first
        pull of the process, which every request waits for."""
        if time.monotonic() - self.pulled_at < PULL_EVERY:
            return
        never = self.pulled_at == float("-inf")  # this process's first: it waits for the pull
        if not self.pulling.acquire(blocking=never):
            return
        try:
            if time.monotonic() - self.pulled_at < PULL_EVERY:
                return
            self._pull(self._reader())
        except (sqlite3.Error, StoreError, OSError) as exc:
            self.close_reader()  # opened anew next time (one opened read-only would stay so)
            self.unread(exc)  # answered from memory alone until a pull succeeds
        finally:
            self.pulling.release()

    def pull(self, conn: sqlite3.Connection) -> None:
        """The writer's pull, on its own connection, after its write."""
        with self.pulling:
            self._pull(conn)

    def _pull(self, conn: sqlite3.Connection | None) -> None:
        """(pulling held) Put the rows added since the last pull in memory."""
        began = time.monotonic()
        if conn is None:  # no file yet: nothing recorded
            self.pulled_at = began
            return
        since = self.pulled
        try:
            top = conn.execute(_TOP).fetchone()[0]
            since = 0 if top < since else since  # the file was made anew: the rowids began again
            try:
                rows = conn.execute(_PULL, [since, top, self.writer_id]).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such column" not in str(exc):
                    raise
                rows = conn.execute(_PULL_OLD, [since, top]).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            top, rows = since, []  # the writer is making the file this moment
        with self.lock:
            self.rows_pulled += len(rows)
            for key, kind, at in rows:
                kept = self._kept(kind)
                kept.raise_to(hash(key), at)
            self.pulled = top
            recovered, self.unreadable = self.unreadable, False
        self.pulled_at = began
        if recovered:
            log.info("the record of requests at %s can be read again", self.path)

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's connection for reading, opened on first use; None while no file is."""
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is not None and self.local.spells != self.spells:
            self.close_reader()
            conn = None
        if conn is None:
            try:
                if os.stat(self.path).st_size == 0:
                    return None  # the writer is making it (opening would write its header)
            except FileNotFoundError:
                if self.path.parent.is_dir():
                    return None  # no file yet: the first writer makes it
                raise  # its folder is gone: nothing can be written there
            conn = open_sqlite(self.path, create=False, isolation_level=None)
            self.local.conn, self.local.spells = conn, self.spells  # (closed by a failure's caller)
            conn.execute(_SMALL_CACHE)
        return conn

    def close_reader(self) -> None:
        conn = getattr(self.local, "conn", None)
        if conn is not None:
            self.local.conn = None
            try:
                conn.close()
            except sqlite3.Error as exc:
                log.warning("closing the record of requests failed: %s", exc)

    def count(self, kind: str) -> int:
        conn = self._reader()
        if conn is None:
            return 0
        try:
            row = conn.execute("SELECT count(*) FROM seen WHERE kind = ?", [kind]).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 0
            raise
        return int(row[0])

    def put(self, pending: Pending, prune: float) -> None:
        """Hand a key (and a prune, when one is due) to this process's writer."""
        with self.lock:
            self.pending.append(pending)
            self.queued += 1
            if prune != float("-inf"):
                self.prunes[pending[1]] = prune
            self._wake()

    def _wake(self) -> None:
        """(lock held) Start this process's writer if none runs here, else wake it if it idles."""
        pid = os.getpid()
        if self.writer != pid:
            self.writer, self.idle, self.end, self.token = pid, False, False, object()
            writer = threading.Thread(
                target=self._write_loop, args=(self.token,), name="seen-writer", daemon=True
            )
            writer.start()
        elif self.idle:
            self.changed.notify_all()

    def flush(self, timeout: float, end: bool = False) -> bool:
        with self.lock:
            target = self.queued
            if self.written < target:
                self.urgent = True
                self._wake()
                self.changed.notify_all()
                if not self.changed.wait_for(lambda: self.written >= target, timeout):
                    return False
            if end and self.writer:
                self.end = True
                self.changed.notify_all()
            return True

    def _write_loop(self, token: object) -> None:
        """The writer: the keys that wait, in one transaction every FLUSH_EVERY seconds."""
        conn: sqlite3.Connection | None = None
        try:
            while True:
                with self.lock:
                    if not self._work_waits():
                        return
                    batch, prunes, upto = self.pending, self.prunes, self.queued
                    self.pending, self.prunes = [], {}
                conn = self._write(conn, batch, prunes)
                del batch, prunes  # not held while the writer waits for the next keys
                with self.lock:
                    self.written = upto
                    self.changed.notify_all()
                if conn is not None:  # the others' keys, while at it: requests then need not
                    try:
                        self.pull(conn)
                    except sqlite3.Error as exc:
                        self.unread(exc)
        except Exception:
            log.exception("the record of requests' writer failed: the next key starts another")
        finally:
            with self.lock:
                if self.token is token:
                    self.writer = 0
            if conn is not None:
                conn.close()

    def _work_waits(self) -> bool:
        """(lock held) Wait for keys; then, if the last write began less than FLUSH_EVERY ago,
        gather more until then, unless someone waits. False when this writer ends (idle too
        long, or asked to)."""
        if not self.pending:
            self.idle = True
            self.changed.wait_for(lambda: self.pending or self.end, IDLE_EXIT)
            self.idle = False
            if not self.pending:
                if self.writer == os.getpid():
                    self.writer = 0  # the next key starts another
                return False
        left = self.wrote + FLUSH_EVERY - time.monotonic()
        if left > 0 and not self.urgent:  # at most one write every FLUSH_EVERY: gather the rest
            self.changed.wait_for(lambda: self.urgent, left)
        self.urgent = False
        self.wrote = time.monotonic()
        return True

    def _write(
        self, conn: sqlite3.Connection | None, batch: list[Pending], prunes: dict[str, float]
    ) -> sqlite3.Connection | None:
        """Write `batch` and `prunes` in one transaction; the connection to use next time."""
        try:
            if conn is None:
                conn = _open_writer(self.path)
            conn.execute("BEGIN IMMEDIATE")
            try:
                for (kind, ttl), keys in _by_kind(batch).items():
                    conn.execute(_UPSERT, [kind, self.writer_id, json.dumps(keys), ttl])
                for kind, before in prunes.items():  # after the keys: a stale one goes too
                    conn.execute(_PRUNE, [kind, before])
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.rollback()
        except (sqlite3.Error, StoreError) as exc:
            if conn is not None:  # opened anew next time: one opened read-only would stay so
                conn.close()
            self.failed(exc)
            return None  # the batch is dropped: its keys stay refused in this process's memory
        with self.lock:
            recovered, self.failing = self.failing, False
            self.spells += recovered
        if recovered:
            log.info("the record of requests at %s takes writes again", self.path)
        return conn

    def unread(self, exc: Exception) -> None:
        """Log the first failed pull of a spell: until one succeeds, what the other processes
        saw is not known here (this process's own keys still are)."""
        self._first_of_spell(
            "unreadable",
            logging.WARNING,
            "cannot be read (%s): replays are refused by what this process saw until it can",
            exc,
        )

    def failed(self, exc: Exception) -> None:
        """Log the first failed write of a spell."""
        self._first_of_spell(
            "failing",
            logging.ERROR,
            "cannot be written (%s): kept in this process's memory until it can",
            exc,
        )

    def _first_of_spell(self, flag: str, level: int, what: str, exc: Exception) -> None:
        with self.lock:
            first = not getattr(self, flag)
            setattr(self, flag, True)
        if first:
            log.log(level, f"the record of requests at %s {what}", self.path, exc)


def _by_kind(batch: list[Pending]) -> dict[tuple[str, float], list[tuple[str, float]]]:
    """A batch's (key, kept from) pairs by (kind, time to live); a key claimed twice in it (again
    past its time) once, from the later."""
    grouped: dict[tuple[str, float], dict[str, float]] = {}
    for key, kind, at, ttl in batch:
        keys = grouped.setdefault((kind, ttl), {})
        keys[key] = max(at, keys.get(key, at))
    return {group: list(keys.items()) for group, keys in grouped.items()}


def _open_writer(path: Path) -> sqlite3.Connection:
    """The writer's connection, the table made on first use."""
    conn = open_sqlite(path, isolation_level=None)
    try:
        conn.execute(_SMALL_CACHE)
        conn.executescript(_SCHEMA)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(seen)")}
        if "writer" not in columns:  # made by an older version
            try:
                conn.execute("ALTER TABLE seen ADD COLUMN writer INTEGER")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc):  # another process's writer just did
                    raise
    except sqlite3.Error:
        conn.close()
        raise
    return conn


_MEMORIES: dict[Path, _Memory] = {}
_MEMORIES_LOCK = threading.Lock()
_INHERITED: list[object] = []  # a forked child's copies of its parent's connections: never used


def _memory_of(path: Path) -> _Memory:
    """This process's memory of the file at `path`, one for every `Seen` of it."""
    where = path.absolute()
    with _MEMORIES_LOCK:
        memory = _MEMORIES.get(where)
        if memory is None:
            memory = _MEMORIES[where] = _Memory(path)
        return memory


def _after_fork_in_child() -> None:
    """A forked child: locks and connections of its own; its writer starts at its first key."""
    global _MEMORIES_LOCK
    _MEMORIES_LOCK = threading.Lock()
    for memory in _MEMORIES.values():
        # Kept, never closed: closing the parent's connection here could disturb the parent.
        _INHERITED.append(memory.local)
        memory.reset()


def _flush_all() -> None:
    """At a clean exit: write what waits."""
    for memory in list(_MEMORIES.values()):
        memory.flush(FLUSH_WAIT, end=True)


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_flush_all)
