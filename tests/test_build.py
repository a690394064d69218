"""Building the store from seeds/: sources byte for byte, checked records, one transaction,
idempotent."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from store.build import build, load_desk
from store.db import connect
from store.errors import SourceError
from store.ingest import ingest
from store.schema import BUILD_TABLES
from tests.conftest import SEEDS, at

SHARED_SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def _dump(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        return {
            t: sorted(conn.execute(f"SELECT * FROM [{t}]").fetchall(), key=repr)
            for t in BUILD_TABLES
        }
    finally:
        conn.close()


def test_every_seed_source_is_kept_with_its_sha256(store):
    for source in store.db.query("SELECT * FROM sources"):
        data = (SEEDS / source["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == source["sha256"]
        assert source["title"] and source["reference_date"]


@pytest.mark.skipif(not SHARED_SEEDS.exists(), reason="shared/ seeds are beside the checkout only")
@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.glob("0*.txt")))
def test_seed_files_are_the_originals_byte_for_byte(name):
    assert (SEEDS / name).read_bytes() == (SHARED_SEEDS / name).read_bytes()


def test_six_sources_with_reference_dates_from_sources_md(store):
    refs = {
        r["original_name"]: r["reference_date"] for r in store.db.query("SELECT * FROM sources")
    }
    assert refs == {
        "000_229267065c43bb82.txt": "2026-02-10",
        "001_656fde3bdad1ded6.txt": "2026-02-01",
        "002_fe034816e4395e4b.txt": "2026-02-02",
        "003_5f7955cda4e887d4.txt": "2026-02-01",
        "004_d1a3defe849aaa1c.txt": "2025-06-10",
        "china-2026-calendar-announcement.txt": "2026-05-19",
    }


def test_building_twice_gives_the_same_store(tmp_path):
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    for path in (first, second):
        db = connect(path)
        build(db, SEEDS)
        build(db, SEEDS)
        db.close()
    assert _dump(first) == _dump(second)


def test_build_keeps_what_the_desk_added(db_path):
    db = connect(db_path)
    db.execute("INSERT INTO settings (key, value) VALUES ('feed_token', 'kept')")
    build(db, SEEDS)
    assert db.execute("SELECT value FROM settings WHERE key = 'feed_token'").fetchone()[0] == "kept"
    db.close()


def test_a_quote_not_in_its_source_fails_the_build_naming_the_record(seeds_copy, tmp_path):
    text = (seeds_copy / "desk.toml").read_text()
    start = text.index('id = "som3-2026"')
    q = text.index("quote = ", start)
    end = text.index("\n", q)
    (seeds_copy / "desk.toml").write_text(
        text[:q] + 'quote = "SOM3 in Dalian on August 10"' + text[end:]
    )
    db = connect(tmp_path / "x.db")
    with pytest.raises(SourceError, match="meeting 'som3-2026': quote not found"):
        build(db, seeds_copy)


def test_a_failed_build_leaves_the_previous_store_whole(db_path, seeds_copy):
    db = connect(db_path)
    before = _dump(db_path)
    text = (seeds_copy / "desk.toml").read_text()
    (seeds_copy / "desk.toml").write_text(text.replace('host = "CN"', 'host = "XX"', 1))
    with pytest.raises(SourceError, match="unknown host economy 'XX'"):
        build(db, seeds_copy)
    db.close()
    assert _dump(db_path) == before


def test_a_date_phrase_not_in_the_source_fails_the_build(seeds_copy, tmp_path):
    text = (seeds_copy / "desk.toml").read_text()
    (seeds_copy / "desk.toml").write_text(
        text.replace('dates = "in August"', 'dates = "August 10 to 21"')
    )
    with pytest.raises(SourceError, match="date phrase 'August 10 to 21' not found"):
        build(connect(tmp_path / "x.db"), seeds_copy)


def test_a_malformed_desk_file_is_one_clear_error(seeds_copy, tmp_path):
    (seeds_copy / "desk.toml").write_text("[[meetings]\nid = ")
    with pytest.raises(SourceError, match="desk.toml"):
        build(connect(tmp_path / "x.db"), seeds_copy)


def test_every_record_in_the_desk_file_cites_a_source_and_a_quote():
    desk = load_desk(SEEDS)
    for kind in ("economies", "meetings", "people", "roles", "delegations", "facts"):
        for rec in desk[kind]:
            assert rec["source"] and rec["quote"], (kind, rec)


def test_web_page_debris_is_not_a_passage(store):
    texts = [r["text"] for r in store.db.query("SELECT text FROM passages")]
    for debris in ("Log in to vote", "Only logged-in users can comment", "Loading", "Expand"):
        assert not any(t.startswith(debris) or t.endswith(debris) for t in texts), debris


def test_the_q_and_a_repeated_in_001_and_003_is_one_passage_each(store):
    rows = store.db.execute(
        "SELECT count(*) FROM passages WHERE text LIKE 'Casey Mace is the U.S. Senior Official%'"
    ).fetchone()
    assert rows[0] == 1


def test_ingest_adds_a_document_that_survives_a_rebuild(db_path, tmp_path):
    doc = tmp_path / "release.md"
    doc.write_text(
        "# SOM3 dates confirmed\n\nReference date: 2026-07-01\n\n"
        "The Third Senior Officials' Meeting (SOM3) will be held in Dalian "
        "from August 10 to 21, 2026. "
        "Casey Mace will lead the US delegation; "
        "Viet Nam and Chinese Taipei confirmed attendance.\n"
    )
    db = connect(db_path)
    report = ingest(db, doc, at("2026-07-02T10:00+09:00"), SEEDS)
    assert report.new and report.passages >= 1
    kinds = {(f.kind, f.value) for f in report.findings}
    assert any(k == "date" and v.endswith("-> 10–21 August 2026") for k, v in kinds)
    assert ("person", "Casey Mace") in kinds
    assert ("economy", "Vietnam") in kinds and ("economy", "Chinese Taipei") in kinds
    assert ("economy", "United States of America") in kinds
    assert any(k == "meeting" and "Third Senior Officials" in v for k, v in kinds)
    build(db, SEEDS)
    assert db.execute("SELECT count(*) FROM sources WHERE origin = 'desk'").fetchone()[0] == 1
    again = ingest(db, doc, at("2026-07-03T10:00+09:00"), SEEDS)
    assert not again.new
    assert db.execute("SELECT count(*) FROM sources WHERE origin = 'desk'").fetchone()[0] == 1
    db.close()


def test_ingest_refuses_binary_and_empty_files(db_path, tmp_path):
    db = connect(db_path)
    (tmp_path / "b.bin").write_bytes(b"\xff\xfe\x00\x81")
    (tmp_path / "e.txt").write_text("  \n\n")
    with pytest.raises(SourceError, match="not UTF-8"):
        ingest(db, tmp_path / "b.bin", at("2026-11-24T09:00+09:00"), SEEDS)
    with pytest.raises(SourceError, match="no text"):
        ingest(db, tmp_path / "e.txt", at("2026-11-24T09:00+09:00"), SEEDS)
    db.close()
