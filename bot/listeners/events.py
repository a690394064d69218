"""The events: an @-mention is answered in its thread, after the ack; other messages are not.

Acknowledged at once, answered after on our pool: Bolt's lazy listeners would deep-copy the whole
request for each event, which costs more than the answer. The ack is Bolt's bare 200, as a bare
app's; everything else (the fields read) waits until after it. Over HTTP a mention is acknowledged
by `Direct` (bot/listeners/commands.py) from the body the front parsed, without Bolt's dispatch,
and answered by the same `answer_mention`; in Socket Mode it comes through `register`'s listener.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bot.listeners.common import Body, Listening, after, message, public
from handlers.reminder_actions import READS_WHO
from handlers.render import from_slack
from handlers.router import lookup, mention, split


def register(app: App, on: Listening) -> None:
    @app.event("app_mention")
    def mentioned(ack: Ack, event: Body, client: WebClient, context: BoltContext) -> None:
        ack()
        after(on.later, answer_mention, on, client, event, str(context.bot_user_id or ""))

    @app.event("message")
    def ignore_messages() -> None:
        """Channel messages that are not mentions: nothing to say."""


def is_mention(body: dict[str, Any]) -> bool:
    """Whether a body is an `app_mention` event, as Bolt's `app.event("app_mention")` matches."""
    event = body.get("event")
    return (
        body.get("type") == "event_callback"
        and isinstance(event, dict)
        and event.get("type") == "app_mention"
    )


def own(event: Body, found: AuthorizeResult | None) -> bool:
    """Whether the bot itself sent an event, as Bolt's `ignoring_self_events` tells (a bot that
    mentioned itself would answer itself)."""
    if found is None:
        return False
    user, bot = event.get("user"), event.get("bot_id")
    return (user is not None and user == found.bot_user_id) or (
        bot is not None and bot == found.bot_id
    )


def answer_mention(on: Listening, client: WebClient, event: Body, bot: str) -> None:
    """The answer in the mention's thread, naming people without pinging them; a private one
    (a secret address, a refusal) to the asker alone, in that thread. `bot`: the bot's own user
    id ("" when unknown), whose mention is not part of the question."""
    text, user, channel = (str(event.get(k) or "") for k in ("text", "user", "channel"))
    thread = str(event.get("thread_ts") or event.get("ts") or "")
    card = mention(on.ask(mention_text(text, bot), user, channel))
    for page in card.pages():  # a long answer goes on in the thread, part by part
        if card.private:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread, **message(page))
        else:
            client.chat_postMessage(
                channel=channel, thread_ts=thread, **message(public(page, on.names))
            )


_LEADING_MENTION = re.compile(r"\A\s*<@[A-Z0-9]+(?:\|[^<>]*)?>")


def mention_text(raw: str, bot: str) -> str:
    """A mention's text without the bot's own mention, decoded once; people dropped (they are
    not what is asked about), except for a command that reads whom it is for (`READS_WHO`)."""
    text = from_slack(raw, people=False)
    found = lookup(split(text)[0])
    if found is None or found.name not in READS_WHO:
        return text
    own = re.compile(rf"<@{re.escape(bot)}(?:\|[^<>]*)?>") if bot else _LEADING_MENTION
    return " ".join(own.sub(" ", from_slack(raw, ids=True)).split())
