"""Configuration in one place: bot/config.py's table of settings, the files generated from it
(deploy/.env.example, the README's table), every variable the code names, and
`apec-bot config --check`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SETTINGS, Config, ConfigError, env_example, markdown_table, with_readme_table

ROOT = Path(__file__).resolve().parent.parent
INTERFACE = ROOT.parent / "shared" / "INTERFACE.md"

# Secrets with tails unlike anything else the command prints: no five characters of a tail may show.
BOT_TOKEN = "xoxb-" + "Zq7Wv9Kp3Rm2Tx8Ny4Lb6Hd1Fj5Gc0Qs"
APP_TOKEN = "xapp-" + "Jw4Ux6Yt2Pv8Ok3Ir5Ea7Sd9Cn1Bm0Hl"
SIGNING_SECRET = "Vh8Gq3Rz6Lw1Xk9Tm4Pb7Ns2Dj5Fy0Ca"
METRICS_TOKEN = "Mk2Qz8Wr5Tn1Yb7Lp4Hx9Gv3Fd6Sj0Ue"
SECRETS = {
    "SLACK_BOT_TOKEN": ("xoxb-", BOT_TOKEN),
    "SLACK_APP_TOKEN": ("xapp-", APP_TOKEN),
    "SLACK_SIGNING_SECRET": ("", SIGNING_SECRET),
    "APEC_METRICS_TOKEN": ("", METRICS_TOKEN),
}

NAMED = re.compile(r"\b(?:APEC|SLACK)_[A-Z][A-Z0-9_]*\b")
READ = re.compile(
    r"""(?:os\.environ(?:\.get\(|\[|\.setdefault\(|\.pop\()|getenv\()\s*["']([A-Z][A-Z0-9_]*)["']"""
)


def check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_", "PROMETHEUS_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "config", "--check"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


# -- one table, and the files made from it ---------------------------------------------------------


def test_env_example_is_generated_from_the_table():
    assert (ROOT / "deploy" / ".env.example").read_text() == env_example(), (
        "deploy/.env.example differs from bot/config.py's table: "
        "run `python -m bot.config --update`"
    )


def test_readme_configuration_table_is_generated_from_the_table():
    readme = (ROOT / "README.md").read_text()
    assert with_readme_table(readme) == readme, (
        "the README's configuration table differs from bot/config.py's: "
        "run `python -m bot.config --update`"
    )


def test_the_generated_files_hold_each_variable_once_with_its_secrecy():
    example = env_example()
    for setting in SETTINGS:
        assert len(re.findall(rf"^#?{setting.name}=", example, re.M)) == 1, setting.name
        row = [
            line
            for line in markdown_table().splitlines()
            if line.startswith(f"| `{setting.name}` |")
        ]
        assert len(row) == 1, setting.name
        assert ("| yes |" in row[0]) == setting.secret, row[0]
    assert [s.name for s in SETTINGS if s.secret] == [
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "APEC_METRICS_TOKEN",
    ]


def _named_in_code() -> dict[str, str]:
    """Every variable name the code, the deployment files and INTERFACE.md mention, and where."""
    files = [p for d in ("bot", "handlers", "store") for p in sorted((ROOT / d).rglob("*.py"))]
    files += [
        p for p in sorted((ROOT / "deploy").iterdir()) if p.is_file() and p.name != ".env.example"
    ]
    files += [INTERFACE] if INTERFACE.exists() else []
    found: dict[str, str] = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        for name in [*NAMED.findall(text), *READ.findall(text)]:
            found.setdefault(name, str(path.relative_to(path.parents[1])))
    return found


def test_every_variable_the_code_names_is_in_the_table():
    named = _named_in_code()
    # the scan itself works: it finds names in prose, in code and in os.environ[...] writes
    assert {
        "SLACK_BOT_TOKEN",
        "APEC_STOP_TIMEOUT",
        "APEC_BRIEF_PAPER",
        "PROMETHEUS_MULTIPROC_DIR",
    } <= set(named)
    table = {s.name for s in SETTINGS}
    missing = {name: where for name, where in named.items() if name not in table}
    assert not missing, f"read or named but not in bot/config.py's SETTINGS: {missing}"


def test_from_env_reads_every_variable_in_the_table_and_no_other():
    asked: list[str] = []

    class Env(dict):
        def get(self, key, default=None):
            asked.append(key)
            return super().get(key, default)

        def __getitem__(self, key):
            asked.append(key)
            return super().__getitem__(key)

    Config.from_env(Env())
    assert sorted(set(asked)) == sorted(s.name for s in SETTINGS)


# -- errors name the variable and the next step ----------------------------------------------------


def test_a_wrong_apec_seeds_names_the_variable_and_what_to_do(tmp_path):
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"APEC_SEEDS": str(tmp_path)})
    assert str(caught.value) == (
        f"APEC_SEEDS={tmp_path}: no desk file at {tmp_path / 'desk.toml'} — point APEC_SEEDS at "
        "the seeds folder (unset it for the packaged seeds)"
    )


def test_a_wrong_apec_seeds_stops_a_command_with_that_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "command", "help"],
        capture_output=True,
        text=True,
        env={**os.environ, "APEC_SEEDS": str(tmp_path), "APEC_DB": str(tmp_path / "a.db")},
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "APEC_SEEDS=" in result.stderr, result.stderr
    assert "point APEC_SEEDS at the seeds folder" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APEC_NOW", "tomorrow-ish"),
        ("APEC_NOW", "2026-01-20T09:00"),
        ("APEC_TZ", "Mars/Olympus"),
        ("APEC_TZ", "../etc/passwd"),
        ("APEC_SEEDS", "/no/such/seeds"),
        ("SLACK_API_URL", "slack.com/api"),
        ("APEC_PUBLIC_URL", "bot.example.org"),
        ("APEC_LEASE_TTL", "soon"),
        ("APEC_LEASE_TTL", "0"),
        ("APEC_WORKERS", "0"),
        ("APEC_WORKERS", "many"),
        ("APEC_FEEDS", "ftp://example.org/feed"),
        ("APEC_FEEDS", "http://127.0.0.1:8080/rss"),
        ("APEC_FETCH_ALLOW", "10.0.0.0/33"),
        ("APEC_STOP_TIMEOUT", "-1"),
        ("APEC_BRIEF_PAPER", "A5"),
    ],
)
def test_every_config_error_names_its_variable_and_the_next_step(name, value):
    with pytest.raises(ConfigError) as caught:
        Config.from_env({name: value})
    message = str(caught.value)
    assert message.startswith((f"{name}: ", f"{name}=")), message
    assert "\n" not in message and " — " in message, message  # the problem — what to do next


# -- apec-bot config --check -----------------------------------------------------------------------


def test_config_check_never_shows_a_secret_beyond_its_known_prefix(tmp_path):
    env = {
        "APEC_DB": str(tmp_path / "apec.db"),
        **{name: value for name, (_, value) in SECRETS.items()},
    }
    result = check(env)
    assert result.returncode == 0, result.stderr
    said = result.stdout + result.stderr
    for name, (prefix, value) in SECRETS.items():
        tail = value[len(prefix) :]
        leaked = [tail[i : i + 5] for i in range(len(tail) - 4) if tail[i : i + 5] in said]
        assert not leaked, f"{name}'s characters {leaked} are in the output"
        shown = f"set ({prefix}…, {len(value)} chars)" if prefix else f"set ({len(value)} chars)"
        assert re.search(rf"^{name} +{re.escape(shown)} +environment$", result.stdout, re.M), (
            result.stdout
        )


def test_config_check_without_slack_settings_says_what_each_mode_misses_and_exits_2(tmp_path):
    result = check({"APEC_DB": str(tmp_path / "apec.db")})
    assert result.returncode == 2
    problems = result.stderr.splitlines()
    assert len(problems) == 2, result.stderr  # one line a problem: serve's HTTP mode needs both
    assert problems[0].startswith("apec-bot: SLACK_BOT_TOKEN: not set — ")
    assert problems[1].startswith("apec-bot: SLACK_SIGNING_SECRET: not set — ")
    assert "SLACK_APP_TOKEN" in problems[1]  # the other way: Socket Mode
    assert "Socket Mode: missing SLACK_BOT_TOKEN and SLACK_APP_TOKEN" in result.stdout
    assert "HTTP mode: missing SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in result.stdout


@pytest.mark.parametrize(
    ("slack", "mode"),
    [
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}, "HTTP mode"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}, "Socket Mode"),
    ],
)
def test_config_check_with_one_mode_complete_exits_0_and_names_it(tmp_path, slack, mode):
    result = check({"APEC_DB": str(tmp_path / "apec.db"), **slack})
    assert (result.returncode, result.stderr) == (0, "")
    assert f"{mode}: ready" in result.stdout
    assert f"serve would run in {mode}" in result.stdout


def test_config_check_names_a_token_in_the_wrong_variable_without_showing_it(tmp_path):
    result = check(
        {
            "APEC_DB": str(tmp_path / "apec.db"),
            "SLACK_BOT_TOKEN": APP_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        }
    )
    assert result.returncode == 2
    assert result.stderr.startswith(
        "apec-bot: SLACK_BOT_TOKEN: holds an app-level token (xapp-…) — "
    )
    assert result.stderr.count("\n") == 1
    assert APP_TOKEN[5:10] not in result.stdout + result.stderr


def test_config_check_lists_every_invalid_setting_one_line_each_and_exits_1(tmp_path):
    env = {
        "APEC_DB": str(tmp_path / "apec.db"),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "APEC_TZ": "Mars/Olympus",
        "APEC_SEEDS": str(tmp_path),
        "APEC_WORKERS": "0",
    }
    result = check(env)
    assert result.returncode == 1
    problems = result.stderr.splitlines()
    assert [p.split(":", 2)[1].strip().split("=")[0] for p in problems] == [
        "APEC_SEEDS",
        "APEC_TZ",
        "APEC_WORKERS",
    ]
    assert all(" — " in p for p in problems), problems
    assert re.search(r"^APEC_TZ +invalid +environment$", result.stdout, re.M), result.stdout


def test_config_check_names_a_store_folder_that_does_not_exist(tmp_path):
    result = check(
        {
            "APEC_DB": str(tmp_path / "no" / "apec.db"),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        }
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"apec-bot: APEC_DB={tmp_path / 'no' / 'apec.db'}: the folder ")


def test_config_check_shows_each_value_and_where_it_came_from(tmp_path):
    result = check(
        {
            "APEC_DB": str(tmp_path / "apec.db"),
            "APEC_TZ": "Asia/Seoul",
            "APEC_ADMINS": "U2, U1",
            "APEC_REMINDER_CHANNEL": "",
        }
    )
    lines = result.stdout.splitlines()
    for setting in SETTINGS:  # every variable, once
        assert len([line for line in lines if line.split(" ", 1)[0] == setting.name]) == 1, (
            setting.name
        )
    assert re.search(r"^APEC_TZ +Asia/Seoul +environment$", result.stdout, re.M)
    assert re.search(r"^APEC_ADMINS +U1,U2 +environment$", result.stdout, re.M)
    assert re.search(r"^APEC_DESK_NAME +APEC desk +default$", result.stdout, re.M)
    assert re.search(r"^APEC_REMINDER_CHANNEL +none +default \(set empty\)$", result.stdout, re.M)
    assert re.search(r"^SLACK_BOT_TOKEN +not set +default$", result.stdout, re.M)
