"""Member economies: the list, and whether a name is a member (and under what official name)."""

from __future__ import annotations

from handlers.registry import Ask, UsageError, command, reads_nothing
from handlers.render import Card, esc
from store.queries import Store
from store.text import fold


@command("members", example="members", aliases=("economies",), kept=True, reads=reads_nothing)
def members(ask: Ask) -> Card:
    """The 21 member economies under their official APEC names."""
    found = ask.store.members()
    card = Card().section(
        f"*APEC has {len(found)} member economies:*\n"
        + "\n".join(f"• {esc(e.name)}" for e in found)
    )
    for source in dict.fromkeys(e.source for e in found):
        card.cite(source)
    return card


@command(
    "member",
    usage="member ECONOMY",
    example="member South Korea",
    aliases=("is-member",),
    kept=True,
)
def member(ask: Ask) -> Card:
    """Is an economy a member, and its official APEC name (US, ROK, Taiwan, Viet Nam...)."""
    if not ask.args:
        raise UsageError("Which economy?")
    return member_reply(ask.store, ask.args)


def member_reply(store: Store, name: str) -> Card:
    """The answer for one name: member with official name, known non-member, or unknown."""
    name = name.strip().rstrip("?").strip()
    found = store.member(name)
    card = Card()
    if found.economy is not None:
        e = found.economy
        asked = "" if fold(name) == fold(e.name) else f" (you asked about {esc(name)})"
        card.section(f"Yes: *{esc(e.name)}*{asked} is an APEC member economy.")
        return card.cite(e.source, e.quote)
    members_ = store.members()
    listing = members_[0].source if members_ else None
    if found.non_member:
        card.section(
            f"No: *{esc(found.non_member)}* is not an APEC member economy; it is not among the "
            f"{len(members_)} members on record."
        )
        if listing:
            card.cite(listing)
        card.context("`/apec members` lists them all.")
        return card
    card.section(f"I don't know an economy called `{esc(name[:60])}`.")
    close = store.economy_suggestions(name)
    if close:
        card.section("Did you mean " + ", ".join(f"`{esc(s)}`" for s in close) + "?")
    card.context("For example `/apec member Viet Nam`; `/apec members` lists all 21.")
    return card
