"""What the HTTP front has already seen: signed requests (replays) and Slack events (retries).

Each process keeps what it has seen in memory first, for as long as each kind is good for, and
also records it in a small SQLite file of its own beside the store (`apec.db.seen`), which SQLite's
locking shares between every process on the host that serves the same store (a replay sent to
another worker is refused too). Not a table in the store: every write to the store drops the
store's read cache, and this file takes a write on every request.

Writing the file is best-effort: on a full or read-only disk a request is still answered, checked
against this process's memory; the failure is logged once, and again when the file takes writes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from store.db import open_sqlite
from store.errors import StoreError

log = logging.getLogger("apec.http")

SIGNATURE_TTL = 300.0  # Slack's signatures are good for 5 minutes either side of their timestamp
EVENT_TTL = 86_400.0  # Slack gives up retrying an event well within a day
PRUNE_EVERY = 60.0  # seconds between clearing out keys past their time to live
MAX_KEPT = 200_000  # keys a process keeps in memory at most (about 40 MB): the oldest go first

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    key TEXT PRIMARY KEY,      -- kind, a space, then the signature or the event id
    kind TEXT NOT NULL,        -- 'signature' or 'event'
    at REAL NOT NULL           -- epoch seconds the record is kept from
);
CREATE INDEX IF NOT EXISTS seen_kind_at ON seen (kind, at);
"""


def seen_path(store_path: str | Path) -> Path:
    """The record's file for the store at `store_path`: `/x/apec.db` → `/x/apec.db.seen`."""
    return Path(f"{store_path}.seen")


class Seen:
    """Records keys once each, forgetting each kind after its time to live: in this process's
    memory, then in the shared file (INSERT OR IGNORE) as far as the disk allows."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()  # guards the memory and the times below
        # key -> when it is kept from; insertion order, so the oldest come first
        self._kept: dict[str, float] = {}
        self._pruned: dict[str, float] = {}  # kind -> when it was last pruned
        self._failing = False  # whether the file's last write failed (logged once a spell)

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the table made) on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_sqlite(self.path, isolation_level=None)
            try:
                conn.executescript(_SCHEMA)
            except sqlite3.Error:
                conn.close()
                raise
            self._local.conn = conn
        return conn

    def first(self, kind: str, key: str, at: float, ttl: float) -> bool:
        """Record `key` as seen at `at`; False when it already was, within `ttl`.

        Memory decides first (no disk), then the file, where another process may have seen it:
        one statement, one short write per request. A key past its time to live counts as new.
        """
        full = f"{kind} {key}"
        with self._lock:
            before = self._kept.get(full)
            if before is not None and before >= at - ttl:
                return False
            self._kept.pop(full, None)
            self._kept[full] = at  # claimed in this process before the file is asked
            prune = at - self._pruned.get(kind, float("-inf")) >= PRUNE_EVERY
            if prune:
                self._pruned[kind] = at
                self._forget(kind, at - ttl)
        return self._record(full, kind, at, ttl, prune)

    def _forget(self, kind: str, before: float) -> None:
        """Drop this kind's keys kept from before `before`, and the oldest past MAX_KEPT."""
        prefix = kind + " "
        for key in [k for k, at in self._kept.items() if at < before and k.startswith(prefix)]:
            del self._kept[key]
        while len(self._kept) > MAX_KEPT:
            del self._kept[next(iter(self._kept))]

    def _record(self, full: str, kind: str, at: float, ttl: float, prune: bool) -> bool:
        """The file's word on a key new to this process: False if another process had it."""
        try:
            conn = self._conn()
            cursor = conn.execute(
                """INSERT INTO seen (key, kind, at) VALUES (?, ?, ?)
                   ON CONFLICT (key) DO UPDATE SET at = excluded.at
                   WHERE seen.at < excluded.at - ?""",
                [full, kind, at, ttl],
            )
            if prune:
                conn.execute("DELETE FROM seen WHERE kind = ? AND at < ?", [kind, at - ttl])
        except (sqlite3.Error, StoreError) as exc:
            self._failed(exc)
            return True  # new to this process: answered, checked against its memory only
        if self._failing:
            self._failing = False
            log.info("the record of requests at %s takes writes again", self.path)
        return cursor.rowcount == 1

    def _failed(self, exc: Exception) -> None:
        """Log the first failure of a spell; open the connection anew next time (one opened on a
        read-only disk would stay read-only)."""
        self.close()
        if not self._failing:
            self._failing = True
            log.error(
                "the record of requests at %s cannot be written (%s): kept in this "
                "process's memory until it can",
                self.path,
                exc,
            )

    def signature(self, timestamp: str, signature: str, now: float) -> bool:
        """True the first time a (timestamp, signature) pair is seen within its 5 minutes."""
        # Kept from the later of now and its timestamp: the check accepts timestamps up to 5
        # minutes ahead too, and the record must outlive every moment the pair could pass it.
        at = max(now, float(timestamp))
        return self.first("signature", f"{timestamp}:{signature}", at, SIGNATURE_TTL)

    def event(self, event_id: str, now: float) -> bool:
        """True the first time an `event_id` is seen within a day (False: a retry)."""
        return self.first("event", event_id[:200], now, EVENT_TTL)

    def count(self, kind: str) -> int:
        """How many keys of `kind` the file holds (for tests and operators)."""
        row = self._conn().execute("SELECT count(*) FROM seen WHERE kind = ?", [kind]).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            try:
                conn.close()
            except sqlite3.Error as exc:
                log.warning("closing the record of requests failed: %s", exc)
