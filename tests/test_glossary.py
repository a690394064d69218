"""The desk glossary (seeds/glossary.toml): each cited term stands in its source, the desk's own
shorthand only reads questions, every term is found by any of its spellings."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from store.build import GLOSSARY_FILE, build, load_desk
from store.db import connect
from store.errors import SourceError
from store.names import alias_key
from store.queries import Store
from store.text import stands_in
from tests.conftest import SEEDS

ENTRIES = tomllib.loads((SEEDS / GLOSSARY_FILE).read_text(encoding="utf-8"))["terms"]


def _spellings(store: Store, reading_only: bool) -> set[str]:
    return {
        alias_key(name)
        for t in store.glossary()
        if t.reading_only == reading_only
        for name in (t.term, *t.aliases)
    }


def _rewrite(seeds: Path, old: str, new: str) -> None:
    """The seeds' glossary with one piece of text replaced (it must be there, once)."""
    path = seeds / GLOSSARY_FILE
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _build_fails(seeds: Path, tmp_path: Path, match: str) -> None:
    with pytest.raises(SourceError, match=match) as failed:
        build(connect(tmp_path / "x.db"), seeds)
    assert GLOSSARY_FILE in str(failed.value)


def test_every_entry_of_the_file_is_in_the_store_cited_ones_first(store):
    listed = sorted(ENTRIES, key=lambda e: e.get("reading_only", False))  # stable: file order
    assert [t.term for t in store.glossary()] == [e["term"] for e in listed]


def test_the_glossary_is_read_once_while_the_store_is_unchanged(store):
    assert store.glossary()[0] is store.glossary()[0]
    assert store.term("SCE") is store.term("s.c.e.")


def test_every_cited_quote_stands_in_its_source_file(store):
    files = {s["id"]: s["file"] for s in load_desk(SEEDS)["sources"]}
    cited = [t for t in store.glossary() if not t.reading_only]
    assert len(cited) >= 15
    for term in cited:
        text = (SEEDS / files[term.source.id]).read_text(encoding="utf-8")
        assert stands_in(term.quote, text), term.term


def test_every_cited_quote_writes_its_term_and_its_expansion(store):
    for term in store.glossary():
        if term.reading_only:
            continue
        quote = f" {alias_key(term.quote)} "
        assert any(f" {alias_key(n)} " in quote for n in (term.term, *term.aliases)), term.term
        assert not term.expansion or stands_in(term.expansion, term.quote), term.term


def test_every_refers_to_names_a_record_of_the_store(store):
    referring = [t for t in store.glossary() if t.refers_to]
    assert len(referring) >= 10
    for term in referring:
        found = (
            any(m.id == term.refers_to for m in store.meetings())
            or store.economy(term.refers_to) is not None
            or store.person_by_id(term.refers_to) is not None
        )
        assert found, (term.term, term.refers_to)


@pytest.mark.parametrize(
    ("shorthand", "record"),
    [
        ("USG", "US"),
        ("ROK", "KR"),
        ("PRC", "CN"),
        ("AMM", "jmm-2026"),
        ("AELM", "aelm-2026"),
        ("BMC", "bmc1-2026"),
        ("SCE", "sce-som1-2026"),
        ("joint ministerial meeting", "jmm-2026"),
    ],
)
def test_shorthand_names_the_record_it_means(store, shorthand, record):
    assert store.term(shorthand).refers_to == record


@pytest.mark.parametrize(
    ("typed", "term"),
    [
        ("SCE", "SCE"),
        ("S.C.E.", "SCE"),
        ("sce", "SCE"),
        ("b.m.c.", "BMC"),
        ("Budget and Management Committee", "BMC"),
        ("SOMs", "SOM"),
        ("senior officials meeting", "SOM"),
        ("Senior Officials’ Meetings", "SOM"),
        ("SOM 2", "SOM2"),
        ("U.S.G.", "USG"),
        ("usg", "USG"),
        ("Cmte", "cmte"),
        ("cttee", "cmte"),
        ("mtgs", "mtg"),
        ("the host economy", "host economy"),
        ("Putrajaya Vision", "Putrajaya Vision 2040"),
        ("US Senior Official", "U.S. Senior Official"),
    ],
)
def test_a_term_is_found_by_any_spelling(store, typed, term):
    assert store.term(typed).term == term


def test_every_term_and_alias_of_the_store_finds_its_own_term(store):
    for term in store.glossary():
        for name in (term.term, *term.aliases):
            assert store.term(name) == term, name
            assert store.term(name.upper()) == term, name


@pytest.mark.parametrize("typed", ["", "?", "SOM4", "committee on trade", "Bogor", "FTAAP"])
def test_what_the_glossary_lacks_is_none(store, typed):
    assert store.term(typed) is None


def test_a_cited_term_carries_its_source_and_quote(store):
    bmc = store.term("BMC")
    assert not bmc.reading_only
    assert bmc.source.id == "kr-mofa-som1"
    assert bmc.expansion == "Budget and Management Committee"
    assert (
        bmc.definition
        == "the Budget and Management Committee, which oversees APEC's budget for the current year"
    )
    assert "(BMC), which oversees APEC's budget for the current year" in bmc.quote


def test_reading_only_terms_carry_no_source_quote_or_definition(store):
    reading = [t for t in store.glossary() if t.reading_only]
    assert {"USG", "ROK", "PRC", "AMM", "MRT", "ABAC", "AELM", "cmte", "del", "mtg", "wg"} <= {
        t.term for t in reading
    }
    for term in reading:
        assert term.source is None and term.quote == "" and term.definition == "", term.term


@pytest.mark.parametrize("shorthand", ["ABAC", "USG", "ROK", "PRC", "AMM", "MRT", "AELM"])
def test_desk_shorthand_no_source_spells_out_is_reading_only(store, shorthand):
    term = store.term(shorthand)
    assert term.reading_only
    for source in load_desk(SEEDS)["sources"]:
        text = (SEEDS / source["file"]).read_text(encoding="utf-8")
        assert f"({shorthand})" not in text, (shorthand, source["file"])


def test_no_spelling_is_both_reading_only_and_cited(store):
    assert _spellings(store, True)
    assert _spellings(store, False)
    assert not _spellings(store, True) & _spellings(store, False)


def test_the_build_summary_counts_the_terms(tmp_path):
    report = build(connect(tmp_path / "x.db"), SEEDS)
    assert report.counts["glossary"] == len(ENTRIES)
    assert ["glossary", str(len(ENTRIES))] in [
        ln.split() for ln in report.summary("x").splitlines()
    ]


def test_a_records_only_build_keeps_the_glossary(db_path):
    db = connect(db_path)
    build(db, SEEDS, records_only=True)
    assert len(Store(db).glossary()) == len(ENTRIES)


def test_no_glossary_file_is_no_glossary(seeds_copy, tmp_path):
    (seeds_copy / GLOSSARY_FILE).unlink()
    db = connect(tmp_path / "x.db")
    report = build(db, seeds_copy)
    assert report.counts["glossary"] == 0
    store = Store(db)
    assert store.glossary() == [] and store.term("SCE") is None
    assert store.meeting("SCE") is not None  # the rest of the store stands


def test_a_broken_quote_fails_the_build_naming_the_term(seeds_copy, tmp_path):
    _rewrite(seeds_copy, 'quote = "the Steering Committee', 'quote = "the Standing Committee')
    _build_fails(seeds_copy, tmp_path, "term 'SCE': quote not found in 000_")


def test_a_definition_saying_more_than_its_quote_fails_the_build(seeds_copy, tmp_path):
    _rewrite(seeds_copy, "Committee, which oversees", "Committee, which approves")
    _build_fails(seeds_copy, tmp_path, "term 'BMC': definition has words its quote lacks: approves")


def test_an_expansion_not_in_its_quote_fails_the_build(seeds_copy, tmp_path):
    _rewrite(seeds_copy, 'expansion = "Economic Committee"', 'expansion = "Executive Committee"')
    _build_fails(seeds_copy, tmp_path, "term 'EC': expansion 'Executive Committee' is not in")


def test_a_quote_not_writing_its_term_fails_the_build(seeds_copy, tmp_path):
    _rewrite(seeds_copy, 'term = "MOFA"', 'term = "MFA"')
    _build_fails(seeds_copy, tmp_path, "term 'MFA': its quote does not write the term")


def test_a_reading_only_term_with_a_source_fails_the_build(seeds_copy, tmp_path):
    _rewrite(
        seeds_copy,
        'refers_to = ""\nsource = "desk"\nreading_only = true\n\n[[terms]]\nterm = "USTR"',
        'refers_to = ""\nsource = "us-state-qa"\nreading_only = true\n\n[[terms]]\nterm = "USTR"',
    )
    _build_fails(seeds_copy, tmp_path, "term 'ABAC': a reading-only term has source \"desk\"")


def test_a_spelling_of_two_terms_fails_the_build(seeds_copy, tmp_path):
    _rewrite(seeds_copy, 'aliases = ["cmtes", "cttee", "cttees"]', 'aliases = ["CTI"]')
    _build_fails(seeds_copy, tmp_path, "term 'cmte': 'CTI' already names term 'CTI'")


def test_a_refers_to_no_record_fails_the_build(seeds_copy, tmp_path):
    _rewrite(
        seeds_copy,
        'refers_to = "jmm-2026"\nsource = "desk"',
        'refers_to = "amm-2026"\nsource = "desk"',
    )
    _build_fails(seeds_copy, tmp_path, "term 'AMM': unknown record 'amm-2026'")


def test_every_problem_is_named_in_one_failed_build(seeds_copy, tmp_path):
    _rewrite(seeds_copy, 'quote = "the Steering Committee', 'quote = "the Standing Committee')
    _rewrite(seeds_copy, 'kind = "economy"\nrefers_to = "US"', 'kind = "country"\nrefers_to = "US"')
    _build_fails(
        seeds_copy, tmp_path, r"2 problem\(s\) in glossary.toml:\n  term 'SCE'.*\n  term 'USG'"
    )


def test_a_failed_glossary_leaves_the_previous_store_whole(db_path, seeds_copy):
    _rewrite(seeds_copy, 'quote = "the Steering Committee', 'quote = "the Standing Committee')
    db = connect(db_path)
    with pytest.raises(SourceError):
        build(db, seeds_copy)
    assert Store(db).term("SCE").source.id == "kr-mofa-som1"


def test_a_malformed_glossary_is_one_clear_error(seeds_copy, tmp_path):
    (seeds_copy / GLOSSARY_FILE).write_text("[[terms]\nterm = ", encoding="utf-8")
    _build_fails(seeds_copy, tmp_path, "glossary.toml")


def test_the_store_reads_the_glossary_again_after_a_rebuild(store, seeds_copy):
    assert store.term("HoD") is not None
    _rewrite(seeds_copy, 'term = "HoD"', 'term = "HOD-X"')
    build(store.db, seeds_copy)
    store.refresh()
    assert store.term("HoD") is None and store.term("hod x").expansion == "head of delegation"


def test_a_view_of_a_day_cites_only_terms_whose_source_was_published_by_then(store):
    march = store.at(date(2026, 3, 1))
    assert march.term("SCE").source.id == "kr-mofa-som1"  # 2026-02-10
    assert march.term("SOM2") is None  # the desk note, 2026-05-19
    assert march.term("USG").reading_only  # the desk's shorthand is no statement: always
    before = store.at(date(2025, 7, 1))
    assert [t for t in before.glossary() if not t.reading_only] == []
    assert len(before.glossary()) == sum(1 for e in ENTRIES if e.get("reading_only"))
    assert store.term("SOM2").refers_to == "som2-2026"  # the whole store keeps every term
