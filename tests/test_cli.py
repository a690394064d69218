"""The command line as users run it: a real `apec-bot` process, a real store file, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Config

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict[str, str] | None = None, stdin: str = "", cwd: Path | None = None):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd or ROOT,
        timeout=120,
    )


@pytest.fixture
def env(db_path: Path) -> dict[str, str]:
    return {"APEC_DB": str(db_path)}


def test_command_on_a_fresh_checkout_builds_the_store_first(tmp_path):
    result = run(
        "command",
        "next-meeting",
        "--now",
        "2026-01-20T09:00+09:00",
        env={"APEC_DB": str(tmp_path / "new.db")},
    )
    assert result.returncode == 0, result.stderr
    assert "SOM1" in result.stdout and "Guangzhou" in result.stdout
    assert (tmp_path / "new.db").exists()


def test_next_meeting_today_says_none_upcoming_and_names_the_last(env):
    result = run("command", "next-meeting", "--now", "2026-11-24T09:00+09:00", env=env)
    assert result.returncode == 0
    assert (
        "No upcoming meeting is on record" in result.stdout and "Leaders' Meeting" in result.stdout
    )


def test_mention_answers_casey_mace_and_cites(env):
    result = run("mention", "who leads the US delegation?", env=env)
    assert result.returncode == 0
    assert "Casey Mace" in result.stdout and "Source:" in result.stdout


def test_json_prints_the_slack_payload(env):
    result = run("command", "members", "--json", env=env)
    payload = json.loads(result.stdout)
    assert set(payload) >= {"text", "blocks", "response_type"}


def test_apec_now_sets_the_clock_and_now_overrides_it(env):
    env = {**env, "APEC_NOW": "2026-01-20T09:00+09:00"}
    assert "SOM1" in run("command", "next-meeting", env=env).stdout
    assert (
        "No upcoming"
        in run("command", "next-meeting", "--now", "2026-11-24T09:00+09:00", env=env).stdout
    )


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "2026-01-20T09:00"])
def test_a_bad_now_is_bad_usage(env, bad):
    result = run("command", "next-meeting", "--now", bad, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_a_bad_apec_tz_is_one_line_and_exit_1(env):
    result = run("command", "help", env={**env, "APEC_TZ": "Mars/Olympus"})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "APEC_TZ" in result.stderr


def test_an_unopenable_store_is_one_line_and_exit_1(tmp_path):
    result = run("command", "help", env={"APEC_DB": str(tmp_path / "no" / "such" / "dir" / "x.db")})
    assert (
        result.returncode == 1
        and "Traceback" not in result.stderr
        and result.stderr.count("\n") == 1
    )


def test_unknown_question_exits_0_with_no_source(env):
    result = run("mention", "what is the capital of Peru?", env=env)
    assert result.returncode == 0 and "no source" in result.stdout


def test_build_prints_a_summary_and_is_idempotent(env):
    first = run("build", env=env)
    second = run("build", env=env)
    assert first.returncode == second.returncode == 0
    assert "meetings" in first.stdout and "passages" in first.stdout


def test_ingest_prints_what_it_found(env, tmp_path):
    doc = tmp_path / "note.txt"
    doc.write_text(
        "SOM3 dates\n\nSOM3 will meet in Dalian from August 10 to 21, 2026, said Guo Jiakun.\n"
    )
    result = run("ingest", str(doc), env=env)
    assert result.returncode == 0, result.stderr
    for found in ("10–21 August 2026", "Guo Jiakun", "SOM3"):
        assert found in result.stdout


def test_ingest_of_a_missing_file_is_one_line(env, tmp_path):
    result = run("ingest", str(tmp_path / "missing.txt"), env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_ingest_names_each_source_it_could_not_read_and_keeps_the_others(env, tmp_path):
    doc = tmp_path / "note.txt"
    doc.write_text("SOM3 note\n\nSOM3 will meet in Dalian in August 2026.\n")
    closed = "http://127.0.0.1:9/feed.xml"  # the discard port: nothing listens
    result = run("ingest", closed, str(tmp_path / "missing.txt"), str(doc), env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"apec-bot: {closed}: " in result.stderr and "missing.txt: " in result.stderr
    assert f"{doc}: added as source" in result.stdout and "  economies:" not in result.stdout
    assert "  meetings:" in result.stdout


def test_shell_answers_piped_lines_and_exits_at_end_of_input(env):
    result = run(
        "shell",
        env={**env, "APEC_NOW": "2026-02-03T09:00+08:00"},  # SOM1 and its US delegation out
        stdin="/apec next-meeting\n@bot who leads the US delegation?\n",
    )
    assert result.returncode == 0
    assert "SOM1" in result.stdout and "Casey Mace" in result.stdout


def test_ingest_of_a_long_document_reports_each_sentence_once_and_caps_the_listing(env, tmp_path):
    doc = tmp_path / "long.txt"
    lines = [
        f"Delegates from Peru and Chile met in Lima on May {d % 28 + 1}, 2026." for d in range(28)
    ]
    doc.write_text("Long notes\n\n" + "\n".join(lines * 50))  # 1,400 lines, 28 distinct
    result = run("ingest", str(doc), env=env)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.count("in: Delegates from Peru and Chile met in Lima on May 1, 2026.") == 3
    )  # date, 2 economies
    assert (
        "... and 6 more economy findings" in result.stdout
    )  # 28 sentences x 2 economies, 50 shown


@pytest.mark.parametrize("bad", ["0", "-5", "soon", "99999"])
def test_a_bad_lease_ttl_is_one_line_and_exit_1(env, bad):
    result = run("command", "help", env={**env, "APEC_LEASE_TTL": bad})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "APEC_LEASE_TTL" in result.stderr


def test_host_id_and_lease_ttl_come_from_the_environment():
    config = Config.from_env({"APEC_HOST_ID": "desk:a", "APEC_LEASE_TTL": "3"})
    assert config.host_id == "desk-a"  # ':' separates a holder's parts
    assert config.lease_ttl == 3.0
    assert Config.from_env({}).lease_ttl is None
