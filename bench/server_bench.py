"""Which HTTP server the bot runs under, chosen on evidence: waitress, gunicorn (gthread), granian
(WSGI and ASGI) and uvicorn (ASGI, with Bolt's async app), measured the same way, all in one run.

For each server, one process on 127.0.0.1, 8 threads where the server has threads:

* the floor: a Bolt app that only acks `/apec` (`App` through Bolt's WSGI adapter; under the ASGI
  servers, `AsyncApp` through Bolt's ASGI adapter);
* ours: the bot's WSGI application wired as `apec-bot serve` wires it (`ours_wsgi`: the request log
  at INFO to a file, the metrics, the kept replies, the replay record, the scheduler and its
  gauges, the watchdog), under each WSGI server;
* and `apec-bot serve` itself (waitress, our supervisor's code path with one worker), to show that
  `ours_wsgi` under waitress measures what `serve` serves.

Every service is started before the first request and they are measured in turn, level by level
(the order turned each round). With bench/load_bench.py's client and requests: `/apec next-meeting`
cached (the same text) and uncached (each text new, see load_bench.py) at 1, 10 and 50 keep-alive
connections (p50, p99, req/s; median of the rounds).

Then the supervisors, `apec-bot serve --workers 2` (bot/workers.py over waitress) against
`granian --workers 2` serving `ours_wsgi`, each started afresh for each test:

* SIGKILL of the parent: are the workers gone within 1 s, and the port free?
* SIGTERM with 16 idle keep-alive connections open: does it exit within 20 s, status 0?
* 300 connections trickling their headers (a line every 2 s): is a signed `/apec next-meeting`
  still answered within 5 s?

gunicorn, granian, uvicorn and aiohttp are not the bot's dependencies: `pip install -e '.[bench]'`
adds them; a server not installed is skipped and said so.

Run:
    python bench/server_bench.py               # 1500 requests a level, 3 rounds, supervisors
    python bench/server_bench.py --quick       # a smoke run (supervisor tests shortened)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load_bench import (  # noqa: E402 - after the path is set
    REPO,
    SECRET,
    TOKEN,
    BenchError,
    Level,
    Service,
    _build,
    _free_port,
    command_request,
    ours_env,
    run_level,
    start_ours,
    start_web_api,
)

LEVELS = (1, 10, 50)
KINDS = ("cached", "uncached")
THREADS = 8
TRICKLERS = 300
KEEP_ALIVE = 16
KILL_WITHIN = 1.0  # seconds for the workers to go after SIGKILL of their parent
STOP_WITHIN = 20.0  # seconds for SIGTERM with idle keep-alive connections (APEC_STOP_TIMEOUT)
ANSWER_WITHIN = 5.0  # seconds for a request under the tricklers


# -- the applications, as the servers import them (factories) ------------------------------------


def floor_wsgi() -> Any:
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_bolt.authorization import AuthorizeResult
    from slack_sdk import WebClient

    app = App(
        signing_secret=SECRET,
        client=WebClient(base_url=os.environ["SLACK_API_URL"]),
        authorize=lambda enterprise_id, team_id: AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=TOKEN
        ),
        token_verification_enabled=False,
        process_before_response=True,
    )
    app.command("/apec")(lambda ack: ack("ok"))
    return SlackRequestHandler(app)


def floor_asgi() -> Any:
    from slack_bolt.adapter.asgi.async_handler import AsyncSlackRequestHandler
    from slack_bolt.app.async_app import AsyncApp
    from slack_bolt.authorization import AuthorizeResult
    from slack_sdk.web.async_client import AsyncWebClient

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=TOKEN)

    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(base_url=os.environ["SLACK_API_URL"]),
        authorize=authorize,
        process_before_response=True,
    )

    @app.command("/apec")
    async def apec(ack: Any) -> None:
        await ack("ok")

    return AsyncSlackRequestHandler(app)


def ours_wsgi() -> Any:
    """The bot's WSGI application wired as `apec-bot serve` wires it (bot/serve.py `serve()`, step
    by step: `http_front` and what serve starts beside it; less the signals, the server and the
    stop, which are the server's here), from the environment `serve` reads, logging as
    `apec-bot serve` logs (bot/cli.py `main`)."""
    import logging
    from functools import partial

    from bot import serve as serving
    from bot.app import http_front, web_client
    from bot.clock import Clock
    from bot.config import Config, secrets
    from bot.health import Watchdog
    from bot.observe import Metrics, setup_logging, start_log_queue
    from bot.posting import SlackPoster
    from bot.stores import Stores
    from handlers.language import warm_up as warm_language

    setup_logging(logging.INFO, "text", secrets())
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    config = Config.from_env()
    clock = Clock(config.now)
    mode = serving.check(config)
    stores = Stores(config.db_path, config.seeds)
    serving.check_intact(config.db_path)
    stores.ensure_built()
    stores.get().meetings()
    warm_language()
    metrics = Metrics(config.metrics_dir)
    scheduler = serving.make_scheduler(
        config, stores, clock, SlackPoster(web_client(config, config.bot_token)), metrics
    )
    front = http_front(
        config,
        stores,
        clock,
        health=partial(serving.health_report, stores, scheduler, mode),
        on_change=scheduler.notify,
        metrics=metrics,
        events=mode == "http",
    )
    scheduler.start()
    serving._report(metrics, scheduler)
    Watchdog(stores).start()
    start_log_queue()
    threading.Thread(target=serving._warm_up, name="warm-up", daemon=True).start()
    return front.wsgi


def serve_waitress(factory: str, port: int) -> int:
    from bot.server import make_server, run

    server = make_server(globals()[factory](), "127.0.0.1", port, threads=THREADS)
    signal.signal(signal.SIGTERM, lambda *_: server.close())
    run(server)
    return 0


# -- the servers ----------------------------------------------------------------------------------

HERE = "bench.server_bench"


def command(server: str, factory: str, port: int, workers: int = 1) -> list[str] | None:
    """The command line that serves `factory` under `server`, or None when it is not installed."""
    py = sys.executable
    where = ["--host", "127.0.0.1", "--port", str(port)]
    asgi = factory.endswith("asgi")
    table = {
        "waitress": (
            "waitress",
            [py, str(Path(__file__).resolve()), "--serve", factory, str(port)],
        ),
        "gunicorn": (
            "gunicorn",
            [py, "-m", "gunicorn", "-k", "gthread", "--threads", str(THREADS), "-w", str(workers)]
            + ["-b", f"127.0.0.1:{port}", "--log-level", "warning", f"{HERE}:{factory}()"],
        ),
        "granian": (
            "granian",
            [py, "-m", "granian", "--interface"]
            + (["asgi"] if asgi else ["wsgi", "--blocking-threads", str(THREADS)])
            + ["--workers", str(workers), *where, "--log-level", "warning"]
            # as we would deploy it: stop within the bot's stop timeout, idle headers cut at 10 s
            + ["--workers-kill-timeout", str(int(STOP_WITHIN)), "--http1-header-read-timeout"]
            + ["10000", "--factory", f"{HERE}:{factory}"],
        ),
        "uvicorn": (
            "uvicorn",
            [py, "-m", "uvicorn", "--factory", f"{HERE}:{factory}", *where]
            + ["--log-level", "warning", "--no-access-log"],
        ),
    }
    module, argv = table[server]
    return argv if importlib.util.find_spec(module) else None


# (server, app): the floor under every server, ours under the WSGI ones, and `apec-bot serve`
PLAN = (
    ("waitress", "floor_wsgi"),
    ("waitress", "ours_wsgi"),
    ("serve", "apec-bot"),
    ("gunicorn", "floor_wsgi"),
    ("gunicorn", "ours_wsgi"),
    ("granian", "floor_wsgi"),
    ("granian", "ours_wsgi"),
    ("granian", "floor_asgi"),
    ("uvicorn", "floor_asgi"),
)


def start(
    server: str, factory: str, env: dict[str, str], log: Path, workers: int = 1
) -> Service | None:
    """`factory` under `server` on a free port, once it accepts connections; None when the
    server is not installed."""
    port = _free_port()
    argv = command(server, factory, port, workers)
    if argv is None:
        return None
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=out)
    app = "ours" if factory.startswith("ours") else "floor"
    service = Service(app, port, [proc], log, name=f"{server} {factory}")
    # Some servers listen before their workers have built the app: wait for an answer.
    if _answer_within(port, 60.0, proc) is None:
        service.stop()
        raise BenchError(f"{server} {factory} did not start:\n{service.tail()}")
    return service


def start_all(tmp: Path, env: dict[str, str], api_url: str) -> tuple[dict[str, Service], list]:
    """Every service of PLAN whose server is installed, started side by side; and the servers
    skipped."""
    from concurrent.futures import ThreadPoolExecutor

    def one(server: str, factory: str) -> Service | None:
        if server != "serve":
            return start(server, factory, env, tmp / f"{server}-{factory}.log")
        service = start_ours(tmp, api_url, 1, name="apec-bot-serve")
        service.name = "waitress apec-bot serve"
        return service

    with ThreadPoolExecutor(len(PLAN)) as pool:
        pending = [(server, pool.submit(one, server, factory)) for server, factory in PLAN]
    services = {}
    for _, future in pending:
        service = future.result() if future.exception() is None else None
        if service is not None:
            services[service.name] = service
    for _, future in pending:
        if future.exception() is not None:
            for service in services.values():
                service.stop()
            raise BenchError(str(future.exception()))
    skipped = sorted({server for server, future in pending if future.result() is None})
    return services, skipped


# -- the supervisors ------------------------------------------------------------------------------


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def port_free(port: int) -> bool:
    """Whether nothing holds the port: a socket without SO_REUSEPORT can bind it."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Verdicts:
    """What each supervisor did in the three tests: seconds, and None for "not in the wait"."""

    workers: int = 0  # how many processes were below the parent
    workers_gone: float | None = None  # after SIGKILL of the parent: until none is left running
    port_free: float | None = None  # after SIGKILL of the parent: until the port can be bound
    killed_wait: float = 0.0  # how long that was waited for
    stopped: float | None = None  # seconds SIGTERM took with idle keep-alive connections
    status: int | None = None  # the exit status then
    orphans: int = 0  # processes below it still running once it had exited
    answered: float | None = None  # seconds to answer a request under the tricklers


def supervisor(name: str, tmp: Path, env: dict[str, str], api_url: str) -> Service:
    """Two workers of ours under `name`'s supervisor: `apec-bot serve --workers 2`, or granian."""
    if name == "ours":
        return start_ours(tmp, api_url, 2, name="supervised-ours")
    service = start("granian", "ours_wsgi", env, tmp / "supervised-granian.log", workers=2)
    if service is None:
        raise BenchError("granian is not installed")
    return service


def sigkill_parent(service: Service, verdicts: Verdicts, wait: float) -> None:
    parent = service.procs[0]
    below = descendants(parent.pid)
    verdicts.workers, verdicts.killed_wait = len(below), wait
    started = time.monotonic()
    parent.kill()
    parent.wait()
    while time.monotonic() - started < wait:
        took = time.monotonic() - started
        if verdicts.workers_gone is None and not any(alive(pid) for pid in below):
            verdicts.workers_gone = took
        if verdicts.port_free is None and port_free(service.port):
            verdicts.port_free = took
        if verdicts.workers_gone is not None and verdicts.port_free is not None:
            return
        time.sleep(0.01)
    _kill_left(below)


def sigterm_with_keep_alive(service: Service, verdicts: Verdicts, wait: float) -> None:
    conns = []
    for _ in range(KEEP_ALIVE):
        sock = socket.create_connection(("127.0.0.1", service.port), timeout=10)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
        sock.recv(4096)  # answered; the connection stays open, idle
        conns.append(sock)
    parent = service.procs[0]
    below = descendants(parent.pid)
    started = time.monotonic()
    parent.send_signal(signal.SIGTERM)
    try:
        verdicts.status = parent.wait(wait)
        verdicts.stopped = time.monotonic() - started
        verdicts.orphans = sum(alive(pid) for pid in below)
    except subprocess.TimeoutExpired:
        pass
    finally:
        for sock in conns:
            sock.close()
        service.stop()
        _kill_left(below)


def _kill_left(pids: set[int]) -> None:
    """What a supervisor left running is the bench's to end."""
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def _answer_within(port: int, timeout: float, proc: subprocess.Popen | None = None) -> float | None:
    """Seconds to answer a signed `/apec next-meeting` on a new connection (tried again until
    one is answered); None if none is within `timeout`, or `proc` has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        started = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                sock.sendall(command_request("next-meeting"))
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.05)
    return None


def trickled(service: Service, verdicts: Verdicts, tricklers: int) -> None:
    """A request's answer while `tricklers` connections send a header line every 2 s."""
    stop = threading.Event()
    socks = []
    for _ in range(tricklers):
        try:
            sock = socket.create_connection(("127.0.0.1", service.port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
            socks.append(sock)
        except OSError:
            break

    def trickle() -> None:
        while not stop.wait(2.0):
            for sock in socks:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    time.sleep(2.5)  # the tricklers are in, and have trickled once
    try:
        verdicts.answered = _answer_within(service.port, ANSWER_WITHIN)
    finally:
        stop.set()
        thread.join()
        for sock in socks:
            sock.close()


def supervisors(tmp: Path, env: dict[str, str], api_url: str, quick: bool) -> dict[str, Verdicts]:
    """The three tests, for each supervisor (granian when installed)."""
    names = ["ours"] + (["granian"] if command("granian", "ours_wsgi", 0) else [])
    out = {}
    for name in names:
        verdicts = out[name] = Verdicts()
        service = supervisor(name, tmp, env, api_url)
        try:
            trickled(service, verdicts, 20 if quick else TRICKLERS)
            sigterm_with_keep_alive(service, verdicts, STOP_WITHIN + 5)
        finally:
            service.stop()
        service = supervisor(name, tmp, env, api_url)
        try:
            sigkill_parent(service, verdicts, 5.0)
        finally:
            service.stop()
    return out


# -- the run --------------------------------------------------------------------------------------

Results = dict[tuple[str, str, int], list[Level]]  # (service, kind, conns) -> the rounds


def measure(args: argparse.Namespace, services: dict[str, Service]) -> Results:
    for service in services.values():
        for kind in KINDS:
            run_level(service, kind, 10, args.warm_up)
    results: Results = {}
    names = list(services)
    for round_ in range(args.rounds):
        for kind in KINDS:
            for conns in LEVELS:
                turn = round_ % len(names)
                for name in names[turn:] + names[:turn]:
                    level = run_level(services[name], kind, conns, args.requests)
                    results.setdefault((name, kind, conns), []).append(level)
    return results


def run(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="apec-servers-"))
    web_api, api_url = start_web_api(tmp)
    env = {**ours_env(tmp, api_url), "PYTHONPATH": str(REPO)}
    services: dict[str, Service] = {}
    try:
        _build(tmp)
        services, skipped = start_all(tmp, env, api_url)
        results = measure(args, services)
        for service in services.values():
            service.stop()
        verdicts = supervisors(tmp, env, api_url, args.quick)
    except BenchError as exc:
        print(f"server_bench: {exc}", file=sys.stderr)
        return 1
    finally:
        for service in services.values():
            service.stop()
        web_api.terminate()
        web_api.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    failed = report(args, results, skipped)
    report_supervisors(args, verdicts)
    return 1 if failed else 0


# -- the report -----------------------------------------------------------------------------------


def _ratio(results: Results, a: tuple[str, str, int], b: tuple[str, str, int]) -> float:
    """The median over the rounds of a's req/s over b's, each round's taken together."""
    if a not in results or b not in results:
        return float("nan")
    ratios = [x.rps / y.rps for x, y in zip(results[a], results[b], strict=True) if y.rps]
    return statistics.median(ratios) if ratios else float("nan")


def report(args: argparse.Namespace, results: Results, skipped: list[str]) -> int:
    print(
        f"/apec next-meeting under each server, 1 process, {THREADS} threads, measured in turn; "
        f"{args.requests} requests a level, {args.rounds} rounds (median); {os.cpu_count()} CPUs\n"
    )
    names = list(dict.fromkeys(name for name, _, _ in results))
    failed = 0
    for kind in KINDS:
        print(f"{kind}:")
        print(
            f"  {'server app':26} " + "  ".join(f"{c:>2} conns p50/p99 ms  req/s" for c in LEVELS)
        )
        for name in names:
            cells = []
            for conns in LEVELS:
                got = results[(name, kind, conns)]
                failed += sum(x.failed + x.lost for x in got)
                p50 = statistics.median(x.p(0.5) for x in got)
                p99 = statistics.median(x.p(0.99) for x in got)
                rps = statistics.median(x.rps for x in got)
                cells.append(f"{p50:7.2f}/{p99:7.2f} {rps:6.0f}")
            print(f"  {name:26} " + "  ".join(cells))
        print(f"  req/s against the floor under waitress ({kind}, same run):")
        for name in names:
            floor = [
                _ratio(results, (name, kind, c), ("waitress floor_wsgi", kind, c)) for c in LEVELS
            ]
            print(
                f"    {name:24} "
                + "  ".join(f"{c} conns x{r:.2f}" for c, r in zip(LEVELS, floor, strict=True))
            )
        print()
    if skipped:
        print(f"not installed, skipped: {', '.join(skipped)} (pip install -e '.[bench]')\n")
    _verdicts(results)
    return failed


def _ratios(results: Results, name: str, base: str, kind: str) -> str:
    """`name`'s req/s against `base`'s at each level, "x1.02/x0.97/x1.10"."""
    return "/".join(f"x{_ratio(results, (name, kind, c), (base, kind, c)):.2f}" for c in LEVELS)


def _verdicts(results: Results) -> None:
    """Ours under each server against ours under waitress, and ours_wsgi against `serve`."""
    ours = [name for name in dict.fromkeys(n for n, _, _ in results) if name.endswith("ours_wsgi")]
    for kind in KINDS:
        print(
            f"ours ({kind}) against ours under waitress, req/s at 1/10/50 conns: "
            + "; ".join(
                f"{name.split()[0]} {_ratios(results, name, 'waitress ours_wsgi', kind)}"
                for name in ours
            )
        )
    same = "; ".join(
        f"{kind} {_ratios(results, 'waitress ours_wsgi', 'waitress apec-bot serve', kind)}"
        for kind in KINDS
    )
    print(
        f"ours_wsgi under waitress against `apec-bot serve`, req/s at 1/10/50 conns: {same} "
        "(near x1.00: the bench wires the app as serve does)"
    )


def _within(value: float | None, within: float, waited: float) -> str:
    if value is None:
        return f"MISS (not in {waited:g} s)"
    return f"{'PASS' if value <= within else 'MISS'} ({value:.2f} s)"


def _killed(v: Verdicts) -> str:
    workers = _within(v.workers_gone, KILL_WITHIN, v.killed_wait)
    return f"{workers}, port {'free' if v.port_free is not None else 'held'}, {v.workers} below"


def _stopped(v: Verdicts) -> str:
    ok = v.stopped is not None and v.status == 0 and not v.orphans
    took = "not in time" if v.stopped is None else f"{v.stopped:.2f} s"
    return f"{'PASS' if ok else 'MISS'} ({took}, status {v.status}, {v.orphans} left)"


def report_supervisors(args: argparse.Namespace, verdicts: dict[str, Verdicts]) -> None:
    tricklers = 20 if args.quick else TRICKLERS
    print(
        "\nAims (informational): the supervisors, two workers each, serving ours "
        "(`apec-bot serve --workers 2`; granian --workers 2 with ours_wsgi)"
    )
    rows: list[tuple[str, Callable[[Verdicts], str]]] = [
        (f"SIGKILL of the parent: workers gone, port free in {KILL_WITHIN:g} s", _killed),
        (f"SIGTERM, {KEEP_ALIVE} idle keep-alive conns: exit 0 in {STOP_WITHIN:g} s", _stopped),
        (
            f"{tricklers} trickling conns: a request answered in {ANSWER_WITHIN:g} s",
            lambda v: _within(v.answered, ANSWER_WITHIN, ANSWER_WITHIN),
        ),
    ]
    for name, v in verdicts.items():
        print(f"  {name}:")
        for label, cell in rows:
            print(f"    {label:62} {cell(v)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--requests", type=int, default=1500)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warm-up", type=int, default=200)
    p.add_argument("--quick", action="store_true", help="a smoke run: few requests, one round")
    p.add_argument("--serve", nargs=2, metavar=("FACTORY", "PORT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        return serve_waitress(args.serve[0], int(args.serve[1]))
    if args.quick:
        args.requests, args.rounds, args.warm_up = 40, 1, 10
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
