"""`/apec`: the answer in the ack; a form, a long answer's later parts, a brief's note or a
picture right after it. A change that waits on the store's write lock is acknowledged first and
answered after; a brief (a `slow` command) is acknowledged at once and posted when it is ready.

Over HTTP, `Direct` answers `/apec` from the body the front parsed, without Bolt's dispatch; in
Socket Mode it arrives through Bolt's listener (`register`). Both hand the same `Slash` to `Apec`.
`Direct` acknowledges an @-mention too, and hands it to bot/listeners/events.py's answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse, Respond
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.internals import extract_enterprise_id, extract_team_id
from slack_sdk import WebClient

from bot import gate
from bot.documents import Briefs, post_document, post_picture
from bot.listeners import events
from bot.listeners.common import (
    Body,
    Listening,
    Responder,
    after,
    open_form,
    public,
    respond_all,
    say,
)
from bot.observe import OUTCOME, REFUSED
from bot.permissions import Names
from bot.replies import Replies
from bot.server import JSON, Answer, answer_of
from bot.webapi import PooledRespond
from bot.workspace import Workspace
from handlers.reminder_actions import READS_WHO
from handlers.render import Card, from_slack
from handlers.router import lookup, split
from handlers.timeline import PictureCard

log = logging.getLogger("apec.app")
UNREAD = object()  # a command's words not yet read for the reply cache (`Replies.understood`)
ACKED = answer_of(BoltResponse(status=200, body=""))  # an event's ack, as Bolt answers one

ACK_WAIT = 0.3  # seconds a change may take before it is acknowledged first, answered after
WORKING = "Working on it: the answer follows here in a moment."
BRIEFING = "Working on the brief: it follows here in a moment."
LATE_FAILED = (
    "Something went wrong on my side with that. `/apec history` shows whether it changed anything."
)
SLOW_FAILED = (
    "Something went wrong on my side making that. `apec-bot brief MEETING` prints a brief on the "
    "desk's machine."
)


def command_text(raw: str) -> str:
    """A command's text as Slack sent it, decoded once; people and channels kept as Slack named
    them for a command that reads whom it is for (`READS_WHO`)."""
    text = from_slack(raw)
    found = lookup(split(text)[0])
    return from_slack(raw, ids=True) if found is not None and found.name in READS_WHO else text


class Acked(Ack):
    """Bolt's `ack` for `Direct`: it also takes a kept reply's JSON as it was made."""

    def __init__(self) -> None:
        super().__init__()
        self.data = b""

    def kept(self, data: bytes) -> None:
        self.data = data


@dataclass(frozen=True)
class Slash:
    """One `/apec`, its text decoded once: how to answer it (`ack`, then `respond` by its
    response_url, `client` for the Web API), where a refusal is said for the metrics (`said`),
    and the workspace's address for canvas links (`where`: "" when unknown)."""

    ack: Ack
    respond: Responder
    client: WebClient
    said: dict[str, Any]
    where: str
    text: str
    user: str
    channel: str
    trigger: str

    @classmethod
    def of(
        cls,
        ack: Ack,
        command: Body,
        client: WebClient,
        respond: Responder,
        said: dict[str, Any],
        where: str,
        text: str | None = None,
    ) -> Slash:
        """The command as Bolt hands it (`text`: its text already decoded, if it was)."""
        return cls(
            ack=ack,
            respond=respond,
            client=client,
            said=said,
            where=where,
            # Slack's escapes decoded once, here (or where `text` was)
            text=command_text(command.get("text", "")) if text is None else text,
            user=command.get("user_id", ""),
            channel=command.get("channel_id", ""),
            trigger=command.get("trigger_id", ""),
        )


class Apec:
    """What `/apec` does: `replies` keeps the answers that depend on nothing else, `wrote` says
    that a change may have written to the store, `briefs` finds a brief's canvas or file."""

    def __init__(
        self,
        on: Listening,
        replies: Replies,
        wrote: Callable[[], None],
        briefs: Callable[[], Briefs] | None = None,
    ) -> None:
        self.on, self.replies, self.wrote, self.briefs = on, replies, wrote, briefs

    def __call__(self, slash: Slash, words: str | None | object = UNREAD) -> None:
        """Answer `slash`; `words`, its words as understood when the caller read them already
        (`Replies.understood`: read once a request)."""
        if words is UNREAD:
            words = self.replies.understood(slash.text)
        if isinstance(words, str):
            self.kept(slash, words)
            return
        found = lookup(split(slash.text)[0])
        if found is not None and found.slow:
            self.slow(slash)
            return
        card = self.change(slash) if found is not None and found.writes else self.answer(slash)
        if card is not None:
            self.reply(slash, card)

    def answer(self, slash: Slash) -> Card:
        return self.on.answer(slash.text, slash.user, slash.channel)

    def kept(self, slash: Slash, words: str) -> None:
        """A kept answer (or one made and kept) to the words as understood: its first page in
        the ack, as it was kept (its JSON as made, where the ack takes it)."""
        made = self.replies.kept(words, lambda: self.on.answer(words, slash.user, slash.channel))
        first, *rest = made.pages
        if made.json and isinstance(slash.ack, Acked):
            slash.ack.kept(made.json)
        else:
            slash.ack(dict(first))  # the kept page itself stays as it is
        if rest:
            after(self.on.later, respond_all, slash.respond, rest, self.on.names)

    def change(self, slash: Slash) -> Card | None:
        """A change's answer if it comes within ACK_WAIT; else None: "Working on it" is the ack,
        and the answer follows when it comes."""
        # Its own thread, its own connection: the listener's may not cross threads. Whatever it
        # changed, every thread re-reads (a handler need not say so itself).
        work = self.on.later.submit(_then, lambda: self.answer(slash), self.wrote)
        try:
            return work.result(timeout=ACK_WAIT)
        except FutureTimeout:
            slash.ack(text=WORKING)
            work.add_done_callback(
                lambda done: after(
                    self.on.later,
                    _answer_late,
                    done,
                    slash.client,
                    slash.respond,
                    slash.trigger,
                    self.on.names,
                )
            )
            return None

    def slow(self, slash: Slash) -> None:
        """A command whose answer may take long (a brief): acknowledged at once, whatever the
        store's size, with the answer posted by the response_url when it is ready (a usage error
        too), then what follows it (a brief's whole note)."""
        slash.ack(text=BRIEFING)
        # `respond` given apart: `after` hands the work Bolt's on the kept connections (its own
        # sends a post again after a dropped connection)
        after(self.on.later, self._slowly, slash, slash.respond)

    def _slowly(self, slash: Slash, respond: Responder) -> None:
        try:
            card = self.answer(slash)
        except Exception:
            log.exception("a command acknowledged with 'Working on the brief' failed")
            say(respond, SLOW_FAILED)
            return
        respond_all(respond, card.pages(), self.on.names)
        self.follow(slash, card)

    def reply(self, slash: Slash, card: Card) -> None:
        """The answer in the ack (a form: opened right after it), then whatever follows it."""
        if card.refused:  # counted as a refusal, not "ok" (the HTTP front reads it after)
            slash.said[OUTCOME] = REFUSED
        later, names = self.on.later, self.on.names
        if card.modal is not None:
            slash.ack()
            after(later, open_form, slash.client, slash.respond, slash.trigger, card.modal)
            return
        first, *rest = card.pages()
        slash.ack(**(public(first, names) if first["response_type"] == "in_channel" else first))
        if rest:
            after(later, respond_all, slash.respond, rest, names)
        self.follow(slash, card)

    def follow(self, slash: Slash, card: Card) -> None:
        """What goes into the channel after the answer: a brief's whole note, a picture."""
        client, respond, channel = slash.client, slash.respond, slash.channel
        if card.document is not None:
            doc, where = card.document, slash.where
            after(self.on.later, post_document, client, respond, channel, doc, self.briefs, where)
        if isinstance(card, PictureCard) and card.picture is not None:
            after(self.on.later, post_picture, client, respond, channel, card.picture)


def register(app: App, does: Apec) -> None:
    """`/apec` through Bolt's listener (Socket Mode, or an HTTP front built without `Direct`)."""

    @app.command("/apec")
    def apec(
        ack: Ack, command: Body, client: WebClient, respond: Respond, context: BoltContext
    ) -> None:
        where = canvas_address(context.authorize_result)
        does(Slash.of(ack, command, client, respond, context, where))


Authorize = Callable[[str | None, str | None], AuthorizeResult]  # (enterprise_id, team_id)


class Direct:
    """`/apec` and @-mentions over HTTP without Bolt's dispatch, from the body the front parsed
    once: the same authorize (cached after the first), the same gate, and the same `Apec` and
    mention's answer, as Bolt would run them (bot/app.py wires Bolt's), answered as Bolt would
    answer them; a Web API client per team, made once (Bolt makes one per request).
    `handled_before` tells an event Slack sent again (`gate.handled_before`); `mentions` is False
    where the app does not take events (bot/app.py's `surfaces` without them)."""

    CLIENTS = 8  # teams with a client kept; only ours passes the gate once auth.test has said

    def __init__(
        self,
        does: Apec,
        workspace: Workspace,
        authorize: Authorize,
        client: WebClient,
        handled_before: Callable[[dict[str, Any]], bool] = lambda body: False,
        mentions: bool = True,
    ) -> None:
        self.does, self.workspace, self.authorize, self.base = does, workspace, authorize, client
        self.handled_before = handled_before
        self.mentions = mentions  # whether to answer @-mentions (the events surface is on)
        self._clients: dict[tuple[str | None, str | None], WebClient] = {}
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Answer | None:
        """The answer to a `/apec` command or an @-mention; None for any other body, and for one
        Bolt's own middleware answers itself (a certificate check, a URL verification): Bolt
        answers them."""
        if self.mentions and events.is_mention(body):
            return self.mention(body)
        if not _apec(body):
            return None
        team = extract_team_id(body) or None
        found = self.authorize(extract_enterprise_id(body) or None, team)  # learns the workspace
        refusing = gate.refused(self.workspace, body)
        if refusing is not None:
            return answer_of(refusing)
        raw = body.get("text", "")
        text = command_text(raw) if isinstance(raw, str) else None
        words = self.does.replies.understood(text) if text is not None else UNREAD
        kept = self.does.replies.json(words) if isinstance(words, str) else None
        if kept is not None:  # kept, and whole in one message: as `Apec.kept` would send it
            return Answer(200, JSON, kept)
        return self.answer(body, text, team, found, words)

    def mention(self, body: dict[str, Any]) -> Answer:
        """An @-mention acknowledged as Bolt acknowledges it, in the order of Bolt's middleware
        (authorize, the bot's own events, then the gate), and answered after the ack."""
        team = extract_team_id(body) or None
        found = self.authorize(extract_enterprise_id(body) or None, team)
        event = body["event"]
        if events.own(event, found):
            return ACKED
        refusing = gate.refused(self.workspace, body)
        if refusing is not None:
            return answer_of(refusing)
        if self.handled_before(body):
            return ACKED
        client = self.client(team, found.bot_token or found.user_token)
        on = self.does.on
        after(on.later, events.answer_mention, on, client, event, found.bot_user_id or "")
        return ACKED

    def answer(
        self,
        body: dict[str, Any],
        text: str | None,
        team: str | None,
        found: AuthorizeResult,
        words: str | None | object = None,
    ) -> Answer:
        """What `Apec` answers, as Bolt would send it."""
        ack = Acked()
        said: dict[str, Any] = {}  # what the listener says for the metrics, as in Bolt's context
        client = self.client(team, found.bot_token or found.user_token)
        # What Bolt's context gives its listener: the response_url as sent (None when absent).
        respond = PooledRespond(
            response_url=body.get("response_url"), proxy=client.proxy, ssl=client.ssl
        )
        try:
            where = canvas_address(found)
            self.does(Slash.of(ack, body, client, respond, said, where, text), words)
        except Exception:
            log.exception("/apec failed")
            return answer_of(BoltResponse(status=500))  # as Bolt answers a listener that raised
        outcome = said.get(OUTCOME)
        if ack.data:
            return Answer(200, JSON, ack.data, outcome)
        if ack.response is None:  # never acknowledged: as Bolt answers a request nobody handled
            return answer_of(BoltResponse(status=404, body={"error": "unhandled request"}))
        return answer_of(ack.response, outcome)

    def client(self, team: str | None, token: str | None) -> WebClient:
        """A Web API client for `team`, as Bolt makes one per request: the app's, with the token
        authorize gave, and the team as a default parameter of every call."""
        with self._lock:
            found = self._clients.get((team, token))
        if found is not None:
            return found
        base = self.base
        made = type(base)(  # the app's kind of client (bot/webapi.py: on kept connections)
            token=token,
            base_url=base.base_url,
            timeout=base.timeout,
            ssl=base.ssl,
            proxy=base.proxy,
            headers=base.headers,
            team_id=team,
            logger=base.logger,
            retry_handlers=base.retry_handlers.copy() if base.retry_handlers is not None else None,
        )
        with self._lock:
            if len(self._clients) < self.CLIENTS:
                self._clients[(team, token)] = made
        return made


def _apec(body: dict[str, Any]) -> bool:
    """Whether a body is a `/apec` command that Bolt's own middleware would pass to its listener
    (not a certificate check, nor a URL verification, which it answers itself)."""
    return (
        body.get("command") == "/apec"
        and body.get("ssl_check") != "1"
        and body.get("type") != "url_verification"
    )


def canvas_address(found: AuthorizeResult | None) -> str:
    """The workspace's address for links to its canvases, from auth.test ("" when unknown)."""
    return f"{found.url}docs/{found.team_id}/" if found and found.url and found.team_id else ""


def _then(work: Callable[[], Card], after: Callable[[], None]) -> Card:
    try:
        return work()
    finally:
        after()


def _answer_late(
    done: Future[Card], client: WebClient, respond: Responder, trigger: str, names: Names
) -> None:
    """The answer to a command acknowledged with "Working on it": its form, or its pages (one for
    the channel names people without pinging them, as an answer in the ack does); if it failed, a
    plain line rather than silence."""
    try:
        card = done.result()
    except Exception:
        log.exception("a command acknowledged with 'Working on it' failed")
        say(respond, LATE_FAILED)
        return
    if card.modal is not None:
        open_form(client, respond, trigger, card.modal)
    else:
        respond_all(respond, card.pages(), names)
