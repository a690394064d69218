"""Shared fixtures: a real store built into tmp_path, and fixed times (today is after every meeting)."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from store.build import build
from store.db import connect
from store.queries import Store

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEOUL = ZoneInfo("Asia/Seoul")


def at(text: str) -> datetime:
    """An aware time from ISO-8601 with offset."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment


@pytest.fixture(scope="session")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store built from the real seeds, copied for each test that changes it."""
    path = tmp_path_factory.mktemp("store") / "apec.db"
    db = connect(path)
    build(db, SEEDS)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture
def db_path(built_db: Path, tmp_path: Path) -> Path:
    """A private copy of the built store in this test's tmp_path."""
    path = tmp_path / "apec.db"
    shutil.copy(built_db, path)
    return path


@pytest.fixture
def store(db_path: Path) -> Store:
    """Queries over a real store file built from the seeds."""
    db = connect(db_path)
    yield Store(db)
    db.close()


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A writable copy of seeds/, for tests that break a record on purpose."""
    dest = tmp_path / "seeds"
    shutil.copytree(SEEDS, dest)
    return dest
