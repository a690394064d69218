"""Benchmark of watching sources and ingesting documents: the time to poll 50 sources, and the
time to ingest 1,000 documents.

The sources are served in this process by a local HTTP server (`http.server`, a thread a
request): --sources RSS feeds, each with one item whose article is a short fictional press
release (an invented ministry announcing an APEC meeting in 2027). Each round starts from a copy
of a store built from seeds/ in a temporary directory, and runs the real `store.watch.run` (the
polite `Fetcher`, feedparser, trafilatura, ingest, proposals), sequentially as the scheduler does:
* first poll: every feed fetched, every article fetched, read, ingested and proposed from;
* steady state: the same sources polled an interval later, each answering 304 to its ETag;
* hostile: the first poll again with 5 of the sources swapped for hostile ones (headers dripped a
  byte a second, a 1 GiB gzip bomb, gzip inside gzip, a redirect to the cloud metadata address, a
  redirect to another local port), against the 50 clean ones in the same run: wall time, and peak
  resident memory grown during the poll (VmHWM, reset before each poll). The dripping source is
  given up at the fetch deadline (--deadline, 30 s as in production): the wall time is that
  deadline, while the clean sources' documents are all in.

Ingest (`store.ingest`), --docs synthetic releases (fixed random seed) into a fresh copy each round:
* batch: `ingest_many`, all documents in one transaction, each made a source with its passages
  as it goes in (no rebuild), then read for findings;
* one by one: `ingest_text` for each, its own transaction;
* baseline: what ingest did before, a full `build` of the store after each document, timed on
  --baseline-docs documents and given per document (it grows with the store: at 1,000 documents
  it would be far slower than this figure).

Median and range (min-max) over --rounds rounds. The aims (50 sources first-polled under 10 s,
in steady state under 1 s; 1,000 documents ingested in a batch under 30 s; with 5 hostile sources,
every clean source read, memory grown under 50 MB and the poll ended within the deadline plus
10 s) are shown as PASS/MISS for information; the script exits 0 whatever the figures.

Run:
    python bench/watch_bench.py            # 50 sources, 1,000 documents, 3 rounds
    python bench/watch_bench.py --quick    # 10 sources, 100 documents, 1 round, a 3 s deadline
"""

from __future__ import annotations

import argparse
import gzip
import logging
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import zlib
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from store import watch  # noqa: E402
from store.build import build  # noqa: E402
from store.db import connect  # noqa: E402
from store.fetch import Fetcher  # noqa: E402
from store.ingest import Document, ingest_many, ingest_text  # noqa: E402

SEEDS = REPO / "seeds"
NOW = datetime.fromisoformat("2026-11-24T09:00+09:00")
AIM_FIRST_S, AIM_STEADY_S, AIM_INGEST_S = 10.0, 1.0, 30.0
LOCAL = ("127.0.0.1",)  # the sources are on loopback: the fetcher refuses it unless allowed
AIM_HOSTILE_MB, AIM_HOSTILE_OVER_S = 50.0, 10.0
HOSTILE = ("drip", "bomb", "nested", "metadata", "inward")
CITIES = ["Hanoi", "Da Nang", "Ho Chi Minh City", "Lima", "Santiago", "Auckland", "Bangkok"]
ECONOMIES = ["Viet Nam", "Chinese Taipei", "Peru", "Chile", "New Zealand", "Thailand", "Japan"]
MONTHS = ["January", "February", "March", "April", "May", "June", "August", "September"]


def release(n: int, rng: random.Random) -> tuple[str, str]:
    """A fictional ministry's press release: a title and a few paragraphs."""
    meeting = rng.choice(["SOM1", "SOM2", "SOM3", "the Trade Ministers' Meeting", "a CTI meeting"])
    day, month, city = rng.randint(1, 25), rng.choice(MONTHS), rng.choice(CITIES)
    title = f"Ministry of Foreign Affairs of Exampleland {n}: {meeting} in {city}"
    body = (
        f"Exampleport, {rng.randint(1, 20)} November 2026. The Ministry of Foreign Affairs of "
        f"Exampleland {n} said that {meeting} of APEC 2027 will be held in {city} from {day} to "
        f"{day + 2} {month} 2027.\n\n"
        f"Delegations from {rng.choice(ECONOMIES)} and {rng.choice(ECONOMIES)} confirmed their "
        f"attendance. Release number {n} of the ministry's series on the {rng.randint(1, 99)}th "
        "round of preparations.\n\nThe ministry will brief the press in due course."
    )
    return title, body


class Sources:
    """N feeds and their articles, served from memory; a feed answers 304 to its own ETag."""

    def __init__(self, count: int) -> None:
        rng = random.Random(13)
        self.pages: dict[str, tuple[str, bytes, str]] = {}  # path -> (type, body, etag)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # hung up on: meant
        self.server.handle_error = lambda *_: None  # type: ignore[method-assign]
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        for n in range(count):
            title, body = release(n, rng)
            paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
            html = (
                f"<html><head><title>{title}</title></head><body><nav>Home</nav>"
                f"<article><h1>{title}</h1>{paragraphs}</article></body></html>"
            )
            self.pages[f"/a/{n}.html"] = ("text/html; charset=utf-8", html.encode(), "")
            feed = (
                '<?xml version="1.0"?><rss version="2.0"><channel><title>Exampleland</title>'
                f"<item><title>{title}</title><link>{self.base}/a/{n}.html</link>"
                "<pubDate>Fri, 20 Nov 2026 09:00:00 GMT</pubDate></item></channel></rss>"
            )
            self.pages[f"/f/{n}.xml"] = ("application/rss+xml", feed.encode(), f'"f{n}"')
        self.feeds = [f"{self.base}/f/{n}.xml" for n in range(count)]
        self.port = self.server.server_address[1]
        # Only this server's own port is allowed: a redirect to another local port is refused.
        self.allow = (f"127.0.0.1:{self.port}",)
        self.bomb = self.nested = b""  # made once, when a hostile round first needs them
        self.closing = threading.Event()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hostile(self, bomb_bytes: int) -> list[str]:
        """The addresses of the five hostile sources (their answers made on first use)."""
        if not self.bomb:
            packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            zeros, parts = bytes(1 << 20), []
            for _ in range(bomb_bytes >> 20):
                parts.append(packer.compress(zeros))
            parts.append(packer.flush())
            self.bomb = b"".join(parts)
            inner = b"<?xml version='1.0'?><rss version='2.0'>" + b" " * 50_000_000
            self.nested = gzip.compress(gzip.compress(inner))
        return [f"{self.base}/h/{name}.xml" for name in HOSTILE]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        pages, sources = self.pages, self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body apart would wait on delayed ACKs

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                hostile = re.fullmatch(r"/h/(\w+)\.xml", self.path)
                if hostile:
                    self._hostile(hostile[1])
                    return
                found = pages.get(self.path)
                if found is None:
                    self._answer(404, b"", "text/plain")
                elif found[2] and self.headers.get("If-None-Match") == found[2]:
                    self._answer(304, b"", found[0], found[2])
                else:
                    self._answer(200, found[1], found[0], found[2])

            def _hostile(self, name: str) -> None:
                if name == "drip":  # the status line and headers, a byte a second, forever
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n" * 99:
                        if sources.closing.wait(1.0):
                            break
                        try:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                        except OSError:
                            break
                    self.close_connection = True
                elif name in ("metadata", "inward"):
                    where = (
                        "http://169.254.169.254/latest/meta-data/"
                        if name == "metadata"
                        else (f"http://127.0.0.1:{sources.port + 1}/secret")
                    )
                    self.send_response(302)
                    self.send_header("Location", where)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    body = sources.bomb if name == "bomb" else sources.nested
                    self._answer(200, body, "application/rss+xml", encoding="gzip")

            def _answer(
                self, status: int, body: bytes, ctype: str, etag: str = "", encoding: str = ""
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if etag:
                    self.send_header("ETag", etag)
                if encoding:
                    self.send_header("Content-Encoding", encoding)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:  # the fetcher hung up at its cap: as it should
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()


def spread(seconds: list[float]) -> str:
    """Median (min-max) of timings, in seconds."""
    med, lo, hi = statistics.median(seconds), min(seconds), max(seconds)
    return f"{med:7.2f} s ({lo:.2f}-{hi:.2f})"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def fresh(built: Path, work: Path, name: str) -> Path:
    path = work / name
    shutil.copy(built, path)
    return path


def warm_up(sources: Sources) -> None:
    """Import and first use of feedparser, trafilatura and dateparser, paid once a process (at
    the scheduler's first poll), outside the timings."""
    with Fetcher(allow=LOCAL) as fetcher:
        watch.documents_at(sources.feeds[0], fetcher)


def bench_polls(built: Path, work: Path, count: int, rounds: int) -> dict[str, list[float]]:
    sources = Sources(count)
    warm_up(sources)
    times: dict[str, list[float]] = {"first": [], "steady": [], "found": []}
    try:
        for r in range(rounds):
            db = connect(fresh(built, work, f"poll{r}.db"))
            with Fetcher(allow=LOCAL) as fetcher:
                for url in sources.feeds:
                    watch.add(db, url, "bench", NOW, LOCAL)
                t0 = time.perf_counter()
                polled = watch.run(db, now=NOW, seeds=SEEDS, fetcher=fetcher)
                times["first"].append(time.perf_counter() - t0)
                times["found"].append(sum(len(p.found) for p in polled))
                errors = [p.error for p in polled if p.error]
                if errors:
                    raise SystemExit(f"watch_bench: a source failed: {errors[0]}")
                t0 = time.perf_counter()
                later = watch.run(db, now=NOW + timedelta(minutes=16), seeds=SEEDS, fetcher=fetcher)
                times["steady"].append(time.perf_counter() - t0)
                assert all(p.result == "unchanged (304)" for p in later), later[0].result
            db.close()
    finally:
        sources.close()
    return times


def peak_rss_reset() -> bool:
    """Reset this process's peak resident memory (Linux: /proc/self/clear_refs); whether it
    could."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        found = re.search(r"VmHWM:\s+(\d+)", f.read())
    return int(found[1]) / 1024 if found else float("nan")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        found = re.search(r"VmRSS:\s+(\d+)", f.read())
    return int(found[1]) / 1024 if found else float("nan")


def bench_hostile(
    built: Path, work: Path, count: int, rounds: int, deadline: float, bomb_bytes: int
) -> dict[str, list[float]]:
    """First polls of `count` clean sources, and of the same with 5 swapped for hostile ones,
    alternating: wall time, memory grown at peak, and the clean sources read."""
    sources = Sources(count)
    hostile = sources.hostile(bomb_bytes)
    warm_up(sources)
    times: dict[str, list[float]] = {k: [] for k in ("clean", "hostile", "clean_mb", "hostile_mb")}
    read: list[int] = []
    refused: list[str] = []
    try:
        for r in range(rounds):
            for kind in ("clean", "hostile"):
                urls = sources.feeds if kind == "clean" else sources.feeds[: count - 5] + hostile
                db = connect(fresh(built, work, f"{kind}{r}.db"))
                for url in urls:
                    watch.add(db, url, "bench", NOW, sources.allow)
                fetcher = Fetcher(allow=sources.allow, deadline=deadline)
                if not peak_rss_reset():
                    raise SystemExit("watch_bench: cannot reset peak memory (not Linux?)")
                base = rss_mb()
                t0 = time.perf_counter()
                polled = watch.run(db, now=NOW, seeds=SEEDS, fetcher=fetcher)
                times[kind].append(time.perf_counter() - t0)
                times[f"{kind}_mb"].append(peak_rss_mb() - base)
                if kind == "hostile":
                    clean = [p for p in polled if p.url not in hostile]
                    read.append(sum(len(p.found) for p in clean))
                    refused = [
                        f"{p.url.rsplit('/', 1)[1]}: {p.error[:70]}"
                        for p in polled
                        if p.url in hostile
                    ]
                db.close()
    finally:
        sources.close()
    times["read"] = [float(n) for n in read]
    times["refused"] = refused  # type: ignore[assignment]
    return times


def bench_ingest(
    built: Path, work: Path, docs: int, baseline_docs: int, rounds: int
) -> dict[str, list[float]]:
    rng = random.Random(7)
    made = [release(n, rng) for n in range(docs)]
    documents = [Document(f"# {t}\n\n{b}", f"r{n}.md", title=t) for n, (t, b) in enumerate(made)]
    times: dict[str, list[float]] = {"batch": [], "single": [], "rebuild": [], "full": []}
    for r in range(rounds):
        db = connect(fresh(built, work, f"batch{r}.db"))
        t0 = time.perf_counter()
        reports = ingest_many(db, documents, now=NOW, seeds=SEEDS)
        times["batch"].append(time.perf_counter() - t0)
        assert all(rep.new for rep in reports)
        t0 = time.perf_counter()
        build(db, SEEDS)  # one rebuild of the store holding them all
        times["full"].append(time.perf_counter() - t0)
        db.close()
        db = connect(fresh(built, work, f"single{r}.db"))
        t0 = time.perf_counter()
        for doc in documents:
            ingest_text(db, doc.text, now=NOW, seeds=SEEDS, name=doc.name, title=doc.title)
        times["single"].append(time.perf_counter() - t0)
        db.close()
        db = connect(fresh(built, work, f"rebuild{r}.db"))
        t0 = time.perf_counter()
        for doc in documents[:baseline_docs]:
            ingest_text(db, doc.text, now=NOW, seeds=SEEDS, name=doc.name, title=doc.title)
            build(db, SEEDS)  # what every ingest did before
        times["rebuild"].append((time.perf_counter() - t0) / baseline_docs)
        db.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sources", type=int, default=50, help="feeds polled (default 50)")
    parser.add_argument("--docs", type=int, default=1000, help="documents ingested (default 1,000)")
    parser.add_argument(
        "--baseline-docs", type=int, default=20, help="documents the baseline ingests"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--deadline", type=float, default=30.0, help="a fetch's deadline (s)")
    parser.add_argument("--quick", action="store_true", help="10 sources, 100 documents, 1 round")
    args = parser.parse_args(argv)
    bomb = 1 << 30  # decompressed bytes of the gzip bomb (about 1 MB on the wire)
    if args.quick:
        args.sources, args.docs, args.baseline_docs, args.rounds = 10, 100, 5, 1
        args.deadline, bomb = 3.0, 64 << 20
    started = time.perf_counter()
    logging.getLogger("apec.watch").setLevel(
        logging.ERROR
    )  # each hostile source's line: shown below
    with tempfile.TemporaryDirectory(prefix="watch-bench-") as tmp:
        work = Path(tmp)
        built = work / "built.db"
        db = connect(built)
        build(db, SEEDS)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        polls = bench_polls(built, work, args.sources, args.rounds)
        ingests = bench_ingest(built, work, args.docs, args.baseline_docs, args.rounds)
        hostile = bench_hostile(built, work, args.sources, args.rounds, args.deadline, bomb)
    first, steady = statistics.median(polls["first"]), statistics.median(polls["steady"])
    batch = statistics.median(ingests["batch"])
    rebuild, full = statistics.median(ingests["rebuild"]), statistics.median(ingests["full"])
    print(
        f"watch: {args.sources} RSS feeds of one article each, from a local HTTP server; "
        f"{args.rounds} round(s), median (min-max)"
    )
    print(
        f"  first poll, {args.sources} sources (feed + article + ingest + proposals)  "
        f"{spread(polls['first'])}"
        f"  -> {statistics.median(polls['found']):.0f} new documents"
    )
    print(
        f"  steady state, {args.sources} sources answering 304                    "
        f"{spread(polls['steady'])}"
    )
    print(
        f"  per source: first poll {first / args.sources * 1e3:.1f} ms, "
        f"steady {steady / args.sources * 1e3:.1f} ms"
    )
    print()
    print(f"ingest: {args.docs:,} synthetic press releases into a store built from seeds/")
    print(
        f"  batch (ingest_many, one transaction)      {spread(ingests['batch'])}"
        f"  = {batch / args.docs * 1e3:.2f} ms a document"
    )
    print(
        f"  one by one (ingest_text each)             {spread(ingests['single'])}"
        f"  = {statistics.median(ingests['single']) / args.docs * 1e3:.2f} ms a document"
    )
    print(
        f"  baseline: a full build after each document, on {args.baseline_docs}: "
        f"{rebuild * 1e3:.0f} ms a document"
    )
    print(
        f"    a build holding all {args.docs:,} takes {spread(ingests['full']).strip()}: "
        f"rebuilding after "
        f"each would take about {args.docs * (rebuild + full) / 2:.0f} s for {args.docs:,}"
    )
    print()
    clean_n = args.sources - 5
    print(
        f"hostile: {args.sources} sources, 5 of them hostile ({', '.join(HOSTILE)}; the bomb "
        f"{bomb >> 20:,} MB unpacked), against {args.sources} clean, alternating; fetch deadline "
        f"{args.deadline:g} s"
    )
    print(
        f"  first poll, {args.sources} clean            {spread(hostile['clean'])}"
        f"   peak memory grown {statistics.median(hostile['clean_mb']):6.1f} MB "
        f"({min(hostile['clean_mb']):.1f}-{max(hostile['clean_mb']):.1f})"
    )
    print(
        f"  first poll, {clean_n} clean + 5 hostile  {spread(hostile['hostile'])}"
        f"   peak memory grown {statistics.median(hostile['hostile_mb']):6.1f} MB "
        f"({min(hostile['hostile_mb']):.1f}-{max(hostile['hostile_mb']):.1f})"
    )
    ratio = statistics.median(hostile["hostile"]) / statistics.median(hostile["clean"])
    print(
        f"  ratio of wall times {ratio:.1f}x (the dripping source is given up at the deadline); "
        f"clean sources read: {min(hostile['read']):.0f} of {clean_n}"
    )
    for line in hostile["refused"]:
        print(f"    {line}")
    print()
    print(
        f"Aim: 50 sources first-polled under {AIM_FIRST_S:g} s and in steady state under "
        f"{AIM_STEADY_S:g} s; 1,000 documents ingested in a batch under {AIM_INGEST_S:g} s"
    )
    scale = 50 / args.sources
    print(
        f"  first poll (scaled to 50) {first * scale:.2f} s: {verdict(first * scale < AIM_FIRST_S)}"
    )
    print(
        f"  steady state (scaled to 50) {steady * scale:.2f} s: "
        f"{verdict(steady * scale < AIM_STEADY_S)}"
    )
    per_thousand = batch * 1000 / args.docs
    print(
        f"  batch ingest (scaled to 1,000) {per_thousand:.1f} s: "
        f"{verdict(per_thousand < AIM_INGEST_S)}"
    )
    grown = max(hostile["hostile_mb"])
    ended = max(hostile["hostile"])
    every = min(hostile["read"]) == clean_n
    ok = every and grown < AIM_HOSTILE_MB and ended < args.deadline + AIM_HOSTILE_OVER_S
    print(
        f"  with 5 hostile sources: {min(hostile['read']):.0f}/{clean_n} clean read, memory grown "
        f"{grown:.1f} MB (under {AIM_HOSTILE_MB:g}), ended in {ended:.1f} s (under "
        f"{args.deadline + AIM_HOSTILE_OVER_S:g}): {verdict(ok)}"
    )
    print(f"total run time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
