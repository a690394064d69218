"""Load test of the bot over HTTP, next to the floor: a bare Bolt app under the same server.

What runs, each in processes of its own:

* ours: `apec-bot serve --workers N`, as an admin runs it (HTTP mode, the store built from seeds/
  into a temporary directory, APEC_NOW fixed at 2026-01-20 09:00 +09:00, logs at INFO to a file);
* the floor: a Bolt `App(process_before_response=True)` whose listeners only ack (the `/apec`
  command and the `app_mention` event), served by Bolt's own WSGI adapter
  (`slack_bolt.adapter.wsgi.SlackRequestHandler`) under `bot.server.make_server` (waitress, the same
  threads and settings). With N workers, N such processes share the port by SO_REUSEPORT, as ours
  do;
* a stand-in for the Slack Web API (`auth.test`, and `chat.postMessage` for the mentions' replies).

The client is one asyncio loop in this process: keep-alive connections, every request signed as
Slack signs it before the timed part. Two kinds of request: `/apec next-meeting` (the reply is in
the response) and an `app_mention` event (acknowledged at once; ours answers in the thread after).
Each (workers, kind, connections) level runs `--requests` requests, `--rounds` times; the table
shows the median of the rounds with their range in brackets. Ratios are ours against the floor
measured in the same run, and 2 workers against 1 of the same app.

Also measured: how long `apec-bot serve --workers 1` takes from its start to the first `/healthz`
200 (median of `--starts` starts), next to the floor's process doing the same.

The aims printed at the end are informational: the script exits 0 whatever the figures, and 1 only
when something fails (a server that does not start, requests that fail).

Run:
    python bench/load_bench.py                  # 1 and 2 workers, 1/10/50 connections, 3 rounds
    python bench/load_bench.py --quick          # a smoke run (a few seconds)
    python bench/load_bench.py --requests 3000 --rounds 5
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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-0000-bench"
NOW = "2026-01-20T09:00:00+09:00"
LEVELS = (1, 10, 50)
KINDS = ("command", "mention")
EXPECT = {("ours", "command"): b"SOM1", ("floor", "command"): b"ok"}
START_TIMEOUT = 60.0
TIME_CAP = 60.0  # seconds per level; requests not sent by then are "lost"
AIM_P50 = 1.5  # ours' p50 at most this times the floor's (next-meeting, one worker)
AIM_RPS = 0.7  # ours' req/s at least this times the floor's
AIM_WORKERS = 1.4  # two workers' req/s at least this times one's
AIM_MENTION_MS = 2.0  # a mention's p50 at one connection
AIM_READY_S = 0.8  # `serve` answering /healthz


# -- the floor and the Web API stand-in (child processes) -----------------------------------------


def serve_floor(port: int, api_url: str) -> int:
    """A bare Bolt app that only acks, under the same waitress; prints when it listens."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_bolt.authorization import AuthorizeResult
    from slack_sdk import WebClient

    from bot.server import make_server

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


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _wait(service: Service, ready: object, started: float) -> Service:
    """Wait until `ready()` says the service answers; its time from `started`."""
    deadline = started + START_TIMEOUT
    while not ready():  # type: ignore[operator]
        if any(p.poll() is not None for p in service.procs) or time.monotonic() > deadline:
            service.stop()
            raise BenchError(f"{service.app} did not start:\n{service.tail()}")
        time.sleep(0.005)
    service.ready_s = time.monotonic() - started
    return service


def start_ours(tmp: Path, api_url: str, workers: int, port: int = 0) -> Service:
    """`apec-bot serve --workers N` on 127.0.0.1; waits for /healthz to answer 200."""
    log = tmp / f"ours-{workers}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "APEC_"))}
    env.update(
        APEC_DB=str(tmp / "apec.db"),
        APEC_NOW=NOW,
        APEC_TZ="Asia/Seoul",
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api_url,
    )
    if not port:
        port = _free_port()
    args = [
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    started = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=out)
    service = Service("ours", port, [proc], log)
    return _wait(service, lambda: _healthy(port), started)


def start_floor(tmp: Path, api_url: str, workers: int) -> Service:
    """`workers` bare Bolt processes sharing one port; waits for each to listen."""
    log = tmp / f"floor-{workers}.log"
    port = _free_port()
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
            ]
            procs.append(
                subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=out, text=True)
            )
    service = Service("floor", port, procs, log)
    lines = iter(lambda: [p.stdout.readline() for p in procs], None)  # type: ignore[union-attr]
    return _wait(
        service, lambda: all(line.startswith("LISTENING") for line in next(lines)), started
    )


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


# -- requests as Slack sends them -----------------------------------------------------------------

_n = itertools.count(1)


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


def command_request() -> bytes:
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
            "text": "next-meeting",
            "api_app_id": "A0BENCH",
            "is_enterprise_install": "false",
            "response_url": f"https://hooks.slack.com/commands/T0BENCH/{n}/x",
            "trigger_id": f"{n}.123.abc",
        }
    )
    return _signed(body, "application/x-www-form-urlencoded")


def mention_request() -> bytes:
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
                "text": "<@U0BOT> when is the next SOM?",
                "ts": f"1768000000.{n:06d}",
                "event_ts": f"1768000000.{n:06d}",
            },
        }
    )
    return _signed(body, "application/json")


MAKE = {"command": command_request, "mention": mention_request}


# -- the client -----------------------------------------------------------------------------------


@dataclass
class Level:
    app: str
    workers: int
    kind: str
    conns: int
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    lost: int = 0
    elapsed: float = 0.0

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


async def _load(port: int, level: Level, requests: list[bytes], expect: bytes | None) -> None:
    queue = iter(requests)
    deadline = time.monotonic() + TIME_CAP

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for raw in queue:
            if time.monotonic() > deadline:
                level.lost += 1
                continue
            started = time.perf_counter()
            try:
                status, body = await _exchange(reader, writer, raw)
            except (OSError, asyncio.IncompleteReadError):
                level.failed += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            if status != 200 or (expect is not None and expect not in body):
                level.failed += 1
            else:
                level.latencies.append(time.perf_counter() - started)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(level.conns)))
    level.elapsed = time.perf_counter() - started


def run_level(service: Service, workers: int, kind: str, conns: int, requests: int) -> Level:
    level = Level(service.app, workers, kind, conns)
    batch = [MAKE[kind]() for _ in range(requests)]
    asyncio.run(_load(service.port, level, batch, EXPECT.get((service.app, kind))))
    return level


# -- the run --------------------------------------------------------------------------------------


def _med(values: list[float]) -> str:
    return f"{statistics.median(values):8.2f} [{min(values):.2f}–{max(values):.2f}]"


def _ratio(a: list[float], b: list[float]) -> float:
    return (
        statistics.median(a) / statistics.median(b) if b and statistics.median(b) else float("nan")
    )


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


def run(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="apec-load-"))
    web_api, api_url = start_web_api(tmp)
    results: dict[tuple[str, int, str, int], list[Level]] = {}
    try:
        _build(tmp)
        starts = measure_starts(tmp, api_url, args.starts)
        for workers in args.workers:
            for app, start in (("floor", start_floor), ("ours", start_ours)):
                service = start(tmp, api_url, workers)
                try:
                    for kind in KINDS:
                        run_level(service, workers, kind, 10, args.warm_up)
                    for _ in range(args.rounds):
                        for kind in KINDS:
                            for conns in LEVELS:
                                level = run_level(service, workers, kind, conns, args.requests)
                                results.setdefault((app, workers, kind, conns), []).append(level)
                finally:
                    service.stop()
        calls = web_api_calls(api_url)
    except BenchError as exc:
        print(f"load_bench: {exc}", file=sys.stderr)
        return 1
    finally:
        web_api.terminate()
        web_api.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return report(args, results, starts, calls)


def report(
    args: argparse.Namespace, results: dict, starts: dict[str, list[float]], calls: dict
) -> int:
    print(
        f"HTTP load: ours (`apec-bot serve --workers N`) and the floor (bare Bolt, acks only) "
        f"under waitress, 8 threads a worker; {args.requests} requests a level, "
        f"{args.rounds} rounds (median [range]); {os.cpu_count()} CPUs; Python "
        f"{sys.version.split()[0]}\n"
    )
    print(
        "workers kind     conns app         p50 ms                p99 ms            "
        "req/s   failed lost"
    )
    failed = 0
    for (app, workers, kind, conns), levels in sorted(
        results.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][3], kv[0][0])
    ):
        f, lost = sum(x.failed for x in levels), sum(x.lost for x in levels)
        failed += f + lost
        print(
            f"{workers:7} {kind:8} {conns:5} {app:5} {_med([x.p(0.5) for x in levels])} "
            f"{_med([x.p(0.99) for x in levels])} {statistics.median(x.rps for x in levels):8.0f} "
            f"{f:6} {lost:4}"
        )
    p50 = {k: [x.p(0.5) for x in v] for k, v in results.items()}
    rps = {k: [x.rps for x in v] for k, v in results.items()}
    print("\nours / floor, same run (p50: lower is better; req/s: higher is better):")
    for workers in args.workers:
        for kind in KINDS:
            for conns in LEVELS:
                o, b = ("ours", workers, kind, conns), ("floor", workers, kind, conns)
                print(
                    f"  {workers} worker(s) {kind:8} {conns:3} conns: "
                    f"p50 x{_ratio(p50[o], p50[b]):.2f}"
                    f"   req/s x{_ratio(rps[o], rps[b]):.2f}"
                )
    if 1 in args.workers and 2 in args.workers:
        print("\n2 workers / 1 worker, req/s:")
        for app in ("floor", "ours"):
            for kind in KINDS:
                line = "  ".join(
                    f"{c} conns x{_ratio(rps[(app, 2, kind, c)], rps[(app, 1, kind, c)]):.2f}"
                    for c in LEVELS
                )
                print(f"  {app:5} {kind:8} {line}")
    print(
        f"\nready: ours (serve to /healthz 200) {_med(starts['ours'])} s; floor (spawn to "
        f"listening) {_med(starts['floor'])} s; "
        f"ratio x{_ratio(starts['ours'], starts['floor']):.2f}"
    )
    print(f"Web API calls: {calls}")
    _aims(args, p50, rps, starts)
    return 1 if failed else 0


def _aims(args: argparse.Namespace, p50: dict, rps: dict, starts: dict) -> None:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    print("\nAims (informational):")
    one = [("ours", 1, "command", c) for c in LEVELS]
    worst_p50 = max(_ratio(p50[k], p50[("floor", *k[1:])]) for k in one)
    worst_rps = min(_ratio(rps[k], rps[("floor", *k[1:])]) for k in one)
    print(
        f"  next-meeting, 1 worker, p50 at most x{AIM_P50} the floor: "
        f"{verdict(worst_p50 <= AIM_P50)} "
        f"(worst x{worst_p50:.2f})"
    )
    print(
        f"  next-meeting, 1 worker, req/s at least x{AIM_RPS} the floor: "
        f"{verdict(worst_rps >= AIM_RPS)} (worst x{worst_rps:.2f})"
    )
    if 2 in args.workers and 1 in args.workers:
        gain = _ratio(rps[("ours", 2, "command", 50)], rps[("ours", 1, "command", 50)])
        print(
            f"  two workers at least x{AIM_WORKERS} the req/s of one (50 conns): "
            f"{verdict(gain >= AIM_WORKERS)} (x{gain:.2f})"
        )
    mention = statistics.median(p50[("ours", args.workers[0], "mention", 1)])
    print(
        f"  a mention's p50 at most {AIM_MENTION_MS} ms at 1 connection: "
        f"{verdict(mention <= AIM_MENTION_MS)} ({mention:.2f} ms)"
    )
    ready = statistics.median(starts["ours"])
    print(f"  serve ready within {AIM_READY_S} s: {verdict(ready <= AIM_READY_S)} ({ready:.2f} s)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--requests", type=int, default=1500, help="requests a level (default 1500)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of every level (default 3)")
    p.add_argument("--warm-up", type=int, default=200, help="requests before measuring")
    p.add_argument("--starts", type=int, default=5, help="starts timed for readiness")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--quick", action="store_true", help="a smoke run: few requests, one round")
    p.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    p.add_argument("--web-api", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--api-url", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_floor is not None:
        return serve_floor(args.serve_floor, args.api_url)
    if args.web_api is not None:
        return serve_web_api(args.web_api)
    if args.quick:
        args.requests, args.rounds, args.warm_up, args.starts = 100, 1, 20, 1
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
