"""Benchmark of the schedule: `store.schedule.plan` for 1,000 channels and 50 meetings, the
scheduler's per-tick work, and the process's memory with it all loaded.

The store (built by a child process, so that building leaves no trace in this one's memory):
* the real seeds/ built with `store.build.build()` into a temporary directory;
* 50 extra meetings known to the day (kinds som, summit and ministerial in turn, Asia/Shanghai,
  spread over 2026-2027, citing a seed source), inserted into `meetings` as the build writes them;
* --channels channels subscribed to reminders (default offsets 7d 1d 0d, default kinds, zones
  cycled over 12 IANA zones), and 30 % as many digests (daily and weekly, 09:00 or 08:30), all
  subscribed 90 days before "now";
* the delivery log of a bot that has run all along: every post due in the 62 days up to "now"
  recorded as sent (so the scheduler's look-back finds nothing due, as in steady state).

Measured in this process, with "now" = 2026-03-01 00:00 UTC:
* plan: `plan(store, desk, now, now + 365 days, UTC)`, the year ahead for every channel
  (median and min-max over --runs), and the number of posts it returns;
* baselines: the same call for one channel (`channel=`: the per-channel cost, times the channel
  count), and a bare loop making one (key, channel, due) tuple per post with the due times
  precomputed (the floor of materialising that many posts in Python);
* a tick: `Engine.upcoming(now, now + 6 h)` (what a tick derives its jobs from) and
  `Engine.run_due(now)` with nothing due (what a tick or a due job does before posting: the 62-day
  look-back);
* memory: current RSS (/proc/self/statm) and peak RSS (getrusage ru_maxrss) after the imports,
  after loading the store (meetings and subscriptions read), after the tick measures, with one
  year's plan held, and after timing the plan (one plan alive at a time).

The aims (plan under 1 s, process under 150 MB) are shown as PASS/MISS for information; the script
exits 0 whatever the figures. `--profile` adds the top functions of one plan under cProfile.

Run:
    python bench/schedule_bench.py              # 1,000 channels, 7 runs
    python bench/schedule_bench.py --quick      # 100 channels, 3 runs (smoke run)
    python bench/schedule_bench.py --channels 2000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
MEETINGS = 50
DIGEST_SHARE = 0.3
ZONES = [
    "UTC",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Los_Angeles",
    "America/New_York",
    "America/Santiago",
    "Europe/London",
    "Asia/Kolkata",
]
AIM_PLAN_S = 1.0
AIM_RSS_MB = 150.0
AIM_CHANNELS = 1_000


# -- the store (made by a child process) ----------------------------------------------------------


def make_store(path: Path, channels: int) -> None:
    """Build seeds/ into `path`, add the meetings, subscriptions and delivery log described above."""
    from store.build import build
    from store.db import connect
    from store.desk import Desk, iso
    from store.queries import Store
    from store.schedule import plan

    db = connect(path)
    build(db, SEEDS)
    source = db.execute("SELECT id FROM sources ORDER BY id LIMIT 1").fetchone()[0]
    kinds = ("som", "summit", "ministerial")
    rows = []
    for i in range(MEETINGS):
        start = date(2026, 1, 5) + timedelta(days=i * 14)  # every two weeks, Jan 2026 - Dec 2027
        end = start + timedelta(days=1 + i % 3)
        rows.append(
            [
                f"bench-{i:02d}",
                f"Bench meeting {i}",
                f"BM{i}",
                kinds[i % 3],
                f"{start:%B} {start.day} to {end.day}",
                start.isoformat(),
                end.isoformat(),
                source,
                f"bench meeting {i}",
            ]
        )
    desk = Desk(db)
    since = NOW - timedelta(days=90)
    with db.atomic():
        db.conn.executemany(
            """INSERT INTO meetings (id, name, short, kind, date_text, start_date, end_date,
                   precision, status, city, host_id, tz, source_id, quote)
               VALUES (?, ?, ?, ?, ?, ?, ?, 'day', 'scheduled', 'Beijing', 'CN', 'Asia/Shanghai',
                   ?, ?)""",
            rows,
        )
        for n in range(channels):
            desk.subscribe_reminders(
                f"C{n:05d}",
                ZONES[n % len(ZONES)],
                ("7d", "1d", "0d"),
                ("som", "summit", "ministerial"),
                "U1",
                since,
            )
        for n in range(int(channels * DIGEST_SHARE)):
            desk.subscribe_digest(
                f"C{n:05d}",
                ZONES[(n * 5) % len(ZONES)],
                "daily" if n % 2 else "weekly",
                n % 7,
                "09:00" if n % 3 else "08:30",
                "U1",
                since,
            )
        done = plan(Store(db), desk, NOW - timedelta(days=62), NOW + timedelta(microseconds=1), UTC)
        db.conn.executemany(
            """INSERT INTO deliveries (key, channel, kind, meeting_id, due_at, status, holder,
                   claimed_at, ts, attempts, updated_at)
               VALUES (?, ?, ?, ?, ?, 'sent', 'bench', 0, '1.0', 1, ?)""",
            [(p.key, p.channel, p.kind, p.meeting_id, iso(p.due), iso(p.due)) for p in done],
        )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


# -- measuring ------------------------------------------------------------------------------------


def rss_mb() -> float:
    """This process's resident set now."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    """This process's peak resident set so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], object], runs: int) -> tuple[list[float], object]:
    """Seconds of each of `runs` calls (after one untimed warm-up); the last call's result.

    Each result is dropped before the next call, so that no two are alive at once."""
    result = fn()
    seconds = []
    for _ in range(runs):
        result = None
        t0 = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - t0)
    return seconds, result


def spread(seconds: list[float], unit: float = 1.0, fmt: str = "{:.3f}") -> str:
    med, lo, hi = (statistics.median(seconds), min(seconds), max(seconds))
    return f"{fmt.format(med * unit)} ({fmt.format(lo * unit)}-{fmt.format(hi * unit)})"


class NoPoster:
    """The Web API of a bench: nothing should be posted."""

    def __init__(self) -> None:
        self.calls = 0

    def post(self, channel: str, payload: dict, key: str) -> str:
        self.calls += 1
        return f"{time.time():.6f}"

    def find(self, channel: str, key: str, since: float) -> str | None:
        self.calls += 1
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=AIM_CHANNELS, help="channels subscribed")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each measure")
    parser.add_argument("--quick", action="store_true", help="100 channels, 3 runs")
    parser.add_argument("--profile", action="store_true", help="cProfile one plan: top functions")
    parser.add_argument("--make-store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.channels, args.runs = 100, 3
    if args.channels < 1 or args.runs < 1:
        parser.error("--channels and --runs must be positive")
    if args.make_store:
        make_store(args.make_store, args.channels)
        return 0

    started = time.perf_counter()
    from bot.scheduler import LOOKBACK, Engine
    from bot.stores import Stores
    from store.desk import Desk
    from store.schedule import plan

    memory = [("after imports", rss_mb(), peak_mb())]
    with tempfile.TemporaryDirectory(prefix="apec-schedule-bench-") as tmp:
        path = Path(tmp) / "apec.db"
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--make-store", str(path), "--channels", str(args.channels)],
            check=True,
        )
        made = time.perf_counter() - t0

        utc = ZoneInfo("UTC")
        stores = Stores(path, SEEDS)
        store = stores.get()
        desk = Desk(store.db)
        meetings, subs = store.meetings(), desk.subscriptions()
        known = len(desk.known_keys())
        memory.append(("store loaded", rss_mb(), peak_mb()))

        poster = NoPoster()
        engine = Engine(stores, poster, lambda: NOW, utc)
        engine.leader = True  # as if it held the lease: run_due does nothing otherwise
        upcoming_s, soon = timed(lambda: engine.upcoming(NOW, NOW + timedelta(hours=6)), args.runs)
        run_due_s, outcome = timed(lambda: engine.run_due(NOW), args.runs)
        lookback = len(plan(store, desk, NOW - LOOKBACK, NOW, utc))
        memory.append(("after the tick measures", rss_mb(), peak_mb()))

        posts = plan(store, desk, NOW, NOW + YEAR, utc)
        memory.append(("one year's plan held", rss_mb(), peak_mb()))
        n_posts = len(posts)
        kinds = {k: sum(1 for p in posts if p.kind == k) for k in ("reminder", "digest")}
        del posts
        plan_s, _ = timed(lambda: plan(store, desk, NOW, NOW + YEAR, utc), args.runs)
        memory.append(("after timing the plan", rss_mb(), peak_mb()))

        one_s, one = timed(
            lambda: plan(store, desk, NOW, NOW + YEAR, utc, channel="C00000"), args.runs
        )
        dues = [(p.key, p.channel, p.due) for p in plan(store, desk, NOW, NOW + YEAR, utc)]

        def bare() -> list[tuple[str, str, datetime]]:
            return [(key, channel, due) for key, channel, due in dues]

        bare_s, _ = timed(bare, args.runs)
        dues.clear()

        profile = ""
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            plan(store, desk, NOW, NOW + YEAR, utc)
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
            profile = out.getvalue()

    n_sub = sum(1 for s in subs if s.kind == "reminders")
    print(
        f"store: {len(meetings)} meetings ({sum(1 for m in meetings if m.dated)} known to the day), "
        f"{n_sub:,} reminder subscriptions, {len(subs) - n_sub:,} digests, "
        f"{known:,} keys in the delivery log; made in {made:.1f} s by a child process"
    )
    print(
        f"now = {NOW.isoformat()}; {args.runs} timed runs each after one warm-up, median (min-max)"
    )
    print()
    print(f"plan, {args.channels:,} channels, 365 days  {spread(plan_s)} s  -> {n_posts:,} posts")
    print(f"  reminders {kinds['reminder']:,}, digests {kinds['digest']:,}")
    print(
        f"  per post {statistics.median(plan_s) / max(n_posts, 1) * 1e6:.1f} us; "
        f"per channel {statistics.median(plan_s) / args.channels * 1e3:.2f} ms"
    )
    print(
        f"baseline: plan for 1 channel      {spread(one_s, 1e3, '{:.2f}')} ms -> {len(one)} posts "
        f"(x{args.channels:,} = {statistics.median(one_s) * args.channels:.2f} s; "
        f"all at once is x{statistics.median(plan_s) / statistics.median(one_s):.0f} one channel)"
    )
    print(
        f"baseline: bare loop, {n_posts:,} tuples {spread(bare_s, 1e3, '{:.1f}')} ms "
        f"(plan is x{statistics.median(plan_s) / statistics.median(bare_s):.0f})"
    )
    print()
    print(
        f"tick: Engine.upcoming(now, now+6h)   {spread(upcoming_s, 1e3, '{:.1f}')} ms "
        f"-> {len(soon)} posts"
    )
    print(
        f"tick: Engine.run_due(now), none due {spread(run_due_s, 1e3, '{:.1f}')} ms "
        f"(plans the {LOOKBACK.days}-day look-back: {lookback:,} posts, all known); "
        f"sent {len(outcome.sent)}, skipped {len(outcome.skipped)}, "
        f"poster calls {poster.calls}"
    )
    print()
    print("memory (MB)                    current RSS   peak RSS")
    for label, now_mb, top_mb in memory:
        print(f"  {label:<28} {now_mb:>10.1f} {top_mb:>10.1f}")
    if profile:
        print()
        print("cProfile of one plan (top 15 by own time):")
        print("\n".join(line for line in profile.splitlines() if line.strip()))

    plan_med = statistics.median(plan_s)
    peak = max(top for _, _, top in memory)
    print()
    print(
        f"Aim: schedule for {AIM_CHANNELS:,} channels and {MEETINGS} meetings under "
        f"{AIM_PLAN_S:g} s, process under {AIM_RSS_MB:g} MB"
    )
    where = (
        "" if args.channels >= AIM_CHANNELS else f" (measured at {args.channels:,} channels only)"
    )
    print(f"  plan median {plan_med:.3f} s: {verdict(plan_med < AIM_PLAN_S)}{where}")
    print(f"  peak RSS {peak:.1f} MB: {verdict(peak < AIM_RSS_MB)}{where}")
    print(f"total run time {time.perf_counter() - started:.1f} s")
    return 0


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


if __name__ == "__main__":
    sys.exit(main())
