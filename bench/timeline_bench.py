"""Benchmark of the timeline picture (`handlers/timeline.py`): how long a picture takes to draw
the first time in a fresh process (matplotlib's import included, and excluded), drawn again in
a warm process, and served from the cache; beside a baseline drawn in the same script: a bare
matplotlib figure of the same size with the same number of bars, saved to PNG.

What it measures, for 2026 as of 6 December 2026 on the seeds' store:

* cold, import included: a new Python process imports matplotlib and draws the first picture
  (the first `/apec timeline` after a start); median, min-max over --procs processes;
* cold, import excluded: the same first picture in a process that imported matplotlib before
  the clock started (what is left once matplotlib is imported at start-up);
* warm: a picture not in the cache (another day each time) in a process that has drawn one;
* cached: `timeline_png` for a picture drawn before (the store read, the key, the cache);
* baseline: a bare `Figure` with as many `barh` bars as the picture has marks, `savefig` to PNG,
  the same three ways (cold with and without the import, warm).

Run:
    python bench/timeline_bench.py            # 7 fresh processes, 50 warm and cached runs
    python bench/timeline_bench.py --quick    # 3 processes, 10 runs (~10 s)

The script exits 0 whatever the figures (the aim is printed for information), 1 if something fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench._common import SEEDS, times_ms  # noqa: E402 - after the path is set

START, END, TODAY = date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 6)
AIM_MS = 300.0  # the first picture in a fresh process, matplotlib's import excluded


def spread(ms: list[float]) -> str:
    return f"{statistics.median(ms):8.1f} ms  ({min(ms):.1f}-{max(ms):.1f}, {len(ms)} runs)"


def _store(path: str):
    from store.db import connect
    from store.queries import Store

    return Store(connect(path))


def _import_matplotlib() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401
    from matplotlib.font_manager import FontProperties  # noqa: F401


def _baseline(bars: int, height_px: int) -> bytes:
    """A bare figure of the picture's size with `bars` bars, saved to PNG."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, height_px / 100), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.barh(range(bars), [5 + i for i in range(bars)], left=[10 * i for i in range(bars)])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def child(what: str, db: str, bars: int, height_px: int) -> None:
    """One fresh process: the first drawing, timed (the store already read, as in a running
    bot; matplotlib imported before the clock starts for "-preimported"); one JSON line."""
    preimported = what.endswith("-preimported")
    if preimported:
        _import_matplotlib()
    if what.startswith("timeline"):
        from handlers import timeline as tl

        store = _store(db)
        store.at(TODAY).meetings()
    started = time.perf_counter()
    if not preimported:
        _import_matplotlib()
    if what.startswith("timeline"):
        tl.timeline_png(store, START, END, TODAY)
    else:
        _baseline(bars, height_px)
    print(json.dumps({"ms": (time.perf_counter() - started) * 1000}))


def fresh(what: str, db: str, procs: int, bars: int, height_px: int) -> list[float]:
    out = []
    for _ in range(procs):
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                what,
                "--db",
                db,
                "--bars",
                str(bars),
                "--height",
                str(height_px),
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=300,
            check=True,
        )
        out.append(json.loads(result.stdout.strip().splitlines()[-1])["ms"])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--procs", type=int, default=7, help="fresh processes per cold figure")
    p.add_argument("--runs", type=int, default=50, help="warm and cached runs")
    p.add_argument("--quick", action="store_true", help="3 processes, 10 runs")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--bars", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--height", type=int, default=500, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.db, args.bars, args.height)
        return 0
    procs, runs = (3, 10) if args.quick else (args.procs, args.runs)

    from handlers import timeline as tl
    from store.build import build
    from store.db import connect

    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "apec.db")
        db = connect(db_path)
        build(db, SEEDS)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        store = _store(db_path)
        t0 = time.perf_counter()
        _import_matplotlib()
        import_ms = (time.perf_counter() - t0) * 1000
        png = tl.timeline_png(store, START, END, TODAY)
        bars = len(tl.timeline_marks(store, START, END, TODAY))
        height = int.from_bytes(png[20:24], "big")

        figures: dict[str, list[float]] = {}
        figures["timeline cold, import included"] = fresh("timeline", db_path, procs, bars, height)
        figures["timeline cold, import excluded"] = fresh(
            "timeline-preimported", db_path, procs, bars, height
        )
        days = iter(range(1, 10_000))

        def warm() -> None:
            tl.timeline_png(store, START, END, TODAY - timedelta(days=next(days)))

        figures["timeline warm (not cached)"] = times_ms(warm, runs, warm_up=False)
        tl.timeline_png(store, START, END, TODAY)  # drawn again if the warm runs pushed it out
        figures["timeline cached"] = times_ms(
            lambda: tl.timeline_png(store, START, END, TODAY), runs, warm_up=False
        )
        figures["baseline cold, import included"] = fresh("baseline", db_path, procs, bars, height)
        figures["baseline cold, import excluded"] = fresh(
            "baseline-preimported", db_path, procs, bars, height
        )
        figures["baseline warm"] = times_ms(lambda: _baseline(bars, height), runs, warm_up=False)

    print(f"\nThe 2026 timeline as of {TODAY}: {bars} marks, 1200x{height} px, {len(png):,} bytes")
    print(f"matplotlib's import in this process: {import_ms:.0f} ms")
    for name, ms in figures.items():
        print(f"  {name:<34} {spread(ms)}")
    cold = statistics.median(figures["timeline cold, import excluded"])
    base = statistics.median(figures["baseline cold, import excluded"])
    print(f"\ncold picture / cold baseline (import excluded): {cold / base:.2f}x")
    warm_ms = statistics.median(figures["timeline warm (not cached)"])
    warm_base = statistics.median(figures["baseline warm"])
    print(f"warm picture / warm baseline: {warm_ms / warm_base:.2f}x")
    verdict = "PASS" if cold < AIM_MS else "MISS"
    print(
        f"Aim: the first picture in a fresh process under {AIM_MS:.0f} ms, matplotlib's import "
        f"excluded, then cached: {cold:.0f} ms — {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
