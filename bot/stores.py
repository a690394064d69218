"""The store as the bot uses it: built on first use, one connection per thread, probed for health."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from bot.seen import Seen, seen_path
from store import schema
from store.build import build, is_built
from store.db import PerThread, connect
from store.errors import StoreError
from store.queries import Store, records_version

log = logging.getLogger("apec.store")

PROBE_EVERY = 5.0  # seconds: each probe writes to the store, and a write drops every read cache
LOOK_EVERY = 0.25  # seconds between looks at whether another connection changed the store
PROBE_BUSY_MS = 2000


class Stores:
    """Hands each thread its own `Store` over the same file."""

    def __init__(
        self, path: Path, seeds: Path, ticks: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self.seeds = seeds
        self.seen = Seen(seen_path(path))
        self._conns = PerThread(path)
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
        self._watch: sqlite3.Connection | None = None
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
        it (the scheduler, the command line) every call asks.
        """
        local = self._local
        store = getattr(local, "store", None)
        if store is None:
            store = local.store = Store(self._conns.get())
            local.epoch = local.changes = None
        changes = store.db.conn.total_changes  # this thread's own writes: an attribute, no query
        if changes != local.changes and local.changes is not None:
            self.changed()  # every other thread re-reads
        if quick:
            self._look()
        if not quick or local.epoch != self._epoch or changes != local.changes:
            local.epoch, local.changes = self._epoch, changes
            store.refresh()  # one query
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
            if self._watch is None:  # read-write but never created: a missing store stays missing
                uri = f"file:{quote(str(self.path.resolve()))}?mode=rw"
                self._watch = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=1)
            version = self._watch.execute("PRAGMA data_version").fetchone()[0]
            seen = self._seen
            if seen is None or version != seen[0]:
                seen = (version, records_version(self._watch))
        except sqlite3.Error as exc:  # the answer's own queries will meet it, and say so
            log.warning("could not tell whether the store changed: %s", exc)
            self._watch = None
        finally:
            before, self._seen = self._seen, seen
            if seen is not before and (seen is None or before is None or None in (seen[1], before[1]) or seen[1] != before[1]):  # fmt: skip
                self._epoch += 1
            self._epoch_lock.release()

    def claim_event(self, event_id: str, now: datetime) -> bool:
        """Record an event as handled; False when it already was (a retry)."""
        return self.seen.event(event_id, now.timestamp())

    def problem(self) -> str | None:
        """None when the store reads and takes a write, else what failed; probed every few seconds."""
        with self._probe_lock:
            now = self._ticks()
            if self._probed is None or now - self._probed[0] >= PROBE_EVERY:
                self._probed = (now, self._probe())
            return self._probed[1]

    def _probe(self) -> str | None:
        """Read the store and write a row to `health_probe`, on a connection of its own."""
        # A fresh connection: a thread's long-open one would not notice a file replaced or damaged.
        if not self.path.is_file():  # connecting would make an empty store in its place
            log.error("health: the store is missing at %s", self.path)
            return "missing"
        try:
            db = connect(self.path)
        except StoreError as exc:
            log.error("health: the store does not open: %s", exc)
            return "does not open"
        try:
            # A lock held longer than this is itself a failure to report, and health checks time out.
            db.conn.execute(f"PRAGMA busy_timeout = {PROBE_BUSY_MS}")
            db.conn.execute("SELECT count(*) FROM sources").fetchone()
            return _write_probe(db.conn)
        except sqlite3.Error as exc:
            log.error("health: the store cannot be read: %s", exc)
            return "cannot be read"
        finally:
            db.close()


def _write_probe(conn: sqlite3.Connection) -> str | None:
    """One real write in a transaction; None when it committed, else what failed."""
    try:
        with conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL)"
            )
            cursor = conn.execute(
                "INSERT INTO health_probe (at) VALUES (?)", [datetime.now(UTC).isoformat()]
            )
            conn.execute("DELETE FROM health_probe WHERE id < ?", [cursor.lastrowid])
        return None
    except sqlite3.Error as exc:
        log.error("health: the store cannot be written: %s", exc)
        return "cannot be written"
