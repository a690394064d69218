"""Proposals from new documents: the card posted to the desk's channel (one a document, or one a
held source and day), `/apec proposals`, and approving, editing or ignoring one. Only admins act
(router's one check); anyone may read."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from handlers.edits import editor, meeting_form, submit_form, who
from handlers.registry import Ask, UsageError, command, refuse_unless_admin
from handlers.render import Card, esc
from store import proposals
from store.dates import DateError
from store.db import immediate
from store.proposals import Proposal, ProposalError, short_quote
from store.queries import Store

APPROVE, EDIT, IGNORE = "proposal_approve", "proposal_edit", "proposal_ignore"
HELD_VALUE = ":held"  # after the number in a held card's button values: that card is re-drawn
SHOWN = 15  # proposals on one card: two blocks each (the quote, the buttons), within Slack's 50
CARD_QUOTE = 500


def line(p: Proposal) -> str:
    """A proposal's line as mrkdwn: its text escaped once, here."""
    return esc(p.line())


def document_card(store: Store, source_id: str) -> Card:
    """One document's proposals: each sentence quoted, the change, and the buttons (or what was
    decided, by whom)."""
    items = proposals.of_source(store.db, source_id)
    source = store.source(source_id)
    card = Card().header("Proposed calendar changes")
    title = source.cite() if source else source_id
    card.section(f"From *{esc(title)}* (source `{esc(source_id)}`):")
    _items(card, items, on_held=False)
    card.context(
        "Only the desk's calendar keepers can act on these. An approved change cites this "
        "document; an ignored one is never proposed again."
    )
    return card.in_channel()


def held_card(store: Store, key: str) -> Card:
    """A held source's proposals of one day, on one card: that it was held and why, then each
    proposal as on a document's card."""
    origin, items = proposals.held_of(store.db, key)
    day = key.split(":")[1] if key.count(":") >= 2 else ""
    card = Card().header("Proposals held for review")
    card.section(
        f"*{esc(proposals.where(origin) or 'A watched source')}* made {len(items)} proposals on "
        f"{esc(day)} (UTC), more than {proposals.FLOOD_LIMIT} in a day: they are held here on one "
        "card instead of a card for each document. None is on the calendar unless approved."
    )
    _items(card, items, on_held=True)
    card.context(
        "Only the desk's calendar keepers can act on these. A source that floods the desk may be "
        "broken or hostile: `/apec feeds` shows it, `/apec unwatch` stops it."
    )
    return card.in_channel()


def post_card(store: Store, key: str) -> Card:
    """The card of a proposals post in the desk's channel: a held source's, or a document's."""
    if proposals.is_held_key(key):
        return held_card(store, key)
    return document_card(store, proposals.source_of(key))


def _items(card: Card, items: list[Proposal], on_held: bool) -> None:
    """Each proposal on a card: the change, its sentence, the buttons or what was decided."""
    for p in items[:SHOWN]:
        mark = " (held)" if p.held and not on_held else ""
        # The sentence as the source writes it: no mark in it rendered, nothing in it live.
        card.quote(
            short_quote(p.quote, CARD_QUOTE), lead=f" {p.change}", bold=f"Proposal {p.id}{mark}:"
        )
        if p.status == proposals.OPEN:
            card.blocks.append(_buttons(p, on_held))
        else:
            verb = "Approved" if p.status == proposals.APPROVED else "Ignored"
            card.context(f"{verb} by {who(p.decided_by)} on {esc(p.decided_at[:10])}.")
    if len(items) > SHOWN:
        card.context(f"…and {len(items) - SHOWN} more: `/apec proposals` lists every open one.")


def _card_of(store: Store, p: Proposal, on_held: bool) -> Card:
    """The card a proposal's button was on, as it now stands."""
    if on_held and p.held:
        return held_card(store, proposals.held_key(p.origin, p.held))
    return document_card(store, p.source_id)


def _value(value: str) -> tuple[int | None, bool]:
    """A button's value: (the proposal's number, or None; whether it was on a held card)."""
    on_held = value.endswith(HELD_VALUE)
    number = value.removesuffix(HELD_VALUE)
    return (int(number) if number.isdigit() and len(number) <= 9 else None), on_held


def _buttons(p: Proposal, on_held: bool = False) -> dict[str, Any]:
    value = str(p.id) + (HELD_VALUE if on_held else "")
    elements = [_button("Approve", APPROVE, value, "primary")]
    if p.kind != proposals.DELEGATE:
        elements.append(_button("Edit", EDIT, value))
    elements.append(_button("Ignore", IGNORE, value))
    return {"type": "actions", "block_id": f"proposal-{p.id}", "elements": elements}


def _button(text: str, action_id: str, value: str, style: str = "") -> dict[str, Any]:
    button = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }
    return {**button, "style": style} if style else button


@command("proposals", usage="proposals", example="proposals")
def list_proposals(ask: Ask) -> Card:
    """Changes to the calendar that new documents propose, waiting for the desk."""
    found = proposals.open_proposals(ask.store.db)
    if not found:
        return Card().section("No open proposals: new documents have proposed nothing to decide.")
    card = Card().listing(
        f"*{len(found)} open proposal{'s' if len(found) != 1 else ''}*", [line(p) for p in found]
    )
    card.context(
        "Admins: `/apec approve N` or `/apec ignore N` "
        "(or the buttons on the card in the desk's channel)."
    )
    if any(p.held for p in found):
        card.context(
            f"Held: from a source that made more than {proposals.FLOOD_LIMIT} proposals in a day, "
            "posted on one card for the day; decide them as any other."
        )
    return card


def _number(ask: Ask) -> int:
    word = ask.args.strip().lstrip("#")
    if not word.isdigit() or len(word) > 9:
        raise UsageError("Give the proposal's number, as `/apec proposals` shows it.")
    return int(word)


@command("approve", usage="approve N", example="approve 1", admin=True)
def approve(ask: Ask) -> Card:
    """Approve a proposal: the change goes on the calendar, citing its document."""
    return _decided_card(ask, _number(ask), True)


@command("ignore", usage="ignore N", example="ignore 1", admin=True)
def ignore(ask: Ask) -> Card:
    """Ignore a proposal: it is never proposed again."""
    return _decided_card(ask, _number(ask), False)


def decide(ask: Ask, proposal_id: int, approve: bool) -> Proposal:
    """Act on a proposal as the one asking (who must be an admin: checked by the caller), tell the
    scheduler; ProposalError if it is unknown or decided already."""
    p = proposals.decide(ask.store.db, ask.seeds, proposal_id, approve, editor(ask), ask.now)
    ask.on_change()
    ask.store.refresh()
    return p


def _decided_card(ask: Ask, proposal_id: int, approve: bool) -> Card:
    try:
        p = decide(ask, proposal_id, approve)
    except ProposalError as exc:
        return Card().section(esc(str(exc)[:1].upper() + str(exc)[1:]) + ".")
    return decided(p)


def decided(p: Proposal) -> Card:
    """What was done with a proposal, in one line."""
    verb = "Approved" if p.status == proposals.APPROVED else "Ignored"
    card = Card().section(f":white_check_mark: {verb} {line(p)}")
    if p.status == proposals.APPROVED:
        card.context(
            "It is on the calendar now, citing its document: "
            "answers, the Home tab, the feed and reminders follow."
        )
    else:
        card.context("It will not be proposed again.")
    return card


# -- the card's buttons ----------------------------------------------------------------------------


def pressed(ask: Ask, action_id: str, value: str) -> tuple[Card | None, Card | None]:
    """A button of a proposals card pressed (a document's, or a held source's): (the card as it
    now stands, to replace the one pressed, or None; a reply for the presser alone, or None)."""
    refusal = refuse_unless_admin(ask)
    if refusal is not None:
        return None, refusal
    number, on_held = _value(value)
    if number is None:
        return None, Card().section("That button is not one of mine.")
    p = proposals.get(ask.store.db, number)
    if p is None:
        return None, Card().section(f"There is no proposal {number}.")
    try:
        decide(ask, p.id, action_id == APPROVE)
    except ProposalError as exc:
        return _card_of(ask.store.refresh(), p, on_held), Card().section(esc(str(exc)) + ".")
    return _card_of(ask.store.refresh(), p, on_held), None


def edit_form(
    ask: Ask, value: str, card: tuple[str, str] = ("", "")
) -> tuple[dict[str, Any] | None, Card | None]:
    """The meeting form filled in with what a proposal proposes (None and a reply if it cannot be
    opened). `card` is the (channel, ts) of the card to update once it is saved."""
    refusal = refuse_unless_admin(ask)
    if refusal is not None:
        return None, refusal
    number, on_held = _value(value)
    p = proposals.get(ask.store.db, number) if number is not None else None
    if p is None or p.kind == proposals.DELEGATE:
        return None, Card().section("That proposal has no form to edit.")
    if p.status != proposals.OPEN:
        return None, Card().section(f"Proposal {p.id} was already {esc(p.status)}.")
    meeting = ask.store.meeting(p.target) if p.kind != proposals.ADD else None
    form = meeting_form(meeting, ask.channel)
    meta = json.loads(form["private_metadata"])
    where = {"proposal": p.id, "card": list(card), "held": on_held}  # the card to re-draw
    form["private_metadata"] = json.dumps({**meta, **where})
    _fill(form, _shown(ask, p, meeting))
    form["title"] = {"type": "plain_text", "text": f"Proposal {p.id}"}
    return form, None


def _shown(ask: Ask, p: Proposal, meeting: Any) -> dict[str, str]:
    """The form's fields as the proposal would leave the meeting."""
    values = {
        k: str(v)
        for k, v in p.record.items()
        if k in ("name", "short", "kind", "city", "host", "status")
    }
    try:
        span = proposals.proposed_span(p, ask.now.date())
    except DateError:
        span = None
    if span is not None and span.start is not None and span.end is not None:
        if span.precision == "day":
            values.update(start=span.start.isoformat(), end=span.end.isoformat(), month="")
        else:
            values.update(start="", end="", month=f"{span.start:%B %Y}")
    source = ask.store.source(p.source_id)
    title = source.title if source else p.source_id
    values["note"] = f"{title}: “{short_quote(p.quote, 400)}”"
    return values


def _fill(form: dict[str, Any], values: dict[str, str]) -> None:
    """Set the form's fields to `values` (the form's own record of what it showed stays the
    meeting's, so saving it changes what the proposal changes, and what the admin edited)."""
    for block in form["blocks"]:
        name = block.get("block_id")
        if name not in values:
            continue
        element = block["element"]
        if element["type"] == "static_select":
            match = [o for o in element["options"] if o["value"] == values[name]]
            if match:
                element["initial_option"] = match[0]
        elif values[name]:
            element["initial_value"] = values[name][:3000]
        else:
            element.pop("initial_value", None)


def proposal_of(private_metadata: str) -> int | None:
    """The proposal a submitted meeting form edits, if it came from a proposal's Edit button."""
    try:
        found = json.loads(private_metadata or "{}").get("proposal")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, int) else None


def submit_edit(
    ask: Ask, state: dict[str, Any], private_metadata: str
) -> tuple[dict[str, str] | None, Card | None]:
    """A proposal's form saved, and the proposal marked approved, in one write transaction that
    reads the proposal's status first (as the form's own submission, errors and all)."""
    proposal_id = proposal_of(private_metadata)
    assert proposal_id is not None
    if refuse_unless_admin(ask) is not None:
        return {"name": "Only the desk's calendar keepers can change it."}, None
    db = ask.store.db
    later = replace(ask, on_change=lambda: None)  # told once, after the commit
    with immediate(db):
        p = proposals.get(db, proposal_id)
        if p is None or p.status != proposals.OPEN:
            return {"name": f"Proposal {proposal_id} was decided meanwhile; nothing saved."}, None
        errors, reply = submit_form(later, state, private_metadata)
        if errors:
            return errors, None
        proposals.decide(db, ask.seeds, p.id, True, editor(ask), ask.now, fields={"form": True})
    ask.on_change()
    return None, reply


def card_after_edit(store: Store, private_metadata: str) -> tuple[str, str, Card] | None:
    """(channel, ts, the card as it now stands) of the card whose Edit button opened the form."""
    try:
        meta = json.loads(private_metadata or "{}")
        channel, ts = meta.get("card") or ("", "")
    except (ValueError, TypeError):
        return None
    p = (
        proposals.get(store.db, meta.get("proposal", 0))
        if isinstance(meta.get("proposal"), int)
        else None
    )
    if p is None or not channel or not ts:
        return None
    return str(channel), str(ts), _card_of(store.refresh(), p, meta.get("held") is True)
