"""Load test of `/apec next-meeting` through the real HTTP server, next to a bare Bolt app.

Two servers run side by side, each in its own process (this script, re-run with `--serve-ours` or
`--serve-bare`), so that the client and the servers do not share one GIL:

* ours: the store built from seeds/ into a temporary directory, `create_app(config, stores, clock)`
  with a fixed clock (2026-01-20 09:00 Asia/Seoul), wrapped in `SlackHTTP` and served by
  `make_server` (waitress) on 127.0.0.1;
* bare: `App(signing_secret=..., token_verification_enabled=False, process_before_response=True,
  client=WebClient(...))` whose one listener acks "ok", under the same `SlackHTTP` front and the
  same `make_server` with the same thread count. The only difference is our listener and store.

Both apps hold a bot token, so Bolt's single-team authorization calls `auth.test` on the first
request that needs it and keeps the answer. With nothing listening at the Web API URL that call fails
on every request (each one answers 500 after about a second of connection retries), so by default
the apps' `base_url` points at a small stand-in for the Slack Web API run by this script, which
answers `auth.test` (and counts the calls). `--api-url http://127.0.0.1:9/` reproduces the dead URL:
the preflight request then fails and the script says so.

Each server is waited for with a /healthz poll, warmed up with 50 requests, then loaded at 1, 10
and 50 concurrent keep-alive connections (`http.client.HTTPConnection`, one per client thread), N
requests per level with a hard time cap per level. Each request is a slash command signed as Slack
signs it; signing happens outside the timed section. A request fails when the status is not 200,
the body lacks the expected text ("SOM1" for ours, "ok" for bare) or the connection broke (the
thread reconnects and goes on); requests not sent before the time cap are "lost".

The aims printed at the end are informational: the script exits 0 whatever the figures, and 1 only
when something fails (a server that does not start or answer the preflight request).

Run:
    python bench/load_bench.py                  # 600 requests per level (a few seconds)
    python bench/load_bench.py --quick          # 100 requests per level (smoke run)
    python bench/load_bench.py --requests 2000
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the signing secret of both servers and the client
SERVER_THREADS = 8  # make_server's default: both servers get the same
LEVELS = (1, 10, 50)
WARM_UP = 50
TIME_CAP_S = 60.0
START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 10.0
EXPECT = {"ours": "SOM1", "bare": "ok"}
AIM_P50_RATIO = 1.5
AIM_P99_AT_10_MS = 100.0


# -- the servers (child processes) ----------------------------------------------------------------


def _clean_env() -> None:
    """Bolt falls back to these; the servers must use only what they are given."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        os.environ.pop(name, None)


def _ours(db_path: Path, api_url: str):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.app import create_app
    from bot.clock import Clock
    from bot.config import Config
    from bot.server import SlackHTTP
    from bot.stores import Stores
    from store.dates import warm_up

    config = Config(db_path=db_path, signing_secret=SECRET, bot_token="xoxb-bench", api_url=api_url)
    stores = Stores(db_path, SEEDS)
    stores.get().meetings()  # as `serve` does before it listens
    warm_up()
    clock = Clock(datetime(2026, 1, 20, 9, tzinfo=ZoneInfo("Asia/Seoul")))
    app = create_app(config, stores, clock)
    return SlackHTTP(app, SECRET, health=lambda: {"ok": True})


def _bare(api_url: str):
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.server import SlackHTTP

    app = App(
        signing_secret=SECRET,
        token_verification_enabled=False,
        process_before_response=True,
        client=WebClient(token="xoxb-x", base_url=api_url),
    )

    @app.command("/apec")
    def c(ack):
        ack("ok")

    return SlackHTTP(app, SECRET, health=lambda: {"ok": True})


def serve(kind: str, port: int, db_path: Path | None, api_url: str) -> int:
    """Child process: build the app, listen on 127.0.0.1, print the port, serve until terminated."""
    _clean_env()
    from bot.server import make_server

    wsgi = _ours(db_path, api_url) if kind == "ours" else _bare(api_url)  # type: ignore[arg-type]
    server = make_server(wsgi, "127.0.0.1", port, threads=SERVER_THREADS)
    print(f"LISTENING {server.effective_port}", flush=True)
    try:
        server.run()
    except (OSError, ValueError):
        pass
    return 0


# -- a stand-in for the Slack Web API (auth.test) -------------------------------------------------


class FakeWebAPI:
    """Answers `auth.test` as Slack does and every other method with ok; counts the calls."""

    def __init__(self) -> None:
        calls: dict[str, int] = {}
        self.calls = calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                method = self.path.rsplit("/", 1)[-1]
                calls[method] = calls.get(method, 0) + 1
                body: dict[str, Any] = {"ok": True}
                if method == "auth.test":
                    body = {
                        "ok": True,
                        "url": "https://bench.slack.com/",
                        "team": "Bench",
                        "user": "bench",
                        "team_id": "T0BENCH",
                        "user_id": "U0BENCH",
                        "bot_id": "B0BENCH",
                    }
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- starting and stopping a server ---------------------------------------------------------------


@dataclass
class Server:
    kind: str
    proc: subprocess.Popen
    port: int
    log: Path

    def tail(self, lines: int = 6) -> str:
        """The end of the server's stderr, traceback frames left out."""
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join("  " + t for t in [t for t in text if t and not t[0].isspace()][-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class BenchError(Exception):
    """Something that makes the figures meaningless: the message says what."""


def start(
    kind: str, tmp: Path, api_url: str, db_path: Path | None, procs: list[subprocess.Popen]
) -> Server:
    """Spawn this script in serve mode; wait for its port, then for /healthz to answer 200."""
    log = tmp / f"{kind}.stderr.log"
    args = [
        sys.executable,
        str(Path(__file__).resolve()),
        f"--serve-{kind}",
        "0",
        "--api-url",
        api_url,
    ]
    if db_path is not None:
        args += ["--db", str(db_path)]
    env = {
        k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    }
    with open(log, "wb") as err:
        proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=err, env=env)
    procs.append(proc)
    deadline = time.monotonic() + START_TIMEOUT_S
    port = 0
    while not port:
        if proc.poll() is not None or time.monotonic() > deadline:
            server = Server(kind, proc, 0, log)
            raise BenchError(
                f"the {kind} server did not start (exit {proc.poll()}):\n{server.tail()}"
            )
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline().decode().strip()  # type: ignore[union-attr]
            if line.startswith("LISTENING "):
                port = int(line.split()[1])
    server = Server(kind, proc, port, log)
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            resp.read()
            conn.close()
            if resp.status == 200:
                return server
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError(f"the {kind} server's /healthz did not answer 200:\n{server.tail()}")
        time.sleep(0.05)


# -- the client -----------------------------------------------------------------------------------

_trigger = itertools.count(1)


def signed_request() -> tuple[bytes, dict[str, str]]:
    """A `/apec next-meeting` form body as Slack sends it, with fresh signature headers."""
    n = next(_trigger)
    body = urlencode(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": "T0BENCH",
            "team_domain": "bench",
            "channel_id": "C0BENCH01",
            "channel_name": "apec-desk",
            "user_id": f"U0BENCH{n % 7:02d}",
            "user_name": "bench",
            "command": "/apec",
            "text": "next-meeting",
            "api_app_id": "A0BENCH",
            "is_enterprise_install": "false",
            "response_url": f"https://hooks.slack.com/commands/T0BENCH/{n}/b3nchR3sp0nseUrl",
            "trigger_id": f"{n}.1234567890.abcdef0123456789abcdef0123456789",
        }
    )
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
    }
    return body.encode(), headers


@dataclass
class Level:
    """One app at one concurrency: latencies of good requests, failures, wall time."""

    kind: str
    conns: int
    planned: int
    ms: list[float] = field(default_factory=list)
    bad_status: int = 0
    bad_body: int = 0
    conn_errors: int = 0
    wall_s: float = 0.0
    first_failure: str = ""

    @property
    def sent(self) -> int:
        return len(self.ms) + self.bad_status + self.bad_body + self.conn_errors

    @property
    def failed(self) -> int:
        return self.bad_status + self.bad_body + self.conn_errors

    @property
    def lost(self) -> int:
        return self.planned - self.sent

    @property
    def p50(self) -> float:
        return statistics.median(self.ms) if self.ms else float("nan")

    @property
    def p99(self) -> float:
        if len(self.ms) < 2:
            return self.ms[0] if self.ms else float("nan")
        return statistics.quantiles(self.ms, n=100, method="inclusive")[98]

    @property
    def max(self) -> float:
        return max(self.ms) if self.ms else float("nan")

    @property
    def rps(self) -> float:
        return len(self.ms) / self.wall_s if self.wall_s else 0.0


def load(server: Server, conns: int, requests: int, cap_s: float = TIME_CAP_S) -> Level:
    """`requests` signed slash commands over `conns` keep-alive connections, one thread each."""
    level = Level(server.kind, conns, requests)
    expect = EXPECT[server.kind]
    tickets = iter(range(requests))
    lock = threading.Lock()
    barrier = threading.Barrier(conns + 1)
    deadline = [0.0]

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=REQUEST_TIMEOUT_S)
        ms: list[float] = []
        try:
            conn.connect()
        except OSError:
            pass  # request() connects again
        barrier.wait()
        while True:
            with lock:
                ticket = next(tickets, None)
            if ticket is None or time.monotonic() > deadline[0]:
                break
            body, headers = signed_request()
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/slack/events", body, headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(
                    "127.0.0.1", server.port, timeout=REQUEST_TIMEOUT_S
                )
                with lock:
                    _fail(level, "conn_errors", f"connection: {exc!r}")
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            if resp.status != 200:
                with lock:
                    _fail(level, "bad_status", f"status {resp.status}: {data[:200]!r}")
            elif expect.encode() not in data:
                with lock:
                    _fail(level, "bad_body", f"body without {expect!r}: {data[:200]!r}")
            else:
                ms.append(elapsed)
            if resp.will_close:
                conn.close()
        conn.close()
        with lock:
            level.ms.extend(ms)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(conns)]
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + cap_s
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(cap_s + REQUEST_TIMEOUT_S + 5)
    level.wall_s = time.perf_counter() - t0
    return level


def _fail(level: Level, kind: str, what: str) -> None:
    setattr(level, kind, getattr(level, kind) + 1)
    if not level.first_failure:
        level.first_failure = what


def preflight(server: Server) -> None:
    """One request, checked in full before anything is timed."""
    body, headers = signed_request()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/slack/events", body, headers)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    if resp.status != 200 or EXPECT[server.kind].encode() not in data:
        raise BenchError(
            f"the {server.kind} server's first /apec next-meeting answered {resp.status} "
            f"{data[:300]!r} (expected 200 and {EXPECT[server.kind]!r}); its log ends:\n{server.tail()}"
        )


# -- the run --------------------------------------------------------------------------------------


def fmt_ms(x: float) -> str:
    return f"{x:8.2f}"


def run(requests: int, api_url: str | None) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="apec-load-"))
    procs: list[subprocess.Popen] = []
    servers: dict[str, Server] = {}
    fakes: dict[str, FakeWebAPI] = {}
    try:
        from store.build import build
        from store.db import connect

        db_path = tmp / "apec.db"
        t0 = time.perf_counter()
        db = connect(db_path)
        build(db, SEEDS)
        db.close()
        build_s = time.perf_counter() - t0

        for kind in ("bare", "ours"):
            url = api_url
            if url is None:
                fakes[kind] = FakeWebAPI()
                url = fakes[kind].url
            servers[kind] = start(kind, tmp, url, db_path if kind == "ours" else None, procs)
            preflight(servers[kind])
            warm = load(servers[kind], 10, WARM_UP)
            if warm.failed:
                raise BenchError(f"warm-up of {kind}: {warm.failed} failed ({warm.first_failure})")

        print(
            f"/apec next-meeting over HTTP: waitress via bot.server.make_server, {SERVER_THREADS} threads, "
            f"127.0.0.1; {requests} requests per level, cap {TIME_CAP_S:g} s; "
            f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}"
        )
        print(
            f"store built from seeds/ in {build_s * 1000:.0f} ms; Web API: "
            f"{'stand-in answering auth.test' if api_url is None else api_url}"
        )
        print()
        header = f"{'conns':>5}  {'app':<5} {'ok':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'req/s':>8}  failed  lost"
        print(header)
        print("-" * len(header))
        results: dict[tuple[str, int], Level] = {}
        for conns in LEVELS:
            for kind in ("bare", "ours"):  # alternate, so drift hits both alike
                lv = load(servers[kind], conns, requests)
                results[kind, conns] = lv
                print(
                    f"{conns:>5}  {kind:<5} {len(lv.ms):>5} {fmt_ms(lv.p50)} {fmt_ms(lv.p99)} {fmt_ms(lv.max)} "
                    f"{lv.rps:8.0f}  {lv.failed:>6}  {lv.lost:>4}"
                )
                if lv.failed:
                    print(
                        f"       {kind} failures: {lv.bad_status} status, {lv.bad_body} body, "
                        f"{lv.conn_errors} connection; first: {lv.first_failure}"
                    )

        print()
        print("ours / bare:")
        for conns in LEVELS:
            o, b = results["ours", conns], results["bare", conns]
            print(f"  {conns:>2} conns: p50 x{o.p50 / b.p50:.2f}   req/s x{o.rps / b.rps:.2f}")

        if fakes:
            calls = {k: dict(f.calls) for k, f in fakes.items()}
            print(
                f"Web API calls made by the servers: bare {calls['bare'] or 'none'}, ours {calls['ours'] or 'none'}"
            )

        print()
        ratios = {c: results["ours", c].p50 / results["bare", c].p50 for c in LEVELS}
        worst = max(ratios, key=ratios.get)  # type: ignore[arg-type]
        at50 = results["ours", 50]
        p99_10 = results["ours", 10].p99
        print(
            f"Aims: p50 within {AIM_P50_RATIO:g}x of the bare app, no lost or failed requests at 50 connections, "
            f"p99 under {AIM_P99_AT_10_MS:g} ms at 10 (informational)"
        )
        print(
            f"  p50 within {AIM_P50_RATIO:g}x of bare: {_verdict(ratios[worst] <= AIM_P50_RATIO)} "
            f"(worst x{ratios[worst]:.2f} at {worst} conns)"
        )
        print(
            f"  no lost or failed at 50 conns: {_verdict(at50.failed == 0 and at50.lost == 0)} "
            f"({at50.failed} failed, {at50.lost} lost of {at50.planned})"
        )
        print(
            f"  p99 under {AIM_P99_AT_10_MS:g} ms at 10 conns: {_verdict(p99_10 < AIM_P99_AT_10_MS)} "
            f"({p99_10:.2f} ms)"
        )
        return 0
    except BenchError as exc:
        print(f"load_bench: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in servers.values():
            server.stop()
        for proc in procs:  # servers that failed before they were recorded
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            if proc.stdout:
                proc.stdout.close()
        for fake in fakes.values():
            fake.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests", type=int, default=None, help="requests per level (default 600)"
    )
    parser.add_argument("--quick", action="store_true", help="100 requests per level")
    parser.add_argument(
        "--api-url",
        default=None,
        help="the Web API base URL the apps use (default: a stand-in run by this script)",
    )
    parser.add_argument("--serve-ours", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_ours is not None:
        return serve("ours", args.serve_ours, args.db, args.api_url)
    if args.serve_bare is not None:
        return serve("bare", args.serve_bare, None, args.api_url)
    requests = args.requests or (100 if args.quick else 600)
    return run(requests, args.api_url)


if __name__ == "__main__":
    sys.exit(main())
