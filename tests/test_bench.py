"""The bench scripts keep working (their figures are read by people, not asserted here), and the
load bench's requests are what it says: its varied texts kept under the few questions they read
as, every text answered as the question it stands for. (That its uncached requests make every
reply is checked by the bench itself, from the reply cache's counts.)"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from functools import partial

import pytest

from bench.load_bench import (
    CACHED_TEXT,
    MEETING_KINDS,
    MIX,
    NOW,
    countdown_text,
    delegation_text,
    meeting_text,
    next_meeting_text,
)
from bot.replies import understood
from handlers.router import Ask, route
from tests.conftest import ROOT


@pytest.mark.parametrize(
    "argv",
    [
        ["store_bench.py", "--quick"],
        ["load_bench.py", "--quick"],
        ["load_bench.py", "--quick", "--memory", "300"],
        ["schedule_bench.py", "--quick"],
        ["edit_bench.py", "--quick"],
        ["server_bench.py", "--quick"],
        ["watch_bench.py", "--quick"],
        ["brief_bench.py", "--quick"],
        ["names_bench.py", "--quick"],
        ["timeline_bench.py", "--quick"],
    ],
    ids=" ".join,
)
def test_bench_script_runs_quick_and_prints_its_aims(argv):
    script, *options = argv
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *options],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Aim" in result.stdout and ("PASS" in result.stdout or "MISS" in result.stdout)


def test_the_varied_texts_are_kept_under_the_kinds_of_meeting_they_read(store):
    view = partial(store.at, datetime.fromisoformat(NOW).date())
    keys = {understood(next_meeting_text(n), view) for n in range(1, 5_001)}
    kinds = {f"{CACHED_TEXT} {kind}".strip() for kind in MEETING_KINDS}
    assert keys == kinds and understood(CACHED_TEXT, view) in kinds


# What a reply says when it did not understand the question
NOT_ANSWERS = ("Usage:", "I can't read", "I don't know", "I have no meeting called")


@pytest.mark.parametrize("make", MIX, ids=lambda f: f.__name__)
def test_every_uncached_text_is_answered_and_not_with_usage(store, make):
    now = datetime.fromisoformat(NOW)
    for n in [*range(60), 997, 5_003, 19_999]:
        text = make(n)
        reply = route(Ask(store=store, now=now, text=text)).plain()
        assert not any(no in reply for no in NOT_ANSWERS), (text, reply)


@pytest.mark.parametrize("n", [4, 5, 6, 7, 17, 998, 19_999])
def test_uncached_next_meeting_gets_the_answer_of_the_plain_command(store, n):
    now = datetime.fromisoformat(NOW)
    text = next_meeting_text(n)
    kind = text.split()[-1] if text.split()[-1] in ("som", "summit", "ministerial") else ""
    plain = f"{CACHED_TEXT} {kind}".strip()
    assert text != plain
    got = route(Ask(store=store, now=now, text=text)).plain()
    assert got == route(Ask(store=store, now=now, text=plain)).plain()


@pytest.mark.parametrize(
    ("make", "n", "plain"),
    [
        (countdown_text, 9, "countdown"),
        (delegation_text, 21 * 6 * 3 + 19, "delegation the United States SOM1"),
        (meeting_text, 6 * 9 + 1, "meeting SOM2"),
    ],
)
def test_uncached_words_are_read_past_as_in_the_plain_question(store, make, n, plain):
    now = datetime.fromisoformat(NOW)
    text = make(n)
    assert text != plain
    got = route(Ask(store=store, now=now, text=text)).plain()
    assert got == route(Ask(store=store, now=now, text=plain)).plain()
