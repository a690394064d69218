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
from tests.conftest import BOT_TOKEN, ROOT, SIGNING_SECRET, at
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
    base = {"APEC_DB": str(db_path), "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": web_api.url}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "bot", "serve", "--port", "0"], env=_env(**{**base, **env}),
                            capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert result.returncode == 1
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert web_api.calls == []  # nothing connected


def _get(base: str, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(base + path, timeout=10) as resp:
        return resp.status, resp.read().decode()


def test_metrics_count_requests_by_command_and_outcome(db_path, web_api):
    from tests.conftest import Served

    env = _env(APEC_DB=str(db_path), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               SLACK_API_URL=web_api.url, APEC_NOW="2026-01-20T09:00+09:00")  # fmt: skip
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
    env = _env(APEC_DB=str(db_path), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               SLACK_API_URL=web_api.url, APEC_NOW="2026-11-18T08:59:59+00:00")  # fmt: skip
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

    env = _env(APEC_DB=str(db_path), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               SLACK_API_URL=web_api.url, APEC_NOW="2026-01-20T09:00+09:00")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "bot", "--log-format", "json", "serve", "--host", "127.0.0.1",
                             "--port", "0"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
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
    result = subprocess.run([sys.executable, "-m", "bot", "backup", str(tmp_path / "copy.db")],
                            env=_env(APEC_DB=str(db_path)), capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stderr
    restored = tmp_path / "restored.db"
    os.replace(tmp_path / "copy.db", restored)
    store = Store(connect(restored))
    assert store.next_meeting(after=at("2026-01-20T09:00+09:00")).short == "SOM1"
    assert Desk(store.db).subscription("C1", "reminders") is not None
    assert store.search("Bogor Goals")
    assert sqlite3.connect(restored).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_backup_to_a_missing_folder_is_one_line(db_path, tmp_path):
    result = subprocess.run([sys.executable, "-m", "bot", "backup", str(tmp_path / "no" / "x.db")],
                            env=_env(APEC_DB=str(db_path)), capture_output=True, text=True, cwd=ROOT)  # fmt: skip
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
    record = logging.LogRecord("slack_sdk", logging.INFO, "", 0, "calling with %s and xoxb-999-abc",
                               ("secret-value-123",), None)  # fmt: skip
    Redact(["secret-value-123"]).filter(record)
    text = JsonFormatter().format(record)
    assert "secret-value-123" not in text and "xoxb-999-abc" not in text and "[redacted]" in text
