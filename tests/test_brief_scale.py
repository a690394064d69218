"""A brief's "recent sources" at scale (issue 24): a meeting named in more passages than the store
ranks (`rank_cap`) has its newest sources read from the index on the sources' dates, newest first,
stopping once it has its few, instead of sorting the sources of every passage naming it. Either way
the same sources come out, in the same order, with the same sentence: checked here on a store
crowded with documents that share their day and time added (ingested at once, so which of them is
newer is decided by their first passage naming the meeting), and briefs byte for byte.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from handlers.brief import Brief, request, to_markdown
from store import queries
from store.db import StoreDatabase, connect
from store.ingest import Document, ingest_many
from store.models import Sentence
from store.queries import Store
from tests.conftest import SEEDS, build_at

NOW = datetime.fromisoformat("2026-03-01T09:00+09:00")
DOCS = 150
SOM1 = ["SOM1", "First Senior Officials' Meeting and Related Meetings"]
PHRASES = [
    SOM1,
    ["AELM 2026", "Economic Leaders' Meeting"],
    ["Guangzhou"],
    ["SOM3"],
    ["no such meeting anywhere"],
]
DAYS = [None, date(2026, 1, 15), date(2026, 2, 10), date(2026, 2, 25), date(2026, 4, 1)]
ALL = 10**9  # a rank cap no phrase exceeds: the sort of every passage's source, as before
NONE = 0  # a rank cap every phrase held anywhere exceeds: read newest first


def _text(rng: random.Random, n: int) -> str:
    """A short release: some paragraphs name SOM1 (by either name), some this year's or next
    year's, some the summit, some nothing."""
    lines = [f"Release {n} on APEC cooperation"]
    for _ in range(rng.randint(1, 4)):
        lines.append(
            rng.choice(
                [
                    f"Officials met in Guangzhou at SOM1 to discuss item {rng.randint(1, 999)}.",
                    "The First Senior Officials' Meeting and Related Meetings closed with a "
                    f"statement on point {rng.randint(1, 999)}.",
                    f"SOM1 of APEC 2027 will be held in Hanoi, note {rng.randint(1, 999)}.",
                    f"Leaders will meet at AELM 2026 in Shenzhen, topic {rng.randint(1, 999)}.",
                    f"Work continued on trade facilitation, paper {rng.randint(1, 999)}.",
                ]
            )
        )
    return "\n\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds' store plus DOCS documents ingested at one time (one time added for all) over a
    few days of January to March 2026: many share a day and a time added."""
    path = build_at(tmp_path_factory.mktemp("crowded") / "apec.db", SEEDS)
    rng = random.Random(24)
    docs = [
        Document(
            text=_text(rng, n),
            name=f"release-{n:03d}.md",
            title=f"Release {n}",
            reference=date(2026, 1, 20) + timedelta(days=rng.randrange(0, 40, 4)),
        )
        for n in range(DOCS)
    ]
    db = connect(path)
    for batch in range(3):  # one time added; each batch in its own order, so passages' order
        ingest_many(db, docs[batch::3], now=NOW, seeds=SEEDS)  # does not follow the sources' ids
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture
def db(crowded: Path) -> Iterator[StoreDatabase]:
    found = connect(crowded)
    yield found
    found.close()


def _seen(found: list[Sentence]) -> list[tuple[str, int, int, str]]:
    return [(s.source.id, s.passage_id, s.seq, s.text) for s in found]


def _naming(
    db: StoreDatabase, rank_cap: int, day: date | None, phrases: list[str], limit: int
) -> list[tuple[str, int, int, str]]:
    store = Store(db, rank_cap=rank_cap)
    return _seen((store if day is None else store.at(day)).sources_naming(phrases, limit))


@pytest.mark.parametrize("limit", [1, 3, 10, 40])
@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("phrases", PHRASES)
def test_newest_first_names_the_sources_the_sort_of_every_passage_names(db, phrases, day, limit):
    assert _naming(db, NONE, day, phrases, limit) == _naming(db, ALL, day, phrases, limit)


def test_the_crowded_store_has_ties_that_the_first_passage_decides(db):
    """What the test above stands on: more sources naming SOM1 than a limit of 3 takes share the
    newest day and time added (25 February: the last day of the releases), and their first
    passages do not follow their ids."""
    every = Store(db, rank_cap=ALL).at(date(2026, 2, 25)).sources_naming(SOM1, 1000)
    newest = (every[0].source.reference_date, every[0].source.added_at)
    tied = [s for s in every if (s.source.reference_date, s.source.added_at) == newest]
    assert len(tied) > 3
    assert [s.source.id for s in tied] != sorted(s.source.id for s in tied)


def test_when_few_of_the_newest_name_it_the_sources_are_sorted_instead(db, monkeypatch):
    monkeypatch.setattr(queries, "NEWEST_READ", 3)
    for day in DAYS:
        assert _naming(db, NONE, day, SOM1, 10) == _naming(db, ALL, day, SOM1, 10)


@pytest.mark.parametrize("text", ["SOM1", "SOM1 for US", "SOM1 for Korea", "AELM 2026", "SOM2"])
@pytest.mark.parametrize(
    "now", ["2026-02-05T09:00+09:00", "2026-02-25T09:00+09:00", "2026-06-01T09:00+00:00"]
)
def test_a_brief_is_the_same_byte_for_byte_read_either_way(db, text, now):
    def brief(rank_cap: int) -> str:
        found = request(Store(db, rank_cap=rank_cap), text, datetime.fromisoformat(now))
        assert isinstance(found, Brief)
        return to_markdown(found)

    assert brief(NONE) == brief(ALL)


def _plans(db: StoreDatabase, store: Store) -> list[list[str]]:
    """The query plan of each statement reading the sources newest first while `store` finds
    the sources naming SOM1."""
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        store.sources_naming(SOM1, 10)
    finally:
        db.conn.set_trace_callback(None)
    newest = [s for s in statements if "ORDER BY s.reference_date DESC" in s]
    return [[r[3] for r in db.execute("EXPLAIN QUERY PLAN " + s)] for s in newest]


@pytest.mark.parametrize("day", [None, date(2026, 2, 20)])
def test_the_newest_sources_are_read_from_the_index_on_their_dates_with_no_sort(db, day):
    store = Store(db, rank_cap=NONE)
    plans = _plans(db, store if day is None else store.at(day))
    assert plans, "the sources were not read newest first"
    for plan in plans:
        assert any("sources_date" in step for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan


@pytest.mark.parametrize("day", [None, date(2026, 2, 25)])
def test_the_first_sentences_naming_a_meeting_are_those_of_its_first_passages(db, day):
    store = Store(db) if day is None else Store(db).at(day)
    every = [s.passage_id for s in store.sentences_naming(SOM1, limit=10_000)]
    first = [s.passage_id for s in store.sentences_naming(SOM1, limit=5)]
    assert len(set(every)) > 5 and first == every[: len(first)] and len(set(first)) == 5
    assert every == sorted(every)


@pytest.mark.parametrize("day", [None, date(2026, 2, 25)])
def test_the_first_passages_naming_a_meeting_are_read_in_the_index_s_order_with_no_sort(db, day):
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        (Store(db) if day is None else Store(db).at(day)).sentences_naming(SOM1, limit=5)
    finally:
        db.conn.set_trace_callback(None)
    (read,) = [s for s in statements if "FROM passages_fts" in s and "LIMIT" in s]
    plan = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + read)]
    assert not any("TEMP B-TREE" in step for step in plan), plan
