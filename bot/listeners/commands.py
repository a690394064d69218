"""`/apec`: the answer in the ack; a form, a long answer's later parts, a brief's note or a
picture right after it. A change that waits on the store's write lock is acknowledged first and
answered after."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.documents import Briefs, post_document, post_picture
from bot.listeners.common import Body, Listening, after, open_form, public, respond_all, say
from bot.observe import OUTCOME, REFUSED
from bot.replies import Replies
from handlers.reminder_actions import READS_WHO
from handlers.render import Card, from_slack
from handlers.router import lookup, split
from handlers.timeline import PictureCard

log = logging.getLogger("apec.app")

ACK_WAIT = 0.3  # seconds a change may take before it is acknowledged first, answered after
WORKING = "Working on it: the answer follows here in a moment."
LATE_FAILED = (
    "Something went wrong on my side with that. `/apec history` shows whether it changed anything."
)


def command_text(raw: str) -> str:
    """A command's text as Slack sent it, decoded once; people and channels kept as Slack named
    them for a command that reads whom it is for (`READS_WHO`)."""
    text = from_slack(raw)
    found = lookup(split(text)[0])
    return from_slack(raw, ids=True) if found is not None and found.name in READS_WHO else text


@dataclass(frozen=True)
class Slash:
    """One `/apec` as Bolt hands it to the listener, its text decoded once."""

    ack: Ack
    respond: Respond
    client: WebClient
    context: BoltContext
    text: str
    user: str
    channel: str
    trigger: str

    @classmethod
    def of(
        cls, ack: Ack, command: Body, client: WebClient, respond: Respond, context: BoltContext
    ) -> Slash:
        return cls(
            ack=ack,
            respond=respond,
            client=client,
            context=context,
            text=command_text(command.get("text", "")),  # Slack's escapes decoded once, here
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

    def __call__(self, slash: Slash) -> None:
        found = lookup(split(slash.text)[0])
        if found is not None and found.kept:
            self.kept(slash)
            return
        card = self.change(slash) if found is not None and found.writes else self.answer(slash)
        if card is not None:
            self.reply(slash, card)

    def answer(self, slash: Slash) -> Card:
        return self.on.answer(slash.text, slash.user, slash.channel)

    def kept(self, slash: Slash) -> None:
        """A kept answer (or one made and kept): its first page in the ack, as it is kept."""
        first, *rest = self.replies.pages(slash.text, lambda: self.answer(slash))
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
                    self.on.later, _answer_late, done, slash.client, slash.respond, slash.trigger
                )
            )
            return None

    def reply(self, slash: Slash, card: Card) -> None:
        """The answer in the ack (a form: opened right after it), then whatever follows it."""
        if card.refused:  # counted as a refusal, not "ok" (the HTTP front reads it after dispatch)
            slash.context[OUTCOME] = REFUSED
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
            where = _canvas_address(slash.context)
            doc = card.document
            after(self.on.later, post_document, client, respond, channel, doc, self.briefs, where)
        if isinstance(card, PictureCard) and card.picture is not None:
            after(self.on.later, post_picture, client, respond, channel, card.picture)


def register(app: App, does: Apec) -> None:
    @app.command("/apec")
    def apec(
        ack: Ack, command: Body, client: WebClient, respond: Respond, context: BoltContext
    ) -> None:
        does(Slash.of(ack, command, client, respond, context))


def _canvas_address(context: BoltContext) -> str:
    """The workspace's address for links to its canvases, from auth.test ("" when unknown)."""
    found = context.authorize_result
    return f"{found.url}docs/{found.team_id}/" if found and found.url and found.team_id else ""


def _then(work: Callable[[], Card], after: Callable[[], None]) -> Card:
    try:
        return work()
    finally:
        after()


def _answer_late(done: Future[Card], client: WebClient, respond: Respond, trigger: str) -> None:
    """The answer to a command acknowledged with "Working on it": its form, or its pages; if it
    failed, a plain line rather than silence."""
    try:
        card = done.result()
    except Exception:
        log.exception("a command acknowledged with 'Working on it' failed")
        say(respond, LATE_FAILED)
        return
    if card.modal is not None:
        open_form(client, respond, trigger, card.modal)
    else:
        respond_all(respond, card.pages())
