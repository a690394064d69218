"""Help, generated from the registry, and the list of sources."""

from __future__ import annotations

from handlers.render import Card, esc
from handlers.router import Ask, command, visible


@command("help", example="help", aliases=("?", "commands"), share=False)
def help_(ask: Ask) -> Card:
    """Every command, with an example of each."""
    lines = [
        f"• `/apec {esc(c.usage)}` — {esc(c.summary)} _e.g._ `/apec {esc(c.example)}`"
        for c in visible(ask)
    ]
    card = Card().listing("*What I can answer* (from the desk's sources, always cited)", lines)
    card.context("Or mention me with a question: `@APEC who leads the US delegation?`")
    return card


@command("sources", example="sources", aliases=("source",))
def sources(ask: Ask) -> Card:
    """The source documents everything I say comes from."""
    found = ask.store.sources()
    lines = [
        f"• *{esc(s.title)}*"
        + (f", {esc(s.publisher)}" if s.publisher else "")
        + f" — {esc(s.kind)}, read as of {s.reference_date.isoformat()}"
        + (" _(added by the desk)_" if s.origin == "desk" else "")
        for s in found
    ]
    card = Card().listing(f"*{len(found)} sources*", lines)
    return card
