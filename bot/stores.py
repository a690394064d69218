"""The store as the bot uses it: built on first use, one connection per thread, probed for health.

A connection that meets a fault of the store's files or disk is opened anew on its thread's next
use, and every connection is when a fault episode (bot/faults.py) starts or ends: the service
recovers by itself when the fault clears.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.faults import Faults
from bot.seen import Seen, seen_path
from store import schema
from store.build import build, is_built
from store.db import (
    LOG_MISSING,
    PerThread,
    StoreDatabase,
    connect,
    fault_of,
    log_missing,
    quick_check,
    retire,
)
from store.errors import StoreError
from store.queries import Store, records_version

log = logging.getLogger("apec.store")

PROBE_EVERY = 5.0  # seconds: each probe writes to the store, and a write drops every read cache
LOOK_EVERY = 0.25  # seconds between looks at whether another connection changed the store
PROBE_BUSY_MS = 2000
FREE_MARGIN = 1024 * 1024  # bytes free on the store's disk below which it counts as full


class Stores:
    """Hands each thread its own `Store` over the same file."""

    def __init__(
        self,
        path: Path,
        seeds: Path,
        ticks: Callable[[], float] = time.monotonic,
        faults: Faults | None = None,
    ) -> None:
        self.path = path
        self.seeds = seeds
        self.seen = Seen(seen_path(path))
        self.faults = faults or Faults(path)
        self._conns = PerThread(path, failing=self.faults.failing, on_fault=self.faults.failed)
        self.faults.on_change(self._conns.renew)  # none opened before a fault, or during it, stays
        self._local = threading.local()
        self._ticks = ticks
        self._probe_lock = threading.Lock()
        self._probed: tuple[float, str | None] | None = None  # (when, the problem or None)
        # The store's epoch goes up whenever it may have changed; each thread re-reads when the
        # epoch it read at is behind. Learning that costs no query on a request: a write made
        # in this process moves it at once, another process's within LOOK_EVERY.
        self._epoch = 0
        self._epoch_lock = threading.Lock()
        self._looked = float("-inf")
        self._watch: StoreDatabase | None = None
        # the watch connection's last data_version, and the records version (store.schema) then
        self._seen: tuple[int, int | None] | None = None

    def ensure_built(self) -> str | None:
        """Build the store when it holds no build yet; returns the build summary if it built."""
        db = connect(self.path)
        try:
            schema.ensure(db)
            if not is_built(db):
                return build(db, self.seeds).summary(str(self.path))
            return None
        finally:
            db.close()

    def get(self, quick: bool = False) -> Store:
        """This thread's store, its cache dropped if the store changed since this thread last read.

        `quick` (a request's path) asks SQLite nothing when nothing is known to have changed: a
        write made in this process is seen at once, another process's within LOOK_EVERY. Without
        it (the scheduler, the command line) every call asks. A store that does not open raises
        StoreError, and a fault of its files is reported (bot/faults.py).
        """
        local = self._local
        try:
            db = self._conns.get()  # opened anew after a fault, or after an episode began or ended
        except StoreError as exc:
            if fault_of(exc):
                self.faults.failed(str(exc))
            raise
        store = getattr(local, "store", None)
        if store is None or store.db is not db:
            store = local.store = Store(db)
            local.epoch = local.changes = None
        changes = db.conn.total_changes  # this thread's own writes: an attribute, no query
        if changes != local.changes and local.changes is not None:
            self.changed()  # every other thread re-reads
        if quick:
            self._look()
        if not quick or local.epoch != self._epoch or changes != local.changes:
            local.epoch, local.changes = self._epoch, changes
            try:
                store.refresh()  # one query
            except sqlite3.Error as exc:
                db.failed(exc)  # a fault of the files: this connection is opened anew next time
                raise
        return store

    def epoch(self) -> int:
        """A number that goes up whenever the store may have changed (for keeping replies)."""
        self._look()
        return self._epoch

    def changed(self) -> None:
        """Something in this process wrote to the store: every thread re-reads before answering."""
        with self._epoch_lock:
            self._epoch += 1

    def _look(self) -> None:
        """Every LOOK_EVERY seconds, one thread asks SQLite whether another connection committed,
        and if so whether a record changed (not only the scheduler's bookkeeping)."""
        now = self._ticks()
        if now - self._looked < LOOK_EVERY or not self._epoch_lock.acquire(blocking=False):
            return
        seen: tuple[int, int | None] | None = None
        try:
            self._looked = now
            watch = self._watch
            if watch is not None and (watch.broken or watch.generation != self._conns.generation):
                self._watch = None
                retire(watch)  # opened before a fault began or ended: opened anew
            if self._watch is None:  # read-write but never created: a missing store stays missing
                generation = self._conns.generation
                self._watch = connect(self.path, create=False, check_same_thread=False)
                self._watch.generation = generation
            version = self._watch.conn.execute("PRAGMA data_version").fetchone()[0]
            seen = self._seen
            if seen is None or version != seen[0]:
                seen = (version, records_version(self._watch.conn))
        except (sqlite3.Error, StoreError) as exc:  # the answer's own queries will meet it
            log.warning("could not tell whether the store changed: %s", exc)
            if self._watch is not None:
                retire(self._watch)
            self._watch = None
        finally:
            before, self._seen = self._seen, seen
            if seen is not before and (
                seen is None
                or before is None
                or None in (seen[1], before[1])
                or seen[1] != before[1]
            ):
                self._epoch += 1
            self._epoch_lock.release()

    def claim_event(self, event_id: str, now: datetime) -> bool:
        """Record an event as handled; False when it already was (a retry)."""
        return self.seen.event(event_id, now.timestamp())

    def problem(self) -> str | None:
        """None when the store reads and takes a write and no fault episode is on, else what
        fails; probed every few seconds. A probe that meets a fault of the store's files or
        disk reports it (bot/faults.py); one that finds the store only busy does not."""
        with self._probe_lock:
            now = self._ticks()
            if self._probed is None or now - self._probed[0] >= PROBE_EVERY:
                probe = self._probe()
                self._probed = (now, probe.problem)
                if probe.fault:
                    self.faults.failed(probe.said)
            return self._probed[1] or self.faults.failing()

    def check(self) -> str | None:
        """A probe now and a quick check (a failing store's, to end its episode): None if sound."""
        probe = self._probe()
        with self._probe_lock:
            self._probed = (self._ticks(), probe.problem)
        return probe.said if probe.problem is not None else self.quick_check()

    def quick_check(self) -> str | None:
        """SQLite's quick check on a connection of its own (off any request's path)."""
        return quick_check(self.path)

    def _probe(self) -> Probe:
        """The store's files, the room left on its disk, and a read and a one-row write on a
        connection of its own."""
        # A fresh connection: a thread's long-open one would not notice a file replaced or damaged.
        if not self.path.is_file():  # connecting would make an empty store in its place
            log.error("health: the store is missing at %s", self.path)
            return Probe("missing", f"the store {self.path} is missing")
        if log_missing(self.path):  # opening would make a log that the index does not describe
            return Probe("log missing", LOG_MISSING.format(name=self.path.name))
        free = free_bytes(self.path.parent)
        if free < FREE_MARGIN:
            log.error("health: the store's disk is full (%d bytes free)", free)
            return Probe("disk full", f"disk full: {free // 1024} KiB free where the store is")
        try:
            db = connect(self.path, create=False)
        except StoreError as exc:
            log.error("health: the store does not open: %s", exc)
            return Probe("does not open", str(exc), fault_of(exc) is not None)
        try:
            # A lock held longer than this is itself a failure to report; health checks time out.
            db.conn.execute(f"PRAGMA busy_timeout = {PROBE_BUSY_MS}")
            db.conn.execute("SELECT count(*) FROM sources").fetchone()
        except sqlite3.Error as exc:
            log.error("health: the store cannot be read: %s", exc)
            retire(db)
            return Probe("cannot be read", fault_of(exc) or str(exc), fault_of(exc) is not None)
        try:
            return _write_probe(db)
        finally:
            retire(db)


@dataclass(frozen=True)
class Probe:
    """What a probe found: `problem` (None: sound) for /healthz, `said` for the admins, and
    whether it is a fault of the store's files or disk (not a store busy for a moment)."""

    problem: str | None
    said: str = ""
    fault: bool = True


SOUND = Probe(None, "", False)


def free_bytes(folder: Path) -> int:
    """Bytes this process may still write on the disk holding `folder` (root may use the blocks
    kept back for it)."""
    found = os.statvfs(folder)
    blocks = found.f_bfree if os.geteuid() == 0 else found.f_bavail
    return blocks * found.f_frsize


def _rollback_quietly(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:  # the disk that failed the write may fail this too
        log.warning("health: rolling the probe back failed: %s", exc)


def _write_probe(db: StoreDatabase) -> Probe:
    """One real write in a transaction, checked as every write is."""
    conn = db.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            db.check_files()
            conn.execute(
                "CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL)"
            )
            cursor = conn.execute(
                "INSERT INTO health_probe (at) VALUES (?)", [datetime.now(UTC).isoformat()]
            )
            conn.execute("DELETE FROM health_probe WHERE id < ?", [cursor.lastrowid])
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                _rollback_quietly(conn)
        db.check_files()
        return SOUND
    except (sqlite3.Error, StoreError) as exc:
        log.error("health: the store cannot be written: %s", exc)
        return Probe("cannot be written", fault_of(exc) or str(exc), fault_of(exc) is not None)
