"""A text with nothing a date is written with is not scanned by each of the grammar's rules
(store/dates.py `_MAYBE`): the dates found are the same as when every rule scans every text.

Held three ways: every text the project has (the seeds, every question, answer and phrase of the
test corpora, every string of the date tests), read both as a document and as a question; every
phrase a rule can match, generated from the rule itself; and hostile look-alikes (letters that
fold to ASCII under IGNORECASE, digits of other scripts)."""

from __future__ import annotations

import ast
import re
import tomllib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import dates
from store.dates import _MAYBE, _RULES, _readings, _scan

ROOT = Path(__file__).resolve().parent.parent
REF = date(2026, 2, 10)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").rglob("*.txt"))]
    for path in sorted((ROOT / "tests" / "corpus").glob("*.toml")):
        texts += _strings(tomllib.loads(path.read_text(encoding="utf-8")))
    texts += _strings(tomllib.loads((ROOT / "seeds" / "desk.toml").read_text(encoding="utf-8")))
    for name in ("test_dates.py", "test_reader_table.py", "test_remind_grammar.py"):
        path = ROOT / "tests" / name
        if path.exists():  # one renamed leaves the rest to hold
            tree = ast.parse(path.read_text(encoding="utf-8"))
            texts += [
                n.value
                for n in ast.walk(tree)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]
    return texts


TEXTS = _texts()


def test_the_corpus_is_big_enough_to_mean_something():
    assert len(TEXTS) > 2000
    assert sum(1 for t in TEXTS if _scan(t, REF, documents=False)) > 500


@pytest.mark.parametrize("documents", [True, False])
def test_every_text_we_have_reads_the_same_with_the_check_first(documents):
    for text in TEXTS:
        assert _readings(text, REF, documents) == _scan(text, REF, documents), text[:80]


def test_every_phrase_found_in_what_we_have_holds_what_the_check_looks_for():
    for text in TEXTS:
        for documents in (True, False):
            for phrase, _ in _scan(text, REF, documents):
                assert _MAYBE.search(phrase), phrase


def _bodies() -> list[tuple[int, str]]:
    """Each rule's pattern without the start-of-word guard every rule begins with (hypothesis
    writes no text for a pattern that opens with a lookbehind)."""
    guard = r"(?<!\w)(?=\w)"
    out = []
    for i, rule in enumerate(_RULES):
        assert rule.regex.pattern.startswith(guard)
        out.append((i, rule.regex.pattern[len(guard) :]))
    return out


@pytest.mark.parametrize(("index", "body"), _bodies(), ids=[f"rule{i}" for i, _ in _bodies()])
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_phrase_a_rule_can_match_holds_what_the_check_looks_for(index, body, data):
    pattern = re.compile(body, re.IGNORECASE)
    text = data.draw(st.from_regex(pattern, fullmatch=True))
    found = pattern.fullmatch(text)
    assert found is not None
    if found.group("x"):
        assert _MAYBE.search(found.group("x")), (index, text)


@pytest.mark.parametrize(
    "text",
    [
        "when is the next meeting?",
        "ſeptember 9",  # a long s folds to s under IGNORECASE: still a month to the rules
        "\u0665 February",  # an Arabic-Indic five is a digit to \d
        "next \uff11\uff12 days",  # full-width digits
        "in the coming weeks",
        "later this year",
        "tomorrow",
        "tonight",
        "yesterday",
        "next wk",
        "TODAY?",
        "DEC. 3",
        "between MARCH and JUNE",
        "this weekend",
        "next two months",
        "from May",
        "2026-11-18",
        "18/11/2026",
        "in 2026",
        "what happened at som1",
        "",
        " " * 200,
    ],
)
def test_look_alikes_read_the_same(text):
    for documents in (True, False):
        assert _readings(text, REF, documents) == _scan(text, REF, documents)


def test_a_text_without_any_is_not_scanned():
    assert not _MAYBE.search("who leads the US delegation to the summit?")
    assert dates._readings("who leads the US delegation to the summit?", REF, False) == []
