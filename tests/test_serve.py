"""`apec-bot serve` as an admin runs it: start-up checks, a real process answering signed
requests."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import BOT_TOKEN, ROOT, SIGNING_SECRET, Served
from tests.slack_stub import WebAPIStub
from tests.test_store_faults import wait_until


def _env(**extra: str) -> dict[str, str]:
    """The environment of a `serve` under test: one process (tests of workers ask for more)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
    return {**base, "APEC_WORKERS": "1", **extra}


def start(env: dict[str, str], *args: str) -> tuple[subprocess.Popen, str]:
    """Start `apec-bot serve` on a free port; returns the process and its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    for line in proc.stderr:
        found = re.search(r"serving HTTP on (http://[\d.]+:\d+)", line)
        if found:
            return proc, found.group(1)
    proc.wait(timeout=10)
    raise AssertionError(f"serve did not start: exit {proc.returncode}")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "missing SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "missing SLACK_SIGNING_SECRET"),
        (
            {"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "s"},
            "SLACK_BOT_TOKEN is malformed",
        ),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "bad"}, "SLACK_APP_TOKEN is malformed"),
    ],
)
def test_serve_refuses_to_start_without_good_tokens(db_path, env, message):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env=_env(APEC_DB=str(db_path), **env),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "apec-bot shell" in result.stderr or "malformed" in result.stderr
    for secret in (BOT_TOKEN, "xoxp-user-token"):
        assert secret not in result.stderr


def test_serve_answers_a_signed_slash_command_and_stops_on_sigterm(db_path, web_api):
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
        status, body = served.command("next-meeting")
        assert status == 200 and "SOM1" in json.loads(body)["text"]
        assert served.get("/healthz")[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        out = proc.stderr.read()
    assert SIGNING_SECRET not in out and BOT_TOKEN not in out


def test_socket_mode_opens_its_connection_through_slack_api_url(db_path, web_api):
    env = _env(
        APEC_DB=str(db_path),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN="xapp-1-test",
        SLACK_API_URL=web_api.url,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        (call, *_) = web_api.wait_for("apps.connections.open", timeout=30)
        assert call.token == "xapp-1-test"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


@pytest.mark.parametrize("name", ["manifest.yml", "manifest-http.yml"])
def test_manifests_declare_the_command_events_and_scopes(name):
    manifest = yaml.safe_load((Path(ROOT) / "deploy" / name).read_text())
    assert manifest["features"]["slash_commands"][0]["command"] == "/apec"
    assert {"app_mention", "app_home_opened"} <= set(
        manifest["settings"]["event_subscriptions"]["bot_events"]
    )
    # every scope the code calls for (README, "Scopes"): reminders as direct messages among them
    needed = {
        "commands",
        "chat:write",
        "app_mentions:read",
        "im:write",
        "im:history",
        "users:read",
        "channels:read",
        "groups:read",
        "channels:history",
        "groups:history",
    }
    assert needed <= set(manifest["oauth_config"]["scopes"]["bot"])
    assert manifest["settings"]["socket_mode_enabled"] is (name == "manifest.yml")
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


# -- the HTTP front as `serve` wires it: the feed, /metrics, replays, the store's health ----------


def _http_env(db_path: Path, web_api: WebAPIStub, **extra: str) -> dict[str, str]:
    """The environment of an HTTP-mode `serve` over the store at `db_path`."""
    return _env(
        APEC_DB=str(db_path),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=web_api.url,
        APEC_NOW="2026-01-20T09:00+09:00",
        **extra,
    )


def _stop(proc: subprocess.Popen) -> str:
    """SIGTERM a `serve` and return what it said on stderr."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    return proc.stderr.read()


def test_serve_wires_the_feed_token_the_metrics_token_and_the_record_of_requests(db_path, web_api):
    from tests.test_http_edge import feed_token, request

    token = feed_token(db_path)
    proc, base = start(_http_env(db_path, web_api, APEC_METRICS_TOKEN="serve-metrics-token"))
    try:
        assert request(base, "GET", f"/calendar/{token}.ics")[0] == 200
        assert request(base, "GET", "/calendar.ics")[0] == 404
        assert request(base, "GET", "/metrics")[0] == 200  # loopback
        assert request(base, "GET", "/metrics", source="127.0.0.2")[0] == 403
        bearer = {"Authorization": "Bearer serve-metrics-token"}
        assert request(base, "GET", "/metrics", bearer, source="127.0.0.2")[0] == 200
        served = Served(base, SIGNING_SECRET)
        body = "command=%2Fapec&text=members&user_id=U1&channel_id=C1&team_id=T1"
        headers = served.signed(body)
        ctype = "application/x-www-form-urlencoded"
        statuses = [served.post(body, ctype, headers, sign=False)[0] for _ in range(2)]
        assert statuses == [200, 401]
    finally:
        out = _stop(proc)
    assert token not in out and "serve-metrics-token" not in out and SIGNING_SECRET not in out


def test_two_serve_processes_on_one_store_refuse_each_other_s_replays(db_path, web_api):
    first, first_base = start(_http_env(db_path, web_api))
    try:
        second, second_base = start(_http_env(db_path, web_api))
        try:
            body = "command=%2Fapec&text=members&user_id=U1&channel_id=C1&team_id=T1"
            headers = Served(first_base, SIGNING_SECRET).signed(body)
            ctype = "application/x-www-form-urlencoded"

            def post(base: str) -> int:
                return Served(base, SIGNING_SECRET).post(body, ctype, headers, sign=False)[0]

            statuses = [post(first_base)]
            # The window (bot/seen.py): the other refuses it once the first's writer has written
            # it, and it has read the file since (a process's first request reads it).
            wait_until(lambda: _seen_keys(db_path) > 0, what="the first's key written")
            statuses += [post(second_base), post(first_base)]
        finally:
            _stop(second)
    finally:
        _stop(first)
    assert statuses == [200, 401, 401]


def _seen_keys(db_path: Path) -> int:
    """How many signatures the record of requests beside the store holds (0 before it is made)."""
    try:
        conn = sqlite3.connect(f"file:{db_path}.seen?mode=ro", uri=True)
    except sqlite3.Error:
        return 0
    try:
        return int(conn.execute("SELECT count(*) FROM seen WHERE kind = 'signature'").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def _damage(path: Path, how: str) -> None:
    """Damage a store file in place: cut it in half, or overwrite the head of every page but the
    first."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        if how == "truncated":
            f.truncate(size // 2)
            return
        for offset in range(4096, size, 4096):
            f.seek(offset)
            f.write(b"\xff" * 16)


@pytest.mark.parametrize("how", ["truncated", "pages overwritten"])
def test_serve_refuses_a_damaged_store_with_one_line(db_path, web_api, how):
    _damage(db_path, how)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=_http_env(db_path, web_api),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "is damaged" in result.stderr, result.stderr
    assert "restore it from a backup" in result.stderr and "Traceback" not in result.stderr
    assert web_api.calls == []  # nothing connected


def test_healthz_says_503_when_the_store_is_damaged_under_a_running_serve(db_path, web_api):
    proc, base = start(_http_env(db_path, web_api))
    try:
        with db_path.open("r+b") as f:  # the same file, overwritten: what a failing disk does
            f.write(b"\0" * db_path.stat().st_size)
        status, body = Served(base, SIGNING_SECRET).get("/healthz")
    finally:
        _stop(proc)
    assert status == 503 and json.loads(body)["store"] != "ok", body


def test_the_store_probe_writes_at_most_every_few_seconds_and_reports_damage(db_path):
    from bot.stores import PROBE_EVERY, Stores
    from store.db import connect
    from tests.conftest import SEEDS

    ticks = [100.0]
    stores = Stores(db_path, SEEDS, ticks=lambda: ticks[0])
    db = connect(db_path)
    try:
        version = db.execute("PRAGMA data_version").fetchone()[0]
        assert stores.problem() is None
        probed = db.execute("PRAGMA data_version").fetchone()[0]
        assert probed != version  # a real write, seen by every reader
        ticks[0] += PROBE_EVERY / 2
        assert stores.problem() is None
        assert db.execute("PRAGMA data_version").fetchone()[0] == probed  # cached: no write
    finally:
        db.close()
    _damage(db_path, "pages overwritten")
    assert stores.problem() is None  # still the cached answer
    ticks[0] += PROBE_EVERY
    assert stores.problem() in {"does not open", "cannot be read"}
    db_path.unlink()
    ticks[0] += PROBE_EVERY
    assert stores.problem() == "missing" and not db_path.exists()
