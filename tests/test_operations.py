"""Running it for a real desk: start-up checks, graceful stop, logs, metrics, backups."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import urllib.request

import pytest

from bot.observe import JsonFormatter, Redact
from store.db import backup, connect
from store.desk import Desk
from store.queries import Store
from tests.conftest import BOT_TOKEN, ROOT, SIGNING_SECRET, Clock, at
from tests.test_serve import _env, start


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"APEC_TZ": "Mars/Olympus"}, "APEC_TZ"),
        ({"APEC_DB": "/no/such/folder/apec.db"}, "does not exist"),
        ({"APEC_DB": "/proc/apec.db"}, "cannot write the store"),
        ({"APEC_NOW": "tomorrow-ish"}, "APEC_NOW"),
        ({"SLACK_SIGNING_SECRET": ""}, "missing SLACK_SIGNING_SECRET"),
    ],
)
def test_start_up_checks_say_one_line_and_exit_1_before_connecting(db_path, web_api, env, message):
    base = {
        "APEC_DB": str(db_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": web_api.url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=_env(**{**base, **env}),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert web_api.calls == []  # nothing connected


def _get(base: str, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(base + path, timeout=10) as resp:
        return resp.status, resp.read().decode()


def test_metrics_count_requests_by_command_and_outcome(db_path, web_api):
    from tests.conftest import Served

    env = _env(
        APEC_DB=str(db_path),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=web_api.url,
        APEC_NOW="2026-01-20T09:00+09:00",
    )
    proc, base = start(env)
    try:
        served = Served(base, SIGNING_SECRET)
        for text in ("next-meeting", "next-meeting", "members", "no-such-thing"):
            assert served.command(text)[0] == 200
        assert served.post("x=1", "application/x-www-form-urlencoded", sign=False)[0] == 401
        status, text = _get(base, "/metrics")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    assert status == 200
    assert re.search(
        r'apec_requests_total\{command="next-meeting",kind="command",outcome="ok"\} 2\.0', text
    )
    assert re.search(
        r'apec_requests_total\{command="members",kind="command",outcome="ok"\} 1\.0', text
    )
    assert re.search(
        r'apec_requests_total\{command="unknown",kind="command",outcome="ok"\} 1\.0', text
    )
    assert re.search(
        r'apec_requests_total\{command="rejected",kind="rejected",outcome="rejected"\} 1\.0', text
    )
    assert 'apec_request_seconds_bucket{kind="command",le="0.1"}' in text
    assert "apec_scheduler_last_tick_timestamp_seconds" in text and "apec_posts_total" in text
    assert "no-such-thing" not in text  # what users type never becomes a label


def test_sigterm_during_a_post_lets_it_finish_and_records_it(db_path, web_api):
    key = "reminder:C1:aelm-2026:2026-11-18:0d"  # 09:00 UTC on the summit's first day
    db = connect(db_path)
    Desk(db).subscribe_reminders(
        "C1", "UTC", ("0d",), ("summit",), "U1", at("2026-11-01T00:00+00:00")
    )
    db.close()
    web_api.delay("chat.postMessage", 2.0)
    env = _env(
        APEC_DB=str(db_path),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=web_api.url,
        APEC_NOW="2026-11-18T08:59:59+00:00",
    )
    proc, _ = start(env)
    try:
        web_api.wait_for("chat.postMessage", timeout=20)  # the post is in flight, its answer held
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    db = connect(db_path)
    entry = Desk(db).delivery(key)
    db.close()
    assert entry is not None and entry.status == "sent" and entry.ts
    assert len(web_api.calls_to("chat.postMessage")) == 1


def test_json_logs_one_line_per_request_with_command_latency_and_outcome(db_path, web_api):
    from tests.conftest import Served

    env = _env(
        APEC_DB=str(db_path),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=web_api.url,
        APEC_NOW="2026-01-20T09:00+09:00",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "--log-format",
            "json",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stderr:
            found = re.search(r"serving HTTP on (http://[\d.]+:\d+)", line)
            if found:
                break
        Served(found.group(1), SIGNING_SECRET).command("next-meeting")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        rest = proc.stderr.read()
    records = [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    (request,) = [r for r in records if r.get("kind") == "command"]
    assert (
        request["command"] == "next-meeting"
        and request["outcome"] == "ok"
        and request["latency_ms"] >= 0
    )
    assert BOT_TOKEN not in rest and SIGNING_SECRET not in rest


def test_a_backup_restores_and_answers(db_path, tmp_path):
    db = connect(db_path)
    Desk(db).subscribe_reminders("C1", "UTC", ("7d",), ("som",), "U1", at("2026-07-01T00:00+00:00"))
    db.close()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "backup", str(tmp_path / "copy.db")],
        env=_env(APEC_DB=str(db_path)),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    restored = tmp_path / "restored.db"
    os.replace(tmp_path / "copy.db", restored)
    store = Store(connect(restored))
    assert store.next_meeting(after=at("2026-01-20T09:00+09:00")).short == "SOM1"
    assert Desk(store.db).subscription("C1", "reminders") is not None
    assert store.search("Bogor Goals")
    assert sqlite3.connect(restored).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_backup_to_a_missing_folder_is_one_line(db_path, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "backup", str(tmp_path / "no" / "x.db")],
        env=_env(APEC_DB=str(db_path)),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert (
        result.returncode == 1
        and "does not exist" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_backup_while_another_connection_writes(db_path, tmp_path):
    db = connect(db_path)
    db.execute("BEGIN")
    db.execute("INSERT INTO settings VALUES ('in-flight', 'x')")
    pages = backup(
        db_path, tmp_path / "b.db"
    )  # the open transaction is not in it, and nothing waits
    db.execute("COMMIT")
    db.close()
    assert pages > 0
    copy = sqlite3.connect(tmp_path / "b.db")
    assert copy.execute("SELECT count(*) FROM settings WHERE key = 'in-flight'").fetchone()[0] == 0


def test_redact_masks_tokens_whatever_logs_them():
    record = logging.LogRecord(
        "slack_sdk",
        logging.INFO,
        "",
        0,
        "calling with %s and xoxb-999-abc",
        ("secret-value-123",),
        None,
    )
    Redact(["secret-value-123"]).filter(record)
    text = JsonFormatter().format(record)
    assert "secret-value-123" not in text and "xoxb-999-abc" not in text and "[redacted]" in text


# -- make clean keeps the desk's store ------------------------------------------------------------


def test_make_clean_removes_the_venv_and_caches_and_never_a_store(tmp_path):
    """`make clean` run in a copy of the Makefile's folder: the venv and caches go, every store
    file (the desk's edits, subscriptions and delivery log) stays."""
    (tmp_path / "Makefile").write_text((ROOT / "Makefile").read_text())
    stores = ["apec.db", "apec.db-wal", "apec.db-shm", "apec.db.seen", "backup.db"]
    for name in stores:
        (tmp_path / name).write_text("the desk's")
    gone = [
        ".venv/bin/python",
        "store/__pycache__/db.cpython-311.pyc",
        ".pytest_cache/v",
        ".hypothesis/examples/x",
        ".ruff_cache/x",
        "build/lib/x",
        "apec_desk_bot.egg-info/x",
    ]
    for name in gone:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    planned = subprocess.run(["make", "-n", "clean"], cwd=tmp_path, capture_output=True, text=True)
    assert planned.returncode == 0 and ".db" not in planned.stdout, planned.stdout
    done = subprocess.run(["make", "clean"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert all((tmp_path / name).read_text() == "the desk's" for name in stores)
    for name in gone:  # each one's cache folder is gone (a package's own folder stays)
        folder = name.rsplit("/", 1)[0] if "__pycache__" in name else name.split("/")[0]
        assert not (tmp_path / folder).exists(), folder
    help_line = [
        ln for ln in (ROOT / "Makefile").read_text().splitlines() if ln.startswith("## clean:")
    ]
    assert help_line and "store" in help_line[0]


# -- log levels: WARNING is for what an operator should act on -----------------------------------


class JsonLog:
    """The JSON log records a process writes on stderr, read as they come by a thread."""

    def __init__(self, proc: subprocess.Popen) -> None:
        import queue
        import threading

        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.reader.start()
        self.records: list[dict] = []

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:
            self.lines.put(line)

    def _take(self, line: str) -> None:
        if line.startswith("{"):
            self.records.append(json.loads(line))

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        """Read on until a record's message holds `text` (queue.Empty fails the test)."""
        while not (self.records and text in self.records[-1]["message"]):
            self._take(self.lines.get(timeout=timeout))

    def rest(self) -> list[dict]:
        """Every record, once the process has ended and its stderr is read to the end."""
        self.reader.join(timeout=30)
        while not self.lines.empty():
            self._take(self.lines.get())
        return self.records


def test_a_fresh_store_s_start_and_stop_log_nothing_at_warning(tmp_path, web_api):
    """Built, holding the lease, the first catch-up and a clean stop are routine: INFO. A new
    store has missed no reminder while the bot was down (it was never up)."""
    db = tmp_path / "new.db"
    # From 20 May: SOM2 (from 18 May) and its reminders are past.
    env = _env(
        APEC_DB=str(db),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=web_api.url,
        APEC_REMINDER_CHANNEL="C1",
        APEC_NOW="2026-05-20T09:00+08:00",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "--debug",
            "--log-format",
            "json",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = JsonLog(proc)
    try:
        log.wait_for('Job "Scheduler.tick')  # the first tick: the catch-up has run
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    records = log.rest()
    ours = [r for r in records if r["logger"].startswith("apec")]
    (built,) = [r for r in ours if r["message"].startswith("Built ")]
    assert built["level"] == "info"
    assert any(r["message"].startswith("stopping") and r["level"] == "info" for r in ours)
    loud = [
        f"{r['level']} {r['logger']}: {r['message']}"
        for r in records
        if r["level"] in ("warning", "error", "critical")
    ]
    assert loud == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0


# -- a store that never ran a scheduler has missed nothing ----------------------------------------


def test_a_fresh_store_s_first_scheduler_run_skips_nothing_and_warns_of_nothing(
    stores, web_api, caplog
):
    """APEC_REMINDER_CHANNEL is owed reminders from the first run of a scheduler on the store
    on, not from the look-back: SOM2's reminders, due before this store ever ran, were never
    missed. A later restart after time down still catches up from there."""
    from tests.test_scheduler import engine_for

    clock = Clock(at("2026-05-20T01:00+00:00"))  # SOM2 (from 18 May): its 7d, 1d, 0d are past
    caplog.set_level(logging.INFO)
    first = engine_for(stores, web_api, clock, reminder_channel="C1")
    outcome = first.run_due()
    assert outcome.sent == [] and outcome.skipped == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    db = connect(stores.path)
    assert Desk(db).deliveries() == []
    db.close()
    first.release()

    clock.now = at("2026-11-12T09:00+00:00")  # down across the summit's 7d reminder (11 Nov)
    second = engine_for(stores, web_api, clock, reminder_channel="C1")
    outcome = second.run_due()
    assert outcome.sent == ["reminder:C1:aelm-2026:2026-11-18:7d"]  # late, the summit ahead
    assert not any("som2" in key for key in outcome.sent + outcome.skipped)


# -- metrics count a refusal as a refusal ---------------------------------------------------------


def test_metrics_count_a_refused_change_as_refused_and_an_admin_s_as_ok(db_path, web_api):
    from tests.conftest import Served

    web_api.set_user("U1")  # a member, not an admin
    env = _env(
        APEC_DB=str(db_path),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=web_api.url,
        APEC_NOW="2026-01-20T09:00+09:00",
        APEC_ADMINS="UADMIN",
    )
    proc, base = start(env)
    try:
        served = Served(base, SIGNING_SECRET, late=web_api)  # "Working on it": then its answer
        change = 'add-meeting "SOM9" 2026-08-10..2026-08-21 Dalian'
        status, body = served.command(change, user="U1")
        assert status == 200 and "only the desk's calendar keepers" in body
        status, body = served.command(change, user="UADMIN")
        assert status == 200 and "Added" in body
        _, text = _get(base, "/metrics")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    assert re.search(
        r'apec_requests_total\{command="add-meeting",kind="command",outcome="refused"\} 1\.0', text
    ), text
    assert re.search(
        r'apec_requests_total\{command="add-meeting",kind="command",outcome="ok"\} 1\.0', text
    ), text
