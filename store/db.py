"""Opening the SQLite store: one connection per thread, WAL, a busy timeout."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from store.errors import StoreError

BUSY_TIMEOUT_MS = 10_000


def connect(path: str | Path) -> sqlite_utils.Database:
    """A new connection to the store at `path`, in WAL mode with a busy timeout."""
    path = Path(path)
    if str(path) != ":memory:" and not path.parent.exists():
        raise StoreError(f"the store's folder does not exist: {path.parent}")
    try:
        conn = open_sqlite(path)
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the store at {path}: {exc}") from exc
    return sqlite_utils.Database(conn, execute_plugins=False)


def open_sqlite(path: str | Path, **kwargs: Any) -> sqlite3.Connection:
    """A connection in WAL mode with a busy timeout. Switching a file to WAL takes a lock that
    SQLite does not wait for, so processes opening one file at once retry that step briefly."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, **kwargs)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    for attempt in itertools.count():
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                conn.close()
                raise
            time.sleep(min(0.2, 0.005 * 2**attempt))  # another process is switching it
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


WRITE_WAIT = 60.0  # seconds a write waits for the store's write lock before it gives up


@contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[None]:
    """One write transaction that holds the write lock before it reads anything (BEGIN IMMEDIATE),
    so what it reads cannot change before it writes. Inside another, it joins that one."""
    conn = db.conn
    if conn.in_transaction:
        yield
        return
    _begin(conn)
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _begin(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting past the busy timeout while other writers hold the lock."""
    deadline = time.monotonic() + WRITE_WAIT
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise StoreError(f"the store is busy: {exc}") from exc


def rows(db: sqlite_utils.Database, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """A SELECT's rows as dicts, without the savepoint `db.query` wraps around every read."""
    cursor = db.conn.execute(sql, params)
    cols = [c[0] for c in cursor.description]
    return [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]


class PerThread:
    """One connection per thread to the same store file (sqlite3 refuses cross-thread use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def get(self) -> sqlite_utils.Database:
        """This thread's connection, opened on first use."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
        return db


def backup(source: str | Path, target: str | Path) -> int:
    """Copy a live store with SQLite's online backup (consistent while others write); pages copied."""
    target = Path(target)
    if target.exists() and target.is_dir():
        raise StoreError(
            f"{target} is a folder: give a file name, e.g. {target / 'apec-backup.db'}"
        )
    if not target.parent.exists():
        raise StoreError(f"the folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    src = sqlite3.connect(str(source), timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        dst = sqlite3.connect(str(partial))
        try:
            src.backup(dst, pages=1024)
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
            ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"backup failed: {exc}") from exc
    finally:
        src.close()
    if ok != "ok":
        partial.unlink(missing_ok=True)
        raise StoreError(f"the backup failed its integrity check: {ok}")
    partial.replace(target)  # a backup file is whole or absent, never half-written
    return int(pages)
