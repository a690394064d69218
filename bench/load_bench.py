"""Load test of the bot over HTTP, interleaved with the floor: a bare Bolt app under one server.

What runs, each in processes of its own, all started before the first request and measured in
turn, level by level (the order turned each round, so neither side always goes first):

* ours: `apec-bot serve`, as an admin runs it (HTTP mode, the store built from seeds/ into a
  temporary directory, APEC_NOW fixed at 2026-03-02 09:00 +09:00, logs at INFO to a file), with
  one worker ("ours-1"); and, with the reply cache off so that every reply is made ("made"), with
  one worker, with `--workers 2`, and twice more with one worker and the `waitress.queue` logger
  at ERROR, then at WARNING; and once more with one worker, every reply made but one fixed
  answer, without the reader or the handler ("ours-1 fixed": the plumbing alone, measured at the
  uncached levels of 1 and 10 connections). Started through bench/_child.py, which sets a
  logger's level, turns the reply cache off and fixes the answer (the bot has no setting for
  these), and counts the reply cache's hits and misses;
* the floor: a Bolt `App(process_before_response=True)` whose listeners only ack (the `/apec`
  command and the `app_mention` event), served by Bolt's own WSGI adapter
  (`slack_bolt.adapter.wsgi.SlackRequestHandler`) under `bot.server.make_server` (waitress, the same
  threads and settings); one process, and two sharing the port by SO_REUSEPORT as ours do;
* a stand-in for the Slack Web API (`auth.test`, and `chat.postMessage` for the mentions' replies).

The client is one asyncio loop in this process: keep-alive connections, every request signed as
Slack signs it before the timed part, each one unique (its own trigger_id, so its own signature).
The requests:

* cached: `/apec next-meeting`, the same text every time (the reply is kept within the minute);
* varied: `/apec next-meeting` asked each time in words no request before used (the kind of
  meeting, and a run of words the command reads past: "next the apec meeting som"): the reply
  cache keeps a reply under what the command reads its words as (the kind), so these are answered
  from it, as a desk's many wordings of "when is the next SOM" are;
* uncached: the varied texts, to the services with the reply cache off: every reply made (the
  reader, the handler, the card), as for a question nobody asked in that minute;
* mix: five commands, in turn, each text asked once, to the services with the cache off:
  next-meeting as above, `meetings` over a period of days no other asked for, `delegation ECONOMY
  MEETING`, `countdown`, `meeting NAME` (the last three with words they read past);
* mention: an `app_mention` event, its question new each time (acknowledged at once; ours answers
  in the thread after, through the Web API stand-in), each sent as the last is acknowledged: ours'
  answers after the acks then fill its interpreter, and each ack waits its turn behind them;
* paced: the same mentions at a steady 200 a second on one connection (`PACE`), the rate far above
  a desk's and below what fills ours: the ack as it is when the answers keep up.

Besides latency and throughput, the CPU each request costs (Linux): the service's processes,
every thread, from /proc ("cpu"); and the request's own thread inside the app ("app": ours'
front from its `events` call to its return, the floor's Bolt adapter the same way, each timed by
bench/_child.py). The second says what the apps do a request without the server around them.

That the uncached requests were is checked, not assumed: ours counts its reply cache's hits and
misses (bench/_child.py), and any hit during an uncached or mix level fails the run, as does a
varied level whose replies were made more often than there are kinds of meeting.

Each level runs `--requests` requests, `--rounds` times; the table shows the median of the rounds
with their range in brackets; a ratio is the median of the rounds' own ratios (ours against the
floor measured just before or after it). `--memory N` measures, instead, the RSS of one
`apec-bot serve` before and after N varied requests.

Also measured: how long `apec-bot serve` takes from its start to the first `/healthz` 200 (median
of `--starts` starts), next to the floor's process doing the same.

The aims printed at the end (issue 24's "What good looks like") are informational: the script exits
0 whatever the figures, and 1 only when something fails (a server that does not start, requests
that fail, uncached requests that hit the cache, varied ones that miss it).

Run:
    python bench/load_bench.py                  # 1,500 requests a level, 3 rounds
    python bench/load_bench.py --quick          # a smoke run (a few seconds)
    python bench/load_bench.py --memory 100000  # RSS over 100,000 varied requests
    python bench/load_bench.py --requests 3000 --rounds 5
    python bench/load_bench.py --kinds mention,mix   # only these levels (no aims judged)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._child import read_app_time, read_counts  # noqa: E402 - after the path is set

REPO = Path(__file__).resolve().parent.parent
CHILD = REPO / "bench" / "_child.py"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-0000-bench"
NOW = "2026-03-02T09:00:00+09:00"
START_TIMEOUT = 60.0
TIME_CAP = 60.0  # seconds per level; requests not sent by then are "lost"
COUNTS_WAIT = 5.0  # seconds at most for ours' cache counts to reach their files after a level

# Issue 24's aims ("What good looks like")
AIM_P50 = 1.3  # uncached next-meeting p50 at 1 connection, at most this times the floor's
AIM_RPS = 0.8  # uncached next-meeting req/s at 10 connections, at least this times the floor's
AIM_MIX = 0.7  # the five-command uncached mix, req/s at 10 connections, against the floor
AIM_MENTION_MS = 1.0  # a mention's ack p50 at 1 connection
AIM_WORKERS = 1.5  # two workers' req/s against one's, uncached, 50 connections
AIM_P99 = 2.0  # p99 at 1 connection, uncached, at most this times the floor's
AIM_LOGGER = 0.10  # req/s with waitress.queue at ERROR and at WARNING differ by less than this
AIM_RSS = 0.05  # RSS grows by less than this share over the --memory requests
AIM_READY_S = 0.8  # `serve` answering /healthz


# -- what the desk asks: every text new ---------------------------------------------------------

# Words next-meeting reads past (handlers/meetings.py `kind_asked`): each run of them is new
# arguments to the reply cache, and the same question to the handler.
FILLER = ("the", "apec", "meeting", "meetings", "one")
MEETING_KINDS = ("", "som", "summit", "ministerial")
NEXT_WORDS = ("next-meeting", "Next-Meeting", "next", "nextmeeting")  # one command, four spellings
ECONOMIES = (
    "Australia", "Brunei Darussalam", "Canada", "Chile", "China", "Hong Kong, China", "Indonesia",
    "Japan", "Korea", "Malaysia", "Mexico", "New Zealand", "Papua New Guinea", "Peru",
    "the Philippines", "Russia", "Singapore", "Chinese Taipei", "Thailand", "the United States",
    "Viet Nam",
)  # fmt: skip
MEETING_NAMES = ("SOM1", "SOM2", "SOM3", "the Leaders' Meeting", "the Shanghai SOM", "AELM")
CACHED_TEXT = "next-meeting"
FIRST_DAY = date(2026, 1, 1)  # the periods asked for start in 2026 and last a month or more


def filler(n: int) -> list[str]:
    """The n-th run of FILLER words (none for 0): distinct for every n (bijective base 5)."""
    words = []
    while n:
        n, digit = divmod(n - 1, len(FILLER))
        words.append(FILLER[digit])
    return words


def next_meeting_text(n: int) -> str:
    """The n-th next-meeting: a kind of meeting (or none) and a run of words no other has."""
    kind = MEETING_KINDS[n % len(MEETING_KINDS)]
    words = [NEXT_WORDS[(n // 7) % len(NEXT_WORDS)], *filler(n // len(MEETING_KINDS)), kind]
    return " ".join(w for w in words if w)


def _day(day: date) -> str:
    return f"{day.day} {day:%B} {day.year}"


def meetings_text(n: int) -> str:
    """The n-th `meetings` over a period of days: no two ask for the same period."""
    more, start = divmod(n, 365)
    first = FIRST_DAY + timedelta(days=start * 37 % 365)  # 37 and 365 share no factor: a shuffle
    return f"meetings from {_day(first)} to {_day(first + timedelta(days=30 + more))}"


def delegation_text(n: int) -> str:
    economy, rest = ECONOMIES[n % len(ECONOMIES)], n // len(ECONOMIES)
    meeting, rest = MEETING_NAMES[rest % len(MEETING_NAMES)], rest // len(MEETING_NAMES)
    return " ".join(["delegation", economy, meeting, *filler(rest)])


def countdown_text(n: int) -> str:
    """The n-th countdown (to every kind of meeting: it reads past whatever follows)."""
    return " ".join(["countdown", *filler(n)])


def meeting_text(n: int) -> str:
    name, rest = MEETING_NAMES[n % len(MEETING_NAMES)], n // len(MEETING_NAMES)
    return " ".join(["meeting", *filler(rest), name])


MIX_FROM = 1_000_000  # the mix's next-meeting texts: past any the uncached kind reaches in a run


def mix_next_meeting_text(n: int) -> str:
    return next_meeting_text(MIX_FROM + n)


MIX = (mix_next_meeting_text, meetings_text, delegation_text, countdown_text, meeting_text)


def mix_text(n: int) -> str:
    """The n-th of the mix: its five commands in turn, each with its own new words."""
    return MIX[n % len(MIX)](n // len(MIX))


def mention_question(n: int) -> str:
    kind = MEETING_KINDS[n % len(MEETING_KINDS)] or "meeting"
    return " ".join(["when is the next", kind, *filler(n // len(MEETING_KINDS))]) + "?"


# -- the floor and the Web API stand-in (child processes) -----------------------------------------


def serve_floor(port: int, api_url: str, timed: str = "") -> int:
    """A bare Bolt app that only acks, under the same waitress; prints when it listens. With
    `timed` (a folder), the CPU time of each request's thread in Bolt's adapter is counted there,
    as ours counts its front's (bench/_child.py)."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_bolt.authorization import AuthorizeResult
    from slack_sdk import WebClient

    from bench._child import Counts, time_requests
    from bot.server import make_server

    if timed:
        time_requests(Counts(Path(timed)), SlackRequestHandler, "__call__")

    app = App(
        signing_secret=SECRET,
        client=WebClient(base_url=api_url),
        authorize=lambda enterprise_id, team_id: AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=TOKEN
        ),
        token_verification_enabled=False,
        process_before_response=True,
    )
    app.command("/apec")(lambda ack: ack("ok"))
    app.event("app_mention")(lambda ack: ack())
    server = make_server(SlackRequestHandler(app), "127.0.0.1", port, reuse_port=True)
    print(f"LISTENING {server.effective_port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.close())
    try:
        server.run()
    except (OSError, ValueError):
        pass
    return 0


def serve_web_api(port_file: Path) -> int:
    """Answers auth.test as Slack does, chat.postMessage with a ts, anything else ok; counts."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    calls: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go in two writes: with Nagle on, a kept connection stalls each ~40 ms
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            method = self.path.rsplit("/", 1)[-1]
            calls[method] = calls.get(method, 0) + 1
            body: dict = {"ok": True}
            if method == "auth.test":
                body.update(team_id="T0BENCH", user_id="U0BOT", bot_id="B0BOT", user="bench")
            elif method == "chat.postMessage":
                body.update(channel="C0BENCH", ts=f"{time.time():.6f}")
            elif method == "calls":
                body = calls
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_file.write_text(str(server.server_address[1]))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()
    return 0


# -- starting and stopping ------------------------------------------------------------------------


class BenchError(Exception):
    """Something that makes the figures meaningless: the message says what."""


@dataclass
class Service:
    """The processes of one app (ours, or the floor's workers), on one port."""

    app: str
    port: int
    procs: list[subprocess.Popen]
    log: Path
    ready_s: float = 0.0
    name: str = ""
    counts: Path | None = None  # where ours writes its reply cache's counts
    timed: Path | None = None  # where its processes write their requests' CPU time

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join("  " + line for line in lines[-8:])

    def cache(self) -> tuple[int, int] | None:
        """(hits, misses) of ours' reply cache so far, or None where it is not counted."""
        return read_counts(self.counts) if self.counts is not None else None

    def app_time(self) -> tuple[int, int] | None:
        """(CPU ns, requests) its requests' threads have spent so far in the app, or None where
        it is not counted."""
        return read_app_time(self.timed) if self.timed is not None else None

    def cpu_s(self) -> float | None:
        """The CPU seconds its processes and theirs (a supervisor's workers) have used, all
        threads (Linux /proc); None elsewhere."""
        return cpu_seconds([p.pid for p in self.procs])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _wait(service: Service, ready: Callable[[], bool], started: float) -> Service:
    """Wait until `ready()` says the service answers; its time from `started`."""
    deadline = started + START_TIMEOUT
    while not ready():
        if any(p.poll() is not None for p in service.procs) or time.monotonic() > deadline:
            service.stop()
            raise BenchError(f"{service.app} did not start:\n{service.tail()}")
        time.sleep(0.005)
    service.ready_s = time.monotonic() - started
    return service


def ours_env(tmp: Path, api_url: str) -> dict[str, str]:
    """The environment `apec-bot serve` runs in here (none of the caller's SLACK_ or APEC_)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "APEC_", "BENCH_"))}
    env.update(
        APEC_DB=str(tmp / "apec.db"),
        APEC_NOW=NOW,
        APEC_TZ="Asia/Seoul",
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api_url,
    )
    return env


def start_ours(
    tmp: Path,
    api_url: str,
    workers: int,
    *,
    name: str = "",
    levels: str = "",
    counted: bool = False,
    keep: bool = True,
    fixed: bool = False,
) -> Service:
    """`apec-bot serve [--workers N]` on 127.0.0.1; waits for /healthz to answer 200. With
    `levels` ("logger=LEVEL,..."), `counted`, not `keep` (the reply cache off) or `fixed` (every
    reply one fixed answer, made anew), started through bench/_child.py."""
    name = name or f"ours-{workers}"
    log = tmp / f"{name}.log"
    env = ours_env(tmp, api_url)
    counts = None
    if counted:
        counts = tmp / f"{name}.counts"
        counts.mkdir(exist_ok=True)
        env["BENCH_CACHE_COUNTS"] = str(counts)
    if levels:
        env["BENCH_LOG_LEVELS"] = levels
    if not keep:
        env["BENCH_KEEP_NONE"] = "1"
    if fixed:
        env["BENCH_FIXED_ANSWER"] = "1"
    start = [str(CHILD)] if counted or levels or not keep or fixed else ["-m", "bot"]

    def on(port: int) -> Service:
        args = [sys.executable, *start, "serve", "--host", "127.0.0.1", "--port", str(port)]
        args += ["--workers", str(workers)]  # always: without it, serve starts one per core
        started = time.monotonic()
        with open(log, "ab") as out:
            proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=out)
        service = Service("ours", port, [proc], log, name=name, counts=counts, timed=counts)
        return _wait(service, lambda: _healthy(port), started)

    return _on_a_free_port(on)


def start_floor(tmp: Path, api_url: str, workers: int) -> Service:
    """`workers` bare Bolt processes sharing one port; waits for each to listen."""
    log = tmp / f"floor-{workers}.log"
    timed = tmp / f"floor-{workers}.times"
    timed.mkdir(exist_ok=True)

    def on(port: int) -> Service:
        started = time.monotonic()
        procs = []
        with open(log, "ab") as out:
            for _ in range(workers):
                args = [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--serve-floor",
                    str(port),
                    "--api-url",
                    api_url,
                    "--timed",
                    str(timed),
                ]
                procs.append(
                    subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=out, text=True)
                )
        service = Service("floor", port, procs, log, name=f"floor-{workers}", timed=timed)
        lines = iter(lambda: [p.stdout.readline() for p in procs], None)  # type: ignore[union-attr]
        return _wait(
            service, lambda: all(line.startswith("LISTENING") for line in next(lines)), started
        )

    return _on_a_free_port(on)


# A port found free may be taken before the service binds it: by another service starting, or as
# the local port of a connection (seen once in CI, with the other tests running beside the bench).
PORT_TRIES = 3


def _on_a_free_port(start: Callable[[int], Service]) -> Service:
    """`start(port)` on a port found free, and again on another when that one was taken first."""
    for _ in range(PORT_TRIES - 1):
        try:
            return start(_free_port())
        except BenchError as exc:
            if "Address already in use" not in str(exc):
                raise
    return start(_free_port())


def _free_port() -> int:
    from bot.server import shared_socket

    sock = shared_socket("127.0.0.1", 0)
    try:
        return sock.getsockname()[1]
    finally:
        sock.close()


def start_web_api(tmp: Path) -> tuple[subprocess.Popen, str]:
    port_file = tmp / "web-api.port"
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--web-api", str(port_file)], cwd=REPO
    )
    deadline = time.monotonic() + START_TIMEOUT
    while not port_file.exists() or not port_file.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError("the Web API stand-in did not start")
        time.sleep(0.01)
    return proc, f"http://127.0.0.1:{port_file.read_text()}/api/"


def web_api_calls(api_url: str) -> dict[str, int]:
    with urllib.request.urlopen(urllib.request.Request(api_url + "calls", b"")) as response:
        return json.loads(response.read())


def cpu_seconds(pids: list[int]) -> float | None:
    """User and system CPU seconds of the processes `pids` and their descendants (Linux /proc);
    None where /proc is not."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, CPU seconds)
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return None
    for entry in entries:
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    wanted, more = set(), set(pids)
    while more:  # the descendants, to any depth
        wanted |= more
        more = {pid for pid, (parent, _) in stats.items() if parent in more} - wanted
    return sum(stats[pid][1] for pid in wanted if pid in stats)


def rss_mb(pid: int) -> float:
    """A process' resident set size in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no RSS for pid {pid}")


# -- requests as Slack sends them -----------------------------------------------------------------

_n = itertools.count(1)  # every request's own number: its trigger_id, event_id, signature
# Every kind's texts counted apart: each text is asked once in a run.
_texts: dict[str, Iterator[int]] = {}


def _signed(body: str, ctype: str) -> bytes:
    import hashlib
    import hmac

    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    data = body.encode()
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: bench\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(data)}\r\nX-Slack-Request-Timestamp: {ts}\r\n"
        f"X-Slack-Signature: v0={sig}\r\n\r\n"
    )
    return head.encode() + data


def command_request(text: str) -> bytes:
    n = next(_n)
    body = urlencode(
        {
            "token": "t",
            "team_id": "T0BENCH",
            "team_domain": "bench",
            "channel_id": "C0BENCH",
            "channel_name": "apec-desk",
            "user_id": f"U0{n % 7}",
            "user_name": "bench",
            "command": "/apec",
            "text": text,
            "api_app_id": "A0BENCH",
            "is_enterprise_install": "false",
            "response_url": f"https://hooks.slack.com/commands/T0BENCH/{n}/x",
            "trigger_id": f"{n}.123.abc",
        }
    )
    return _signed(body, "application/x-www-form-urlencoded")


def mention_request(question: str) -> bytes:
    n = next(_n)
    body = json.dumps(
        {
            "token": "t",
            "team_id": "T0BENCH",
            "api_app_id": "A0BENCH",
            "type": "event_callback",
            "event_id": f"Ev{n:012d}",
            "event_time": 1,
            "authorizations": [{"team_id": "T0BENCH", "user_id": "U0BOT", "is_bot": True}],
            "event": {
                "type": "app_mention",
                "user": f"U0{n % 7}",
                "channel": "C0BENCH",
                "text": f"<@U0BOT> {question}",
                "ts": f"1768000000.{n:06d}",
                "event_ts": f"1768000000.{n:06d}",
            },
        }
    )
    return _signed(body, "application/json")


# kind -> (the request for the i-th text, whether each text is new)
KINDS: dict[str, tuple[Callable[[int], bytes], bool]] = {
    "cached": (lambda i: command_request(CACHED_TEXT), False),
    "varied": (lambda i: command_request(next_meeting_text(i)), True),
    "uncached": (lambda i: command_request(next_meeting_text(i)), True),
    "mix": (lambda i: command_request(mix_text(i)), True),
    "mention": (lambda i: mention_request(mention_question(i)), True),
    "paced": (lambda i: mention_request(mention_question(i)), True),
}
MENTIONS = ("mention", "paced")  # acknowledged with nothing in the ack, answered after
# Seconds between a connection's sends, for a kind sent at a steady rate (else as fast as it is
# answered): mentions at 200 a second, far above a desk's few a minute and below the rate at which
# ours' answers after the ack would fill its interpreter, so the ack is timed without the backlog.
PACE = {"paced": 1 / 200}


def make_requests(kind: str, count: int) -> list[bytes]:
    """`count` signed requests of `kind`, the texts continuing where the last batch stopped."""
    make = KINDS[kind][0]
    numbers = _texts.setdefault(kind, itertools.count(1))  # 0 would be the cached text
    return [make(next(numbers)) for _ in range(count)]


def answered(app: str, kind: str, body: bytes) -> bool:
    """Whether a 200's body is the answer expected: the floor's "ok", ours' reply (no usage
    error), or an ack with nothing in it (a mention)."""
    if kind in MENTIONS:
        return not body
    if app == "floor":
        return body == b"ok"
    return body.startswith(b"{") and b"Usage:" not in body


# -- the client -----------------------------------------------------------------------------------


@dataclass
class Level:
    service: str
    kind: str
    conns: int
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    lost: int = 0
    elapsed: float = 0.0
    cache: tuple[int, int] | None = None  # ours' reply cache during it: (hits, misses)
    cpu_us: float | None = None  # the service's CPU a request answered, every thread (/proc)
    app_us: float | None = None  # the app's, in the request's thread (Service.app_time)
    bad: list[bytes] = field(default_factory=list)  # the first bodies not as expected

    def p(self, q: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    found = _LENGTH.search(head)
    body = await reader.readexactly(int(found.group(1))) if found else b""
    return int(head[9:12]), body


async def _load(port: int, level: Level, requests: list[bytes], app: str) -> None:
    queue = iter(requests)
    deadline = time.monotonic() + TIME_CAP

    pace = PACE.get(level.kind, 0.0)

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        slot = time.perf_counter()
        for raw in queue:
            if time.monotonic() > deadline:
                level.lost += 1
                continue
            if pace:  # the next send at its time, not before (nor made up for, if late)
                slot = max(slot + pace, time.perf_counter())
                await asyncio.sleep(slot - time.perf_counter())
            started = time.perf_counter()
            try:
                status, body = await _exchange(reader, writer, raw)
            except (OSError, asyncio.IncompleteReadError):
                level.failed += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            if status != 200 or not answered(app, level.kind, body):
                level.failed += 1
                if len(level.bad) < 3:
                    level.bad.append(f"{status} ".encode() + body[:300])
            else:
                level.latencies.append(time.perf_counter() - started)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(level.conns)))
    level.elapsed = time.perf_counter() - started


def run_level(service: Service, kind: str, conns: int, requests: int) -> Level:
    """`requests` requests of `kind` over `conns` connections; over them, the service's CPU a
    request (a mention's answers still under way at the end are not all counted), the app's
    where it is timed, and ours' cache."""
    level = Level(service.name or service.app, kind, conns)
    batch = make_requests(kind, requests)
    before, timed, cpu = service.cache(), service.app_time(), service.cpu_s()
    asyncio.run(_load(service.port, level, batch, service.app))
    done = len(level.latencies)
    if cpu is not None and done:
        level.cpu_us = ((service.cpu_s() or cpu) - cpu) / done * 1e6
    if timed is not None and done:
        ns, calls = _timed(service, timed, level.failed + done)
        level.app_us = ns / calls / 1000 if calls else None
    if before is not None:
        answered = done if kind not in MENTIONS else 0  # a mention keeps none
        after = _counted(service, before, answered)
        level.cache = (after[0] - before[0], after[1] - before[1])
    return level


def _timed(service: Service, before: tuple[int, int], requests: int) -> tuple[int, int]:
    """The CPU ns and the requests its app's threads counted since `before`, once they account
    for `requests` (each process writes them every FLUSH_EVERY s), or as they stand after
    COUNTS_WAIT."""
    deadline = time.monotonic() + COUNTS_WAIT
    while True:
        after = service.app_time()
        assert after is not None
        ns, calls = after[0] - before[0], after[1] - before[1]
        if calls >= requests or time.monotonic() > deadline:
            return ns, calls
        time.sleep(0.02)


def _counted(service: Service, before: tuple[int, int], answered: int) -> tuple[int, int]:
    """Ours' cache counts once they account for the `answered` requests (each child writes its
    counts every FLUSH_EVERY s), or as they stand after COUNTS_WAIT: then the report shows
    fewer than were answered, and the run fails on it."""
    deadline = time.monotonic() + COUNTS_WAIT
    while True:
        after = service.cache()
        assert after is not None
        if sum(after) - sum(before) >= answered or time.monotonic() > deadline:
            return after
        time.sleep(0.02)  # the children's files are rewritten every 0.1 s


# -- the run --------------------------------------------------------------------------------------


def _with_queue_at(level: str, tmp: Path, url: str) -> Service:
    """Ours, one worker, every reply made, with the `waitress.queue` logger at `level`."""
    name = f"ours-1-queue-{level.lower()}"
    levels = f"waitress.queue={level}"
    return start_ours(tmp, url, 1, name=name, levels=levels, counted=True, keep=False)


# The services: name -> how it starts (tmp, api_url) -> Service
SERVICES: dict[str, Callable[[Path, str], Service]] = {
    "floor-1": lambda tmp, url: start_floor(tmp, url, 1),
    "ours-1": lambda tmp, url: start_ours(tmp, url, 1, counted=True),
    "ours-1 made": lambda tmp, url: start_ours(
        tmp, url, 1, name="ours-1-made", counted=True, keep=False
    ),
    # The plumbing alone: every reply made, but one fixed answer (no reader, no handler)
    "ours-1 fixed": lambda tmp, url: start_ours(
        tmp, url, 1, name="ours-1-fixed", counted=True, keep=False, fixed=True
    ),
    "floor-2": lambda tmp, url: start_floor(tmp, url, 2),
    "ours-2 made": lambda tmp, url: start_ours(
        tmp, url, 2, name="ours-2-made", counted=True, keep=False
    ),
    **{
        f"ours-1 made queue={level}": partial(_with_queue_at, level)
        for level in ("ERROR", "WARNING")
    },
}
PAIR = ("floor-1", "ours-1")  # the floor, then ours: every level names them so
MADE = ("floor-1", "ours-1 made")
QUEUES = ("ours-1 made queue=ERROR", "ours-1 made queue=WARNING")
FIXED = "ours-1 fixed"
# (kind, connections, the services measured at that level, in turn)
PLAN: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("cached", 1, PAIR),
    ("cached", 10, PAIR),
    ("varied", 1, PAIR),
    ("varied", 10, PAIR),
    ("uncached", 1, (*MADE, FIXED)),
    ("uncached", 10, (*MADE, FIXED)),
    ("uncached", 50, (*MADE, "floor-2", "ours-2 made", *QUEUES)),
    ("mix", 1, MADE),
    ("mix", 10, MADE),
    ("mention", 1, PAIR),
    ("mention", 10, PAIR),
    ("paced", 1, PAIR),
)
Key = tuple[str, str, int]  # (service, kind, connections)


def _plan(args: argparse.Namespace) -> list[tuple[str, int, tuple[str, ...]]]:
    """The levels of PLAN whose kind `--kinds` names."""
    return [level for level in PLAN if level[0] in args.kinds]


def _med(values: list[float]) -> str:
    return f"{statistics.median(values):8.2f} [{min(values):.2f}–{max(values):.2f}]"


def _build(tmp: Path) -> None:
    """The store built before anything is timed, as on a server that has run before."""
    env = {**os.environ, "APEC_DB": str(tmp / "apec.db")}
    subprocess.run(
        [sys.executable, "-m", "bot", "build"], cwd=REPO, env=env, check=True, capture_output=True
    )


def measure_starts(tmp: Path, api_url: str, starts: int) -> dict[str, list[float]]:
    """Seconds from spawning to answering: ours to /healthz 200, the floor to listening."""
    times: dict[str, list[float]] = {"ours": [], "floor": []}
    for _ in range(starts):
        for app, start in (("ours", start_ours), ("floor", start_floor)):
            service = start(tmp, api_url, 1)
            times[app].append(service.ready_s)
            service.stop()
    return times


def start_all(tmp: Path, api_url: str) -> dict[str, Service]:
    """Every service of SERVICES, started side by side (each waits for its own readiness)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(SERVICES)) as pool:
        pending = {name: pool.submit(start, tmp, api_url) for name, start in SERVICES.items()}
    started = {name: f.result() for name, f in pending.items() if f.exception() is None}
    for name, future in pending.items():
        if future.exception() is not None:
            for service in started.values():
                service.stop()
            raise BenchError(f"{name}: {future.exception()}")
    return started


def measure(args: argparse.Namespace, services: dict[str, Service]) -> dict[Key, list[Level]]:
    """Every level of PLAN, `args.rounds` times, the services of a level in turn (the order
    turned each round)."""
    for service in services.values():
        for kind in KINDS:
            if kind in args.kinds:
                run_level(service, kind, 10, args.warm_up)
    results: dict[Key, list[Level]] = {}
    for round_ in range(args.rounds):
        for kind, conns, names in _plan(args):
            turn = round_ % len(names)
            for name in names[turn:] + names[:turn]:
                level = run_level(services[name], kind, conns, args.requests)
                results.setdefault((name, kind, conns), []).append(level)
    return results


def run(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="apec-load-"))
    web_api, api_url = start_web_api(tmp)
    services: dict[str, Service] = {}
    try:
        _build(tmp)
        if args.memory:
            return report_memory(args, measure_memory(tmp, api_url, args))
        starts = measure_starts(tmp, api_url, args.starts)
        services.update(start_all(tmp, api_url))
        if not starts["ours"]:  # --starts 0: the times of the services just started side by side
            starts = {app: [services[f"{app}-1"].ready_s] for app in ("ours", "floor")}
        results = measure(args, services)
        calls = web_api_calls(api_url)
    except BenchError as exc:
        print(f"load_bench: {exc}", file=sys.stderr)
        return 1
    finally:
        for service in services.values():
            service.stop()
        web_api.terminate()
        web_api.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return report(args, results, starts, calls)


# -- memory ---------------------------------------------------------------------------------------

MEMORY_KINDS = ("varied", "mix", "mention")  # (paced: the same requests as mention, slower)
MEMORY_STEPS = 10  # RSS read this many times over the run


def measure_memory(tmp: Path, api_url: str, args: argparse.Namespace) -> list[tuple[int, float]]:
    """(requests so far, RSS in MB) of one `apec-bot serve`, after a warm-up and then in steps
    over `args.memory` varied requests at 10 connections."""
    service = start_ours(tmp, api_url, 1)
    try:
        pid = service.procs[0].pid
        for kind in KINDS:
            run_level(service, kind, 10, args.warm_up)
        seen = [(0, rss_mb(pid))]
        step = max(len(MEMORY_KINDS), args.memory // MEMORY_STEPS)
        done = 0
        while done < args.memory:
            for kind in MEMORY_KINDS:
                level = run_level(service, kind, 10, step // len(MEMORY_KINDS))
                if level.failed or level.lost:
                    raise BenchError(f"{level.failed + level.lost} {kind} requests failed")
                done += len(level.latencies)
            seen.append((done, rss_mb(pid)))
        return seen
    finally:
        service.stop()


def report_memory(args: argparse.Namespace, seen: list[tuple[int, float]]) -> int:
    print(
        f"RSS of `apec-bot serve` (one worker) over {args.memory:,} varied requests at 10 "
        f"connections ({', '.join(MEMORY_KINDS)} in turn, every text new), after a warm-up:"
    )
    for done, mb in seen:
        print(f"  {done:9,} requests: {mb:7.1f} MB")
    start, end = seen[0][1], seen[-1][1]
    growth = (end - start) / start
    print(f"\nAims (informational):\n  RSS flat (grown by less than {AIM_RSS:.0%}): ", end="")
    print(f"{_verdict(growth < AIM_RSS)} ({start:.1f} -> {end:.1f} MB, {growth:+.1%})")
    return 0


# -- the report -----------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _ratio(
    results: dict[Key, list[Level]], a: Key, b: Key, what: Callable[[Level], float]
) -> float:
    """The median over the rounds of a's figure over b's, each round's taken together."""
    if a not in results or b not in results:
        return float("nan")
    pairs = zip(results[a], results[b], strict=True)
    ratios = [what(x) / what(y) for x, y in pairs if what(y)]
    return statistics.median(ratios) if ratios else float("nan")


def _p50(x: Level) -> float:
    return x.p(0.5)


def _p99(x: Level) -> float:
    return x.p(0.99)


def _rps(x: Level) -> float:
    return x.rps


def _us_cell(values: list[float | None]) -> str:
    """The median of the rounds' figures in µs, or "-" where none was measured."""
    found = [v for v in values if v is not None]
    return f"{statistics.median(found):6.0f}" if found else f"{'-':>6}"


def _cache_cell(levels: list[Level]) -> str:
    counted = [x.cache for x in levels if x.cache is not None]
    if not counted:
        return ""
    return f"{sum(h for h, _ in counted):6} / {sum(m for _, m in counted):<6}"


def report(
    args: argparse.Namespace, results: dict[Key, list[Level]], starts: dict, calls: dict
) -> int:
    print(
        f"HTTP load: ours (`apec-bot serve`) and the floor (bare Bolt, acks only) under waitress, "
        f"8 threads a worker, measured in turn; {args.requests} requests a level, "
        f"{args.rounds} rounds (median [range]); {os.cpu_count()} CPUs; Python "
        f"{sys.version.split()[0]}\n"
    )
    print(
        f"{'kind':8} {'conns':>5} {'service':22} {'p50 ms':>22} {'p99 ms':>22} {'req/s':>8} "
        "failed lost    cpu    app  cache hits / misses"
    )
    failed = 0
    for kind, conns, names in _plan(args):
        for name in names:
            levels = results[(name, kind, conns)]
            f, lost = sum(x.failed for x in levels), sum(x.lost for x in levels)
            failed += f + lost
            print(
                f"{kind:8} {conns:5} {name:22} {_med([x.p(0.5) for x in levels])} "
                f"{_med([x.p(0.99) for x in levels])} "
                f"{statistics.median(x.rps for x in levels):8.0f} {f:6} {lost:4} "
                f"{_us_cell([x.cpu_us for x in levels])} {_us_cell([x.app_us for x in levels])}  "
                f"{_cache_cell(levels)}"
            )
    print(
        "\ncpu: µs of CPU a request answered, the service's processes, every thread (/proc). "
        "app: µs of CPU\nthe request's own thread spent in the app (ours' front, the floor's "
        "Bolt adapter): the checks,\nthe answer (a mention's is worked out after the ack, "
        "elsewhere), the log line and the metrics."
    )
    print("\nours / floor, same run (p50, p99: lower is better; req/s: higher is better):")
    for kind, conns, _ in _plan(args):
        o, b = _pair(kind, conns)
        print(
            f"  {kind:8} {conns:3} conns: p50 x{_ratio(results, o, b, _p50):.2f}   "
            f"p99 x{_ratio(results, o, b, _p99):.2f}   req/s x{_ratio(results, o, b, _rps):.2f}"
        )
    fixed = [c for k, c, names in _plan(args) if k == "uncached" and FIXED in names]
    if fixed:
        print(
            "\nthe plumbing alone (every reply made, but one fixed answer: no reader, no "
            "handler) / floor:"
        )
    for conns in fixed:
        o, b = (FIXED, "uncached", conns), _pair("uncached", conns)[1]
        print(
            f"  uncached {conns:3} conns: p50 x{_ratio(results, o, b, _p50):.2f}   "
            f"p99 x{_ratio(results, o, b, _p99):.2f}   req/s x{_ratio(results, o, b, _rps):.2f}"
        )
    print("\n2 workers / 1 worker, req/s, uncached, 50 conns:")
    for two, one in (("floor-2", "floor-1"), ("ours-2 made", "ours-1 made")):
        gain = _ratio(results, (two, "uncached", 50), (one, "uncached", 50), _rps)
        print(f"  {two.split('-')[0]:5} x{gain:.2f}")
    print(
        f"\nready: ours (serve to /healthz 200) {_med(starts['ours'])} s; floor (spawn to "
        f"listening) {_med(starts['floor'])} s"
        + (" (as started side by side with the others: --starts 0)" if not args.starts else "")
    )
    print(f"Web API calls: {calls}")
    failed += _checks(results)
    if set(args.kinds) == set(KINDS):
        _aims(results, starts)
    else:
        print("\n(aims not judged: only some kinds were run, --kinds)")
    return 1 if failed else 0


def _pair(kind: str, conns: int) -> tuple[Key, Key]:
    """The level's ours and its floor, as PLAN names them (the floor first, then ours)."""
    floor, ours = next(names for k, c, names in PLAN if (k, c) == (kind, conns))[:2]
    return (ours, kind, conns), (floor, kind, conns)


def _checks(results: dict[Key, list[Level]]) -> int:
    """Say what went wrong: answers not as expected, uncached requests the cache answered, varied
    ones it did not; the count of such problems."""
    problems = 0
    for (name, kind, conns), levels in results.items():
        bad = [b for x in levels for b in x.bad]
        if bad:
            print(f"load_bench: {name} {kind} {conns} conns answered {bad[0]!r}", file=sys.stderr)
        if not name.startswith("ours"):
            continue
        what = f"{name} {kind} {conns} conns"
        if kind in ("uncached", "mix"):
            problems += _uncached(what, levels)
        elif kind == "varied":
            problems += _varied(what, levels)
    return problems


def _varied(what: str, levels: list[Level]) -> int:
    """1 (and why, on stderr) unless ours' cache answered each round's varied requests, but for
    at most a reply made for each kind of meeting (the warm-up has made them already)."""
    for level in levels:
        hits, misses = level.cache or (0, 0)
        if misses > len(MEETING_KINDS) or hits + misses < len(level.latencies):
            why = (
                f"the reply cache made {misses} replies and found {hits} for {len(level.latencies)}"
            )
            print(
                f"load_bench: {what}: {why}: these were not kept by what they read", file=sys.stderr
            )
            return 1
    return 0


def _uncached(what: str, levels: list[Level]) -> int:
    """1 (and why, on stderr) unless ours' cache made a reply for each request answered and
    found none kept."""
    hits = sum(x.cache[0] for x in levels if x.cache is not None)
    misses = sum(x.cache[1] for x in levels if x.cache is not None)
    answered = sum(len(x.latencies) for x in levels)
    if hits:
        why = f"{hits} requests were answered from the reply cache"
    elif misses < answered:
        why = f"the reply cache counted {misses} replies made for {answered} requests answered"
    else:
        return 0
    print(f"load_bench: {what}: {why}: these figures are not uncached", file=sys.stderr)
    return 1


def _aims(results: dict[Key, list[Level]], starts: dict) -> None:
    p50 = _ratio(results, *_pair("uncached", 1), _p50)
    rps = _ratio(results, *_pair("uncached", 10), _rps)
    varied_p50 = _ratio(results, *_pair("varied", 1), _p50)
    varied_rps = _ratio(results, *_pair("varied", 10), _rps)
    mix = _ratio(results, *_pair("mix", 10), _rps)
    mention = statistics.median(x.p(0.5) for x in results[_pair("mention", 1)[0]])
    mention_x = _ratio(results, *_pair("mention", 1), _p50)
    workers = _ratio(
        results, ("ours-2 made", "uncached", 50), ("ours-1 made", "uncached", 50), _rps
    )
    p99 = _ratio(results, *_pair("uncached", 1), _p99)
    queue = _ratio(results, (QUEUES[0], "uncached", 50), (QUEUES[1], "uncached", 50), _rps)
    ready = statistics.median(starts["ours"])
    print("\nAims (informational; issue 24's 'What good looks like'):")
    for aim, ok, got in (
        (
            f"next-meeting in other words (varied, kept by what it reads) p50 at 1 conn <= "
            f"x{AIM_P50} the floor",
            varied_p50 <= AIM_P50,
            varied_p50,
        ),
        (
            f"next-meeting in other words (varied) req/s at 10 conns >= x{AIM_RPS}",
            varied_rps >= AIM_RPS,
            varied_rps,
        ),
        (
            f"next-meeting, every reply made (uncached) p50 at 1 conn <= x{AIM_P50} the floor",
            p50 <= AIM_P50,
            p50,
        ),
        (
            f"next-meeting, every reply made (uncached) req/s at 10 conns >= x{AIM_RPS}",
            rps >= AIM_RPS,
            rps,
        ),
        (f"five-command uncached mix req/s at 10 conns >= x{AIM_MIX}", mix >= AIM_MIX, mix),
        (f"two workers >= x{AIM_WORKERS} one, uncached, 50 conns", workers >= AIM_WORKERS, workers),
        (f"p99 at 1 conn (uncached) <= x{AIM_P99} the floor's", p99 <= AIM_P99, p99),
        (
            f"waitress.queue at ERROR vs WARNING: req/s within {AIM_LOGGER:.0%} (50 conns)",
            abs(queue - 1) < AIM_LOGGER,
            queue,
        ),
    ):
        print(f"  {aim}: {_verdict(ok)} (x{got:.2f})")
    print(
        f"  a mention's ack p50 <= {AIM_MENTION_MS} ms at 1 conn: "
        f"{_verdict(mention <= AIM_MENTION_MS)} ({mention:.2f} ms, x{mention_x:.2f} the floor)"
    )
    paced = statistics.median(x.p(0.5) for x in results[_pair("paced", 1)[0]])
    paced_p99 = statistics.median(x.p(0.99) for x in results[_pair("paced", 1)[0]])
    print(
        f"    (not the aim, which is timed with each mention sent as the last is acknowledged: "
        f"at {1 / PACE['paced']:.0f} mentions a second, p50 {paced:.2f} ms, p99 "
        f"{paced_p99:.2f} ms, x{_ratio(results, *_pair('paced', 1), _p50):.2f} the floor's p50)"
    )
    print(f"  serve ready within {AIM_READY_S} s: {_verdict(ready <= AIM_READY_S)} ({ready:.2f} s)")
    one, ten = (FIXED, "uncached", 1), (FIXED, "uncached", 10)
    print(
        "  (the uncached aims for the plumbing alone, every reply one fixed answer made anew: "
        f"p50 x{_ratio(results, one, _pair('uncached', 1)[1], _p50):.2f}, "
        f"p99 x{_ratio(results, one, _pair('uncached', 1)[1], _p99):.2f}, "
        f"req/s at 10 conns x{_ratio(results, ten, _pair('uncached', 10)[1], _rps):.2f}; "
        "the rest of a made reply's figures is the reader and the handler)"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--requests", type=int, default=1500, help="requests a level (default 1500)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of every level (default 3)")
    p.add_argument("--warm-up", type=int, default=200, help="requests of each kind first")
    p.add_argument(
        "--starts", type=int, default=5, help="starts timed for readiness (0: none of their own)"
    )
    p.add_argument(
        "--memory",
        type=int,
        metavar="N",
        default=0,
        help="instead: RSS of `serve` over N varied requests (e.g. 100000)",
    )
    p.add_argument(
        "--kinds",
        type=lambda v: [k for k in v.split(",") if k],
        default=list(KINDS),
        help=f"only these kinds of request, comma-separated (default all: {','.join(KINDS)})",
    )
    p.add_argument("--quick", action="store_true", help="a smoke run: few requests, one round")
    p.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    p.add_argument("--web-api", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--api-url", help=argparse.SUPPRESS)
    p.add_argument("--timed", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if unknown := set(args.kinds) - set(KINDS):
        p.error(f"--kinds: no such kind {', '.join(sorted(unknown))}")
    if not args.kinds:
        p.error(f"--kinds: name at least one of {','.join(KINDS)}")
    if args.serve_floor is not None:
        return serve_floor(args.serve_floor, args.api_url, args.timed)
    if args.web_api is not None:
        return serve_web_api(args.web_api)
    if args.quick:
        args.requests, args.rounds, args.warm_up, args.starts = 60, 1, 10, 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
