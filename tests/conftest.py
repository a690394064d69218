"""Shared fixtures: a real store built into tmp_path, and fixed times (today is after every
meeting)."""

from __future__ import annotations

import itertools
import logging
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from store.build import build
from store.db import connect
from store.queries import Store

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEOUL = ZoneInfo("Asia/Seoul")


def at(text: str) -> datetime:
    """An aware time from ISO-8601 with offset."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment


REPORT = "report"  # the user property a test's line for the end of the run travels as
_REPORTED: list[str] = []


class _Lines(list):
    """A test's lines for the end of the run, kept as user properties of its report: they reach
    the controlling process when pytest-xdist runs the test in a worker."""

    def __init__(self, node: pytest.Item) -> None:
        super().__init__()
        self.node = node

    def append(self, text: str) -> None:
        super().append(text)
        self.node.user_properties.append((REPORT, text))


@pytest.fixture
def reports(request: pytest.FixtureRequest) -> list[str]:
    """Lines a test leaves for the end of the run (shares right per corpus family, figures)."""
    return _Lines(request.node)


def pytest_configure(config: pytest.Config) -> None:
    """The bot's own modules byte-compiled once, before any test or xdist worker starts: the suite
    starts `apec-bot` processes by the hundred, and where PYTHONDONTWRITEBYTECODE is set each of
    them would compile every module it imports anew (about a tenth of a second a process)."""
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controlling process did it before starting the workers
    import compileall

    for package in ("bot", "store", "handlers"):
        compileall.compile_dir(ROOT / package, quiet=2)  # a read-only checkout just goes without


# -- order: the longest modules first -------------------------------------------------------------
# From `--durations` on two cores: each of these modules takes from ten seconds to about a minute
# in all, most of it whole `apec-bot` processes, waits on real time, the replayed image (a fresh
# venv installed from requirements.lock) or mypy. `make test` deals whole modules to the xdist
# workers as they free up (`--dist loadscope`: a module's fixtures are made once), in this order,
# the longest first: they spread over the workers while the quick modules fill in around them, and
# no worker is left running a long one alone at the end. A module missing from here costs time,
# never a test.
LONGEST_FIRST = (
    "test_bench.py",
    "test_deploy.py",
    "test_recurring.py",
    "test_watch_hostile.py",
    "test_workers.py",
    "test_delivery_faults.py",
    "test_store_faults.py",
    "test_shutdown.py",
    "test_cli.py",
    "test_serve_scheduler.py",
    "test_operations.py",
    "test_serve.py",
    "test_types.py",
    "test_fetch.py",
    "test_scheduler_property.py",
    "test_brief_document.py",
    "test_writes.py",
    "test_http_edge.py",
    "test_watch.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.nodeid.removeprefix("tests/").split("::", 1)[0]
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: a module's tests stay together, in the order collected


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":  # once a test, with every line it left
        _REPORTED.extend(text for key, text in report.user_properties if key == REPORT)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    for text in _REPORTED:
        terminalreporter.write_line(text)


@pytest.fixture(scope="session")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store built from the real seeds, copied for each test that changes it."""
    return build_at(tmp_path_factory.mktemp("store") / "apec.db", SEEDS)


def build_at(path: Path, seeds: Path) -> Path:
    """A store built from `seeds` at `path`, checkpointed so that one file copy holds it all."""
    db = connect(path)
    build(db, seeds)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture
def db_path(built_db: Path, tmp_path: Path) -> Path:
    """A private copy of the built store in this test's tmp_path."""
    path = tmp_path / "apec.db"
    shutil.copy(built_db, path)
    return path


@pytest.fixture
def stores(db_path: Path):
    """The bot's per-thread stores over the test's store file, as the scheduler and server use."""
    from bot.stores import Stores

    return Stores(db_path, SEEDS)


@pytest.fixture
def store(db_path: Path) -> Store:
    """Queries over a real store file built from the seeds."""
    db = connect(db_path)
    yield Store(db)
    db.close()


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A writable copy of seeds/, for tests that break a record on purpose."""
    dest = tmp_path / "seeds"
    shutil.copytree(SEEDS, dest)
    return dest


# -- Slack: the Web API stand-in, signed requests, the real app served on loopback ---------------

SIGNING_SECRET = "test-signing-secret"
_TRIGGERS = itertools.count(1)
BOT_TOKEN = "xoxb-test-token"


@pytest.fixture
def web_api():
    """Slack's Web API, stood in for by a small local HTTP server that records calls."""
    from tests.slack_stub import WebAPIStub

    stub = WebAPIStub(token=BOT_TOKEN).start()
    yield stub
    stub.stop()


class Clock:
    """An injected clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(at("2026-01-20T09:00+09:00"))


class Served:
    """The real app behind the real HTTP server on a loopback port, and a way to talk to it."""

    def __init__(
        self, base: str, secret: str, db_path: Path | None = None, late: Any = None
    ) -> None:
        self.base = base
        self.secret = secret
        self.db_path = db_path  # the store it serves
        self._signed_at: dict[str, int] = {}
        # The Web API stand-in: a command asked with no response_url of its own gets one there, and
        # a change acknowledged "Working on it" (a loaded machine: past the ack's wait) is
        # answered with what follows on it, as a user sees it.
        self.late = late

    def signed(
        self, body: str, timestamp: int | None = None, secret: str | None = None
    ) -> dict[str, str]:
        import time

        from slack_sdk.signature import SignatureVerifier

        if timestamp is None:
            # Slack signs each delivery anew: a retry of the same body comes a second later at
            # least.
            timestamp = max(int(time.time()), self._signed_at.get(body, 0) + 1)
            self._signed_at[body] = timestamp
        ts = str(timestamp)
        sig = SignatureVerifier(secret or self.secret).generate_signature(timestamp=ts, body=body)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}

    def post(
        self,
        body: str | bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        path: str = "/slack/events",
    ):
        import http.client
        from urllib.parse import urlsplit

        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        all_headers = {
            "Content-Type": content_type,
            **(self.signed(text) if sign else {}),
            **(headers or {}),
        }
        url = urlsplit(self.base)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            conn.request(
                "POST",
                path,
                body=body.encode() if isinstance(body, str) else body,
                headers=all_headers,
            )
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def get(self, path: str):
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def command(
        self,
        text: str,
        user: str = "U1",
        channel: str = "C1",
        response_url: str = "",
        team: str = "T1",
    ):
        import json
        from urllib.parse import urlencode

        hook = ""
        if not response_url and self.late is not None:
            hook = f"hooks.late{next(_TRIGGERS)}"
            response_url = self.late.url + hook
        body = urlencode(
            {
                "token": "legacy",
                "team_id": team,
                "channel_id": channel,
                "user_id": user,
                "command": "/apec",
                "text": text,
                "response_url": response_url,
                "trigger_id": f"{next(_TRIGGERS)}.2.3",  # Slack's differ every time
            }
        )
        status, answer = self.post(body, "application/x-www-form-urlencoded")
        if hook and status == 200 and "Working on it" in answer:
            (said, *_) = self.late.wait_for(hook, timeout=60)
            return status, json.dumps(said.params)
        return status, answer

    def event(self, event: dict, event_id: str = "Ev1", retry: int | None = None):
        import json

        body = json.dumps(
            {
                "token": "legacy",
                "team_id": "T1",
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": event_id,
                "event_time": 1,
                "event": event,
            }
        )
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else {}
        )
        return self.post(body, "application/json", headers)

    def action(self, payload: dict):
        import json
        from urllib.parse import urlencode

        return self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )


ADMIN = "UADMIN"  # in APEC_ADMINS for the served app


@contextmanager
def serving(wsgi: Any) -> Iterator[Any]:
    """`wsgi` under the real server (`bot.server.make_server`) on a free loopback port, its loop
    in a thread; stopped as `apec-bot serve` stops (`bot.server.Stop`), which wakes the loop at
    once: `server.close()` from another thread left it to notice within its 1 s poll, a second
    of every test's teardown."""
    import threading

    from bot.server import Stop, make_server, run

    http = make_server(wsgi, "127.0.0.1", 0)
    stop = Stop(timeout=2.0)  # a connection a test left mid-request is cut 1.5 s after the ask
    thread = threading.Thread(target=run, args=(http, stop), daemon=True)
    thread.start()
    try:
        yield http
    finally:
        stop.ask()
        thread.join(timeout=5)
        # Its task threads first: one still finishing a request pulls the wake-up pipe as it
        # ends, and once the pipe is closed its number may be another file's (a subprocess's
        # stdout took an "x" so). Then the pipe, which `run` leaves open for a process's life.
        http.task_dispatcher.shutdown()
        http.close()


class Changes:
    """Counts the app's calls of its on_change hook (the scheduler's, in production)."""

    def __init__(self) -> None:
        self.count = 0

    def append_one(self) -> None:
        self.count += 1


@pytest.fixture
def changes() -> Changes:
    return Changes()


@contextmanager
def served_app(db_path, web_api, clock, changes, **options: Any) -> Iterator[Served]:
    """The real app under the real WSGI server (waitress) on a free loopback port, wired as `serve`
    wires it (`bot.app.http_front`, given `options`): `/apec` answered by our own listener from
    the body the front parsed, the rest by Bolt; the store read anew for the feed (`exact`)."""
    from bot.app import http_front
    from bot.config import Config
    from bot.stores import Stores

    config = Config(
        db_path=db_path,
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        api_url=web_api.url,
        seeds=SEEDS,
        admins=frozenset({ADMIN}),
    )
    front = http_front(
        config,
        Stores(db_path, SEEDS),
        clock,
        health=lambda: {"ok": True},
        on_change=changes.append_one,
        exact=True,
        **options,
    )
    with serving(front.wsgi) as http:
        yield Served(
            f"http://127.0.0.1:{http.effective_port}", SIGNING_SECRET, db_path, late=web_api
        )


@pytest.fixture
def server(db_path, web_api, clock, changes):
    """The real Bolt app under the real WSGI server (waitress) on a free loopback port."""
    with served_app(db_path, web_api, clock, changes) as served:
        yield served


class _Everything(logging.Handler):
    """Keeps every log line of the test run, as formatted, to scan for secrets at the end."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot format is not a leak
            pass


@pytest.fixture(scope="session", autouse=True)
def no_secret_is_ever_logged():
    """Everything logged in this test run (our code, Bolt, slack-sdk, waitress, at DEBUG) is
    scanned for the tokens the tests use; subprocess output is checked by the tests that read it."""
    handler = _Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)
    leaks = [
        line
        for line in handler.lines
        for secret in (BOT_TOKEN, SIGNING_SECRET, "xapp-1-test")
        if secret in line
    ]
    assert not leaks, f"secrets in {len(leaks)} log lines, e.g. {leaks[0][:300]}"


@pytest.fixture(scope="session")
def _web_server():
    from pytest_httpserver import HTTPServer

    with HTTPServer(threaded=True) as srv:  # threaded: a slow answer holds up no other test
        yield srv


@pytest.fixture
def web(_web_server):
    """A local web server (pytest-httpserver) for watched sources; cleared after each test."""
    yield _web_server
    _web_server.clear()


@pytest.fixture
def bots(db_path: Path, web_api):
    """`apec-bot serve` processes started by a test on the store at `db_path`, stopped after it
    (tests/test_serve_scheduler.py, `Bots`)."""
    from tests.test_serve_scheduler import Bots

    running = Bots(db_path, web_api.url)
    try:
        yield running
    finally:
        for bot in running.started:
            bot.proc.send_signal(signal.SIGCONT)  # a bot left frozen by a failed test stops too
            bot.stop()
