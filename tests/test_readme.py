"""README.md's examples, run for real and compared with what the bot prints, so the README
cannot drift.

The convention, also noted in the README's source: a fenced block whose first line starts with `$ `
is an example. Each `$ ` line in it is a command as a reader types it in the checkout: leading
`NAME=value` words set the environment, then `apec-bot ARGS` (or `.venv/bin/apec-bot ARGS`). The
lines after it, up to the next `$ ` line or the end of the block, are what the command prints on
standard output. In `apec-bot shell` examples, a line starting `> ` is typed (fed on standard
input, as `printf '…\\n' | apec-bot shell` does) and the other lines are the console's answers;
typed at a terminal the console also greets and prompts, which the README does not show.

Every example carries its clock (`APEC_NOW=…` or `--now …`), since answers depend on the day. Each
runs the installed `apec-bot` in a subprocess on a fresh copy of a store built from `seeds/`, with
no other `APEC_` or `SLACK_` variable than `APEC_DB`, `APEC_TZ=UTC` (the default) and those the
example sets. Output is compared exactly, only trailing white space normalised.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
APEC_BOT = Path(sys.executable).parent / "apec-bot"  # the installed console script
FENCE = re.compile(r"^\s*(`{3,})")
ASSIGNMENT = re.compile(r"^[A-Z][A-Z0-9_]*=")
TRANSCRIPT_LINE = re.compile(r"^> (/apec|@bot)\b")


@dataclass(frozen=True)
class Example:
    line: int  # of its `$ ` line in README.md
    command: str
    env: dict[str, str]
    args: list[str]  # after `apec-bot`
    typed: list[str]  # standard input, one line each
    expected: list[str]


def fenced_blocks(text: str) -> list[tuple[int, list[str]]]:
    """Each fenced block's first line number (1-based, of its first content line) and its lines."""
    blocks, lines, start, fence = [], text.splitlines(), 0, ""
    for number, line in enumerate(lines, 1):
        opened = FENCE.match(line)
        if not fence and opened:
            fence, start, body = opened.group(1), number + 1, []
        elif fence and line.strip().startswith(fence) and not line.strip().strip("`"):
            blocks.append((start, body))
            fence = ""
        elif fence:
            body.append(line)
    return blocks


def parse(command: str, line: int) -> tuple[dict[str, str], list[str]]:
    """The environment and `apec-bot` arguments of one `$ ` line."""
    words = shlex.split(command, comments=True)
    env = {}
    while words and ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if not words or Path(words[0]).name != "apec-bot":
        raise ValueError(f"README.md:{line}: an example runs `apec-bot …`, not `{command}`")
    return env, words[1:]


def examples(text: str) -> list[Example]:
    found = []
    for start, body in fenced_blocks(text):
        if not body or not body[0].startswith("$ "):
            continue
        current: dict | None = None
        for offset, line in enumerate(body):
            if line.startswith("$ "):
                if current:
                    found.append(Example(**current))
                command = line[2:].strip()
                env, args = parse(command, start + offset)
                current = dict(
                    line=start + offset, command=command, env=env, args=args, typed=[], expected=[]
                )
            elif current["args"][:1] == ["shell"] and line.startswith("> "):
                current["typed"].append(line[2:])
            else:
                current["expected"].append(line)
        found.append(Example(**current))
    return found


EXAMPLES = examples(README.read_text(encoding="utf-8"))


def test_the_readme_shows_its_examples_in_the_form_this_test_runs():
    # Nothing vacuous: the first screen's transcript and the sections' examples are all found...
    assert len(EXAMPLES) >= 6
    assert EXAMPLES[0].args == ["shell"] and EXAMPLES[0].line < 40  # the first screen's transcript
    assert any(e.args[:1] == ["command"] for e in EXAMPLES)
    assert any(e.args[:1] == ["mention"] for e in EXAMPLES)
    # ...and no transcript of the bot answering sits in a block this test would not run.
    for start, body in fenced_blocks(README.read_text(encoding="utf-8")):
        if any(TRANSCRIPT_LINE.match(line) for line in body):
            assert body[0].startswith("$ "), f"README.md:{start}: a transcript needs its `$ ` line"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"README.md:{e.line}")
def test_each_example_carries_its_clock(example: Example):
    assert "APEC_NOW" in example.env or "--now" in example.args, (
        f"README.md:{example.line}: `{example.command}` needs APEC_NOW=… or --now …"
    )


def test_make_run_is_the_console_of_the_first_example():
    # The quick start says `APEC_NOW=… make run` shows the first transcript: make runs the shell.
    recipe = re.search(r"^run:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe and recipe.group(1).strip().lstrip("@") == "$(BIN)/apec-bot shell"
    assert EXAMPLES[0].args == ["shell"] and "APEC_NOW" in EXAMPLES[0].env


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"README.md:{e.line}")
def test_each_example_prints_what_the_readme_shows(example: Example, built_db: Path, tmp_path):
    assert APEC_BOT.exists(), f"{APEC_BOT} is not installed: `make run` once installs it"
    db = tmp_path / "apec.db"
    shutil.copy(built_db, db)  # a fresh store, built from seeds/ once for the session
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
    env.update({"APEC_DB": str(db), "APEC_TZ": "UTC", "PYTHONUTF8": "1", **example.env})
    result = subprocess.run(
        [str(APEC_BOT), *example.args],
        input="".join(f"{line}\n" for line in example.typed),
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    printed = [line.rstrip() for line in result.stdout.splitlines()]
    shown = [line.rstrip() for line in example.expected]
    while shown and not shown[-1]:
        shown.pop()
    while printed and not printed[-1]:
        printed.pop()
    assert printed == shown, (
        f"README.md:{example.line}: `{example.command}` printed something else; "
        "update the README to what the bot prints (or fix the bot)"
    )
