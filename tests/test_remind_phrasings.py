"""`/apec remind` against a corpus of phrasings in the words of Slack's own `/remind`."""

from __future__ import annotations

import json
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import handlers.reminders  # noqa: F401  - registers the commands
from handlers.router import Ask, route
from store.desk import Desk

CORPUS = Path(__file__).parent / "corpus" / "reminders.toml"
CASES: list[dict[str, str]] = tomllib.loads(CORPUS.read_text(encoding="utf-8"))["case"]
NEEDED = 0.95


def outcome(store, number: int, case: dict[str, str]) -> str:
    """What the bot did with one phrasing, written as the corpus writes it."""
    zone, channel = ZoneInfo(case["zone"]), f"C{number}"
    ask = Ask(
        store=store,
        now=datetime.fromisoformat(case["now"]),
        text=f"remind {case['say']}",
        user="U1",
        channel=channel,
        tz=zone,
    )
    reply = route(ask).payload()
    said = reply["text"] + json.dumps(reply.get("blocks", []), ensure_ascii=False)
    queued = Desk(store.db).one_offs(channel)
    if not queued:
        return f"refused: {said}"
    (one,) = queued
    named = "" if case["zone"] in said else " (zone not named)"
    return f"due {one.due_at.astimezone(zone):%Y-%m-%dT%H:%M} text {one.text!r}{named}"


def expected(case: dict[str, str]) -> str:
    if "refused" in case:
        return f"refused: …{case['refused']}…"
    return f"due {case['due']} text {case['text']!r}"


def right(got: str, case: dict[str, str]) -> bool:
    if "refused" in case:
        return got.startswith("refused: ") and case["refused"] in got
    return got == expected(case)


def test_the_corpus_has_sixty_phrasings_each_with_one_expectation():
    assert len(CASES) >= 60
    for case in CASES:
        assert {"say", "now", "zone"} <= case.keys(), case
        assert ("refused" in case) != ({"due", "text"} <= case.keys()), case
        assert datetime.fromisoformat(case["now"]).tzinfo is not None, case


def test_at_least_95_percent_of_the_phrasings_are_read_as_slack_s_remind_reads_them(store, reports):
    misses = []
    for number, case in enumerate(CASES, 1):
        got = outcome(store, number, case)
        if not right(got, case):
            misses.append(
                f"remind {case['say']!r} at {case['now']} ({case['zone']}): "
                f"expected {expected(case)}, got {got}"
            )
    share = 1 - len(misses) / len(CASES)
    reports.append(
        f"Reminder phrasings: {len(CASES) - len(misses)} of {len(CASES)} right ({share:.0%})"
    )
    assert share >= NEEDED, f"{share:.0%} right, below {NEEDED:.0%}:\n" + "\n".join(misses)
