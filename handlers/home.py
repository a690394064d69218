"""The app's Home tab: the next meetings, the countdown to the Leaders' Summit, the year on a
timeline (with a public address), the viewer's reminders (and those they set for channels and
others), and the commands."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from handlers.meetings import HOW_TO_ADD, countdown, meeting_line, upcoming
from handlers.registry import Ask, visible
from handlers.reminder_actions import add_reminders
from handlers.render import Card, esc
from handlers.timeline import home_block

MAX_HOME_BLOCKS = 100


def home_view(ask: Ask) -> dict[str, Any]:
    """The Home tab view (`views.publish`) for the user asking, within Slack's 100 blocks: what
    was published by the day it is opened."""
    ask = replace(ask, store=ask.store.at(ask.now.date()))
    store, now = ask.store, ask.now
    card = Card().header("APEC desk")
    soon = upcoming(store, now, days=90)
    if soon:
        card.section(
            "*Next meetings (90 days)*\n" + "\n".join(meeting_line(m, now) for m in soon[:10])
        )
    else:
        nxt = store.next_meeting(after=now)
        if nxt is not None:
            card.section("*Next meeting on record*\n" + meeting_line(nxt, now))
        else:
            card.section("*No upcoming meeting is on record.*")
            card.context(HOW_TO_ADD)
    card.divider()
    card.blocks.extend(countdown(ask).blocks)
    card.divider()
    picture = home_block(ask)  # only when the bot has a public address to serve it from
    if picture is not None:
        card.blocks.append(picture)
        card.divider()
    if ask.user:
        add_reminders(card, ask)
        card.divider()
    card.listing(
        "*Commands*", [f"• `/apec {esc(c.usage)}` — {esc(c.summary)}" for c in visible(ask)]
    )
    card.context("Mention me with a question: `@APEC who leads the US delegation?`")
    return {"type": "home", "blocks": card.blocks[:MAX_HOME_BLOCKS]}
