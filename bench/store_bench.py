"""Benchmark of the store: `build()`, `Store.search()`, a question nothing answers, a page of
`/apec sources`, and memory while 8 threads list sources.

What it measures, each against a baseline measured in the same run:

* build: the real seeds/ built N times, each into a fresh SQLite file (median, min-max);
  then a synthetic corpus (a copy of seeds/ plus --docs generated press releases, with a
  desk.toml listing them all) built with the same `store.build.build()`. Baseline: the same
  passages (text only) inserted into a bare FTS5 table with one executemany.
* the store's size on disk (the .db plus its -wal after a TRUNCATE checkpoint) and passage count.
* search: ~30 desk questions, hostile ones included, cycled to --queries calls of
  `Store(db).search(q)` after a warm-up (p50, p99, max). Baseline: the same questions as a bare
  `passages_fts MATCH` over the same store, quoted with `db.quote_fts`, ranked by FTS5. Also: the
  same questions each on a new `Store` (nothing read yet), as a new thread's `Store` would be.
* the fall-through: questions nothing answers ("What is the capital of Peru?"), answered whole
  (`handlers.answer.answer`: parsing, every intent, then the search that finds nothing), and the
  search alone. Baseline: the same at the seeds (the cost must not grow with the store).
* a page of `/apec sources` (the first, the middle and the last, through the router and into a
  Slack payload). Baseline: a bare `SELECT * FROM sources LIMIT 20 OFFSET k` (no order, no card).
* memory: in a fresh process, 8 threads (each with its own connection and `Store`, as the bot's
  server threads) answer 100 `/apec sources N` between them, pages drawn at random; resident set
  before and after (median and min-max of the runs). Baseline: the same on the seeds' store.

Everything is written under a temporary directory that is removed afterwards; the corpus is
deterministic (fixed random seed). The aims printed at the end are informational: the script
exits 0 whatever the figures, and 1 only when something fails.

Run:
    python bench/store_bench.py                 # 10,000 documents, 300 queries (~1-2 minutes)
    python bench/store_bench.py --docs 100000   # 100,000 documents (~5 minutes; 1.2 GB of disk)
    python bench/store_bench.py --quick         # 500 documents, 100 queries (smoke run)
    python bench/store_bench.py --docs 2000 --queries 500
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils
from rich.console import Console
from rich.table import Table

from handlers.answer import NO_SOURCE, answer
from handlers.router import Ask, route
from store.build import DESK_FILE, build
from store.db import PerThread, connect
from store.queries import Store

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SEED = 20260511  # the corpus's random seed: the same corpus on every run
SEEDS_RUNS = 7
AIM_BUILD_S = 1.0
AIM_SEARCH_P99_MS = {10_000: 10.0, 100_000: 20.0}  # documents: search p99 aimed at
AIM_DOCS = 10_000
AIM_FALL_RATIO = 1.5  # a question nothing answers, at N documents against the seeds, at most
AIM_PAGE_MS = 50.0  # a page of `/apec sources`, p99
AIM_RSS_GROWTH_MB = 2.0  # resident set gained over 100 `sources` calls, once each thread has one
NOW = datetime.fromisoformat("2026-11-24T09:00+09:00")
THREADS = 8  # the bot's server threads
SOURCES_CALLS = 100
PAGE = 20  # sources on a page (handlers/info.py)

QUERIES = [
    "who leads the US delegation",
    "Putrajaya Vision 2040",
    "illegal fishing marine debris",
    "Bogor Goals",
    "consensus decisions",
    "SOM2 Shanghai dates",
    "when is SOM1",
    "where is the Leaders' Meeting in 2026",
    "Shenzhen November 18 and 19",
    "who is Casey Mace",
    "Park Jong-han Korean delegation",
    "Committee on Trade and Investment",
    "digital and AI ministerial meeting",
    "is Chinese Taipei a member",
    "is India a member of APEC",
    "how many member economies",
    "America First trade agenda",
    "supply chains free trade multilateralism",
    "Lee Xi phone call",
    "Digital Week",
    "SOM3 Dalian August",
    "what did China announce for 2026",
    "Bureau of Oceans OES",
    "food security energy women",
    "Gyeongju summit 2025",
    '"',
    "NOT",
    "NEAR(",
    "*",
    "a" * 5000,
    "'; DROP TABLE passages; --",
]

# Questions nothing in the store answers: the bot tries every intent, then searches, then says so.
UNANSWERED = [
    "What is the capital of Peru?",
    "who is the president of France?",
    "what's the weather in Shenzhen?",
    "tell us about the weather",
    "asdf qwer",
]

console = Console(highlight=False, width=None if sys.stdout.isatty() else 110)


# -- figures --------------------------------------------------------------------------------------


@dataclass
class Latency:
    """Per-call latencies in milliseconds."""

    ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.ms)

    @property
    def p99(self) -> float:
        if len(self.ms) < 2:
            return self.ms[0]
        return statistics.quantiles(self.ms, n=100, method="inclusive")[98]

    @property
    def max(self) -> float:
        return max(self.ms)

    def describe(self) -> str:
        return f"p50 {self.p50:.2f}  p99 {self.p99:.2f}  max {self.max:.2f} ms"


@dataclass
class BuildResult:
    """Repeated builds of one seeds directory: times, what the last one holds, where it is."""

    seconds: list[float]
    passages: int
    documents: int
    size_mb: float
    path: Path

    def describe(self) -> str:
        return spread(self.seconds)


@dataclass
class Memory:
    """Resident set (MB) of fresh processes, one per run: at the start; once each thread has
    answered its first page (connections open, SQLite's page caches filled); after the calls."""

    start: list[float]
    before: list[float]
    after: list[float]

    @property
    def growth(self) -> list[float]:
        return [a - b for a, b in zip(self.after, self.before, strict=True)]


@dataclass
class SizeResult:
    """Everything measured at one corpus size."""

    label: str
    build: BuildResult
    baseline_build: list[float]
    search: Latency
    baseline_search: Latency
    cold_search: Latency
    fall_through: Latency  # a question nothing answers, answered whole
    fall_search: Latency  # its search alone
    page: Latency  # `/apec sources N`, routed and made a payload
    baseline_page: Latency  # a bare SELECT of 20 rows at the same offsets
    pages: int
    memory: Memory


def spread(seconds: list[float]) -> str:
    """Median and min-max of some durations in seconds."""
    med = statistics.median(seconds)
    if len(seconds) == 1:
        return f"{med:.3f} s (1 run)"
    return f"{med:.3f} s ({min(seconds):.3f}-{max(seconds):.3f}, {len(seconds)} runs)"


# -- the synthetic corpus -------------------------------------------------------------------------

ECONOMIES = [
    "Australia",
    "Brunei Darussalam",
    "Canada",
    "Chile",
    "China",
    "Hong Kong, China",
    "Indonesia",
    "Japan",
    "Korea",
    "Malaysia",
    "Mexico",
    "New Zealand",
    "Papua New Guinea",
    "Peru",
    "The Philippines",
    "Russia",
    "Singapore",
    "Chinese Taipei",
    "Thailand",
    "the United States",
    "Viet Nam",
]
MEETINGS = [
    "Senior Officials' Meeting",
    "SOM1",
    "SOM2",
    "SOM3",
    "Economic Leaders' Meeting",
    "Ministers Responsible for Trade Meeting",
    "Digital and AI Ministerial Meeting",
    "Ocean and Fisheries Working Group",
    "Committee on Trade and Investment",
    "Economic Committee",
    "Budget and Management Committee",
    "Policy Partnership on Women",
    "Small and Medium Enterprises Ministerial Meeting",
    "Energy Working Group",
]
CITIES = [
    "Shenzhen",
    "Guangzhou",
    "Shanghai",
    "Dalian",
    "Beijing",
    "Xiamen",
    "Lima",
    "Gyeongju",
    "Putrajaya",
    "Auckland",
    "Bangkok",
    "San Francisco",
    "Singapore",
    "Hanoi",
]
TOPICS = [
    "trade and investment",
    "the digital economy",
    "artificial intelligence",
    "supply chains",
    "illegal fishing",
    "marine debris",
    "food security",
    "the energy transition",
    "customs procedures",
    "structural reform",
    "the Bogor Goals",
    "the Putrajaya Vision 2040",
    "the Aotearoa Plan of Action",
    "cross-border data flows",
    "women's economic empowerment",
    "small and medium-sized enterprises",
    "sustainable tourism",
    "connectivity",
    "consensus decisions",
    "free trade and multilateralism",
]
MONTHS = list(calendar.month_name[1:])
VERBS = ["discussed", "reviewed", "welcomed", "endorsed", "noted", "advanced", "highlighted"]
PUBLISHERS = ["APEC Secretariat", "Ministry of Foreign Affairs", "Department of Trade", ""]
MIN_DOC, MAX_DOC = 1000, 3000  # a generated document's size in characters
SYLLABLES = ["ka", "lo", "mir", "ten", "sa", "vu", "gel", "dor", "pi", "xan", "qu", "ber", "ro"]


def _pseudowords(rng: random.Random, n: int) -> list[str]:
    """Made-up words, so that every generated passage is distinct."""
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(n)]


def _date(rng: random.Random) -> str:
    month, day = rng.choice(MONTHS), rng.randint(1, 20)
    return rng.choice(
        [
            f"{month} {day} to {day + rng.randint(1, 6)}, 2026",
            f"from {day} to {day + 2} {month} 2026",
            f"on {month} {day}, 2026",
        ]
    )


def _sentence(rng: random.Random, words: list[str]) -> str:
    odd = " ".join(rng.sample(words, 3))
    return rng.choice(
        [
            f"Officials from {rng.choice(ECONOMIES)} and {rng.choice(ECONOMIES)} "
            f"{rng.choice(VERBS)} {rng.choice(TOPICS)} at the {rng.choice(MEETINGS)} in "
            f"{rng.choice(CITIES)} {_date(rng)}.",
            f"The {odd} initiative on {rng.choice(TOPICS)} was {rng.choice(VERBS)} by "
            f"{rng.choice(ECONOMIES)}.",
            f"Delegates {rng.choice(VERBS)} {rng.choice(TOPICS)}, {rng.choice(TOPICS)} and "
            f"the {odd} programme ahead of the {rng.choice(MEETINGS)}.",
            f"The {rng.choice(MEETINGS)} will be held in {rng.choice(CITIES)} {_date(rng)}, "
            f"with work on {rng.choice(TOPICS)} and {odd}.",
        ]
    )


def _document(rng: random.Random, words: list[str]) -> tuple[str, str]:
    """(title, text) of one press release of 1-3 KB: a headline, then paragraphs."""
    title = f"APEC {rng.choice(MEETINGS)} on {rng.choice(TOPICS)} in {rng.choice(CITIES)}"
    title = title.replace("'", "")
    target = rng.randint(MIN_DOC, MAX_DOC)
    paragraphs: list[str] = []
    size = len(title)
    while size < target:
        para = " ".join(_sentence(rng, words) for _ in range(rng.randint(2, 4)))
        if paragraphs and size + len(para) + 2 > MAX_DOC:
            break
        paragraphs.append(para)
        size += len(para) + 2
    return title, "\n\n".join([title, *paragraphs]) + "\n"


def _source_table(n: int, title: str, rng: random.Random) -> str:
    name = f"doc_{n:05d}.txt"
    fields = {
        "id": f"synthetic-{n:05d}",
        "file": f"synthetic/{name}",
        "title": title,
        "publisher": rng.choice(PUBLISHERS),
        "kind": "press release",
        "original_name": name,
    }
    lines = ["", "[[sources]]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
    lines.insert(-1, f"reference_date = 2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
    return "\n".join(lines) + "\n"


def make_corpus(root: Path, docs: int) -> Path:
    """A copy of seeds/ plus `docs` generated documents, all listed in its desk.toml."""
    rng = random.Random(SEED)
    corpus = root / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "synthetic").mkdir()
    words = _pseudowords(rng, 20_000)
    tables = []
    for n in range(docs):
        title, text = _document(rng, words)
        (corpus / "synthetic" / f"doc_{n:05d}.txt").write_text(text, encoding="utf-8")
        tables.append(_source_table(n, title, rng))
    desk = (SEEDS / DESK_FILE).read_text(encoding="utf-8")
    (corpus / DESK_FILE).write_text(desk + "".join(tables), encoding="utf-8")
    return corpus


# -- build ----------------------------------------------------------------------------------------


def store_size_mb(db: sqlite_utils.Database, path: Path) -> float:
    """The store file plus its WAL after a TRUNCATE checkpoint, in MB."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    total = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    return total / 1_000_000


def build_runs(seeds: Path, workdir: Path, label: str, runs: int) -> BuildResult:
    """`build()` of `seeds` `runs` times, each into a new file; the last file is kept."""
    times: list[float] = []
    for run in range(runs):
        path = workdir / f"{label}-{run}.db"
        db = connect(path)
        try:
            started = time.perf_counter()
            report = build(db, seeds)
            times.append(time.perf_counter() - started)
            size = store_size_mb(db, path)
        finally:
            db.close()
        if run < runs - 1:
            _remove_db(path)
    return BuildResult(times, report.counts["passages"], report.counts["sources"], size, path)


def baseline_build(texts: list[str], workdir: Path, label: str, runs: int) -> list[float]:
    """The same passages (text only) into a bare FTS5 table with one executemany, per run."""
    times: list[float] = []
    for run in range(runs):
        path = workdir / f"{label}-baseline-{run}.db"
        db = connect(path)
        try:
            started = time.perf_counter()
            with db.conn:
                db.execute("CREATE VIRTUAL TABLE bare USING fts5(text, tokenize='porter')")
                db.conn.executemany("INSERT INTO bare (text) VALUES (?)", [(t,) for t in texts])
            times.append(time.perf_counter() - started)
        finally:
            db.close()
        _remove_db(path)
    return times


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


# -- search ---------------------------------------------------------------------------------------


def time_calls(fn: Callable[[str], object], queries: list[str], calls: int) -> Latency:
    """Each query once to warm up, then `calls` timed calls cycling through the queries."""
    for q in queries:
        fn(q)
    ms: list[float] = []
    for n in range(calls):
        q = queries[n % len(queries)]
        started = time.perf_counter()
        fn(q)
        ms.append((time.perf_counter() - started) * 1000)
    return Latency(ms)


def bare_search(db: sqlite_utils.Database) -> tuple[Callable[[str], object], list[str]]:
    """The baseline search and the queries it can take (those `quote_fts` leaves non-empty)."""
    sql = "SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? ORDER BY rank LIMIT 20"
    quoted = {q: db.quote_fts(q) for q in QUERIES}
    usable = [q for q in QUERIES if quoted[q].strip()]
    return (lambda q: db.execute(sql, [quoted[q]]).fetchall()), usable


def cold_search(db: sqlite_utils.Database, q: str) -> object:
    """A search on a new `Store` (nothing read yet), as a new thread's `Store` would be."""
    return Store(db).search(q)


def fall_through(store: Store, calls: int) -> tuple[Latency, Latency]:
    """Questions nothing answers: answered whole, and their search alone."""
    said = {q: answer(store, q, NOW).plain().splitlines()[0] for q in UNANSWERED}
    answered = [q for q, line in said.items() if line != NO_SOURCE]
    if answered:  # the corpus answers it after all: it is not what this measures
        console.print(f"[yellow]answered, not a fall-through: {answered}[/yellow]")
    whole = time_calls(lambda q: answer(store, q, NOW), UNANSWERED, calls)
    alone = time_calls(lambda q: store.search(q, limit=3), UNANSWERED, calls)
    return whole, alone


def source_pages(db: sqlite_utils.Database, calls: int) -> tuple[Latency, Latency, int]:
    """`/apec sources N` for the first, middle and last page; a bare SELECT at the same offsets."""
    store = Store(db)
    pages = max(1, -(-store.source_count() // PAGE))
    asked = [str(n) for n in dict.fromkeys([1, (pages + 1) // 2, pages])]
    ours = time_calls(
        lambda n: route(Ask(store=store, now=NOW, text=f"sources {n}")).payload(), asked, calls
    )
    sql = "SELECT * FROM sources LIMIT ? OFFSET ?"
    bare = time_calls(
        lambda n: db.execute(sql, [PAGE, (int(n) - 1) * PAGE]).fetchall(), asked, calls
    )
    return ours, bare, pages


def memory_runs(path: Path, runs: int) -> Memory:
    """RSS before and after 100 `sources` calls from 8 threads, each run in a fresh process."""
    start, before, after = [], [], []
    for _ in range(runs):
        probe = subprocess.run(
            [sys.executable, __file__, "--memory-probe", str(path)],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        found = json.loads(probe.stdout.strip().splitlines()[-1])
        start.append(found["start"])
        before.append(found["before"])
        after.append(found["after"])
    return Memory(start, before, after)


def memory_probe(path: Path) -> dict[str, float]:
    """In this process: 8 threads, each with its own connection and `Store` (as the bot's server
    threads), open the last page of `/apec sources` (filling SQLite's page cache, at most 2 MB a
    connection), then answer 100 `/apec sources N` between them, pages drawn at random."""
    route(Ask(store=Store(connect(path)), now=NOW, text="help"))  # every handler imported
    pages = max(1, -(-Store(connect(path)).source_count() // PAGE))
    rng = random.Random(SEED)
    asked = [1, pages] + [rng.randint(1, pages) for _ in range(SOURCES_CALLS - 2)]
    conns = PerThread(path)
    start = rss_mb()
    opened = threading.Barrier(THREADS + 1)
    go = threading.Barrier(THREADS + 1)

    def serve(texts: list[int]) -> None:
        store = Store(conns.get())
        route(Ask(store=store.refresh(), now=NOW, text=f"sources {pages}")).payload()
        opened.wait()
        go.wait()
        for n in texts:
            route(Ask(store=store.refresh(), now=NOW, text=f"sources {n}")).payload()

    threads = [threading.Thread(target=serve, args=(asked[i::THREADS],)) for i in range(THREADS)]
    for t in threads:
        t.start()
    opened.wait()
    before = rss_mb()
    go.wait()
    for t in threads:
        t.join()
    return {"start": start, "before": before, "after": rss_mb()}


def rss_mb() -> float:
    """This process's resident set now (its peak where /proc is not there)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_size(
    label: str, seeds: Path, workdir: Path, runs: int, calls: int, memory: int
) -> SizeResult:
    """Build, search, fall-through, pages and memory at one corpus size, each with its baseline."""
    console.print(f"{label}: building {runs}x ...")
    built = build_runs(seeds, workdir, label, runs)
    console.print(f"{label}: build {built.describe()}, {built.passages:,} passages")
    db = connect(built.path)
    try:
        texts = [r[0] for r in db.execute("SELECT text FROM passages ORDER BY id").fetchall()]
        base_build = baseline_build(texts, workdir, label, runs)
        del texts
        store = Store(db)
        ours = time_calls(store.search, QUERIES, calls)
        bare, usable = bare_search(db)
        base = time_calls(bare, usable, calls)
        cold = time_calls(lambda q: cold_search(db, q), QUERIES, max(len(QUERIES), calls // 10))
        whole, alone = fall_through(Store(db), max(len(UNANSWERED), calls // 3))
        page, base_page, pages = source_pages(db, max(3, calls // 3))
    finally:
        db.close()
    console.print(f"{label}: search {ours.describe()}; bare FTS5 {base.describe()}")
    console.print(f"{label}: a question nothing answers {whole.describe()}")
    mem = memory_runs(built.path, memory)
    console.print(f"{label}: RSS {_rss(mem)}")
    return SizeResult(
        label, built, base_build, ours, base, cold, whole, alone, page, base_page, pages, mem
    )


# -- report ---------------------------------------------------------------------------------------


def results_table(sizes: list[SizeResult]) -> Table:
    """One column per corpus size; the first (the seeds) is the baseline of the "to seeds" rows."""
    table = Table(
        title="store benchmark",
        caption="bare FTS5 search: quote_fts words, implicitly AND-ed, ranked by FTS5; "
        "Store.search ANDs the meaningful words (then all but one), ranks by FTS5's BM25 only "
        "words held by at most 2,000 passages, then re-ranks by words held. "
        f"RSS: in a fresh process, {THREADS} threads each answer the last page of `sources`, "
        f"then {SOURCES_CALLS} `sources N` between them; median (min to max) of the runs",
    )
    table.add_column("measure")
    for s in sizes:
        table.add_column(f"{s.label} ({s.build.documents:,} docs)", justify="right")
    seeds = sizes[0]

    def row(name: str, cell: Callable[[SizeResult], str]) -> None:
        table.add_row(name, *(cell(s) for s in sizes))

    row("build, ours", lambda s: s.build.describe())
    row("build, bare FTS5 executemany", lambda s: spread(s.baseline_build))
    row("build ratio ours/bare", lambda s: _ratio(s.build.seconds, s.baseline_build))
    row("passages", lambda s: f"{s.build.passages:,}")
    row("store size (db + wal)", lambda s: f"{s.build.size_mb:.2f} MB")
    row("search p50/p99/max, ours", lambda s: _lat(s.search))
    row("search p50/p99/max, bare FTS5", lambda s: _lat(s.baseline_search))
    row("search p50 ratio ours/bare", lambda s: _ratio(s.search.ms, s.baseline_search.ms))
    row("search on a new Store p50/p99", lambda s: _lat(s.cold_search, with_max=False))
    row("no answer: whole p50/p99/max", lambda s: _lat(s.fall_through))
    row("no answer: p50 ratio to seeds", lambda s: _ratio(s.fall_through.ms, seeds.fall_through.ms))
    row("no answer: its search p50/p99/max", lambda s: _lat(s.fall_search))
    row(
        "no answer: search ratio to seeds", lambda s: _ratio(s.fall_search.ms, seeds.fall_search.ms)
    )
    row("sources page p50/p99/max, ours", lambda s: _lat(s.page))
    row("sources page, bare SELECT", lambda s: _lat(s.baseline_page))
    row("sources page p50 ratio ours/bare", lambda s: _ratio(s.page.ms, s.baseline_page.ms))
    row("sources pages (1, middle, last of)", lambda s: f"{s.pages:,}")
    row("RSS at the start", lambda s: _mb(s.memory.start))
    row("RSS once each thread has a page", lambda s: _mb(s.memory.before))
    row(f"RSS after {SOURCES_CALLS} sources calls", lambda s: _mb(s.memory.after))
    row("RSS growth over the calls", lambda s: _mb(s.memory.growth))
    row("RSS after: ratio to seeds", lambda s: _ratio(s.memory.after, seeds.memory.after))
    return table


def _ratio(ours: list[float], baseline: list[float]) -> str:
    base = statistics.median(baseline)
    return f"{statistics.median(ours) / base:.2f}x" if base > 0 else "n/a"


def _lat(lat: Latency, with_max: bool = True) -> str:
    figures = [lat.p50, lat.p99, *([lat.max] if with_max else [])]
    return " / ".join(f"{f:.2f}" for f in figures) + " ms"


def _mb(values: list[float]) -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.1f} MB (1 run)"
    return f"{med:.1f} MB ({min(values):.1f} to {max(values):.1f}, {len(values)} runs)"


def _rss(mem: Memory) -> str:
    return f"start {_mb(mem.start)}, a page each {_mb(mem.before)}, after {_mb(mem.after)}"


def print_aims(seeds: SizeResult, corpus: SizeResult, docs: int) -> None:
    """The aims from the issues, each with PASS or MISS (informational only)."""
    aim_docs = max((d for d in AIM_SEARCH_P99_MS if d <= docs), default=AIM_DOCS)
    aim_p99 = AIM_SEARCH_P99_MS[aim_docs]
    console.print(
        f"Aim: seeds build under {AIM_BUILD_S:g} s; search p99 under {aim_p99:g} ms at "
        f"{aim_docs:,} documents; a question nothing answers within {AIM_FALL_RATIO:g}x of the "
        f"seeds; a sources page p99 under {AIM_PAGE_MS:g} ms; RSS grown by at most "
        f"{AIM_RSS_GROWTH_MB:g} MB over {SOURCES_CALLS} sources calls from {THREADS} threads"
    )
    where = "" if docs >= aim_docs else f" (measured at {docs:,} generated documents only)"
    build_s = statistics.median(seeds.build.seconds)
    console.print(f"  seeds build median {build_s:.3f} s: {_verdict(build_s < AIM_BUILD_S)}")
    p99 = corpus.search.p99
    console.print(f"  search p99 {p99:.2f} ms: {_verdict(p99 < aim_p99)}{where}")
    fall = corpus.fall_through.p50 / seeds.fall_through.p50
    console.print(f"  no answer p50 {fall:.2f}x the seeds': {_verdict(fall <= AIM_FALL_RATIO)}")
    page = corpus.page.p99
    console.print(f"  sources page p99 {page:.2f} ms: {_verdict(page < AIM_PAGE_MS)}")
    grown = max(statistics.median(corpus.memory.growth), statistics.median(seeds.memory.growth))
    console.print(f"  RSS grown by {grown:.1f} MB: {_verdict(grown <= AIM_RSS_GROWTH_MB)}")


def _verdict(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red]MISS[/red]"


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=10_000, help="generated documents")
    parser.add_argument("--queries", type=int, default=300, help="timed search calls")
    parser.add_argument("--memory-runs", type=int, default=3, help="fresh processes for RSS")
    parser.add_argument("--quick", action="store_true", help="500 documents, 100 queries")
    parser.add_argument("--memory-probe", type=Path, help=argparse.SUPPRESS)  # one RSS run
    args = parser.parse_args(argv)
    if args.quick:
        args.docs, args.queries, args.memory_runs = 500, 100, 1
    if args.docs < 1 or args.queries < 1 or args.memory_runs < 1:
        parser.error("--docs, --queries and --memory-runs must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_probe:
        print(json.dumps(memory_probe(args.memory_probe)))
        return 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="apec-store-bench-") as tmp:
        workdir = Path(tmp)
        seeds = measure_size("seeds", SEEDS, workdir, SEEDS_RUNS, args.queries, args.memory_runs)
        t0 = time.perf_counter()
        corpus_dir = make_corpus(workdir, args.docs)
        console.print(f"generated {args.docs:,} documents in {time.perf_counter() - t0:.1f} s")
        runs = 1 if args.docs >= AIM_DOCS else 3
        corpus = measure_size(
            "synthetic", corpus_dir, workdir, runs, args.queries, args.memory_runs
        )
    console.print(results_table([seeds, corpus]))
    print_aims(seeds, corpus, args.docs)
    console.print(
        f"{args.queries} timed searches per column; total run time "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
