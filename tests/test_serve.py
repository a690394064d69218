"""`apec-bot serve` as an admin runs it: start-up checks, a real process answering signed requests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import BOT_TOKEN, ROOT, SIGNING_SECRET, Served


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
    return {**base, **extra}


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
    assert {"commands", "chat:write", "app_mentions:read"} <= set(
        manifest["oauth_config"]["scopes"]["bot"]
    )
    assert manifest["settings"]["socket_mode_enabled"] is (name == "manifest.yml")
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
