"""The types are checked: mypy, as pyproject.toml's [tool.mypy] sets it up (strict on store/ and
handlers/, its defaults on bot/), finds no error. `make lint` runs the same check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"


def _mypy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No cache: every run checks from scratch (about 10-15 s), and nothing is written to the tree.
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(PYPROJECT),
            "--cache-dir",
            os.devnull,
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_mypy_finds_no_error_in_store_handlers_and_bot() -> None:
    checked = _mypy(cwd=ROOT)  # the files [tool.mypy] names
    said = checked.stdout + checked.stderr
    assert checked.returncode == 0, f"mypy found errors (run `make lint`):\n{said}"
    assert "Success: no issues found" in said, said


def test_store_and_handlers_are_strict_and_bot_is_not(tmp_path: Path) -> None:
    # The same untyped function in a module of each package: strict mode refuses it in store/
    # and handlers/ only. (`strict = true` in an override would switch it on for bot/ as well.)
    for package in ("store", "handlers", "bot"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "probe.py").write_text("def untyped(x):\n    return x\n")
    probes = [f"{package}/probe.py" for package in ("store", "handlers", "bot")]
    checked = _mypy(*probes, cwd=tmp_path)
    said = checked.stdout + checked.stderr
    assert checked.returncode == 1, said
    flagged = {line.split(":")[0] for line in said.splitlines() if "[no-untyped-def]" in line}
    assert flagged == {"store/probe.py", "handlers/probe.py"}, said
