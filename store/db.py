"""Opening the SQLite store: one connection per thread, WAL, a busy timeout; and what a write checks
so that it is never taken for kept when the store's files are not the ones it went to.

In WAL mode a commit lives only in `apec.db-wal` until a checkpoint copies it into `apec.db`, and
every connection on the host finds the log's pages through the shared index, `apec.db-shm`.
Delete the log under running connections (issue 18, item 12) and:
- each connection that had it open goes on committing into the deleted file, successfully;
- a connection opened after makes a new, empty log at the path that the index (still shared)
  does not describe: its reads fail with a short read, or, for pages the index does not name,
  succeed, and its writes land past the end of the empty file;
- when the processes end (a worker leaves with os._exit) the deleted file goes, with every commit
  in it, and the next start recovers from the empty one: acknowledged writes are lost.
So each connection notes the files (device, inode) it opened; a write checks them under the write
lock before it starts and again after COMMIT, and a mismatch is a StoreFault, never a success. A
connection that holds a deleted log copies it into the store (a TRUNCATE checkpoint: that log and
the index agree) before it lets go of it, and nothing opens the store while its index lives on
without a log. Never open and close `apec.db` or `apec.db-shm` with Python in a process holding
connections: closing any descriptor of a file drops every POSIX lock the process holds on it,
SQLite's included (then another process takes the index for stale and resets it). stat() only.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlite_utils

from store.errors import StoreError, StoreFault, StoreUnavailable

log = logging.getLogger("apec.store")

BUSY_TIMEOUT_MS = 10_000

# SQLite's primary result codes that say the store's files or disk failed, not the statement.
_FAULTS = {
    8: "read-only",  # SQLITE_READONLY
    10: "I/O error",  # SQLITE_IOERR
    11: "damaged",  # SQLITE_CORRUPT
    13: "disk full",  # SQLITE_FULL
    14: "cannot open",  # SQLITE_CANTOPEN
    15: "lock protocol",  # SQLITE_PROTOCOL
    26: "not a database",  # SQLITE_NOTADB
}


def fault_of(exc: BaseException) -> str | None:
    """What failed, in a few words, when `exc` says the store's files or disk failed; else None
    (a statement's own error, a busy store: the store itself is sound)."""
    if isinstance(exc, StoreFault):
        return str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in _FAULTS:
        return f"{_FAULTS[code & 0xFF]}: {exc} ({getattr(exc, 'sqlite_errorname', code)})"
    return None


Ident = tuple[int, int] | None  # (device, inode), None when the file is not there


def _ident(path: str) -> Ident:
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


@dataclass(frozen=True)
class Files:
    """Which files the store, its log and its index were (device and inode) at one moment."""

    db: Ident
    wal: Ident
    shm: Ident

    @classmethod
    def at(cls, path: Path) -> Files:
        base = str(path)
        return cls(_ident(base), _ident(base + "-wal"), _ident(base + "-shm"))


def log_missing(path: str | Path) -> bool:
    """Whether the store's index is there without its log: the log was deleted under running
    connections (SQLite makes the log before the index and deletes the index first)."""
    return os.path.exists(f"{path}-shm") and not os.path.exists(f"{path}-wal")


LOG_MISSING = (
    "the store's log {name}-wal was deleted while the store was open: nothing opens the store "
    "until a connection that still holds the log copies it in"
)


def connect(
    path: str | Path,
    *,
    create: bool = True,
    failing: Callable[[], str | None] | None = None,
    on_fault: Callable[[str], None] | None = None,
    **kwargs: Any,
) -> StoreDatabase:
    """A new connection to the store at `path`, in WAL mode with a busy timeout. `create=False`
    opens only a store that exists; `failing` and `on_fault` are StoreDatabase's."""
    path = Path(path)
    if str(path) != ":memory:" and not path.parent.exists():
        raise StoreError(f"the store's folder does not exist: {path.parent}")
    try:
        conn = open_sqlite(path, create=create, **kwargs)
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        if _damaged(exc):
            raise StoreFault(damaged_store(path)) from exc
        kind = StoreFault if fault_of(exc) else StoreError
        raise kind(f"cannot open the store at {path}: {exc}") from exc
    return StoreDatabase(conn, path, failing=failing, on_fault=on_fault)


def _damaged(exc: BaseException) -> bool:
    """Whether SQLite says the file is not a database or is damaged (not a passing fault)."""
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (11, 26)  # SQLITE_CORRUPT, _NOTADB


def damaged_store(path: str | Path) -> str:
    """What to do about a store file SQLite cannot read as a database: one line."""
    return (
        f"the store at {path} is not a SQLite database (or is damaged): restore a backup made "
        "with `apec-bot backup`, or move it aside and run `apec-bot build`"
    )


def open_sqlite(path: str | Path, *, create: bool = True, **kwargs: Any) -> sqlite3.Connection:
    """A connection in WAL mode with a busy timeout. Switching a file to WAL takes a lock that
    SQLite does not wait for, so processes opening one file at once retry that step briefly.
    Refuses (StoreFault) a store whose log was deleted while its index lives: opening would make
    a new, empty log that the index does not describe."""
    if str(path) != ":memory:" and log_missing(path):
        raise StoreFault(LOG_MISSING.format(name=Path(path).name))
    conn: sqlite3.Connection  # kwargs are Any, which hides connect()'s return type
    if create:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, **kwargs)
    else:  # read-write, never created: a missing store stays missing
        uri = f"file:{quote(str(Path(path).resolve()))}?mode=rw"
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, **kwargs)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _set_wal(conn)
    except sqlite3.OperationalError:
        conn.close()
        if not _frozen(Path(path)):
            raise
        uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro&immutable=1"
        conn = sqlite3.connect(uri, uri=True, **kwargs)
        return conn
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _frozen(path: Path) -> bool:
    """Whether `path` is a store nobody can change: its folder cannot be written (a read-only
    mount) and no log lies beside it. SQLite cannot open a WAL store so (it needs to make its
    index), but nothing is lost reading the file as it stands: the last connection to close
    copies the log in and removes it, so no process holds the store open, and none can open it
    to write while the folder stays read-only."""
    if str(path) == ":memory:" or not path.is_file() or _writable(path.parent):
        return False
    try:
        return os.stat(f"{path}-wal").st_size == 0
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _set_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. That takes a lock SQLite does not wait for, so processes opening one file at
    once retry briefly."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    for attempt in itertools.count():
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(min(0.2, 0.005 * 2**attempt))  # another process is switching it


# Statements that write nothing (a transaction's own words are checked by its owner).
_READS = (
    "SELECT",
    "PRAGMA",
    "EXPLAIN",
    "VALUES",
    "BEGIN",
    "COMMIT",
    "END",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
)


class StoreDatabase(sqlite_utils.Database):
    """A connection to the store that knows which files it opened.

    A write outside a transaction (sqlite-utils commits it at once) is refused while `failing()`
    names a fault, and checks the files before and after; `immediate` does the same for a
    transaction. A fault of the files or disk is told to `on_fault` and leaves the connection
    `broken`, for its owner to reopen (a connection opened read-only during a read-only spell
    stays read-only for good)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        failing: Callable[[], str | None] | None = None,
        on_fault: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(conn, execute_plugins=False)
        self.path = path
        self.files = None if str(path) == ":memory:" else Files.at(path)
        self.failing = failing
        self.on_fault = on_fault
        self.broken: str | None = None  # what failed, once a fault has been met
        self.generation = 0  # PerThread's, when this connection was opened
        # Opened while the file could not be written (a read-only mount or folder): SQLite then
        # opens it read-only, for good, and says so only when a write fails.
        self.read_only = self.files is not None and not _writable(path)

    def execute(
        self, sql: str, parameters: Sequence[Any] | dict[str, Any] | None = None
    ) -> sqlite3.Cursor:
        writes = not self.conn.in_transaction and not sql.lstrip()[:9].upper().startswith(_READS)
        if writes:
            self.refuse_if_failing()
            self.check_files()
        changes = self.conn.total_changes
        try:
            cursor = super().execute(sql, parameters)
        except sqlite3.Error as exc:
            self.failed(exc)
            raise
        if writes and self.conn.total_changes != changes and not self.conn.in_transaction:
            self.check_files()  # committed: was it to the store's own log?
        return cursor

    def refuse_if_failing(self) -> None:
        """Raise StoreUnavailable while a fault of the store is being reported."""
        why = self.failing() if self.failing is not None else None
        if why:
            raise StoreUnavailable(
                f"the store is failing ({why}): no change is tried until it recovers"
            )

    def check_files(self) -> None:
        """Raise StoreFault when the store, its log or its index is not the file this connection
        opened (a commit to a deleted log is lost when the last holder closes it)."""
        if self.files is None:
            return
        try:
            now = Files.at(self.path)
        except OSError as exc:
            raise self._fault(StoreFault(f"cannot see the store's files: {exc}")) from exc
        if now == self.files:
            return
        opened = self.files
        if (opened.wal is None and now.wal is not None) or (
            opened.shm is None and now.shm is not None
        ):
            # A new store's log and index appear with its first write: this connection's own.
            self.files = opened = Files(opened.db, opened.wal or now.wal, opened.shm or now.shm)
            if now == opened:
                return
        name = self.path.name
        if now.db != self.files.db:
            what = f"the store file {name} was replaced or deleted under a running connection"
        elif now.wal != self.files.wal:
            gone = "deleted" if now.wal is None else "replaced"
            what = f"the store's log {name}-wal was {gone} under a running connection"
        else:
            what = (
                f"the store's index {name}-shm was replaced or deleted under a running connection"
            )
        raise self._fault(StoreFault(f"{what}: a change made on it may not be kept"))

    def _fault(self, exc: StoreFault) -> StoreFault:
        self.failed(exc)
        if not self.conn.in_transaction:
            rescue(self)
        return exc

    def failed(self, exc: BaseException) -> None:
        """A failure met on this connection: a fault of the files or disk (told once) leaves it
        broken, to be reopened; a statement's own error changes nothing."""
        what = fault_of(exc)
        if what is None or self.broken is not None:
            return
        self.broken = what
        if self.on_fault is not None:
            self.on_fault(what)

    def orphaned(self) -> bool:
        """Whether this connection holds a log deleted from under it (or replaced by an empty
        one, which nobody has written to): pages only that file holds."""
        opened = self.files
        if opened is None or opened.wal is None:
            return False
        try:
            now = Files.at(self.path)
            empty = now.wal is None or os.stat(f"{self.path}-wal").st_size == 0
        except OSError:
            return False
        return now.db == opened.db and now.wal != opened.wal and empty


def _writable(path: Path) -> bool:
    """Whether this process may open `path` for writing (a read-only mount stops even root)."""
    return os.access(path, os.W_OK, effective_ids=os.access in os.supports_effective_ids)


def rescue(db: StoreDatabase) -> bool:
    """Copy a log deleted under `db` into the store before `db` lets go of it, then make the new
    empty log that the (now empty) index describes; whether it did. A TRUNCATE checkpoint: the
    index and the deleted log agree, and it waits for readers as the busy timeout allows."""
    if db.conn.in_transaction or not db.orphaned():
        return False
    try:
        busy, _, _ = db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error as exc:
        log.error("could not copy the deleted log of %s into it: %s", db.path, exc)
        return False
    if busy:
        log.error("could not copy the deleted log of %s into it yet: readers held it", db.path)
        return False
    try:  # deliberately past open_sqlite's refusal: the index names no page now
        conn = sqlite3.connect(str(db.path), timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # makes the log
        finally:
            conn.close()
    except sqlite3.Error as exc:
        log.error(
            "copied the deleted log of %s in, but could not start a new one: %s", db.path, exc
        )
        return False
    log.warning("copied the log deleted under a running connection into %s", db.path)
    return True


def retire(db: sqlite_utils.Database) -> None:
    """Close a connection; first, if it holds a log deleted under it, copy that log in."""
    try:
        if isinstance(db, StoreDatabase):
            rescue(db)
    finally:
        try:
            db.close()
        except sqlite3.Error as exc:
            log.warning("closing a connection to the store failed: %s", exc)


def check_written(db: sqlite_utils.Database) -> None:
    """Before changes made on `db` are acknowledged: StoreFault unless they went to the store's
    own files (for writes that did not pass through `immediate` or `StoreDatabase.execute`)."""
    if isinstance(db, StoreDatabase):
        db.check_files()


def quick_check(path: str | Path) -> str | None:
    """SQLite's quick check of the store, on a connection of its own: None when it finds the
    store sound, else its first findings in one line."""
    try:
        db = connect(path, create=False)
    except StoreError as exc:
        return str(exc)
    try:
        found = [str(r[0]) for r in db.conn.execute("PRAGMA quick_check(5)").fetchall()]
    except sqlite3.Error as exc:  # "file is not a database", "malformed"
        found = [str(exc)]
    finally:
        db.close()
    if found == ["ok"]:
        return None
    return "damaged: " + " ".join(" ".join(found).split())[:300]


WRITE_WAIT = 60.0  # seconds a write waits for the store's write lock before it gives up


@contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[None]:
    """One write transaction that holds the write lock before it reads anything (BEGIN IMMEDIATE),
    so what it reads cannot change before it writes. Inside another, it joins that one.

    On a StoreDatabase it is refused while the store is failing, and the store's files are
    checked under the lock before it starts and again after COMMIT: a StoreFault, not a success,
    when the commit may have gone to a file that is no longer the store's."""
    conn = db.conn
    if conn.in_transaction:
        yield
        return
    checked = db if isinstance(db, StoreDatabase) else None
    if checked is not None:
        checked.refuse_if_failing()
    try:
        _begin(conn)
    except sqlite3.Error as exc:
        if checked is not None:
            checked.failed(exc)
        raise
    try:
        if checked is not None:
            checked.check_files()
        yield
        conn.execute("COMMIT")
    except BaseException as exc:
        _rollback(conn)
        if checked is not None:
            checked.failed(exc)
            if checked.broken is not None:
                rescue(checked)
        raise
    if checked is not None:
        checked.check_files()


def _begin(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting past the busy timeout while other writers hold the lock."""
    deadline = time.monotonic() + WRITE_WAIT
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise  # read-only, I/O error: what it is, not "busy"
            if time.monotonic() > deadline:
                raise StoreError(f"the store is busy: {exc}") from exc


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back, if a transaction is open; a failure to (a disk gone) leaves it to the owner."""
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        log.warning("rolling back failed: %s", exc)


def rows(db: sqlite_utils.Database, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """A SELECT's rows as dicts, without the savepoint `db.query` wraps around every read."""
    cursor = db.conn.execute(sql, params)
    cols = [c[0] for c in cursor.description]
    return [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid of the row that the INSERT just run on `cursor` made."""
    if cursor.lastrowid is None:
        raise sqlite3.InterfaceError("the statement inserted no row")
    return cursor.lastrowid


class PerThread:
    """One connection per thread to the same store file (sqlite3 refuses cross-thread use).

    A connection that met a fault, that was opened before `renew()`, or that was opened
    read-only and could now be opened to write, is closed and opened again on its thread's next
    `get()`: after a fault clears, no connection opened during it (read-only, on a deleted log)
    is used again."""

    def __init__(
        self,
        path: str | Path,
        *,
        failing: Callable[[], str | None] | None = None,
        on_fault: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.failing = failing
        self.on_fault = on_fault
        self.generation = 0
        self._local = threading.local()

    def get(self) -> StoreDatabase:
        """This thread's connection, opened on first use and again after a fault or `renew()`."""
        db: StoreDatabase | None = getattr(self._local, "db", None)
        if db is not None and self._stale(db):
            self._local.db = None
            retire(db)
            db = None
        if db is None:
            generation = self.generation
            db = connect(self.path, failing=self.failing, on_fault=self.on_fault)
            db.generation = generation
            self._local.db = db
        return db

    def _stale(self, db: StoreDatabase) -> bool:
        if db.broken is not None or db.generation != self.generation:
            return True
        return db.read_only and _writable(self.path)  # the read-only spell is over

    def renew(self) -> None:
        """Every thread opens its connection anew before it next uses it."""
        self.generation += 1


def backup(source: str | Path, target: str | Path) -> int:
    """Copy a live store with SQLite's online backup (consistent while others write); pages
    copied."""
    target = Path(target)
    if target.exists() and target.is_dir():
        raise StoreError(
            f"{target} is a folder: give a file name, e.g. {target / 'apec-backup.db'}"
        )
    if not target.parent.exists():
        raise StoreError(f"the folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    if log_missing(source):  # opening would make a log that the index does not describe
        raise StoreFault(LOG_MISSING.format(name=Path(source).name))
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
        if _damaged(exc):
            raise StoreError(f"backup failed: {damaged_store(source)}") from exc
        raise StoreError(f"backup failed: {exc}") from exc
    finally:
        src.close()
    if ok != "ok":
        partial.unlink(missing_ok=True)
        raise StoreError(f"the backup failed its integrity check: {ok}")
    partial.replace(target)  # a backup file is whole or absent, never half-written
    return int(pages)
