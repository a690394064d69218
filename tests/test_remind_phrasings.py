"""`/apec remind` against corpora of phrasings in the words of Slack's own `/remind`.

reminders.toml is the first corpus (one-offs into the channel, in the channel's zone), written
before the grammar of issue 20 (the README's table); reminders-slack.toml
was written blind from that grammar (one-off and recurring; for me, a person, a channel; in the
asker's own zone). Neither is edited to fit the bot: a miss is reported, not hidden.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import handlers.reminders  # noqa: F401  - registers the commands
from handlers.router import Ask, route
from store.desk import Desk, Recurring
from store.queries import Store
from store.schedule import next_occurrence

HERE = Path(__file__).parent / "corpus"
FIRST = HERE / "reminders.toml"
SLACK = HERE / "reminders-slack.toml"
CASES: list[dict[str, str]] = tomllib.loads(FIRST.read_text(encoding="utf-8"))["case"]
NEEDED = 0.95
SLACK_NEEDED = 0.97
ASKER = "U0ASKER1"
DESK_ZONE = ZoneInfo("UTC")  # APEC_TZ: the asker's own zone must be the one read

# The first corpus's cases whose expectation issue 20's grammar changes, with the line of the
# grammar that changes it, and what the grammar reads instead. Their corpus lines are left as
# written: these are scored apart, against the grammar.
BARE_HOUR = (
    "A bare hour 1–12 with no am/pm: its NEXT SENSIBLE OCCURRENCE: the first of H:00 and "
    "(H+12):00 that is still to come"
)
WITH_A_DAY = (
    'With a day given ("tomorrow at 9", "friday at 9", "march 5 at 9"), the morning one: H:00 '
    "when 7 ≤ H ≤ 11, else (H+12):00"
)
PERSON = (
    "WHO: a person, as Slack sends it in a command's text: `<@U0ABC123|ann>` (or `<@U0ABC123>`) → "
    "a direct message to that person"
)
SPEC_CHANGED = {
    "march 5 at 9 review the agenda": (WITH_A_DAY, "due 2027-03-05T09:00 text 'review the agenda'"),
    "at 9 call Tokyo": (BARE_HOUR, "due 2026-11-01T21:00 text 'call Tokyo'"),
    "tomorrow at 9 call Tokyo": (WITH_A_DAY, "due 2026-11-02T09:00 text 'call Tokyo'"),
    "next friday at 3 call": (WITH_A_DAY, "due 2026-11-06T15:00 text 'call'"),
    "tomorrow at 12 lunch": (WITH_A_DAY, "due 2026-11-02T12:00 text 'lunch'"),
    "call Tokyo tomorrow at 9": (WITH_A_DAY, "due 2026-11-02T09:00 text 'call Tokyo'"),
    "email Canberra at 9": (BARE_HOUR, "due 2026-11-04T21:00 text 'email Canberra'"),
    "<@U2> review in 2 hours": (PERSON, "due 2026-11-01T22:00 text 'review' to U2"),
}


def _said(reply: dict) -> str:
    return reply["text"] + json.dumps(reply.get("blocks", []), ensure_ascii=False)


def _ask(store: Store, number: int, case: dict[str, str], zone: ZoneInfo, desk_zone: ZoneInfo):
    return Ask(
        store=store,
        now=datetime.fromisoformat(case["now"]),
        text=f"remind {case['say']}",
        user=ASKER,
        channel=f"C{number}",
        tz=desk_zone,
        user_tz=None if desk_zone == zone else zone,
        member_of=lambda channel: True,
    )


# -- the first corpus ------------------------------------------------------------------------


def outcome(store: Store, number: int, case: dict[str, str]) -> str:
    """What the bot did with one phrasing, written as the first corpus writes it (it gives the
    channel's zone, which is the desk's; and no target: "me" is now a direct message)."""
    zone = ZoneInfo(case["zone"])
    reply = route(_ask(store, number, case, zone, zone)).payload()
    said = _said(reply)
    mine = [o for o in Desk(store.db).one_offs() if o.id not in _seen]
    _seen.update(o.id for o in mine)
    if not mine:
        return f"refused: {said}"
    (one,) = mine
    named = "" if case["zone"] in said else " (zone not named)"
    to = f" to {one.channel}" if one.for_user else ""
    return f"due {one.due_at.astimezone(zone):%Y-%m-%dT%H:%M} text {one.text!r}{to}{named}"


_seen: set[int] = set()  # the one-offs earlier cases made


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


def test_every_case_the_grammar_changes_is_in_the_corpus():
    assert set(SPEC_CHANGED) <= {case["say"] for case in CASES}


def test_at_least_95_percent_of_the_phrasings_are_read_as_slack_s_remind_reads_them(store, reports):
    _seen.clear()
    misses, changed = [], []
    for number, case in enumerate(CASES, 1):
        got = outcome(store, number, case)
        if case["say"] in SPEC_CHANGED:
            line, now_read = SPEC_CHANGED[case["say"]]
            if got != now_read:
                changed.append(f"remind {case['say']!r}: the grammar ({line}) reads {now_read}")
            continue
        if not right(got, case):
            misses.append(
                f"remind {case['say']!r} at {case['now']} ({case['zone']}): "
                f"expected {expected(case)}, got {got}"
            )
    kept = len(CASES) - len(SPEC_CHANGED)
    share = 1 - len(misses) / kept
    reports.append(
        f"Reminder phrasings (first corpus): {kept - len(misses)} of {kept} right ({share:.0%}); "
        f"{len(SPEC_CHANGED)} more read as issue 20's grammar now reads them, "
        f"{len(SPEC_CHANGED) - len(changed)} of them so"
    )
    assert not changed, "\n".join(changed)
    assert share >= NEEDED, f"{share:.0%} right, below {NEEDED:.0%}:\n" + "\n".join(misses)


# -- the corpus written blind from issue 20's grammar ----------------------------------------

SLACK_CASES: list[dict] = (
    tomllib.loads(SLACK.read_text(encoding="utf-8"))["case"] if SLACK.exists() else []
)
PERSON_ID, CHANNEL_ID = "U0B1PERSON", "C0B2DESK"


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%dT%H:%M}"


def _occurrences(store: Store, rec: Recurring, now: datetime, last: bool) -> tuple[list, str]:
    """The first three occurrences the scheduler will post, and (if asked) the last."""
    zone = ZoneInfo(rec.tz)
    stop = None
    if rec.meeting_id:
        stop = next(m.span.start for m in store.meetings() if m.id == rec.meeting_id)
    found: list[str] = []
    after, final = now, ""
    for _ in range(3 if not last else 2000):
        moment = next_occurrence(rec, zone, after, stop)
        if moment is None:
            break
        if len(found) < 3:
            found.append(_local(moment, zone))
        after, final = moment, _local(moment, zone)
    else:
        final = "none (it runs on)" if last else final
    return found, final


def slack_outcome(store: Store, number: int, case: dict) -> str:
    """What the bot did with one phrasing, written as the blind corpus writes it."""
    zone = ZoneInfo(case["zone"])
    now = datetime.fromisoformat(case["now"])
    reply = route(_ask(store, number, case, zone, DESK_ZONE)).payload()
    desk = Desk(store.db)
    once = [o for o in desk.one_offs() if o.id not in _slack_seen["one-off"]]
    every = [r for r in desk.recurring() if r.id not in _slack_seen["recurring"]]
    _slack_seen["one-off"].update(o.id for o in once)
    _slack_seen["recurring"].update(r.id for r in every)
    if len(once) + len(every) != 1:
        return f"refused: {_said(reply)[:400]}"
    target, for_user, text = (
        (once[0].channel, once[0].for_user, once[0].text)
        if once
        else (every[0].target, every[0].for_user, every[0].text)
    )
    to = {f"C{number}": "channel", ASKER: "me", CHANNEL_ID: f"#{CHANNEL_ID}"}.get(target, "")
    if target == PERSON_ID and for_user == PERSON_ID:
        to = f"@{PERSON_ID}"
    to = to or f"{target} (for {for_user or 'nobody'})"
    if once:
        return f"to {to} text {text!r} due {_local(once[0].due_at, zone)}"
    firsts, last = _occurrences(store, every[0], now, "last" in case)
    said = f"to {to} text {text!r} occurrences {firsts}"
    return said + (f" last {last}" if "last" in case else "")


_slack_seen: dict[str, set[int]] = {"one-off": set(), "recurring": set()}


def slack_expected(case: dict) -> str:
    if "refused" in case:
        return f"refused: …{case['refused']}…"
    said = f"to {case['to']} text {case['text']!r}" if "text" in case else f"to {case['to']}"
    if "due" in case:
        return f"{said} due {case['due']}"
    said += f" occurrences {case['occurrences']}"
    return said + (f" last {case['last']}" if "last" in case else "")


def slack_right(got: str, case: dict) -> bool:
    if "refused" in case:
        return got.startswith("refused: ") and case["refused"].lower() in got.lower()
    if "text" not in case:  # before a meeting: the text is the bot's own
        got = re.sub(r" text '.*?' (due|occurrences)", r" \1", got)
    return got == slack_expected(case)


@pytest.mark.skipif(not SLACK_CASES, reason="tests/corpus/reminders-slack.toml not written yet")
def test_the_blind_corpus_has_150_phrasings_each_with_one_expectation():
    assert len(SLACK_CASES) >= 150
    for case in SLACK_CASES:
        assert {"say", "now", "zone"} <= case.keys(), case
        kinds = [k for k in ("due", "occurrences", "refused") if k in case]
        assert len(kinds) == 1, case
        # a reminder before a meeting gives no text: the bot makes it from the meeting's record
        assert "refused" in case or "to" in case, case
        assert datetime.fromisoformat(case["now"]).tzinfo is not None, case


@pytest.mark.skipif(not SLACK_CASES, reason="tests/corpus/reminders-slack.toml not written yet")
def test_at_least_97_percent_of_the_blind_corpus_is_read_as_the_grammar_says(store, reports):
    for seen in _slack_seen.values():
        seen.clear()
    misses = []
    for number, case in enumerate(SLACK_CASES, 1):
        got = slack_outcome(store, number, case)
        if not slack_right(got, case):
            misses.append(
                f"remind {case['say']!r} at {case['now']} ({case['zone']}): "
                f"expected {slack_expected(case)}, got {got}"
            )
    share = 1 - len(misses) / len(SLACK_CASES)
    reports.append(
        f"Reminder phrasings (blind corpus): {len(SLACK_CASES) - len(misses)} of "
        f"{len(SLACK_CASES)} right ({share:.1%})"
    )
    assert share >= SLACK_NEEDED, f"{share:.1%} right, below {SLACK_NEEDED:.0%}:\n" + "\n".join(
        misses
    )
