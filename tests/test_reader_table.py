"""The reader's table (handlers/reader/table.py): every kind of record and every ask of it, in
several phrasings, is answered by a row of the table or plainly said not to be on record, never
left to a passage found by search."""

from __future__ import annotations

import pytest

from handlers.answer import respond
from handlers.question import parse
from handlers.reader.table import TABLE
from tests.conftest import at

NOW = at("2026-06-01T09:00+08:00")  # SOM1 and SOM2 held, SOM3 and the summit ahead
SUBJECTS = {
    "meeting": ("SOM1", "SOM2", "SOM3", "the Leaders' Meeting", "BMC1", "the CEO Summit"),
    "economy": ("Korea", "the US", "Peru", "Viet Nam"),
    "person": ("Casey Mace", "Lee Ji-yoon", "Park Jong-han"),
    "day": ("18 November 2026", "9 February", "3 March"),
    "year": ("2026", "2025"),
    "term": ("BMC", "CTI", "SOM", "ABAC"),
    "month": ("May", "August"),
}
PLACEHOLDERS = {f"{{{k}}}" for k in SUBJECTS}


def questions() -> list[tuple[str, str]]:
    """(row, question) for each phrasing of each row, with each subject of its kind."""
    out = []
    for row in TABLE:
        for phrasing in row.phrasings:
            fills = [(phrasing, "")]
            for key, subjects in SUBJECTS.items():
                if f"{{{key}}}" in phrasing:
                    fills = [(f.replace(f"{{{key}}}", s), s) for f, _ in fills for s in subjects]
            out += [(row.name, text) for text, _ in fills]
    return out


CASES = questions()


def test_every_row_has_phrasings_of_its_own_kinds():
    assert len(CASES) > 100
    assert all(not any(p in text for p in PLACEHOLDERS) for _, text in CASES)


@pytest.mark.parametrize(("row", "text"), CASES, ids=[f"{r}:{t}" for r, t in CASES])
def test_each_ask_of_each_record_is_answered_by_the_table_or_plainly_not_on_record(
    store, row, text
):
    view = store.at(NOW.date())
    found = respond(parse(view, text, NOW), view)
    plainly_not = found.line.startswith(("No source on record", "No upcoming", "No meetings"))
    assert found.by == row or plainly_not and found.by != "search", (found.by, found.line)
