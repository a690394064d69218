"""The question corpus: questions typed as desk officers type them, each with its expected answer
written from the sources before anyone looked at what the bot says (tests/corpus/questions.toml).

Each case is asked at its own `now`. The suite reports the share answered right per family (at the
end of the run, and with `python -m tests.test_questions`) and fails below 95% overall.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from handlers.answer import answer
from store.queries import Store
from store.text import fold

CORPUS = Path(__file__).parent / "corpus" / "questions.toml"
# Sets written by others and kept apart from tuning, each scored once untouched (heldout 72/92,
# fresh 91/109, unseen 96/120), then its misses studied and mended at their cause: tuned to
# since, so they run with the corpus. A new set goes in HELD_OUT until it is scored.
SETS = [CORPUS, *(CORPUS.with_name(f"{n}.toml") for n in ("heldout", "fresh", "unseen"))]
# Written from seeds/ alone by someone who never ran the bot (48 cases); scored once untouched on
# 2026-11-27: 39/48, 81.2% (`APEC_HELD_OUT=1 python -m pytest tests/test_questions.py -k held_out`).
# It stays out of the suite, and out of tuning, so the next score still measures something.
HELD_OUT = CORPUS.with_name("kept-apart.toml")
AIM = 0.95
# Sets scored untouched, then worked to, that run with the suite at the floor they reached, so
# what was mended stays mended:
# * desk-2026-12 (issue 19; 187 cases, written from seeds/ alone by a helper who never saw the
#   bot) scored 119/187 (63.6%) untouched before the reader became a table; worked to 174/187.
# * probe-2026-12-07 (150 cases, by another such helper) scored 119/150 (79.3%) untouched on
#   2026-12-07; worked to 140/150 (93.3%) by mending causes (a claim put to be confirmed, the
#   asker's errand, questions of several parts, days since an opening, a place beside a city).
# * sealed-2026-12 (193 cases, by another who never saw the bot) was scored once at the end of
#   each reader's work and never tuned to: 158/193 (81.9%) on 2026-12-06; 161/193 (83.4%) on
#   2026-12-07 after the probe's mending (four right that were wrong, none wrong that was right).
#   Then spent: studied and worked to 176/193 (91.2%) by mending causes (a yes-or-no question
#   answered yes, no or no source; days claimed; what surrounds a question; a meeting's length).
FLOORS = {
    CORPUS.with_name("desk-2026-12.toml"): 0.93,
    CORPUS.with_name("probe-2026-12-07.toml"): 0.93,
    CORPUS.with_name("sealed-2026-12.toml"): 0.91,
}
# sealed-2026-12-07 (160 cases, by a fourth helper who never saw the bot) has never been scored:
# kept out of the suite and out of tuning, so the next reader can be measured on it.
SEALED = CORPUS.with_name("sealed-2026-12-07.toml")


@dataclass(frozen=True)
class Case:
    family: str
    ask: str
    now: datetime
    way: str
    first: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    starts: str = ""
    no_source: bool = False
    cites: tuple[str, ...] = ()


def load(path: Path) -> list[Case]:
    """Every case of a corpus file."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        Case(
            family=family["name"],
            ask=case["ask"],
            now=datetime.fromisoformat(case["now"]),
            way=case.get("way", ""),
            first=tuple(case.get("first", ())),
            text=tuple(case.get("text", ())),
            absent=tuple(case.get("absent", ())),
            starts=case.get("starts", ""),
            no_source=bool(case.get("no_source", False)),
            cites=tuple(case.get("cites", ())),
        )
        for family in data["family"]
        for case in family["case"]
    ]


def norm(text: str) -> str:
    """Compared as the corpus says: case, spaces, dashes and quotes folded."""
    return re.sub(r"-+", "-", fold(text))


def judge(store: Store, case: Case) -> list[str]:
    """What is wrong with the bot's answer to one case (nothing: it is right)."""
    text = answer(store, case.ask, case.now).plain()
    first = norm(text.splitlines()[0] if text else "")
    whole = norm(text)
    wrong = [f"first line lacks {n!r}" for n in case.first if norm(n) not in first]
    wrong += [f"lacks {n!r}" for n in case.text if norm(n) not in whole]
    wrong += [f"holds {n!r}" for n in case.absent if norm(n) in whole]
    if case.starts and not first.startswith(norm(case.starts)):
        wrong.append(f"first line does not start {case.starts!r}")
    if case.no_source and "no source" not in first:
        wrong.append("first line does not say 'no source'")
    # A source is cited by its title and publisher: the date beside them is the day the cited
    # statement was published, which for a statement the source itself dates (the desk note's
    # December 2025 announcement) is earlier than the source's own.
    cited = [s for s in case.cites if (src := store.source(s)) and norm(_named_by(src)) in whole]
    if case.cites and not cited:
        wrong.append(f"cites none of {list(case.cites)}")
    return wrong


def _named_by(source) -> str:
    """How a citation names a source, without its date: "Title, Publisher (" """
    return source.cite().rsplit("(", 1)[0]


def score(store: Store, cases: list[Case]) -> tuple[dict[str, list[bool]], list[str]]:
    """Right or wrong per family, and a line for each wrong answer."""
    results: dict[str, list[bool]] = defaultdict(list)
    failures = []
    for case in cases:
        wrong = judge(store, case)
        results[case.family].append(not wrong)
        if wrong:
            failures.append(
                f"[{case.family}] {case.ask!r} at {case.now:%Y-%m-%d}: {'; '.join(wrong)}"
            )
    return results, failures


def report(results: dict[str, list[bool]]) -> str:
    """The share right per family, worst first, and overall."""
    lines = []
    for family, marks in sorted(results.items(), key=lambda kv: sum(kv[1]) / len(kv[1])):
        lines.append(
            f"  {family:<32} {sum(marks):>3}/{len(marks):<3} {sum(marks) / len(marks):6.1%}"
        )
    every = [m for marks in results.values() for m in marks]
    lines.append(
        f"  {'overall':<32} {sum(every):>3}/{len(every):<3} {sum(every) / len(every):6.1%}"
    )
    return "\n".join(lines)


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_each_question_set_is_answered_right_in_95_percent_of_cases(store, reports, path):
    results, failures = score(store, load(path))
    every = [m for marks in results.values() for m in marks]
    reports.append(f"Questions ({path.name}), share right per family:\n{report(results)}")
    assert sum(every) / len(every) >= AIM, "\n".join(failures)


@pytest.mark.parametrize("path", FLOORS, ids=lambda p: p.name)
def test_each_set_worked_to_stays_at_what_the_reader_reached(store, reports, path):
    results, failures = score(store, load(path))
    every = [m for marks in results.values() for m in marks]
    reports.append(f"Questions ({path.name}), share right per family:\n{report(results)}")
    assert sum(every) / len(every) >= FLOORS[path], "\n".join(failures)


def test_the_corpus_asks_each_fact_five_ways_at_several_times():
    cases = load(CORPUS)
    assert len(cases) >= 250
    ways: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        ways[case.family].add(case.way)
    answerable = [f for f, w in ways.items() if w != {"unanswerable"}]
    assert all({"full", "terse", "typo", "punct", "synonym"} <= ways[f] for f in answerable)
    assert len({c.now for c in cases}) >= 4
    assert sum(c.no_source for c in cases) >= 50


@pytest.mark.skipif(
    not HELD_OUT.exists() or not os.environ.get("APEC_HELD_OUT"),
    reason="the held-out set is kept apart until the answering is done",
)
def test_the_held_out_questions_are_answered_right_in_95_percent_of_cases(store, reports):
    results, failures = score(store, load(HELD_OUT))
    every = [m for marks in results.values() for m in marks]
    reports.append(
        f"Held-out questions ({HELD_OUT.name}), share right per family:\n{report(results)}"
    )
    assert sum(every) / len(every) >= AIM, "\n".join(failures)


def main(argv: list[str]) -> int:
    """`python -m tests.test_questions [FILE]`: the report and every wrong answer, on a fresh
    store."""
    import tempfile

    from store.build import build
    from store.db import connect

    path = Path(argv[0]) if argv else CORPUS
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(Path(tmp) / "apec.db")
        build(db, Path(__file__).resolve().parent.parent / "seeds")
        results, failures = score(Store(db), load(path))
        print("\n".join(failures))
        print(report(results))
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
