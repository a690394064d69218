"""Benchmark of name matching (store/names.py `Matcher.find`) as mentions in one text grow.

A page's sentence may name the same economies thousands of times; before, each match was checked
against every match kept before it (5k / 10k / 20k mentions took 2.2 / 10.6 / 44.5 s). What it
measures, for 5,000 to 100,000 mentions in one sentence:

* find: `Matcher.find` with the store's economy, person and meeting aliases (median, min-max);
* baseline, in the same run: one alias' own compiled pattern ("Korea", as the matcher compiles
  it) scanned once over the same text with `re.finditer`: the floor of any matcher that reads the
  text at least once. The ratio is find against it; linear time shows as a ratio that holds still
  while the count grows 20-fold (quadratic time would grow it 20-fold too).

Run:
    python bench/names_bench.py            # up to 100,000 mentions (~20 s)
    python bench/names_bench.py --quick    # up to 20,000, fewer runs (~3 s)

The script exits 0 whatever the figures (the aim is printed for information), 1 if something fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from store.build import build  # noqa: E402 - after the path is set
from store.db import connect  # noqa: E402
from store.ingest import _matchers  # noqa: E402
from store.names import _pattern, plain  # noqa: E402

SEEDS = REPO / "seeds"
PHRASE = "Korea, China, Casey Mace and the United States met at SOM1 in Guangzhou; "
PER_PHRASE = 5  # mentions in PHRASE: Korea, China, Casey Mace, United States, SOM1
# find's ratio to the regex floor at the largest count, at most this many times its ratio at the
# smallest
AIM = 3.0


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """(median, min, max) seconds of `runs` calls."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), max(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="up to 20,000 mentions, fewer runs")
    parser.add_argument("--runs", type=int, default=0, help="calls per figure")
    args = parser.parse_args()
    counts = (5_000, 20_000) if args.quick else (5_000, 20_000, 100_000)
    runs = args.runs or (3 if args.quick else 5)

    with tempfile.TemporaryDirectory() as tmp:
        db = connect(Path(tmp) / "bench.db")
        build(db, SEEDS)
        matchers = _matchers(db)
        db.close()
    floor = _pattern("Korea")
    assert floor is not None

    print(
        f"Name matching, {sum(len(m.aliases) for m in matchers.values())} aliases; "
        f"median (min-max) of {runs} runs"
    )
    print(f"{'mentions':>9}  {'find (3 kinds)':>22}  {'regex floor':>22}  {'ratio':>6}")
    ratios = []
    for count in counts:
        text = PHRASE * (count // PER_PHRASE)
        found = sum(len(m.find(text)) for m in matchers.values())
        if found < count:
            print(f"found {found} of {count} mentions", file=sys.stderr)
            return 1
        ours = timed(lambda t=text: [m.find(t) for m in matchers.values()], runs)
        base = timed(lambda t=text: sum(1 for _ in floor.finditer(plain(t))), runs)
        ratios.append(ours[0] / base[0])
        print(
            f"{count:>9,}  {ours[0] * 1000:>9.1f} ms ({ours[1] * 1000:.0f}-{ours[2] * 1000:.0f})"
            f"  {base[0] * 1000:>9.1f} ms ({base[1] * 1000:.0f}-{base[2] * 1000:.0f})"
            f"  {ratios[-1]:>5.2f}x"
        )
    growth = ratios[-1] / ratios[0]
    verdict = "PASS" if growth <= AIM else "MISS"
    print(
        f"Aim: the ratio to the floor grows at most {AIM:.0f}x from {counts[0]:,} to "
        f"{counts[-1]:,} mentions (linear time): it grew {growth:.2f}x  {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
