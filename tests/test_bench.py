"""The bench scripts keep working (their figures are read by people, not asserted here), and the
load bench's uncached requests are what it says: each text new to the reply cache, and answered
as the question it stands for."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest

from bench.load_bench import (
    CACHED_TEXT,
    MIX,
    NOW,
    countdown_text,
    delegation_text,
    meeting_text,
    mention_question,
    mix_text,
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


def _key(text: str) -> str:
    """What the reply cache tells questions apart by (bot/replies.py)."""
    words = understood(text)
    assert words is not None, text
    return words


@pytest.mark.parametrize(
    "make", [next_meeting_text, *MIX, mix_text, mention_question], ids=lambda f: f.__name__
)
def test_no_two_uncached_texts_are_the_same_question_to_the_cache(make):
    texts = [make(n) for n in range(1, 20_001)]
    keys = {_key(t) for t in texts} if make is not mention_question else set(texts)
    assert len(keys) == len(texts)


def test_the_uncached_and_the_mix_never_ask_what_the_other_or_the_cached_asked():
    uncached = {_key(next_meeting_text(n)) for n in range(1, 50_001)}
    mix = {_key(mix_text(n)) for n in range(1, 50_001)}
    assert not uncached & mix and _key(CACHED_TEXT) not in uncached | mix


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
