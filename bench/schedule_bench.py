"""Benchmark of the scheduler at N channels and R recurring reminders: a tick once the plan is kept
between ticks, a re-plan after each kind of change, the catch-up at start, memory with the plan
held, and request work timed while ticks run and between them.

The store (built by a child process, so that building leaves no trace in this one's memory):
* the real seeds/ built with `store.build.build()` into a temporary directory;
* 50 extra meetings known to the day (kinds som, summit and ministerial in turn, Asia/Shanghai,
  spread over 2026-2027, citing a seed source), inserted into `meetings` as the build writes them;
* --channels channels subscribed to reminders (default offsets 7d 1d 0d, default kinds, zones
  cycled over 12 IANA zones), and 30 % as many digests (daily and weekly, 09:00 or 08:30), all
  subscribed 90 days before "now";
* --recurring recurring reminders (issue 20; as many as channels unless told), made 90 days
  before "now", their rules cycled over RULES (every day, every weekday, weekly, every other
  Friday, twice a week, monthly on a day and on a weekday, yearly; some ending on a date, some
  "until" a meeting), their times of day over 08:30, 09:00 and 17:00, their zones over the 12,
  half of them direct messages to a person and half to a channel;
* the delivery log of a bot that has run all along: every post due in the 62 days before "now"
  recorded as sent, and those of the next 6 hours too, so that the ticks measured post nothing
  (a post costs Slack's time, not the scheduler's; tests/ cover what a post does).

Measured in this process, with "now" = 2026-03-01 00:00 UTC, the bot's clock moved by hand, the
real `Engine` and `Scheduler` (its APScheduler not started: each tick is called as APScheduler
calls it, so that it can be timed) and a lease really held in the store:
* the catch-up: the first tick, which builds the plan with the 62-day look-back;
* a tick: --ticks ticks 30 s of the bot's clock apart, nothing changed (each renews the lease, a
  write, so each looks at what plans are made of); median and range;
* a re-plan: the tick after another connection (as another process would) subscribes a channel,
  adds a one-off, re-dates a meeting, adds a recurring reminder or pauses one, and the tick after
  a zone's midnight (America/Santiago, 03:00 UTC);
* memory: current and peak RSS after the imports, with the store open, with the plan held, and at
  the end; and how many posts the plan holds;
* request work: a thread answering `/apec next-meeting` (`handlers.router.route` on its own
  `Store`, as a request thread does) every millisecond for the whole run, each answer timed; p99 of
  the answers that overlapped a tick, and of those that did not.

The baseline, measured in the same run, is SQLite itself: a bare `SELECT * FROM subscriptions`,
every row fetched, on a connection of its own. It is the least a tick pays that looks at every
channel's standing order, as each tick did before the plan was kept; a tick that keeps its plan
should cost less than reading the table. (A bare APScheduler job firing a no-op was the other
choice; it costs microseconds whatever the channel count, so a ratio to it would say nothing about
how a tick scales, and APScheduler's dispatch is in the measured tick anyway.)

With recurring reminders, the same figures are measured again, in a child process, on a store
without them (the channels, digests and log alone, as before issue 20): the tick's other baseline.

The aims (a tick under 100 ms at 10,000 channels, the process under 150 MB with the plan held,
request p99 during ticks within 1.25x of between them, or 1 ms; with recurring reminders, a tick
no more than twice the tick without them) are shown as PASS/MISS for information; the script
exits 0 whatever the figures. `--year` adds the cost of planning a year at once (what the plan
no longer does); `--profile` adds the top functions of the catch-up.

Run:
    python bench/schedule_bench.py                    # 1,000 channels, 1,000 recurring
    python bench/schedule_bench.py --channels 10000   # the issue's scale: 10,000 of each
    python bench/schedule_bench.py --channels 10000 --recurring 0   # as before issue 20
    python bench/schedule_bench.py --quick            # 100 of each, a few ticks (smoke run)
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
SEEDS = REPO / "seeds"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
LOGGED_AHEAD = timedelta(hours=6)  # the delivery log runs this far past "now" (see above)
SANTIAGO_MIDNIGHT = datetime(2026, 3, 1, 3, 0, 5, tzinfo=UTC)  # the first zone's day to turn
TICK = timedelta(seconds=30)
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
AIM_TICK_MS = 100.0
AIM_CHANNELS = 10_000
AIM_RSS_MB = 150.0
AIM_P99_RATIO = 1.25
AIM_P99_SLACK_MS = 1.0
AIM_RECURRING_RATIO = 2.0  # a tick with the recurring reminders, to one without them
# Recurring reminders' rules, cycled (a meeting's id after "@": "until" that meeting).
RULES = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "FREQ=WEEKLY;BYDAY=MO",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR",
    "FREQ=WEEKLY;BYDAY=MO,TH",
    "FREQ=MONTHLY;BYMONTHDAY=15",
    "FREQ=MONTHLY;BYDAY=1MO",
    "FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=18",
    "FREQ=DAILY;UNTIL=20261120T235959",
    "FREQ=WEEKLY;BYDAY=WE@bench-20",
]
RECURRING_TIMES = [(8, 30), (9, 0), (17, 0)]
GAP = 0.05  # seconds of request work alone between two ticks
Span = tuple[float, float]  # (start, end) in perf_counter seconds


# -- the store (made by a child process) ----------------------------------------------------------


def make_store(path: Path, channels: int, recurring: int) -> None:
    """Build seeds/ into `path`, add the meetings, subscriptions, recurring reminders and delivery
    log described above."""
    from dateutil.rrule import rrulestr

    from store.build import build
    from store.db import connect
    from store.desk import Desk, iso
    from store.queries import Store
    from store.schedule import plan

    db = connect(path)
    build(db, SEEDS)
    source = db.execute("SELECT id FROM sources ORDER BY id LIMIT 1").fetchone()[0]
    desk = Desk(db)
    since = NOW - timedelta(days=90)
    with db.atomic():
        db.conn.executemany(
            """INSERT INTO meetings (id, name, short, kind, date_text, start_date, end_date,
                   precision, status, city, host_id, tz, source_id, quote)
               VALUES (?, ?, ?, ?, ?, ?, ?, 'day', 'scheduled', 'Beijing', 'CN', 'Asia/Shanghai',
                   ?, ?)""",
            [_meeting(i, source) for i in range(MEETINGS)],
        )
        for n in range(channels):
            zone = ZONES[n % len(ZONES)]
            desk.subscribe_reminders(
                f"C{n:05d}", zone, ("7d", "1d", "0d"), ("som", "summit", "ministerial"), "U1", since
            )
        for n in range(int(channels * DIGEST_SHARE)):
            zone, cadence = ZONES[(n * 5) % len(ZONES)], "daily" if n % 2 else "weekly"
            at_time = "09:00" if n % 3 else "08:30"
            desk.subscribe_digest(f"C{n:05d}", zone, cadence, n % 7, at_time, "U1", since)
        for n in range(recurring):
            rule, _, meeting = RULES[n % len(RULES)].partition("@")
            zone = ZONES[(n // len(RULES)) % len(ZONES)]
            hour, minute = RECURRING_TIMES[n % len(RECURRING_TIMES)]
            local = since.astimezone(ZoneInfo(zone))
            base = datetime(local.year, local.month, local.day, hour, minute)
            start = rrulestr(rule, dtstart=base).after(base, inc=True)
            target = f"U{n:06d}" if n % 2 else f"C{n % channels:05d}"
            desk.add_recurring(
                target,
                zone,
                rule,
                start,
                f"bench reminder {n}",
                "U1",
                since,
                for_user=target if n % 2 else "",
                meeting_id=meeting,
            )
        done = plan(Store(db), desk, NOW - timedelta(days=62), NOW + LOGGED_AHEAD, UTC)
        db.conn.executemany(
            """INSERT INTO deliveries (key, channel, kind, meeting_id, due_at, status, holder,
                   claimed_at, ts, attempts, updated_at)
               VALUES (?, ?, ?, ?, ?, 'sent', 'bench', 0, '1.0', 1, ?)""",
            [(p.key, p.channel, p.kind, p.meeting_id, iso(p.due), iso(p.due)) for p in done],
        )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def _meeting(i: int, source: str) -> list[str]:
    start = date(2026, 1, 5) + timedelta(days=i * 14)  # every two weeks, Jan 2026 - Dec 2027
    end = start + timedelta(days=1 + i % 3)
    kind = ("som", "summit", "ministerial")[i % 3]
    text = f"{start:%B} {start.day} to {end.day}"
    return [
        f"bench-{i:02d}",
        f"Bench meeting {i}",
        f"BM{i}",
        kind,
        text,
        start.isoformat(),
        end.isoformat(),
        source,
        f"bench meeting {i}",
    ]


# -- measuring ------------------------------------------------------------------------------------


def rss_mb() -> float:
    """This process's resident set now."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    """This process's peak resident set so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spread(seconds: list[float], unit: float = 1e3, fmt: str = "{:.1f}") -> str:
    """Median (min-max) of timings, in milliseconds by default."""
    med, lo, hi = statistics.median(seconds), min(seconds), max(seconds)
    return f"{fmt.format(med * unit)} ({fmt.format(lo * unit)}-{fmt.format(hi * unit)})"


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


class NoPoster:
    """The Web API of a bench: counts what would be sent (nothing, if the log is complete)."""

    def __init__(self) -> None:
        self.calls = 0

    def post(self, channel: str, payload: dict, key: str) -> str:
        self.calls += 1
        return f"{time.time():.6f}"

    def find(self, channel: str, key: str, since: float) -> str | None:
        self.calls += 1
        return None

    def dm(self, user: str, payload: dict) -> tuple[str, str]:
        self.calls += 1
        return "D1", f"{time.time():.6f}"


class Clock:
    """The bot's clock, moved by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Requests(threading.Thread):
    """Request work on a thread of its own: `/apec next-meeting` answered every PACE seconds,
    each answer's start and end kept (after WARM answers, once its caches are warm).

    Paced as a busy server's request thread is: between answers it waits (on its socket, here on
    a sleep) without the GIL. Answering back to back instead holds the GIL all but every 5 ms
    switch, so any other thread that lets the GIL go per row (an SQLite read) waits 5 ms a row:
    that measured Python's convoy, not the scheduler."""

    WARM = 200
    PACE = 0.001  # about what one worker answers a second under load (bench/load_bench.py)

    def __init__(self, stores) -> None:
        super().__init__(name="requests", daemon=True)
        self.stores = stores
        self.spans: list[tuple[float, float]] = []
        self.warm = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        from handlers.router import Ask, route

        while not self.stopping.is_set():
            t0 = time.perf_counter()
            route(Ask(store=self.stores.get(), now=NOW, text="next-meeting"))
            self.spans.append((t0, time.perf_counter()))
            if len(self.spans) == self.WARM and not self.warm.is_set():
                self.spans.clear()
                self.warm.set()
            time.sleep(self.PACE)

    def answers(self, spans: list[Span], wholly: bool = False) -> list[float]:
        """Answer times (s) of the requests that overlapped one of these spans (that ran wholly
        inside one, with `wholly`)."""
        if wholly:
            return [t1 - t0 for t0, t1 in self.spans if any(a <= t0 and t1 <= b for a, b in spans)]
        return [t1 - t0 for t0, t1 in self.spans if any(t0 < b and a < t1 for a, b in spans)]


@dataclass
class Figures:
    channels: int
    recurring: int = 0
    subscriptions: tuple[int, int] = (0, 0)
    logged: int = 0
    made: float = 0.0
    catch_up: float = 0.0
    planned: int = 0
    ticks: list[float] = field(default_factory=list)
    changes: list[tuple[str, float, str]] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    during: list[float] = field(default_factory=list)  # request answer times during ticks
    beside_bare: list[float] = field(default_factory=list)  # ... during the bare reads
    between: list[float] = field(default_factory=list)  # ... while nothing else ran
    memory: list[tuple[str, float, float]] = field(default_factory=list)
    posted: int = 0
    year: tuple[float, int, float] | None = None
    profile: str = ""
    without: dict | None = None  # the same figures on the store without recurring reminders


class BareRead:
    """The baseline: every row of the subscriptions table, read on a connection of its own."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(str(path))

    def __call__(self) -> list:
        return self.conn.execute("SELECT * FROM subscriptions").fetchall()


def count_rows(path: Path, figures: Figures) -> None:
    conn = sqlite3.connect(str(path))
    try:
        count = "SELECT count(*) FROM subscriptions WHERE kind = ?"
        reminders, digests = (
            conn.execute(count, [k]).fetchone()[0] for k in ("reminders", "digest")
        )
        figures.subscriptions = (reminders, digests)
        figures.recurring = conn.execute("SELECT count(*) FROM recurring").fetchone()[0]
        figures.logged = conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    finally:
        conn.close()


def measure(path: Path, args: argparse.Namespace, figures: Figures) -> None:
    from bot.scheduler import Engine, Scheduler
    from bot.stores import Stores
    from store.db import connect
    from store.desk import Desk

    stores = Stores(path, SEEDS)
    stores.get().meetings()
    figures.memory.append(("store open", rss_mb(), peak_mb()))
    clock, poster = Clock(NOW), NoPoster()
    scheduler = Scheduler(Engine(stores, poster, clock, ZoneInfo("UTC")))
    engine = scheduler.engine
    other = Desk(connect(path))  # another process's connection
    requests = Requests(stores)
    requests.start()
    requests.warm.wait()
    steady: list[Span] = []  # the ticks with nothing changed
    quiet: list[Span] = []  # the times between ticks

    def tick(spans: list[Span] | None = None, work: Callable[[], object] = scheduler.tick) -> float:
        t0 = time.perf_counter()
        time.sleep(GAP)  # request work alone for a while
        t1 = time.perf_counter()
        work()
        t2 = time.perf_counter()
        quiet.append((t0, t1))
        if spans is not None:
            spans.append((t1, t2))
        return t2 - t1

    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    figures.catch_up = tick()
    if profiler:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        figures.profile = out.getvalue()
    figures.planned = len(engine.schedule.planned())
    figures.memory.append(("plan held", rss_mb(), peak_mb()))

    for _ in range(args.ticks):
        clock.now += TICK
        figures.ticks.append(tick(steady))
    read, beside_bare = BareRead(path), []
    read()
    figures.bare = [tick(beside_bare, read) for _ in range(args.ticks)]
    read.conn.close()

    changes: list[tuple[str, Callable[[], object]]] = [
        (
            "a channel subscribes",
            lambda: other.subscribe_reminders(
                "CNEW1", "Asia/Seoul", ("2d",), ("som",), "U9", clock.now
            ),
        ),
        (
            "a one-off is added",
            lambda: other.add_one_off(
                "C00001", clock.now + timedelta(hours=12), "UTC", "call Seoul", "U9", clock.now
            ),
        ),
        (
            "a meeting is re-dated",
            lambda: other.db.execute(
                "UPDATE meetings SET start_date = date(start_date, '+1 day'), "
                "end_date = date(end_date, '+1 day') WHERE id = 'bench-10'"
            ),
        ),
        (
            "a recurring one is added",
            lambda: other.add_recurring(
                "UNEW1",
                "Asia/Seoul",
                "FREQ=DAILY",
                datetime(2026, 3, 2, 9),
                "call Seoul",
                "U9",
                clock.now,
                for_user="UNEW1",
            ),
        ),
        ("a recurring one is paused", lambda: other.set_recurring_paused(1, True, clock.now)),
    ]
    if not figures.recurring:
        changes = changes[:3]
    for what, change in changes:
        before = dict(engine.replans)
        change()
        clock.now += TICK
        figures.changes.append((what, tick(), _replanned(before, engine.replans)))
    before = dict(engine.replans)
    clock.now = SANTIAGO_MIDNIGHT
    figures.changes.append(("a zone's day turns", tick(), _replanned(before, engine.replans)))

    requests.stopping.set()
    requests.join()
    figures.during, figures.beside_bare = requests.answers(steady), requests.answers(beside_bare)
    figures.between = requests.answers(quiet, wholly=True)
    figures.memory.append(("end", rss_mb(), peak_mb()))
    figures.posted = poster.calls
    if args.year:
        figures.year = plan_a_year(stores)
    other.db.close()
    scheduler.stop()


def _replanned(before: dict, after: dict) -> str:
    """What a tick re-planned: the engine's re-plans by cause, as they moved."""
    moved = [
        f"{cause} +{n - before.get(cause, 0)}"
        for cause, n in after.items()
        if n != before.get(cause, 0)
    ]
    return ", ".join(moved) or "nothing re-planned"


def plan_a_year(stores) -> tuple[float, int, float]:
    """What the plan no longer does: every post of the year ahead at once (seconds, posts, MB)."""
    from store.desk import Desk
    from store.schedule import plan

    store = stores.get()
    t0 = time.perf_counter()
    posts = plan(store, Desk(store.db), NOW, NOW + timedelta(days=365), ZoneInfo("UTC"))
    took = time.perf_counter() - t0
    held = rss_mb()
    return took, len(posts), held


# -- the report -----------------------------------------------------------------------------------


def summary(f: Figures) -> dict:
    """The figures another run compares with (as JSON, for --json)."""
    return {
        "tick_ms": statistics.median(f.ticks) * 1e3,
        "ticks_ms": [t * 1e3 for t in f.ticks],
        "catch_up_ms": f.catch_up * 1e3,
        "planned": f.planned,
        "logged": f.logged,
        "rss_mb": max(now_mb for label, now_mb, _ in f.memory if label in ("plan held", "end")),
    }


def report(f: Figures, started: float) -> None:
    reminders, digests = f.subscriptions
    print(
        f"store: {reminders:,} reminder subscriptions, {digests:,} digests, "
        f"{f.recurring:,} recurring reminders, {f.logged:,} keys in the delivery log; made in "
        f"{f.made:.1f} s by a child process"
    )
    print(f"now = {NOW.isoformat()}; {len(f.ticks)} ticks 30 s of the bot's clock apart")
    print()
    print(
        f"catch-up at start (the first tick)  {f.catch_up * 1e3:,.0f} ms "
        f"-> plan holds {f.planned:,} posts"
    )
    tick_med, bare_med = statistics.median(f.ticks), statistics.median(f.bare)
    print(f"tick, {f.channels:,} channels, nothing changed  {spread(f.ticks)} ms")
    print(
        f"baseline: bare SELECT * FROM subscriptions  {spread(f.bare)} ms "
        f"(tick is x{tick_med / bare_med:.2f} the bare read)"
    )
    for what, seconds, replanned in f.changes:
        print(f"re-plan: tick after {what:<25} {seconds * 1e3:7.1f} ms  ({replanned})")
    if f.without is not None:
        w = f.without
        print(
            f"without the recurring reminders (the same store as before issue 20, measured in a "
            f"child process): tick {w['tick_ms']:.1f} ms, catch-up {w['catch_up_ms']:,.0f} ms, "
            f"plan holds {w['planned']:,} posts, RSS {w['rss_mb']:.1f} MB"
        )
    print()
    during, between = p99(f.during) * 1e3, p99(f.between) * 1e3
    print("request work (/apec next-meeting answered on a thread of its own, every 1 ms), p99:")
    print(f"  during the ticks with nothing changed  {during:6.2f} ms ({len(f.during):,} answers)")
    print(
        f"  between ticks                          {between:6.2f} ms ({len(f.between):,} answers); "
        f"during is x{during / between:.2f}"
    )
    print(
        f"  baseline: during the bare reads        {p99(f.beside_bare) * 1e3:6.2f} ms "
        f"({len(f.beside_bare):,} answers)"
    )
    print(f"posts the ticks made: {f.posted} (the delivery log covers the hours measured)")
    print()
    print("memory (MB)              current RSS   peak RSS")
    for label, now_mb, top_mb in f.memory:
        print(f"  {label:<22} {now_mb:>10.1f} {top_mb:>10.1f}")
    if f.year:
        took, posts, held = f.year
        print(
            f"for comparison, plan() of the year ahead at once: {took:.2f} s, {posts:,} posts, "
            f"RSS {held:.0f} MB with it held"
        )
    if f.profile:
        print("\ncProfile of the catch-up (top 15 by own time):")
        print("\n".join(line for line in f.profile.splitlines() if line.strip()))
    held = max(now_mb for label, now_mb, _ in f.memory if label in ("plan held", "end"))
    where = "" if f.channels >= AIM_CHANNELS else f" (measured at {f.channels:,} channels only)"
    p99_ok = during <= max(between * AIM_P99_RATIO, between + AIM_P99_SLACK_MS)
    print()
    print(
        f"Aim: a tick at {AIM_CHANNELS:,} channels under {AIM_TICK_MS:g} ms, the process under "
        f"{AIM_RSS_MB:g} MB with the plan held, request p99 during ticks within "
        f"{AIM_P99_RATIO:g}x (or {AIM_P99_SLACK_MS:g} ms) of between them"
    )
    print(f"  tick median {tick_med * 1e3:.1f} ms: {verdict(tick_med * 1e3 < AIM_TICK_MS)}{where}")
    print(f"  RSS with the plan held {held:.1f} MB: {verdict(held < AIM_RSS_MB)}{where}")
    print(
        f"  request p99 {during:.2f} ms during ticks, {between:.2f} ms between: {verdict(p99_ok)}"
    )
    if f.without is not None:
        ratio = tick_med * 1e3 / f.without["tick_ms"]
        print(
            f"  with {f.recurring:,} recurring reminders the tick is x{ratio:.2f} the tick "
            f"without them (aim: at most x{AIM_RECURRING_RATIO:g}): "
            f"{verdict(ratio <= AIM_RECURRING_RATIO)}"
        )
    print(f"total run time {time.perf_counter() - started:.1f} s")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--channels", type=int, default=1_000, help="channels subscribed")
    parser.add_argument(
        "--recurring", type=int, help="recurring reminders (default: as many as channels)"
    )
    parser.add_argument("--ticks", type=int, default=30, help="ticks timed with nothing changed")
    parser.add_argument("--quick", action="store_true", help="100 channels, 5 ticks")
    parser.add_argument("--year", action="store_true", help="also plan a year at once")
    parser.add_argument("--profile", action="store_true", help="cProfile the catch-up")
    parser.add_argument("--make-store", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # figures only
    args = parser.parse_args(argv)
    if args.quick:
        args.channels, args.ticks = 100, 5
    if args.recurring is None:
        args.recurring = args.channels
    if args.channels < 1 or args.ticks < 1 or args.recurring < 0:
        parser.error("--channels and --ticks must be positive, --recurring not negative")
    if args.make_store:
        make_store(args.make_store, args.channels, args.recurring)
        return 0

    started = time.perf_counter()
    import bot.scheduler  # noqa: F401 - the imports' share of memory, apart from the store's

    figures = Figures(args.channels, memory=[("after imports", rss_mb(), peak_mb())])
    with tempfile.TemporaryDirectory(prefix="apec-schedule-bench-") as tmp:
        path = Path(tmp) / "apec.db"
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--make-store",
                str(path),
                "--channels",
                str(args.channels),
                "--recurring",
                str(args.recurring),
            ],
            check=True,
        )
        figures.made = time.perf_counter() - t0
        count_rows(path, figures)
        measure(path, args, figures)
    if args.json:
        print(json.dumps(summary(figures)))
        return 0
    if args.recurring:
        figures.without = without_recurring(args)
    report(figures, started)
    return 0


def without_recurring(args: argparse.Namespace) -> dict:
    """The same run on a store without recurring reminders, in a child process of its own (so
    neither run's memory is in the other's figures)."""
    command = [
        sys.executable,
        __file__,
        "--json",
        "--channels",
        str(args.channels),
        "--recurring",
        "0",
        "--ticks",
        str(args.ticks),
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
