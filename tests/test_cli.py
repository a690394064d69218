"""The command line as users run it: a real `apec-bot` process, a real store file, exit codes."""

from __future__ import annotations

import json
import os
import re
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


def test_ingest_of_a_missing_file_is_one_line_naming_it(env, tmp_path):
    missing = tmp_path / "missing.txt"
    result = run("ingest", str(missing), env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == f"apec-bot: {missing}: no such file\n"  # not "[Errno 2] ..."


def test_ingest_of_a_folder_says_it_takes_files(env, tmp_path):
    result = run("ingest", str(tmp_path), env=env)
    assert result.returncode == 1
    assert result.stderr == f"apec-bot: {tmp_path}: a folder, not a file: name the files in it\n"


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


# -- --version, and messages that say what to do next ---------------------------------------------


def test_version_is_the_installed_distribution_s_on_one_line():
    from importlib.metadata import version

    result = run("--version")
    assert result.returncode == 0
    assert result.stdout == f"apec-bot {version('apec-desk-bot')}\n"


@pytest.mark.parametrize(
    "content",
    [b"this is not a database, it is a note\n" * 200, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["not-sqlite", "damaged-header"],
)
@pytest.mark.parametrize("command", [["command", "help"], ["schedule"], ["build"], ["shell"]])
def test_a_corrupt_store_names_the_file_and_the_way_back(tmp_path, content, command):
    path = tmp_path / "apec.db"
    path.write_bytes(content)
    result = run(*command, env={"APEC_DB": str(path)})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        f"apec-bot: the store at {path} is not a SQLite database (or is damaged): restore a "
        "backup made with `apec-bot backup`, or move it aside and run `apec-bot build`\n"
    )
    assert path.read_bytes() == content  # left as it was, for whoever looks into it


def test_backing_up_a_corrupt_store_says_so_and_writes_nothing(tmp_path):
    path = tmp_path / "apec.db"
    path.write_bytes(b"not a database\n" * 300)
    result = run("backup", str(tmp_path / "copy.db"), env={"APEC_DB": str(path)})
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert f"the store at {path} is not a SQLite database (or is damaged)" in result.stderr
    assert not (tmp_path / "copy.db").exists()


def _subscribe(db_path: Path, channel: str = "C1") -> None:
    from datetime import datetime

    from store.db import connect
    from store.desk import Desk

    db = connect(db_path)
    Desk(db).subscribe_reminders(
        channel, "UTC", ("7d",), ("summit",), "U1", datetime.fromisoformat("2026-11-01T00:00+00:00")
    )
    db.close()


def test_schedule_with_no_subscription_says_so_and_how_to_subscribe(env):
    result = run("schedule", "--now", "2026-11-05T00:00+00:00", env=env)
    assert result.returncode == 0 and result.stdout == ""
    assert "nothing is planned: no channel is subscribed" in result.stderr
    assert "`/apec subscribe`" in result.stderr and "APEC_REMINDER_CHANNEL" in result.stderr
    assert result.stderr.count("\n") == 1


def test_schedule_with_no_dated_meeting_in_the_window_says_so(env, db_path):
    _subscribe(db_path)
    result = run("schedule", "--now", "2026-11-20T00:00+00:00", "--days", "30", env=env)
    assert result.returncode == 0 and result.stdout == ""
    assert result.stderr.startswith(
        "apec-bot: nothing is planned in the next 30 days: no dated meeting falls in them"
    )
    assert "1 subscription" in result.stderr and result.stderr.count("\n") == 1


def test_schedule_with_every_post_already_made_says_so(env, db_path):
    from datetime import datetime

    from store.db import connect
    from store.desk import Desk

    _subscribe(db_path)
    key, due = (
        "reminder:C1:aelm-2026:2026-11-18:7d",
        datetime.fromisoformat("2026-11-11T09:00+00:00"),
    )
    planned = run("schedule", "--now", "2026-11-10T00:00+00:00", "--days", "3", env=env)
    assert planned.stdout.startswith("2026-11-11T09:00:00Z C1 reminder AELM")
    db = connect(db_path)
    Desk(db).record_skipped(key, "C1", "reminder", "aelm-2026", due, "test")
    db.close()
    result = run("schedule", "--now", "2026-11-10T00:00+00:00", "--days", "3", env=env)
    assert result.returncode == 0 and result.stdout == ""
    assert result.stderr == (
        "apec-bot: nothing left to post in the next 3 days: the 1 post planned was already "
        "made (sent or skipped)\n"
    )


# -- the console on a terminal: the log and the scheduler's posts never land inside the prompt ---


def _screen(raw: str) -> list[str]:
    """What a terminal shows for `raw`: lines, where "\\r\\x1b[K" clears the line so far."""
    lines = [""]
    for part in re.split(r"(\r\x1b\[K|\r\n|\n|\r)", raw):
        if part == "\r\x1b[K" or part == "\r":
            lines[-1] = ""
        elif part in ("\n", "\r\n"):
            lines.append("")
        else:
            lines[-1] += part
    return lines


def test_shell_on_a_terminal_puts_log_lines_and_posts_above_the_prompt(tmp_path):
    """A reminder falls due while the prompt waits: its post and the log line about it appear
    whole above the prompt, which is shown again with what was typed so far."""
    import pty
    import select
    import time

    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
    # The summit's 7d reminder is due at 09:00 UTC on 11 November: the clock starts 4 s before
    # it and runs on in real time (APEC_NOW), so the post comes while the prompt waits.
    env |= {
        "APEC_DB": str(tmp_path / "apec.db"),
        "APEC_REMINDER_CHANNEL": "CDESK",
        "APEC_NOW": "2026-11-11T08:59:56+00:00",
        "TERM": "xterm",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "shell"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        cwd=ROOT,
    )
    os.close(follower)
    raw, typed = b"", False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and b"AELM" not in raw.split(b"posted to #CDESK")[-1]:
            if not typed and raw.rstrip().endswith(b">"):
                os.write(leader, b"/apec cou")  # half a line typed when the post arrives
                typed = True
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                raw += os.read(leader, 65536)
        # and the log line about the post, then the prompt redrawn
        while time.monotonic() < deadline and not (
            b"posted reminder" in raw and raw.endswith(b"> /apec cou")
        ):
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                raw += os.read(leader, 65536)
    finally:
        proc.kill()
        proc.wait()
        os.close(leader)
    screen = _screen(raw.decode("utf-8", "replace"))
    assert "[posted to #CDESK]" in screen, raw[-2000:]
    assert any(" INFO apec.scheduler: " in line and "aelm-2026" in line for line in screen)
    for line in screen[:-1]:  # nothing written into a prompt's line
        assert not (line.startswith(">") and ("INFO" in line or "posted to" in line)), line
    assert screen[-1] == "> /apec cou"  # the prompt again, with what was typed
