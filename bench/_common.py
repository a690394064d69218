"""What more than one bench needs, so that none reaches into tests/: the repository's seeds and a
timing loop. Import it after the bench has put the repository on sys.path."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


def times_ms(fn: Callable[[], object], runs: int, *, warm_up: bool = True) -> list[float]:
    """Milliseconds each of `runs` calls of `fn` took (after one call not timed, with
    `warm_up`)."""
    if warm_up:
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out
