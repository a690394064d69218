"""What the HTTP front has already seen: signed requests (replays) and Slack events (retries).

The record is a small SQLite file of its own beside the store (`apec.db.seen`), not a table in the
store: every write to the store drops the store's read cache, and this file takes a write on every
request. SQLite's locking shares it between every process on the host that serves the same store.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from store.db import open_sqlite

SIGNATURE_TTL = 300.0  # Slack's signatures are good for 5 minutes either side of their timestamp
EVENT_TTL = 86_400.0  # Slack gives up retrying an event well within a day
PRUNE_EVERY = 60.0  # seconds between clearing out keys past their time to live

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
    """Records keys once each (INSERT OR IGNORE), forgetting each kind after its time to live."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._pruned: dict[str, float] = {}  # kind -> when it was last pruned

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the table made) on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_sqlite(self.path, isolation_level=None)
            conn.executescript(_SCHEMA)
            self._local.conn = conn
        return conn

    def first(self, kind: str, key: str, at: float, ttl: float) -> bool:
        """Record `key` as seen at `at`; False when it already was, within `ttl`.

        One statement, so one short write per request: a key past its time to live counts as new
        (and is taken again); the table is pruned of old keys now and then, not on every request.
        """
        conn = self._conn()
        cursor = conn.execute(
            """INSERT INTO seen (key, kind, at) VALUES (?, ?, ?)
               ON CONFLICT (key) DO UPDATE SET at = excluded.at WHERE seen.at < excluded.at - ?""",
            [f"{kind} {key}", kind, at, ttl],
        )
        if at - self._pruned.get(kind, float("-inf")) >= PRUNE_EVERY:
            self._pruned[kind] = at
            conn.execute("DELETE FROM seen WHERE kind = ? AND at < ?", [kind, at - ttl])
        return cursor.rowcount == 1

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
        """How many keys of `kind` are on record (for tests and operators)."""
        row = self._conn().execute("SELECT count(*) FROM seen WHERE kind = ?", [kind]).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
