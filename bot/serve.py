"""`apec-bot serve`: check the configuration, then run the app in Socket Mode or over HTTP."""

from __future__ import annotations

import logging
import re
import signal
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from bot.app import create_app, web_client
from bot.config import Config, ConfigError
from bot.observe import Metrics
from bot.posting import Poster, SlackPoster
from bot.scheduler import TICK, Engine, Scheduler, Timing
from bot.server import SlackHTTP, make_server, run
from bot.stores import Stores
from handlers.calendar import calendar
from handlers.question import english
from store.dates import warm_up
from store.errors import StoreError

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
            f"the store at {path} is damaged ({problem}): restore it from a backup "
            "(README, Operations)"
        )


def serve(
    config: Config, clock: Callable[[], datetime], host: str = "0.0.0.0", port: int = 3000
) -> int:
    """Run until SIGTERM or SIGINT; returns the exit status.

    HTTP mode serves Slack on /slack/events; both modes serve /healthz, /metrics and the feed at
    /calendar/<token>.ics on the port. On SIGTERM the server stops taking requests and finishes
    those under way, then the scheduler stops after any post under way is sent and recorded.
    """
    mode = check(config)
    check_intact(config.db_path)
    stores = Stores(config.db_path, config.seeds)
    built = stores.ensure_built()
    if built:
        log.warning("%s", built)
    stores.get().meetings()  # the store opens and reads, before anything connects
    warm_up()
    # The English word list that mends typos takes ~0.2 s to load: not on a user's question.
    threading.Thread(target=english, name="warm-up", daemon=True).start()
    metrics = Metrics()
    scheduler = make_scheduler(
        config, stores, clock, SlackPoster(web_client(config, config.bot_token)), metrics
    )
    app = create_app(config, stores, clock, on_change=scheduler.notify)

    health = partial(health_report, stores, scheduler, mode)
    metrics.lag.set_function(lambda: scheduler.lag() or 0.0)
    metrics.leader.set_function(lambda: 1.0 if scheduler.engine.leader else 0.0)
    front = SlackHTTP(app, config.signing_secret, health, calendar=lambda: calendar(stores.get(), clock()),
                      metrics=metrics, events=mode == "http", store=stores.get, seen=stores.seen,
                      metrics_token=config.metrics_token)  # fmt: skip
    server = make_server(front, host, port)
    _on_signals(server.close)
    handler = None
    scheduler.start()
    try:
        if mode == "socket":
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            handler = SocketModeHandler(app, config.app_token)
            print("apec-bot: connecting to Slack in Socket Mode", file=sys.stderr, flush=True)
            handler.connect()
        what = "/slack/events, " if mode == "http" else ""
        print(f"apec-bot: serving HTTP on http://{host}:{server.effective_port} "
              f"({what}/healthz, /metrics, /calendar/<token>.ics)", file=sys.stderr, flush=True)  # fmt: skip
        run(server)
    finally:
        log.warning("stopping: the scheduler finishes any post under way")
        scheduler.stop()
        if handler is not None:
            handler.close()
    return 0


def health_report(stores: Stores, scheduler: Scheduler, mode: str) -> dict[str, Any]:
    """What /healthz says: the store reads and takes a write, the scheduler ticks."""
    problem = stores.problem()
    lag = scheduler.lag()
    running = scheduler.running and lag is not None and lag < 3 * TICK
    state = ("posting" if scheduler.engine.leader else "standby") if running else "not running"
    return {
        "ok": problem is None and running,
        "store": problem or "ok",
        "scheduler": state,
        "mode": mode,
    }


def make_scheduler(
    config: Config,
    stores: Stores,
    clock: Callable[[], datetime],
    poster: Poster,
    metrics: Metrics | None = None,
) -> Scheduler:
    """The scheduler for this process, posting through `poster`."""
    engine = Engine(
        stores, poster, clock, config.tz, config.reminder_channel, config.admins, metrics=metrics,
        host=config.host_id, timing=Timing.for_lease(config.lease_ttl),
    )  # fmt: skip
    return Scheduler(engine)


def _on_signals(stop: Callable[[], object]) -> None:
    def handle(signum: int, frame: object) -> None:
        log.warning("signal %s: stopping", signum)
        stop()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
