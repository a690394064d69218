"""The forms (Slack's view submissions): the meeting form, new or filled in from a proposal's Edit.
A form with mistakes is answered in the ack (Slack shows them beside their fields); a saved one
is confirmed after, on the pool."""

from __future__ import annotations

import json
import logging

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.listeners.common import Body, Listening, after, message, who_where
from handlers.edits import FORM, submit_form
from handlers.proposals import card_after_edit, proposal_of, submit_edit
from handlers.render import Card

log = logging.getLogger("apec.app")


def register(app: App, on: Listening) -> None:
    @app.view(FORM)
    def meeting_form_submitted(ack: Ack, body: Body, view: Body, client: WebClient) -> None:
        submit_meeting_form(on, ack, body, view, client)


def submit_meeting_form(on: Listening, ack: Ack, body: Body, view: Body, client: WebClient) -> None:
    """The form's mistakes in the ack; else the ack, then the change confirmed to the one who
    saved it (and a proposal's card updated, when the form was its Edit)."""
    user, _ = who_where(body)
    meta = view.get("private_metadata", "")
    channel = _channel_of(meta)
    submit = submit_edit if proposal_of(meta) is not None else submit_form  # a proposal's Edit
    errors, reply = submit(on.ask("", user, channel), view.get("state", {}).get("values", {}), meta)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    after(on.later, _confirm, on, client, user, channel, meta, reply)


def _channel_of(meta: str) -> str:
    """The channel the form was opened from, as its private metadata keeps it."""
    try:
        channel: str = json.loads(meta or "{}").get("channel", "")
        return channel
    except ValueError:
        return ""


def _confirm(
    on: Listening, client: WebClient, user: str, channel: str, meta: str, reply: Card | None
) -> None:
    if proposal_of(meta) is not None:
        _update_card(client, card_after_edit(on.ask("", user, channel).store, meta))
    if reply and channel:
        try:
            client.chat_postEphemeral(channel=channel, user=user, **message(reply.payload()))
        except SlackApiError as exc:
            log.warning("could not confirm the form to %s: %s", user, exc.response.get("error"))


def _update_card(client: WebClient, found: tuple[str, str, Card] | None) -> None:
    """A proposals card updated in place after its proposal was edited and saved."""
    if found is None:
        return
    channel, ts, card = found
    try:
        client.chat_update(channel=channel, ts=ts, **message(card.payload()))
    except SlackApiError as exc:
        log.warning("could not update the proposals card: %s", exc.response.get("error"))
