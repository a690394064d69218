"""Benchmark of the question reader: a mention's answer (`handlers.answer.answer`, as a Slack
mention gets it) through the reader as it stands against the reader before issue 19, on the
questions of the corpora, in the same run.

The baseline is the same code at an earlier commit (--baseline, default: the last commit before
the reader became a table), checked out into a temporary git worktree. Each round runs one child
process per tree, alternating (so drifts of a noisy machine fall on both): it builds a store from
that tree's own seeds, answers every question once to warm up, then times each question once,
the questions in the order of the days they are asked on (as a server meets them: the store as of
a day is read once for all of that day's questions).
Figures: median (p50) and p99 of the per-question times over all rounds, and the ratio of ours
to the baseline's. The aim (p50 at most 2x the old reader: the new one reads more, as of the day
asked and with its checks) is shown as PASS/MISS for information; the script exits 0 whatever
the figures, 1 if something fails (no git, or a child fails).

Run:
    python bench/reader_bench.py               # 5 rounds
    python bench/reader_bench.py --quick       # 1 round, one corpus file
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASELINE = "2a07501"  # the reader before issue 19: handlers/intents.py, no as-of, no checks
CORPORA = ("questions", "heldout", "fresh", "unseen")
AIM = 2.0

# Run inside a tree (its own code and seeds): one line of JSON, the seconds each question took.
CHILD = r"""
import json, sys, tempfile, time, tomllib
from datetime import datetime
from pathlib import Path
tree = Path(sys.argv[1])
sys.path.insert(0, str(tree))
from handlers.answer import answer
from store.build import build
from store.db import connect
from store.queries import Store
cases = []
for name in sys.argv[2:]:
    data = tomllib.loads((tree / "tests" / "corpus" / f"{name}.toml").read_text())
    cases += [
        (c["ask"], datetime.fromisoformat(c["now"])) for f in data["family"] for c in f["case"]
    ]
# In service every question of a day is asked on that day: grouped by day, as a server meets them.
cases.sort(key=lambda c: c[1].date())
with tempfile.TemporaryDirectory() as tmp:
    db = connect(Path(tmp) / "apec.db")
    build(db, tree / "seeds")
    store = Store(db)
    for ask, now in cases:
        answer(store, ask, now)
    times = []
    for ask, now in cases:
        started = time.perf_counter()
        answer(store, ask, now).payload()
        times.append(time.perf_counter() - started)
print(json.dumps(times))
"""


def run(tree: Path, corpora: tuple[str, ...]) -> list[float]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), *corpora],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"reader_bench: the run in {tree} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def pct(times: list[float], p: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare against")
    parser.add_argument("--quick", action="store_true", help="1 round, questions.toml only")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    corpora = ("questions",) if args.quick else CORPORA
    with tempfile.TemporaryDirectory(prefix="reader-bench-") as tmp:
        old = Path(tmp) / "old"
        made = subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), args.baseline],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0:
            print(f"reader_bench: no worktree at {args.baseline}: {made.stderr.strip()}")
            return 1
        try:
            ours: list[float] = []
            theirs: list[float] = []
            for _ in range(rounds):
                theirs += run(old, corpora)
                ours += run(REPO, corpora)
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)],
                capture_output=True,
                check=False,
            )
    n = len(ours) // rounds
    print(f"reader: a mention's answer, {n} corpus questions x {rounds} round(s), ms")
    print(f"  {'':<22}{'p50':>8}{'p99':>9}{'mean':>9}")
    for label, times in (("old reader " + args.baseline, theirs), ("new reader (table)", ours)):
        print(
            f"  {label:<22}{pct(times, 0.5) * 1000:>8.2f}{pct(times, 0.99) * 1000:>9.2f}"
            f"{statistics.mean(times) * 1000:>9.2f}"
        )
    ratio50 = pct(ours, 0.5) / pct(theirs, 0.5)
    ratio99 = pct(ours, 0.99) / pct(theirs, 0.99)
    print(f"  ratio new/old: p50 {ratio50:.2f}x, p99 {ratio99:.2f}x")
    verdict = "PASS" if ratio50 <= AIM else "MISS"
    print(f"Aim: p50 at most {AIM:g}x the old reader's: {ratio50:.2f}x {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
