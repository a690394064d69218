"""Named migrations: a store made before them (with or without the columns added since) opens to
the schema a new store has, keeps its rows, and a second opening changes nothing."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from store.build import build
from store.db import connect
from store.schema import BUILD_TABLES, DESK_TABLES, INDEXES, MIGRATIONS, ensure, migrate
from tests.conftest import SEEDS

# The code before named migrations added these to a store that lacked them (its ADDED_COLUMNS
# and ADDED_INDEXES, as they were): an old store may have none, some or all of them.
OLD_ADDED_COLUMNS = [
    ("deliveries", "attempted_at", "REAL NOT NULL DEFAULT 0"),
    ("desk_documents", "url", "TEXT NOT NULL DEFAULT ''"),
    ("desk_delegates", "source", "TEXT NOT NULL DEFAULT ''"),
    ("desk_delegates", "quote", "TEXT NOT NULL DEFAULT ''"),
    ("feeds", "fetch_started_at", "TEXT NOT NULL DEFAULT ''"),
    ("feeds", "crashes", "INTEGER NOT NULL DEFAULT 0"),
    ("proposals", "origin", "TEXT NOT NULL DEFAULT ''"),
    ("proposals", "held", "TEXT NOT NULL DEFAULT ''"),
    ("one_offs", "for_user", "TEXT NOT NULL DEFAULT ''"),
    ("one_offs", "origin", "TEXT NOT NULL DEFAULT ''"),
    ("meetings", "note_when_missing", "TEXT NOT NULL DEFAULT ''"),
]
OLD_ADDED_INDEXES = [
    "CREATE INDEX IF NOT EXISTS desk_documents_url ON desk_documents(url)",
    "CREATE INDEX IF NOT EXISTS proposals_origin ON proposals(origin, created_at)",
    "CREATE UNIQUE INDEX IF NOT EXISTS one_offs_origin ON one_offs(origin) WHERE origin != ''",
    "CREATE INDEX IF NOT EXISTS one_offs_for_user ON one_offs(for_user)",
]
NAMES = [m.__name__ for m in MIGRATIONS]


def _old_store(path: Path, added: int = 0) -> Path:
    """A store as the code before named migrations left it: every table as first made, the
    first `added` of the columns added since (with their indexes, once all are in), some rows."""
    conn = sqlite3.connect(path)
    for ddl in (*BUILD_TABLES.values(), *DESK_TABLES.values(), *INDEXES):
        conn.execute(ddl)
    for table, column, definition in OLD_ADDED_COLUMNS[:added]:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    if added == len(OLD_ADDED_COLUMNS):
        for ddl in OLD_ADDED_INDEXES:
            conn.execute(ddl)
    conn.execute(
        "INSERT INTO deliveries (key, channel, kind, due_at, status, ts) "
        "VALUES ('k', 'C1', 'reminder', '2026-11-11T09:00:00+00:00', 'sent', '1.2')"
    )
    conn.execute(
        "INSERT INTO one_offs (channel, due_at, tz, text, created_by, created_at) "
        "VALUES ('C1', '2026-11-09T00:00:00+00:00', 'UTC', 'call Seoul', 'U1', '2026-11-01')"
    )
    conn.execute(
        "INSERT INTO feeds (url, added_by, added_at) "
        "VALUES ('https://example.org/feed', 'U1', '2026-11-01')"
    )
    conn.execute(
        "INSERT INTO desk_delegates (economy, meeting, name, edited_by, edited_at) "
        "VALUES ('KR', 'SOM1', 'Kim', 'U1', '2026-11-01')"
    )
    conn.commit()
    conn.close()
    return path


def _schema(path: Path) -> dict[str, Any]:
    """What a store is made of: each table's columns (name, type, not null, default, key) in
    order, and each index, trigger and view as SQLite keeps it."""
    conn = sqlite3.connect(path)
    try:
        objects = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        return {
            "tables": {
                name: conn.execute(f"PRAGMA table_xinfo([{name}])").fetchall()
                for kind, name, _, _ in objects
                if kind == "table"
            },
            "others": [row for row in objects if row[0] != "table"],
        }
    finally:
        conn.close()


def _opened(path: Path) -> Path:
    """The store at `path` (made if there is none) once opened as the bot opens it."""
    db = connect(path)
    ensure(db)
    db.close()
    return path


@pytest.mark.parametrize("added", [0, 1, 6, len(OLD_ADDED_COLUMNS)])
def test_an_old_store_opens_to_the_schema_of_a_new_one_and_keeps_its_rows(tmp_path, added):
    old = _old_store(tmp_path / "old.db", added)
    assert _schema(old) != _schema(_opened(tmp_path / "new.db"))

    assert _schema(_opened(old)) == _schema(tmp_path / "new.db")
    db = connect(old)
    delivery = db.execute("SELECT status, ts, attempted_at FROM deliveries").fetchone()
    one_off = db.execute("SELECT text, for_user, origin FROM one_offs").fetchone()
    feed = db.execute("SELECT url, fetch_started_at, crashes FROM feeds").fetchone()
    delegate = db.execute("SELECT name, source, quote FROM desk_delegates").fetchone()
    assert (delivery, one_off, feed, delegate) == (
        ("sent", "1.2", 0.0),
        ("call Seoul", "", ""),
        ("https://example.org/feed", "", 0),
        ("Kim", "", ""),
    )
    assert [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY name")] == NAMES
    db.close()


def test_opening_a_migrated_store_again_changes_nothing(tmp_path):
    old = _opened(_old_store(tmp_path / "old.db"))
    before = _schema(old)
    db = connect(old)
    applied = db.execute("SELECT * FROM _migrations").fetchall()
    changes = db.conn.total_changes

    ensure(db)
    assert migrate(db) == []
    assert db.conn.total_changes == changes
    assert db.execute("SELECT * FROM _migrations").fetchall() == applied
    db.close()
    assert _schema(old) == before


def test_the_migrations_are_numbered_in_order_each_name_once():
    numbered = [re.fullmatch(r"m(\d{3})_[a-z0-9_]+", name) for name in NAMES]
    numbers = [int(match[1]) if match else 0 for match in numbered]
    assert numbers == list(range(1, len(MIGRATIONS) + 1))


def test_only_a_migration_the_store_has_not_recorded_is_applied(tmp_path):
    path = _opened(tmp_path / "apec.db")
    db = connect(path)
    last = NAMES[-1]
    db.execute("DELETE FROM _migrations WHERE name = ?", [last])
    db.execute("ALTER TABLE meetings DROP COLUMN note_when_missing")

    assert migrate(db) == [last]
    assert "note_when_missing" in db["meetings"].columns_dict
    db.close()
    assert _schema(path) == _schema(_opened(tmp_path / "new.db"))


def test_two_connections_opening_one_old_store_at_once_migrate_it_once(tmp_path):
    old = _old_store(tmp_path / "old.db")
    ready = threading.Barrier(2)
    applied: list[list[str]] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        db = connect(old)
        try:
            ready.wait()
            applied.append(migrate(db))
        except BaseException as exc:  # reported below, with the other thread's outcome
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(applied) == [[], NAMES]


def test_an_old_store_built_again_holds_what_a_new_store_built_holds(tmp_path, built_db):
    old = _old_store(tmp_path / "old.db")
    db = connect(old)
    build(db, SEEDS)
    db.close()

    def meetings(path: Path) -> list[dict[str, Any]]:
        db = sqlite_utils.Database(path)
        try:
            return list(db.query("SELECT * FROM meetings ORDER BY id"))
        finally:
            db.close()

    assert meetings(old) == meetings(built_db)
    assert _schema(old) == _schema(built_db)
