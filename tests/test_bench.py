"""The bench scripts keep working (their figures are read by people, not asserted here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize(
    "script",
    [
        "store_bench.py",
        "load_bench.py",
        "schedule_bench.py",
        "edit_bench.py",
        "server_bench.py",
        "watch_bench.py",
        "brief_bench.py",
        "names_bench.py",
        "timeline_bench.py",
    ],
)
def test_bench_script_runs_quick_and_prints_its_aims(script):
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Aim" in result.stdout and ("PASS" in result.stdout or "MISS" in result.stdout)
