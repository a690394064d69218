"""`apec-bot serve`: check the configuration, then run the app in Socket Mode or over HTTP."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from bot.app import http_front, web_client
from bot.config import Config, ConfigError
from bot.health import Watchdog
from bot.observe import Metrics, start_log_queue, stop_log_queue
from bot.posting import Poster, SlackPoster
from bot.scheduler import TICK, Engine, Scheduler, Timing, WatchJob
from bot.server import Stop, make_server, run, shared_socket
from bot.stores import Stores
from bot.workers import supervise
from handlers.language import warm_up as warm_language
from handlers.router import lookup
from store.dates import warm_up
from store.desk import Desk
from store.errors import StoreError
from store.vocabulary import english

log = logging.getLogger("apec.serve")

_BOT_TOKEN = re.compile(r"^xoxb-[A-Za-z0-9-]+$")
_APP_TOKEN = re.compile(r"^xapp-[A-Za-z0-9-]+$")


def check(config: Config) -> str:
    """The mode to run in, "socket" or "http"; raises ConfigError with the one line to show."""
    socket = bool(config.app_token)
    missing = []
    if not config.bot_token:
        missing.append("SLACK_BOT_TOKEN")
    if not socket and not config.signing_secret:
        missing.append("SLACK_SIGNING_SECRET")
    if missing:
        raise ConfigError(
            f"missing {' and '.join(missing)} (set SLACK_APP_TOKEN too for Socket Mode); "
            "`apec-bot shell` runs without Slack"
        )
    if not _BOT_TOKEN.match(config.bot_token):
        raise ConfigError("SLACK_BOT_TOKEN is malformed: a bot token starts with xoxb-")
    if socket and not _APP_TOKEN.match(config.app_token):
        raise ConfigError("SLACK_APP_TOKEN is malformed: an app-level token starts with xapp-")
    _check_store_path(config.db_path)
    return "socket" if socket else "http"


def _check_store_path(path: Path) -> None:
    """The store's file (or its folder, before the first build) must be writable: tried for real,
    since permission bits say nothing of a read-only mount (or of root)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"APEC_DB: the folder {folder} does not exist")
    try:
        if path.exists():
            with path.open("ab"):
                pass
        # SQLite writes its journal beside the store: the folder must take new files too.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".apec-write-check-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"APEC_DB: cannot write the store at {path}: {exc.strerror or exc}"
        ) from exc


def check_intact(path: Path) -> None:
    """Raise StoreError with one line when the store's file fails SQLite's quick check."""
    if not path.exists():
        return  # built on first use
    try:
        conn = sqlite3.connect(path)
        try:
            found = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
        found = str(exc)
    if found != "ok":
        problem = " ".join(str(found).split())[:160]
        raise StoreError(
            f"the store at {path} is damaged ({problem}): restore it from a backup made with "
            "`apec-bot backup`, or move it aside and run `apec-bot build`"
        )


def serve(
    config: Config,
    clock: Callable[[], datetime],
    host: str = "0.0.0.0",
    port: int = 3000,
    *,
    ready_fd: int | None = None,
) -> int:
    """Run until SIGTERM or SIGINT; returns the exit status.

    HTTP mode serves Slack on /slack/events; both modes serve /healthz, /metrics and the feed at
    /calendar/<token>.ics on the port. On SIGTERM the server stops taking connections, closes the
    idle ones and answers the requests under way (bot/server.py, `Stop`); then what they
    acknowledged is done (a mention's reply, a form) while the scheduler finishes any post under
    way and gives its lease up. All within `config.stop_timeout`: past it the process leaves,
    status 0, with what is unfinished named in the log.
    With `ready_fd` this is one of `serve_workers`' workers: it shares the port, and says on that
    pipe when it listens.
    """
    mode = check(config)
    stores = Stores(config.db_path, config.seeds)
    if ready_fd is None:  # a worker's supervisor has done these
        check_intact(config.db_path)
        built = stores.ensure_built()
        if built:
            log.info("%s", built)
    stores.get().meetings()  # the store opens and reads, before anything connects
    if ready_fd is None:  # a worker's supervisor loaded them before it forked (shared pages)
        warm_language()  # models loaded with the interpreter's lock held: before any request
    metrics = Metrics(config.metrics_dir)
    scheduler = make_scheduler(
        config, stores, clock, SlackPoster(web_client(config, config.bot_token)), metrics
    )
    front = http_front(
        config,
        stores,
        clock,
        health=partial(health_report, stores, scheduler, mode),
        on_change=scheduler.notify,
        metrics=metrics,
        events=mode == "http",
    )
    app, later = front.app, front.later
    server = make_server(front.wsgi, host, port, reuse_port=ready_fd is not None)
    # A worker leaves a moment before its supervisor would kill it, and says what it left undone.
    margin = min(KILL_MARGIN, config.stop_timeout / 10) if ready_fd is not None else 0.0
    stop = Stop(config.stop_timeout - margin)
    _on_signals(stop.ask)
    handler = None
    scheduler.start()
    _report(metrics, scheduler)
    watchdog = Watchdog(stores).start()  # a fault's end, quick checks, a log deleted while idle
    start_log_queue()  # no request waits on stderr: a thread writes the lines
    try:
        if mode == "socket":
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            handler = SocketModeHandler(app, config.app_token)
            print("apec-bot: connecting to Slack in Socket Mode", file=sys.stderr, flush=True)
            handler.connect()
        if ready_fd is None:
            print(
                f"apec-bot: serving HTTP on http://{host}:{server.effective_port} ({_paths(mode)})",
                file=sys.stderr,
                flush=True,
            )
        else:
            os.write(ready_fd, b"1")
            os.close(ready_fd)
        # Word lists that take a while to load (dates, typo mending): once the port answers, and
        # not on a user's question.
        threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
        run(server, stop)
    finally:
        stop.ask()  # the stop's clock runs from here if something else ended the loop
        _leave_by(stop)
        if handler is not None:
            handler.close()
        log.info("stopping: the scheduler finishes any post under way")
        stopping = threading.Thread(target=scheduler.stop, name="stop-scheduler")
        stopping.start()
        # what was acknowledged is done before the process goes: a change said "Working on it",
        # a mention's reply, a form (a worker ends with os._exit, which would not wait for them)
        later.shutdown(wait=True)
        stopping.join()
        watchdog.stop()
        stores.seen.close()  # the keys the record's writer has not written yet
        log.info("stopped in %.2f s", time.monotonic() - (stop.asked_at or 0.0))
        stop_log_queue()  # every line written before the process goes
    return 0


def serve_workers(
    config: Config, clock: Callable[[], datetime], host: str, port: int, workers: int
) -> int:
    """`serve --workers N`: check and build once, then fork N workers onto one port
    (bot/workers.py)."""
    mode = check(config)
    check_intact(config.db_path)
    built = Stores(config.db_path, config.seeds).ensure_built()
    if built:
        log.info("%s", built)
    warm_language()  # loaded once here: the forked workers share its 200 MB of models
    reserved = shared_socket(host, port)  # the port, learned (when 0) and held for the workers
    port = reserved.getsockname()[1]
    shared_dir = tempfile.mkdtemp(prefix="apec-metrics-")
    # prometheus-client's multiprocess mode reads its folder from the environment.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = shared_dir
    config = replace(config, metrics_dir=shared_dir)

    def ready() -> None:
        print(
            f"apec-bot: serving HTTP on http://{host}:{port} with {workers} workers "
            f"({_paths(mode)})",
            file=sys.stderr,
            flush=True,
        )

    try:
        return supervise(
            lambda fd: serve(config, clock, host, port, ready_fd=fd),
            workers,
            shared_dir,
            ready,
            stop_timeout=config.stop_timeout,
        )
    finally:
        reserved.close()
        shutil.rmtree(shared_dir, ignore_errors=True)


def _paths(mode: str) -> str:
    what = "/slack/events, " if mode == "http" else ""
    return f"{what}/healthz, /metrics, /calendar/<token>.ics"


def _warm_up() -> None:
    lookup("help")  # imports every handler module
    warm_up()
    english()


REPORT_EVERY = 1.0  # seconds between updates of the scheduler's gauges (two writes to a file)


def _report(metrics: Metrics, scheduler: Scheduler) -> None:
    """Keep the scheduler's gauges current: every worker writes its own, /metrics adds them up."""

    def loop() -> None:
        while scheduler.running:
            if scheduler.last_tick is not None:
                metrics.last_tick.set(scheduler.last_tick)
            metrics.leader.set(1.0 if scheduler.engine.leader else 0.0)
            time.sleep(REPORT_EVERY)

    threading.Thread(target=loop, name="gauges", daemon=True).start()


def health_report(stores: Stores, scheduler: Scheduler, mode: str) -> dict[str, Any]:
    """What /healthz says, for the whole service whichever worker answers: the store reads and
    takes a write, this worker's scheduler ticks, and some worker holds the lease to post."""
    problem = stores.problem()
    lag = scheduler.lag()
    running = scheduler.running and lag is not None and lag < 3 * TICK
    state = ("posting" if scheduler.engine.leader else "standby") if running else "not running"
    leader = None if problem else _leader(stores)
    return {
        "ok": problem is None and running and leader is not None,
        "store": problem or "ok",
        "scheduler": state,  # this worker's
        "posting": leader,  # the worker that posts for the service, from the lease
        "mode": mode,
    }


def _leader(stores: Stores) -> str | None:
    """Who holds a live scheduler lease ("host pid N"), or None when no one does."""
    try:
        lease = Desk(stores.get().db).lease()
    except sqlite3.Error as exc:
        log.error("health: the scheduler lease cannot be read: %s", exc)
        return None
    if lease is None or lease[3] <= time.time():
        return None
    return f"{lease[1]} pid {lease[2]}"


def make_scheduler(
    config: Config,
    stores: Stores,
    clock: Callable[[], datetime],
    poster: Poster,
    metrics: Metrics | None = None,
) -> Scheduler:
    """The scheduler for this process, posting through `poster`."""
    engine = Engine(
        stores,
        poster,
        clock,
        config.tz,
        config.reminder_channel,
        config.admins,
        metrics=metrics,
        host=config.host_id,
        timing=Timing.for_lease(config.lease_ttl),
        desk_channel=config.desk_channel,
    )
    return Scheduler(engine, watch=WatchJob(stores, clock, config.feeds, config.fetch_allow))


KILL_MARGIN = 0.5  # seconds a worker leaves before its supervisor's stop timeout


def _on_signals(stop: Callable[[], object]) -> None:
    def handle(signum: int, frame: object) -> None:
        stop()  # nothing more: a handler runs between two steps of whatever the main thread does

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def _leave_by(stop: Stop) -> None:
    """End the process (status 0) at the stop's deadline if it has not ended by then.

    A reply Slack never answers, a post under way or a thread the interpreter waits for on its
    way out would otherwise hold the stop past the timeout, into systemd's SIGKILL."""

    def leave() -> None:
        time.sleep(max(0.0, stop.deadline - time.monotonic()))
        busy = ", ".join(t.name for t in threading.enumerate() if not t.daemon and t.is_alive())
        log.error("stop timeout of %g s reached: leaving with %s unfinished", stop.timeout, busy)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(0)

    threading.Thread(target=leave, name="stop-timeout", daemon=True).start()
