"""The app's Home tab: the next meetings, the countdown to the Leaders' Summit, and the commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.meetings import countdown, meeting_line, upcoming
from handlers.render import Card, esc
from handlers.router import REGISTRY, Ask, _load
from store.queries import Store

MAX_HOME_BLOCKS = 100


def home_view(store: Store, now: datetime) -> dict[str, Any]:
    """The Home tab view (`views.publish`), within Slack's 100 blocks."""
    _load()
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
    card.divider()
    card.blocks.extend(
        b for b in countdown(Ask(store=store, now=now))["blocks"] if b["type"] != "actions"
    )
    card.divider()
    commands = sorted(REGISTRY.values(), key=lambda c: c.name)
    card.section(
        "*Commands*\n" + "\n".join(f"• `/apec {esc(c.usage)}` — {esc(c.summary)}" for c in commands)
    )
    card.context("Mention me with a question: `@APEC who leads the US delegation?`")
    return {"type": "home", "blocks": card.blocks[:MAX_HOME_BLOCKS]}
