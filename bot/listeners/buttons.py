"""The buttons (Slack's block actions): each acknowledged at once, its work done after, on the
pool (`acked`). A button's value is our own text: nothing in it is decoded."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.listeners.common import (
    Body,
    Listening,
    Work,
    acked,
    open_form,
    public,
    respond_all,
    send,
    who_where,
)
from handlers.answer import MORE_ACTION, READING_ACTION
from handlers.info import NEXT_ACTION, PREVIOUS_ACTION
from handlers.proposals import APPROVE, EDIT, IGNORE, edit_form, pressed
from handlers.reminder_actions import DONE_ACTION, LIST_ACTION, SNOOZE_ACTION, list_mine, press
from handlers.render import SHARE_ACTION, Card
from handlers.router import route


def decide_proposal(on: Listening, body: Body, respond: Respond, client: WebClient) -> None:
    """A proposal approved or ignored: the card says so in place; a refusal goes to the presser."""
    action = body["actions"][0]
    user, channel = who_where(body)
    card, note = pressed(
        on.ask("", user, channel), action.get("action_id", ""), str(action.get("value", ""))
    )
    if card is not None:  # an admin's decision, the card edited in place
        respond(**card.payload(), replace_original=True)
    if note is not None:
        respond(**note.payload(), replace_original=False)


def edit_proposal(on: Listening, body: Body, respond: Respond, client: WebClient) -> None:
    """The meeting form, filled in with what the proposal proposes."""
    user, channel = who_where(body)
    ts = str((body.get("message") or {}).get("ts", ""))
    value = str(body["actions"][0].get("value", ""))
    form, note = edit_form(on.ask("", user, channel), value, (channel, ts))
    if form is not None:
        open_form(client, respond, body.get("trigger_id", ""), form)
    if note is not None:
        respond(**note.payload(), replace_original=False)


def reminder_pressed(on: Listening, body: Body, respond: Respond, client: WebClient) -> None:
    """Mark as done, or snooze: the post says so in place of its buttons; a refusal, or a second
    press, is told to the presser alone."""
    action = body["actions"][0]
    user, channel = who_where(body)
    ask = on.ask("", user, channel, zoned=True)
    done = press(ask, str(action.get("action_id", "")), str(action.get("value", "")))
    if done.mark is not None:
        respond(**_marked(body.get("message") or {}, done.mark), replace_original=True)
    if done.note is not None:
        respond(**done.note.payload(), replace_original=False)


def list_reminders(on: Listening, body: Body, respond: Respond, client: WebClient) -> None:
    """The presser's own reminders, shown to them alone."""
    user, channel = who_where(body)
    respond_all(respond, list_mine(on.ask("", user, channel, zoned=True)).pages(), on.names)


def share(on: Listening, body: Body, respond: Respond, client: WebClient) -> None:
    """The same answer again, posted for the channel to see."""
    card = _pressed(on, body)
    card.buttons = []
    respond_all(respond, card.in_channel().pages(), on.names)  # a private card stays private


def more(on: Listening, body: Body, respond: Respond, client: WebClient) -> None:
    """The whole card behind a short answer, shown to the one who asked for it."""
    respond_all(respond, _pressed(on, body).pages(), on.names)


def turn_page(on: Listening, body: Body, respond: Respond, client: WebClient) -> None:
    """Another page of a listing, or the answer to a reading of a question asked back, in place
    of the one shown."""
    card = _pressed(on, body)
    first, *rest = card.pages()
    if card.private:  # not in place of a post the channel may see: to the presser alone
        send(respond, first, on.names)
    elif (body.get("container") or {}).get("is_ephemeral"):
        respond(**first, replace_original=True)
    else:  # in place of a post the channel sees: as the channel may see it
        respond(**public(first, on.names), replace_original=True)
    respond_all(respond, rest, on.names)


Press = Callable[[Listening, Body, Respond, WebClient], None]

# Each button's action IDs and what pressing it does, in the order Bolt is to look at them.
BUTTONS: tuple[tuple[tuple[str | re.Pattern[str], ...], Press], ...] = (
    ((APPROVE, IGNORE), decide_proposal),
    ((EDIT,), edit_proposal),
    ((DONE_ACTION, SNOOZE_ACTION), reminder_pressed),
    ((LIST_ACTION,), list_reminders),
    ((SHARE_ACTION,), share),
    ((MORE_ACTION,), more),
    ((PREVIOUS_ACTION, NEXT_ACTION, re.compile(rf"^{READING_ACTION}-\d$")), turn_page),
)


def register(app: App, on: Listening) -> None:
    """Every button in BUTTONS, each acknowledged at once and done after on `on.later`."""
    for action_ids, does in BUTTONS:
        work: Work = partial(does, on)
        listener = acked(on.later, work)
        for action_id in action_ids:
            app.action(action_id)(listener)


def _marked(message: dict[str, Any], mark: str) -> dict[str, Any]:
    """A post as Slack holds it, its row of buttons replaced by a line saying what was done."""
    kept = [b for b in message.get("blocks") or [] if b.get("type") != "actions"]
    return {
        "text": str(message.get("text") or ""),
        "blocks": Card(blocks=kept).context(mark).blocks,
    }


def _pressed(on: Listening, body: Body) -> Card:
    """What a button's command answers (its value is our own text: nothing to decode)."""
    user, channel = who_where(body)
    return route(on.ask(body["actions"][0].get("value", ""), user, channel))
