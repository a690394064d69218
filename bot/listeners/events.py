"""The events: an @-mention is answered in its thread, after the ack; other messages are not.

Acknowledged at once, answered after on our pool: Bolt's lazy listeners would deep-copy the whole
request for each event, which costs more than the answer. The ack is Bolt's bare 200, as a bare
app's; everything else (the fields read, the bot's id) waits until after it.
"""

from __future__ import annotations

import re

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.listeners.common import Body, Listening, after, message, public
from handlers.reminder_actions import READS_WHO
from handlers.render import from_slack
from handlers.router import lookup, mention, split


def register(app: App, on: Listening) -> None:
    @app.event("app_mention")
    def mentioned(ack: Ack, event: Body, client: WebClient, context: BoltContext) -> None:
        ack()
        after(on.later, answer_mention, on, client, event, context)

    @app.event("message")
    def ignore_messages() -> None:
        """Channel messages that are not mentions: nothing to say."""


def answer_mention(on: Listening, client: WebClient, event: Body, context: BoltContext) -> None:
    """The answer in the mention's thread, naming people without pinging them; a private one
    (a secret address, a refusal) to the asker alone, in that thread."""
    text, user, channel = (str(event.get(k) or "") for k in ("text", "user", "channel"))
    thread = str(event.get("thread_ts") or event.get("ts") or "")
    card = mention(on.ask(mention_text(text, str(context.bot_user_id or "")), user, channel))
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
