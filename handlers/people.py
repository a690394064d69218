"""People and delegations: who someone is, who led which delegation, and what it sought."""

from __future__ import annotations

from handlers.meetings import not_found_meeting, title
from handlers.members import member_reply
from handlers.registry import Ask, UsageError, command
from handlers.render import Card, esc
from store.models import Delegation, Economy, Person
from store.queries import Store


def person_card(card: Card, p: Person, store: Store) -> Card:
    """Who a person is and what the sources say they did."""
    economy = store.economy(p.economy_id)
    where = f" ({esc(economy.name)})" if economy else ""
    described = ", ".join(x for x in (p.title, p.organization) if x)
    card.section(f"*{esc(p.name)}*{where}" + (f" — {esc(described)}" if described else ""))
    card.cite(p.source, p.quote)
    delegations = [d for d in store.delegations() if d.head and d.head.id == p.id]
    for d in delegations:
        card.section(f"• Led the {esc(d.economy.name)} delegation to {esc(title(d.meeting))}.")
        card.cite(d.source, d.quote)
    for d in store.delegations():
        for m in d.members:
            if m.person.id == p.id:
                card.section(
                    f"• Member of the {esc(d.economy.name)} delegation to {esc(title(d.meeting))}"
                    + (f" as {esc(m.role)}" if m.role else "")
                    + "."
                )
                card.cite(m.source, m.quote)
    for role in p.roles:
        card.section(f"• {esc(role.role[:1].upper() + role.role[1:])}.")
        card.cite(role.source, role.quote)
    return card


@command("who", usage="who PERSON", example="who Casey Mace", aliases=("person",), kept=True)
def who(ask: Ask) -> Card:
    """Who a person is, their title and what the sources say they did."""
    if not ask.args:
        raise UsageError("Who?")
    name = ask.args.strip().rstrip("?")
    found = ask.store.person(name) or next(iter(ask.store.people_in_text(name)), None)
    if found is None:
        card = Card().section(f"I have no source that names `{esc(name[:60])}`.")
        close = ask.store.person_suggestions(name)
        if close:
            card.section("Did you mean " + ", ".join(f"`{esc(c)}`" for c in close) + "?")
        card.context("For example `/apec who Casey Mace`; `/apec delegations` lists who led what.")
        return card
    return person_card(Card(), found, ask.store)


def delegation_card(card: Card, d: Delegation) -> Card:
    """A delegation: head, members, stated objectives, each cited."""
    card.section(f"*{esc(d.economy.name)} delegation to {esc(title(d.meeting))}*")
    if d.head:
        head = ", ".join(x for x in (d.head.title,) if x)
        card.section(f"*Head:* {esc(d.head.name)}" + (f" ({esc(head)})" if head else ""))
    card.cite(d.source, d.quote)
    if d.members:
        card.section(
            "*Members:*\n"
            + "\n".join(
                f"• {esc(m.person.name)}" + (f" — {esc(m.role)}" if m.role else "")
                for m in d.members
            )
        )
        for m in d.members:
            card.cite(m.source, m.quote)
    if d.objectives:
        card.section("*Stated objectives:*\n" + "\n".join(f"• {esc(o.text)}" for o in d.objectives))
        for o in d.objectives:
            card.cite(o.source)
    return card


@command("delegation", usage="delegation ECONOMY [MEETING]", example="delegation US", kept=True)
def delegation(ask: Ask) -> Card:
    """An economy's delegation: who leads it, who is in it, what it seeks (optionally to one
    meeting)."""
    if not ask.args:
        raise UsageError("Which economy's delegation?")
    return delegation_reply(ask.store, ask.args)


def find_economy(store: Store, name: str) -> Economy | None:
    """A member economy by any name the bot knows ("US", "Korea", "Taiwan"), or the first a text
    names."""
    words = name.strip().rstrip("?").strip()
    return store.member(words).economy or next(iter(store.economies_in_text(words)), None)


def delegation_reply(store: Store, text: str) -> Card:
    """The delegations of the economy named in `text` (to the meeting named there, if any)."""
    words = text.strip().rstrip("?")
    economy = find_economy(store, words)
    if economy is None:
        # "US SOM1": the economy is the first words that name one.
        parts = words.split()
        for i in range(len(parts) - 1, 0, -1):
            economy = store.member(" ".join(parts[:i])).economy
            if economy:
                break
    if economy is None:
        return member_reply(store, words)
    meeting_ids = [m.id for m in store.meetings_in_text(words)]
    delegations = store.delegations(economy_id=economy.id)
    if meeting_ids:
        delegations = [d for d in delegations if d.meeting.id in meeting_ids]
    card = Card()
    if not delegations:
        card.section(
            f"I have no source on a {esc(economy.name)} delegation"
            + (" to that meeting." if meeting_ids else ".")
        )
        known = sorted({d.economy.name for d in store.delegations()})
        if known:
            card.context(
                "Delegations on record: "
                + ", ".join(esc(k) for k in known)
                + ". `/apec delegations` lists them."
            )
        return card
    for i, d in enumerate(delegations):
        if i:
            card.divider()
        delegation_card(card, d)
    return card


@command("delegations", example="delegations", kept=True)
def delegations(ask: Ask) -> Card:
    """Every delegation on record, with its head."""
    found = ask.store.delegations()
    if ask.args:
        meeting = ask.store.meeting(ask.args)
        if meeting is None:
            return not_found_meeting(ask.store, ask.args)
        found = [d for d in found if d.meeting.id == meeting.id]
    if not found:
        return Card().section(
            "I have no delegations on record" + (" for that meeting." if ask.args else ".")
        )
    card = Card().section(
        "*Delegations on record*\n"
        + "\n".join(
            f"• *{esc(d.economy.name)}* to {esc(d.meeting.short)}"
            + (f" — led by {esc(d.head.name)}" if d.head else "")
            for d in found
        )
    )
    for d in found:
        card.cite(d.source, d.quote)
    card.context("Details: `/apec delegation US`.")
    return card
