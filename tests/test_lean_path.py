"""The lean path for `/apec` (issue 24): every command answered from the body the front parsed,
without Bolt's dispatch, yet exactly as Bolt's dispatch answers it; the reply cache keyed on what
the reader understood; a brief acknowledged at once and posted when ready.

Real parts throughout: the real app behind the real front (`bot.app.http_front`, as `serve` wires
it) on loopback, real stores in tmp_path, the Web API stood in for by `WebAPIStub`.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.listeners.commands import BRIEFING, WORKING
from bot.replies import Replies, understood
from bot.stores import Stores
from handlers.meetings import _kind_read, kind_read
from handlers.registry import Ask
from handlers.render import SHARE_ACTION
from handlers.router import REGISTRY, lookup, route, split
from store.queries import Store
from tests.conftest import ADMIN, BOT_TOKEN, SEEDS, SIGNING_SECRET, Clock, Served, at, serving
from tests.slack_stub import WebAPIStub

# -- the pool for work after an ack, one task at a time, so that a test knows when it is done ----


class OneByOne(ThreadPoolExecutor):
    """The pool for what comes after an ack, with one worker: `settle` returns once everything it
    was given, and everything that gave it in turn, is done. A task's done-callbacks run on the
    worker before it takes the next task, so a no-op run after them all finds them finished."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="later")
        self.given = 0
        self._lock = threading.Lock()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            self.given += 1
        return super().submit(fn, *args, **kwargs)

    def settle(self) -> None:
        while True:
            with self._lock:
                before = self.given
            super().submit(lambda: None).result(timeout=60)  # not counted
            with self._lock:
                if self.given == before:
                    return


# -- two fronts over two copies of the store: the lean path, and Bolt's dispatch --------------


@dataclass
class Front:
    served: Served
    stub: WebAPIStub
    later: OneByOne
    metrics: Any


@contextmanager
def front(
    db_path: Path, stub: WebAPIStub, clock: Clock, lean: bool, later: Any = None
) -> Iterator[Front]:
    from bot.app import http_front
    from bot.config import Config
    from bot.observe import Metrics

    config = Config(
        db_path=db_path,
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        api_url=stub.url,
        seeds=SEEDS,
        admins=frozenset({ADMIN}),
    )
    later = later or OneByOne()
    metrics = Metrics()
    built = http_front(
        config,
        Stores(db_path, SEEDS),
        clock,
        health=lambda: {"ok": True},
        metrics=metrics,
        later=later,
        lean=lean,
        exact=True,
    )
    try:
        with serving(built.wsgi) as http:
            served = Served(f"http://127.0.0.1:{http.effective_port}", SIGNING_SECRET, db_path)
            yield Front(served, stub, later, metrics)
    finally:
        later.shutdown(wait=True)


def slash(
    at_front: Front, n: int, text: str, user: str = "U1", team: str = "T1", command: str = "/apec"
) -> tuple[int, str]:
    """`/apec text` as Slack sends it, its response_url on the front's own stand-in."""
    body = urlencode(
        {
            "token": "legacy",
            "team_id": team,
            "channel_id": "C1",
            "user_id": user,
            "command": command,
            "text": text,
            "response_url": f"{at_front.stub.url}hooks.r{n}",
            "trigger_id": f"{n}.2.3",
        }
    )
    return at_front.served.post(body, "application/x-www-form-urlencoded")


_TOKEN = re.compile(r"/calendar/[A-Za-z0-9_-]{16,}\.ics")


def _same_everywhere(value: Any, stub: WebAPIStub) -> Any:
    """A value with what differs between two stand-ins and two stores by chance made the same:
    the stand-in's address, a secret feed address (random by design)."""
    if isinstance(value, str):
        return _TOKEN.sub("/calendar/<token>.ics", value.replace(stub.url, "<api>/"))
    if isinstance(value, list):
        return [_same_everywhere(v, stub) for v in value]
    if isinstance(value, dict):
        return {k: _same_everywhere(v, stub) for k, v in value.items()}
    return value


def seen(at_front: Front, n: int, text: str, **who: str) -> dict[str, Any]:
    """One request as Slack and the user see it: the HTTP status, the answer's type and body,
    and every Web API call made after it (once the work after the ack is done)."""
    before = len(at_front.stub.calls)
    status, body = slash(at_front, n, text, **who)
    at_front.later.settle()
    calls = [
        {"method": c.method, "params": c.params, "token": c.token}
        for c in at_front.stub.calls[before:]
    ]
    shown: Any = json.loads(body) if body.startswith("{") else body
    hooked = [i for i, c in enumerate(calls) if c["method"] == f"hooks.r{n}"]
    if shown == WORKING and hooked:  # a change that took past the ack's wait, on a busy machine
        late = calls.pop(hooked[0])["params"]
        shown = {k: v for k, v in late.items() if k != "replace_original"}
    return _same_everywhere({"status": status, "shown": shown, "calls": calls}, at_front.stub)


def _examples() -> list[tuple[str, str]]:
    lookup("help")  # every handler module registered
    asked = [(cmd.example, "U1") for cmd in sorted(REGISTRY.values(), key=lambda c: c.name)]
    # An admin's changes too (not `watch`, which would fetch from the internet).
    asked += [
        (cmd.example, ADMIN)
        for cmd in sorted(REGISTRY.values(), key=lambda c: c.name)
        if cmd.admin and cmd.name not in ("watch", "unwatch")
    ]
    return asked


HOSTILE = [
    "",
    "   ",
    "x" * 3000,
    "next-meeting " + "som " * 600,
    'who "Casey Mace',
    "who 'Casey' \"Mace\"",
    "<!channel> next-meeting",
    "next-meeting <!here> <@U2|ann>",
    "<!channel>",
    "frobnicate the widgets",
    "Next-Meeting",
    "NEXT-MEETING  som",
    "next SOM",
    "ask Who leads the US delegation?",
    "meeting nowhere-at-all",
    "who Nobody Known",
    "brief",
    "brief Atlantis",
    "brief SOM1 for US",
    "brief SOM1",
    "brief SOM1",  # its canvas updated in place
    "edit-meeting SOM1 city=Ningbo",  # a non-admin's change
    "remind me tomorrow 9am <!channel> bring <@U2|ann>",
    "help\x00me",
]


def test_every_command_and_hostile_text_is_answered_by_the_lean_path_as_by_bolt(
    db_path, built_db, tmp_path, web_api, clock
):
    other = tmp_path / "bolt"
    other.mkdir()
    shutil.copy(built_db, other / "apec.db")
    with ExitStack() as stack:
        second = stack.enter_context(WebAPIStub(token=BOT_TOKEN))
        lean = stack.enter_context(front(db_path, web_api, clock, lean=True))
        bolt = stack.enter_context(front(other / "apec.db", second, clock, lean=False))
        # Another workspace first: authorize learns ours (auth.test) before the gate looks.
        asked = [("next-meeting", "U1", "T2"), ("next-meeting", "U1", "T1")]
        asked += [(text, user, "T1") for text, user in _examples()]
        asked += [(text, "U1", "T1") for text in HOSTILE]
        asked += [("next-meeting", "U1", "T2"), ("members", ADMIN, "T2")]
        for n, (text, user, team) in enumerate(asked):
            theirs = seen(bolt, n, text, user=user, team=team)
            ours = seen(lean, n, text, user=user, team=team)
            assert ours == theirs, f"/apec {text[:60]!r} by {user} of {team}"
        # What followed the acks went on (the comparison is not of two empty lists).
        assert web_api.calls_to("canvases.create") and web_api.calls_to("canvases.edit")
        assert web_api.calls_to("files.completeUploadExternal")  # the timeline's picture
        # An unknown slash command: Bolt's answer on both fronts.
        assert slash(lean, 999, "x", command="/other") == slash(bolt, 999, "x", command="/other")
        assert _counted(lean.metrics) == _counted(bolt.metrics)
        assert 'outcome="refused"' in _counted(lean.metrics)


def _counted(metrics: Any) -> str:
    """The requests counted, by kind, command and outcome (the latencies left out)."""
    rendered = metrics.render()
    lines = (rendered.decode() if isinstance(rendered, bytes) else rendered).splitlines()
    return "\n".join(sorted(line for line in lines if line.startswith("apec_requests_total{")))


# -- the reply cache, keyed on what was understood --------------------------------------------

NOW = at("2026-01-20T09:00+09:00")


def _spellings(cmd_name: str) -> list[str]:
    """A kept command asked every way a reader means the same: the name and its aliases in
    lower, upper and title case, the example's arguments and a name on record nowhere (which
    a reply may quote back) in lower, upper and title case, spaced oddly."""
    cmd = REGISTRY[cmd_name]
    _, example = split(cmd.example)
    words = [cmd.name, *cmd.aliases]
    words += [w.upper() for w in words] + [w.title() for w in words]
    argses = [""] + [
        shape(args) for args in (example, "Zanzibar Plenary") for shape in _SHAPES if args
    ]
    return [f"{w}  {a} " for w in words for a in dict.fromkeys(argses)]


_SHAPES = (str, str.lower, str.upper, str.title)


def _shown(value: Any) -> Any:
    """What a reader sees of a reply: all of it but the share button's value, which is the words
    to answer again (any spelling of them answers the same)."""
    if isinstance(value, list):
        return [_shown(v) for v in value]
    if isinstance(value, dict):
        share = value.get("action_id") == SHARE_ACTION
        return {k: _shown(v) for k, v in value.items() if not (share and k == "value")}
    return value


def _kept() -> list[str]:
    lookup("help")  # every handler module registered
    return sorted(c.name for c in REGISTRY.values() if c.kept)


@pytest.mark.parametrize("name", _kept())
def test_a_kept_reply_answers_every_spelling_of_what_it_was_kept_for_as_that_spelling(
    store: Store, name: str
):
    """The words a reply is kept for (`understood`) are answered as every spelling of them is:
    a command's arguments fold their case only where no spelling answers otherwise."""

    def answer(text: str) -> Any:
        return _shown(route(Ask(store=store, now=NOW, text=text, via="slack")).pages())

    differ = []
    view = partial(store.at, NOW.date())  # the store as of the day, got when a command reads
    for spelling in _spellings(name):
        words = understood(spelling, view)
        assert words is not None and split(words)[0] == name
        if answer(words) != answer(spelling):
            differ.append(spelling)
    assert not differ, f"{name}: answered otherwise as understood: {differ[:3]}"


def test_only_kept_commands_are_understood_for_keeping_and_by_their_names_in_any_case(
    store: Store,
):
    view = partial(store.at, NOW.date())  # the store as of the day, got when a command reads
    assert understood("help", view) is None and understood("brief SOM1", view) is None
    assert understood("frobnicate", view) is None and understood("", view) is None
    assert understood("Next-Meeting", view) == understood("NEXT-MEETING  ", view) == "next-meeting"
    assert (
        understood("next  som", view) == understood("NextMeeting som", view) == "next-meeting som"
    )
    # what the command reads its words as: the kind of meeting, whatever else they hold
    assert understood("next SOM?", view) == understood("next the apec smmit", view).replace(
        "summit", "som"
    )
    assert understood("next the APEC meeting SOM", view) == "next-meeting som"
    assert understood("next the apec smmit", view) == "next-meeting summit"
    assert understood("next one meetings", view) == "next-meeting"
    # words it cannot read as a kind are a usage error, which quotes them: kept as typed
    assert understood("next Zanzibar Plenary", view) == "next-meeting Zanzibar Plenary"
    # commands that read no words are understood by their names alone
    assert understood("Countdown to the SOM", view) == understood("days", view) == "countdown"
    assert understood("members of APEC", view) == "members"
    # without the store, words are kept as typed (the reading needs the store's vocabulary)
    assert understood("next the apec som") == "next-meeting the apec som"


def test_next_meeting_in_every_wording_is_kept_for_what_it_reads_and_answered_as_that(
    store: Store,
):
    """The words a `next-meeting` is kept for (the kind it reads, or its words as typed when
    they read as none) answer as every wording of them does: free words, typos, case, marks."""
    from bench.load_bench import next_meeting_text

    def answer(text: str) -> Any:
        return _shown(route(Ask(store=store, now=NOW, text=text, via="slack")).pages())

    view = partial(store.at, NOW.date())  # the store as of the day, got when a command reads
    texts = [next_meeting_text(n) for n in range(1, 400)]
    texts += [
        f"{word} {kind}"
        for word in ("next", "Next-Meeting", "nextmeeting")
        for kind in (
            "SOM?",
            "som.",
            "Senior Officials",
            "smmit",
            "the Summit!",
            "ministerials",
            "leaders",
            "meeting?",
            "the one",
            "APEC",
            "mtg",
            "Zanzibar",
            "som summit",
            "SOM1",
            "next week",
            "in Shanghai",
            "'som'",
            "<!channel>",
            "som " * 300,
        )
    ]
    differ, kept = [], set()
    for text in texts:
        words = understood(text, view)
        assert words is not None and split(words)[0] == "next-meeting", text
        kept.add(words)
        if answer(words) != answer(text):
            differ.append(text)
    assert not differ, f"answered otherwise as understood: {differ[:3]}"
    assert {"next-meeting", "next-meeting som", "next-meeting summit"} <= kept
    # and the words kept are read, again, as the reader reads them (a kind's own name is not
    # read through the reader twice: `kind_read` knows which names read as themselves)
    for words in kept:
        args = split(words)[1]
        assert kind_read(store.at(NOW.date()), args) == _kind_read(store.at(NOW.date()), args)


def test_spellings_of_one_question_share_one_kept_reply(db_path):
    stores = Stores(db_path, SEEDS)
    replies = Replies(stores, lambda: NOW)
    made: list[str] = []

    def answer():
        made.append("made")
        return route(Ask(store=stores.get(quick=True), now=NOW, text="next-meeting"))

    first = replies.pages("Next-Meeting", answer)
    for spelling in ("next-meeting", "NEXT-MEETING  ", "next", "  Nextmeeting"):
        assert replies.pages(spelling, answer) == first
    assert len(made) == 1
    assert replies.json(replies.understood("NEXT")) == json.dumps(first[0]).encode()
    replies.pages("next-meeting som", answer)
    assert len(made) == 2


# -- a brief, acknowledged at once -----------------------------------------------------------


class Held(ThreadPoolExecutor):
    """The pool for work after an ack, its one worker held busy until `go` is set."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="later")
        self.go = threading.Event()
        self.submit(self.go.wait, 60)


AFTER = at("2026-11-20T09:00+08:00")  # once the US delegation is on record


def test_a_brief_is_acknowledged_at_once_and_posted_by_its_response_url_when_ready(
    db_path, web_api, clock
):
    clock.now = AFTER
    held = Held()
    with front(db_path, web_api, clock, lean=True, later=held) as at_front:
        try:
            # Nothing after an ack can run: an ack that waited on the brief would never come.
            status, body = slash(at_front, 1, "brief SOM1 for US")
            assert (status, body) == (200, BRIEFING)
            assert web_api.calls_to("hooks.r1") == []
        finally:
            held.go.set()
        page, told = web_api.wait_for("hooks.r1", 2, timeout=60)
    assert page.params["text"].startswith("*Brief: SOM1")
    assert page.params["replace_original"] in (False, "false")
    shares = [
        e["value"]
        for b in page.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == SHARE_ACTION
    ]
    assert shares == ["brief SOM1 for US"]
    (canvas,) = web_api.canvases()
    assert canvas["markdown"].startswith("# Brief: SOM1") and "canvas" in told.params["text"]


def test_a_brief_asked_wrongly_is_acknowledged_then_told_how_to_ask(server, web_api):
    hook = web_api.url + "hooks.usage"
    assert server.command("brief", response_url=hook) == (200, BRIEFING)
    (told,) = web_api.wait_for("hooks.usage")
    assert "Which meeting?" in told.params["text"] and "/apec brief MEETING" in told.params["text"]


def test_a_brief_whose_post_is_dropped_is_not_posted_again_by_bolt_either(db_path, web_api, clock):
    """Through Bolt (Socket Mode's way, here `lean=False`) the brief after the ack goes out on the
    kept connections too: Bolt's own respond sends a post again after a dropped connection."""
    clock.now = AFTER
    web_api.drop("hooks.r1")
    with front(db_path, web_api, clock, lean=False) as at_front:
        assert slash(at_front, 1, "brief SOM1 for US") == (200, BRIEFING)
    # the pool has finished all it was given (the front's exit waits for it): no second post
    assert len(web_api.calls_to("hooks.r1")) == 1


@pytest.mark.parametrize("alias", ["q", "next", "days", "source"])
def test_a_question_within_the_limit_as_typed_is_answered_whatever_its_alias(
    db_path, web_api, clock, alias
):
    text = f"{alias} " + ("when is SOM1 " * 200)[: 2000 - len(alias) - 1]
    assert len(text) == 2000
    with front(db_path, web_api, clock, lean=True) as at_front:
        status, body = slash(at_front, 1, text)
    assert status == 200 and "characters; I read questions of up to" not in body


@pytest.fixture
def misreading() -> Iterator[list[str]]:
    """A kept toy command whose reading of its words fails for a reason that is not the store's
    (a bug in a reader): the words it was asked to read are listed."""
    from handlers import registry
    from handlers.registry import command
    from handlers.render import Card, esc

    before = dict(registry.REGISTRY), dict(registry._ALIASES)
    asked: list[str] = []

    def reads(store: Store, args: str) -> str | None:
        asked.append(args)
        if "boom" in args.lower():
            raise ZeroDivisionError("a reader's own bug")
        return args.lower()

    @command("toyread", usage="toyread [WORDS]", example="toyread hi", kept=True, reads=reads)
    def toy_read(ask: Ask) -> Card:
        """Say the words back, for the test of a reader that fails."""
        return Card().section(f"Toy read {esc(ask.args) or 'nothing'}.")

    yield asked
    registry.REGISTRY.clear()
    registry.REGISTRY.update(before[0])
    registry._ALIASES.clear()
    registry._ALIASES.update(before[1])


def test_a_reader_that_fails_for_its_own_reason_keeps_the_words_as_typed_and_is_answered(
    db_path, misreading
):
    stores = Stores(db_path, SEEDS)
    replies = Replies(stores, lambda: NOW)
    assert replies.understood("toyread Hello") == "toyread hello"  # read
    assert replies.understood("toyread Big  BOOM") == "toyread Big BOOM"  # as typed
    assert misreading == ["Hello", "Big BOOM"]

    def answer(text: str) -> Any:
        return route(Ask(store=stores.get(quick=True), now=NOW, text=text))

    pages = replies.pages("toyread Big  BOOM", lambda: answer("toyread Big BOOM"))
    assert pages[0]["text"].startswith("Toy read Big BOOM.")
