"""Which HTTP server the bot runs under, chosen on evidence: waitress, gunicorn (gthread), granian
(WSGI and ASGI) and uvicorn (ASGI, with Bolt's async app), measured the same way.

For each server, one process on 127.0.0.1, 8 threads where the server has threads:

* the floor: a Bolt app that only acks `/apec` (`App` through Bolt's WSGI adapter; under the ASGI
  servers, `AsyncApp` through Bolt's ASGI adapter);
* ours: the bot's WSGI application (`bot.server.SlackHTTP` over `create_app`, the store built from
  seeds/), under each WSGI server.

Measured with bench/load_bench.py's client: `/apec next-meeting` at 1, 10 and 50 keep-alive
connections (p50, p99, req/s; median of the rounds), and then what the bot's HTTP front has to
survive on the internet: a GET answered while 300 connections trickle their headers a line every
2 s (the floor's server answers 404 to it: any answer is an answer). A server that does not answer
within 5 s under the tricklers shows "no answer".

gunicorn, granian, uvicorn and aiohttp are not the bot's dependencies: `pip install -e '.[bench]'`
adds them; a server not installed is skipped and said so.

Run:
    python bench/server_bench.py               # 1500 requests a level, 3 rounds
    python bench/server_bench.py --quick       # a smoke run
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load_bench import (  # noqa: E402 - after the path is set
    LEVELS,
    NOW,
    REPO,
    SECRET,
    TOKEN,
    BenchError,
    Service,
    _build,
    _free_port,
    run_level,
    start_web_api,
)

TRICKLERS = 300
THREADS = 8


# -- the applications, as the servers import them (factories) ------------------------------------


def floor_wsgi():
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_bolt.authorization import AuthorizeResult
    from slack_sdk import WebClient

    app = App(
        signing_secret=SECRET,
        client=WebClient(base_url=os.environ["BENCH_API_URL"]),
        authorize=lambda enterprise_id, team_id: AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=TOKEN
        ),
        token_verification_enabled=False,
        process_before_response=True,
    )
    app.command("/apec")(lambda ack: ack("ok"))
    return SlackRequestHandler(app)


def floor_asgi():
    from slack_bolt.adapter.asgi.async_handler import AsyncSlackRequestHandler
    from slack_bolt.app.async_app import AsyncApp
    from slack_bolt.authorization import AuthorizeResult
    from slack_sdk.web.async_client import AsyncWebClient

    async def authorize(enterprise_id, team_id):
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=TOKEN)

    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(base_url=os.environ["BENCH_API_URL"]),
        authorize=authorize,
        process_before_response=True,
    )

    @app.command("/apec")
    async def apec(ack):
        await ack("ok")

    return AsyncSlackRequestHandler(app)


def ours_wsgi():
    """The bot's WSGI application, wired as `serve` wires it (the front may send kept replies)."""
    from datetime import datetime
    from functools import partial

    from bot.app import Replies, create_app, kept_reply
    from bot.clock import Clock
    from bot.config import Config
    from bot.server import SlackHTTP
    from bot.stores import Stores
    from bot.workspace import Workspace

    db = Path(os.environ["BENCH_DB"])
    config = Config(
        db_path=db, signing_secret=SECRET, bot_token=TOKEN, api_url=os.environ["BENCH_API_URL"]
    )
    stores = Stores(db, config.seeds)
    stores.get().meetings()
    clock = Clock(datetime.fromisoformat(NOW))
    replies, workspace = Replies(stores, clock), Workspace()
    app = create_app(config, stores, clock, replies=replies, workspace=workspace)
    return SlackHTTP(
        app,
        SECRET,
        health=lambda: {"ok": True},
        store=partial(stores.get, quick=True),
        seen=stores.seen,
        kept=partial(kept_reply, replies, workspace),
    )


def serve_waitress(factory: str, port: int) -> int:
    from bot.server import make_server, run

    server = make_server(globals()[factory](), "127.0.0.1", port, threads=THREADS)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: server.close())
    run(server)
    return 0


# -- the servers ----------------------------------------------------------------------------------

HERE = "bench.server_bench"


def commands(server: str, factory: str, port: int) -> list[str] | None:
    """The command line that serves `factory` under `server`, or None when it is not installed."""
    py = sys.executable
    bind = f"127.0.0.1:{port}"
    table = {
        "waitress": (
            "waitress",
            [py, str(Path(__file__).resolve()), "--serve", factory, str(port)],
        ),
        "gunicorn": (
            "gunicorn",
            [
                py,
                "-m",
                "gunicorn",
                "-k",
                "gthread",
                "--threads",
                str(THREADS),
                "-w",
                "1",
                "-b",
                bind,
                "--log-level",
                "warning",
                f"{HERE}:{factory}()",
            ],
        ),
        "granian": (
            "granian",
            [
                py,
                "-m",
                "granian",
                "--interface",
                *(
                    ["asgi"]
                    if factory.endswith("asgi")
                    else ["wsgi", "--blocking-threads", str(THREADS)]
                ),
                "--workers",
                "1",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--factory",
                f"{HERE}:{factory}",
            ],
        ),
        "uvicorn": (
            "uvicorn",
            [
                py,
                "-m",
                "uvicorn",
                "--factory",
                f"{HERE}:{factory}",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
        ),
    }
    module, argv = table[server]
    return argv if importlib.util.find_spec(module) else None


PLAN = [  # (server, app): the floor under every server, ours under the WSGI ones
    ("waitress", "floor_wsgi"),
    ("waitress", "ours_wsgi"),
    ("gunicorn", "floor_wsgi"),
    ("gunicorn", "ours_wsgi"),
    ("granian", "floor_wsgi"),
    ("granian", "ours_wsgi"),
    ("granian", "floor_asgi"),
    ("uvicorn", "floor_asgi"),
]


def start(server: str, factory: str, env: dict[str, str], log: Path) -> Service | None:
    port = _free_port()
    argv = commands(server, factory, port)
    if argv is None:
        return None
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=out)
    service = Service("ours" if factory.startswith("ours") else "floor", port, [proc], log)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return service
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                service.stop()
                raise BenchError(f"{server} {factory} did not start:\n{service.tail()}") from None
            time.sleep(0.02)


def trickled(port: int) -> float | None:
    """Seconds to answer a GET while TRICKLERS connections send a header line every 2 s."""
    stop = threading.Event()
    socks = []
    for _ in range(TRICKLERS):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
            socks.append(s)
        except OSError:
            break

    def trickle() -> None:
        while not stop.wait(2.0):
            for s in socks:
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    time.sleep(2.5)  # the tricklers are in, and have trickled once
    try:
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            return time.perf_counter() - started if s.recv(64) else None
    except OSError:
        return None
    finally:
        stop.set()
        for s in socks:
            s.close()


def run(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="apec-servers-"))
    web_api, api_url = start_web_api(tmp)
    _build(tmp)
    env = {
        **os.environ,
        "BENCH_API_URL": api_url,
        "BENCH_DB": str(tmp / "apec.db"),
        "PYTHONPATH": str(REPO),
    }
    rows: list[tuple[str, str, dict[int, list], float | None]] = []
    skipped = []
    try:
        for server, factory in PLAN:
            service = start(server, factory, env, tmp / f"{server}-{factory}.log")
            if service is None:
                skipped.append(server)
                continue
            try:
                run_level(service, 1, "command", 10, args.warm_up)
                levels: dict[int, list] = {c: [] for c in LEVELS}
                for _ in range(args.rounds):
                    for conns in LEVELS:
                        levels[conns].append(run_level(service, 1, "command", conns, args.requests))
                slow = None if args.quick else trickled(service.port)
            finally:
                service.stop()
            rows.append((server, factory, levels, slow))
    except BenchError as exc:
        print(f"server_bench: {exc}", file=sys.stderr)
        return 1
    finally:
        web_api.terminate()
        web_api.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return report(args, rows, sorted(set(skipped)))


def report(args: argparse.Namespace, rows: list, skipped: list[str]) -> int:
    print(
        f"/apec next-meeting under each server, 1 process, {THREADS} threads; {args.requests} "
        f"requests a level, {args.rounds} rounds (median); {os.cpu_count()} CPUs\n"
    )
    print(
        f"{'server':9} {'app':11} "
        + "  ".join(f"{c:>2} conns p50/p99 ms  req/s" for c in LEVELS)
        + "   GET under 300 tricklers"
    )
    failed = 0
    floors: dict[str, dict[int, float]] = {}
    for server, factory, levels, slow in rows:
        cells = []
        for conns in LEVELS:
            got = levels[conns]
            failed += sum(x.failed + x.lost for x in got)
            p50 = statistics.median(x.p(0.5) for x in got)
            p99 = statistics.median(x.p(0.99) for x in got)
            rps = statistics.median(x.rps for x in got)
            floors.setdefault(f"{server} {factory}", {})[conns] = rps
            cells.append(f"{p50:7.2f}/{p99:7.2f} {rps:6.0f}")
        tricklers = (
            "not run" if args.quick else ("no answer" if slow is None else f"{slow * 1000:.1f} ms")
        )
        print(f"{server:9} {factory:11} " + "  ".join(cells) + f"   {tricklers}")
    base = floors.get("waitress floor_wsgi", {})
    print("\nreq/s against the floor under waitress (same run):")
    for key, rps in floors.items():
        print(
            f"  {key:22} " + "  ".join(f"{c} conns x{rps[c] / base[c]:.2f}" for c in LEVELS if base)
        )
    if skipped:
        print(f"\nnot installed, skipped: {', '.join(skipped)} (pip install -e '.[bench]')")
    _verdicts(rows, args)
    return 1 if failed else 0


def _verdicts(rows: list, args: argparse.Namespace) -> None:
    """What the figures say about the choice, and the aim the kept server (waitress) must meet."""
    ours = {
        server: statistics.median(x.rps for x in levels[50])
        for server, factory, levels, _ in rows
        if factory == "ours_wsgi"
    }
    if ours:
        best = max(ours, key=ours.__getitem__)
        print(
            f"\nours at 50 connections, fastest: {best}; "
            + ", ".join(f"{s} x{r / ours[best]:.2f}" for s, r in ours.items())
        )
    if not args.quick:
        answered = [f"{s} {f}" for s, f, _, slow in rows if slow is not None]
        print(f"answered under the tricklers: {', '.join(answered) or 'none'}")
    slow = {server: s for server, factory, _, s in rows if factory == "ours_wsgi"}
    kept = args.quick or (slow.get("waitress") is not None and slow["waitress"] < 1.0)
    print(
        "\nAim (informational): the server kept (waitress) answers within 1 s while 300 "
        f"connections trickle: {'PASS' if kept else 'MISS'}{' (not run)' if args.quick else ''}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--requests", type=int, default=1500)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warm-up", type=int, default=200)
    p.add_argument("--quick", action="store_true", help="a smoke run: no tricklers, one round")
    p.add_argument("--serve", nargs=2, metavar=("FACTORY", "PORT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        return serve_waitress(args.serve[0], int(args.serve[1]))
    if args.quick:
        args.requests, args.rounds, args.warm_up = 100, 1, 20
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
