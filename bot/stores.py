"""The store as the bot uses it: built on first use, one connection per thread."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from store import schema
from store.build import build, is_built
from store.db import PerThread, connect
from store.queries import Store


class Stores:
    """Hands each thread its own `Store` over the same file."""

    def __init__(self, path: Path, seeds: Path) -> None:
        self.path = path
        self.seeds = seeds
        self._conns = PerThread(path)
        self._local = threading.local()

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

    def get(self) -> Store:
        """This thread's store, its cache dropped if the file changed since this thread last read."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self._conns.get())
        return store.refresh()

    def claim_event(self, event_id: str, now: datetime) -> bool:
        """Record an event as handled; False when it already was (a retry)."""
        db = self._conns.get()
        cursor = db.execute(
            "INSERT OR IGNORE INTO handled_events (event_id, received_at) VALUES (?, ?)",
            [event_id[:200], now.isoformat()],
        )
        return cursor.rowcount == 1
