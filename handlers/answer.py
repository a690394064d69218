"""Answering a question in plain words (an @-mention, or `/apec ask`): records first, then passages.

Questions about people, delegations, dates, places, members and named frameworks are answered from
the structured records; anything else from full-text search over the sources' passages. When nothing
is good enough the answer says there is no source, and suggests a command: it never guesses.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from handlers.meetings import (
    KIND_WORDS,
    countdown,
    days_until,
    in_days,
    meeting_card,
    meeting_line,
    no_upcoming,
    period_label,
    title,
)
from handlers.members import member_reply
from handlers.people import delegation_card, person_card
from handlers.render import Card, Reply, esc
from handlers.router import Ask, UsageError, command, lookup, route, split
from store.dates import read_period
from store.queries import GENERIC, Fact, Meeting, Store, content_words, stem
from store.text import fold

_WORD = re.compile(r"[a-z0-9]+")
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")

LEAD = {
    "lead",
    "leads",
    "led",
    "leading",
    "head",
    "heads",
    "headed",
    "heading",
    "spearhead",
    "spearheads",
    "spearheaded",
    "chief",
}
AIMS = {
    "objective",
    "objectives",
    "aim",
    "aims",
    "goal",
    "goals",
    "priorities",
    "priority",
    "want",
    "wants",
    "seek",
    "seeks",
    "push",
    "pushing",
    "agenda",
}
MEMBERSHIP = {
    "member",
    "members",
    "membership",
    "economies",
    "economy",
    "belong",
    "belongs",
    "join",
    "joined",
    "part",
}
WHEN = {
    "when",
    "date",
    "dates",
    "day",
    "days",
    "start",
    "starts",
    "begin",
    "begins",
    "open",
    "opens",
    "held",
    "schedule",
    "scheduled",
    "long",
    "end",
    "ends",
    "month",
}
WHERE = {"where", "city", "venue", "location", "place", "held", "hosted"}
NEXT = {"next", "upcoming", "coming", "soon", "future"}
KIND_HINTS = {
    "som": ("som", "soms", "senior officials", "senior official's", "senior officials'"),
    "summit": (
        "summit",
        "leaders meeting",
        "leaders' meeting",
        "aelm",
        "leaders' summit",
        "leaders summit",
    ),
    "ministerial": ("ministerial", "ministerials", "ministers meeting"),
}
# Adjectives of the member economies, for questions ("who led the Korean delegation?").
DEMONYMS = {
    "american": "US",
    "australian": "AU",
    "bruneian": "BN",
    "canadian": "CA",
    "chilean": "CL",
    "chinese": "CN",
    "indonesian": "ID",
    "japanese": "JP",
    "korean": "KR",
    "malaysian": "MY",
    "mexican": "MX",
    "zealander": "NZ",
    "peruvian": "PE",
    "filipino": "PH",
    "philippine": "PH",
    "russian": "RU",
    "singaporean": "SG",
    "thai": "TH",
    "vietnamese": "VN",
}
# Words that ask about an announcement or report, not for a list of meetings.
REPORTING = {"announce", "announced", "announcement", "report", "reported", "said", "say"}


def clean(text: str) -> str:
    """The question without the bot's mention, control characters or extra space."""
    text = _MENTION.sub(" ", text.replace("\x00", " "))
    return " ".join(text.split())[:2000]


@command(
    "ask",
    usage="ask QUESTION",
    example="ask who leads the US delegation?",
    aliases=("q", "question"),
)
def ask_command(ask: Ask) -> Reply:
    """A question in plain words, answered from the sources (the same as mentioning me)."""
    if not ask.args:
        raise UsageError("What would you like to know?")
    return answer(ask.store, ask.args, ask.now)


# Commands a mention may give too ("@APEC subscribe reminders"); other first words start questions
# ("@APEC who leads ...", "@APEC meeting times?") and are answered as such.
MENTION_COMMANDS = {
    "help",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "remind",
    "reminders",
    "cancel",
    "pause",
    "resume",
    "countdown",
    "sources",
    "next-meeting",
    "delegations",
    "history",
    "ics",
}


def mention(ask: Ask) -> Reply:
    """What `@bot TEXT` answers: a command if it starts with one (admin commands checked as in
    `/apec`), else the question answered in words."""
    text = clean(ask.text)
    word, _ = split(text)
    found = lookup(word)
    if found is not None and (found.admin or found.name in MENTION_COMMANDS):
        reply = route(replace(ask, text=text))
        blocks = [b for b in reply.get("blocks", []) if b.get("type") != "actions"]
        return {**reply, "response_type": "in_channel", "blocks": blocks}
    return answer(ask.store, text, ask.now, response_type="in_channel")


def answer(store: Store, question: str, now: datetime, response_type: str = "ephemeral") -> Reply:
    """The best sourced answer to a question, or a plain "I have no source for that"."""
    q = clean(question)
    if not q:
        return (
            Card()
            .section(
                "Ask me about APEC meetings, delegations, members or what the sources say, "
                "e.g. `who leads the US delegation?`. `/apec help` lists the commands."
            )
            .payload(response_type)
        )
    card = _answer(store, q, now)
    if card is None:
        card = no_source(store, q)
    return card.payload(response_type)


def _answer(store: Store, q: str, now: datetime) -> Card | None:
    low = fold(q)
    words = set(_WORD.findall(low.replace("'", "")))
    economies = store.economies_in_text(q) or _by_demonym(store, words)
    non_members = store.non_members_in_text(q)
    people = store.people_in_text(q)
    meetings = store.meetings_in_text(q)
    kind = next((k for k, hints in KIND_HINTS.items() if any(_has(low, h) for h in hints)), None)

    # Delegations: "who leads the US delegation?", "what does Korea want at SOM1?"
    with_delegation = [e for e in economies if store.delegations(economy_id=e.id)]
    asks_delegation = "delegation" in words or "delegations" in words
    if not people and (
        asks_delegation or (words & LEAD and economies) or (words & AIMS and with_delegation)
    ):
        if economies:
            return _delegation(store, economies[0].id, meetings, words, now)
        if "delegations" in words or "delegation" in words:
            return _all_delegations(store, meetings)
    # Membership: "is India a member?", "official name of Taiwan", "how many members?"
    if (
        (words & MEMBERSHIP or "official name" in low or "in apec" in low)
        and not people
        and not meetings
    ):
        named = [w for w, _ in store.named_in_text("economy", q)] + non_members
        if named and not (words & (LEAD | AIMS)):
            return _card_of(member_reply(store, named[0]))
        if {"how", "many"} <= words or "members" in words or "list" in words or "which" in words:
            members = store.members()
            card = Card().section(
                f"APEC has *{len(members)} member economies*: "
                + ", ".join(esc(e.name) for e in members)
                + "."
            )
            for source in dict.fromkeys(e.source for e in members):
                card.cite(source)
            return card
    # "Who presided over the BMC meeting?": people with a role at the meeting named.
    if "who" in words and meetings and not people and not _strong_fact(store, low):
        card = _who_at(store, meetings[0])
        if card is not None:
            return card
    if not people and "who" in words:
        people = _people_by_one_name(store, q)
        if len(people) > 1:
            card = Card().section(
                f"{len(people)} people on record go by that name: "
                + "; ".join(f"*{esc(p.name)}* ({esc(p.title)})" for p in people)
                + "."
            )
            for p in people:
                card.cite(p.source, p.quote)
            return card
    if people and "who" not in words:
        # "What happened in the call between Lee and Xi?" is about the call, not the callers.
        facts = _fact_candidates(store, low)
        if facts:
            return _facts_card(facts)
    if people:
        card = Card()
        for p in people[:2]:
            person_card(card, p, store)
        return card
    # Countdown.
    if (
        "countdown" in words
        or ({"how", "many", "days"} <= words)
        or ({"how", "long", "until"} <= words)
    ):
        return _card_of(countdown(Ask(store=store, now=now)))
    # Dates and places of meetings.
    if meetings and (words & (WHEN | WHERE) or not _fact_candidates(store, low)):
        card = Card()
        for m in meetings[:2]:
            meeting_card(card, m, store, now)
        return card
    if words & NEXT or (kind and words & (WHEN | WHERE)):
        return _next(store, now, kind)
    if (
        "meetings" in words or "calendar" in words or "schedule" in words
    ) and not words & REPORTING:
        period = read_period(q, now)
        if period is not None and period.start and period.end:
            found = [m for m in store.meetings_between(period.start, period.end) if not m.parent_id]
            card = Card()
            if not found:
                return card.section(f"No meetings on record for {esc(period_label(period))}.")
            card.section(
                f"*Meetings for {esc(period_label(period))}*\n"
                + "\n".join(meeting_line(m, now) for m in found)
            )
            for m in found:
                card.cite(m.source)
            return card
    facts = _fact_candidates(store, low)
    if facts:
        return _facts_card(facts)
    return _search(store, q)


def _facts_card(facts: list[Fact]) -> Card:
    card = Card()
    for fact in facts[:2]:
        card.section(esc(fact.answer))
        card.cite(fact.source, fact.quote)
    return card


def _people_by_one_name(store: Store, q: str) -> list:
    """People matching a single capitalised name in the question ("who is Lee?")."""
    found = []
    for word in re.findall(r"\b[A-Z][a-z]{2,}(?:-[a-z]+)?\b", q):
        found += [p for p in store.people_named(word) if p not in found]
    return found


def _by_demonym(store: Store, words: set[str]) -> list:
    """ "the Korean delegation": economies named by their adjective, for questions only."""
    ids = [DEMONYMS[w] for w in sorted(words) if w in DEMONYMS]
    return [e for i in dict.fromkeys(ids) if (e := store.economy(i)) is not None]


def _strong_fact(store: Store, low: str) -> bool:
    """A fact whose keyword phrase (two words or more) the question holds: it is what is asked."""
    return any(
        len(k.split()) >= 2 and _has(low, fold(k)) for f in store.facts() for k in f.keywords
    )


def _has(low: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", low) is not None


def _card_of(reply: Reply) -> Card:
    return Card(blocks=[b for b in reply["blocks"] if b.get("type") != "actions"])


def _delegation(
    store: Store, economy_id: str, meetings: list[Meeting], words: set[str], now: datetime
) -> Card:
    found = store.delegations(economy_id=economy_id)
    ids = {m.id for m in meetings}
    if ids:
        found = [d for d in found if d.meeting.id in ids] or found
    economy = store.economy(economy_id)
    name = economy.name if economy else economy_id
    card = Card()
    if not found:
        card.section(f"I have no source on a {esc(name)} delegation.")
        others = sorted({d.economy.name for d in store.delegations()})
        if others:
            card.context("Delegations on record: " + ", ".join(esc(o) for o in others) + ".")
        return card
    d = found[-1]
    ended = d.meeting.ends_at is not None and now >= d.meeting.ends_at
    if words & LEAD and d.head:
        lead = f"*{esc(d.head.name)}*" + (f" ({esc(d.head.title)})" if d.head.title else "")
        card.section(
            f"{lead} {'led' if ended else 'leads'} the {esc(d.economy.name)} delegation"
            f" to {esc(title(d.meeting))}."
        )
    delegation_card(card, d)
    return card


def _all_delegations(store: Store, meetings: list[Meeting]) -> Card:
    found = store.delegations()
    if meetings:
        found = [d for d in found if d.meeting.id in {m.id for m in meetings}] or found
    card = Card()
    if not found:
        return card.section("I have no delegations on record.")
    card.section(
        "*Delegations on record*\n"
        + "\n".join(
            f"• *{esc(d.economy.name)}* to {esc(d.meeting.short)}"
            + (f" — led by {esc(d.head.name)}" if d.head else "")
            for d in found
        )
    )
    for d in found:
        card.cite(d.source, d.quote)
    return card


def _who_at(store: Store, meeting: Meeting) -> Card | None:
    card = Card()
    lines = []
    for p in store.people():
        for role in p.roles:
            if role.meeting_id == meeting.id:
                lines.append((f"*{esc(p.name)}* {esc(role.role)}.", role))
    for d in store.delegations():
        if d.meeting.id == meeting.id and d.head:
            lines.append((f"*{esc(d.head.name)}* led the {esc(d.economy.name)} delegation.", d))
    if not lines:
        return None
    card.section(f"At {esc(title(meeting))}:")
    for text, rec in lines:
        card.section(text)
        card.cite(rec.source, rec.quote)
    return card


def _next(store: Store, now: datetime, kind: str | None) -> Card:
    found = store.next_meeting(after=now, kind=kind)
    if found is None:
        return _card_of(no_upcoming(Card(), Ask(store=store, now=now), kind))
    card = Card().section(
        f"The next {KIND_WORDS.get(kind or '', 'meeting')} on record opens {in_days(days_until(found, now))}."
    )
    return meeting_card(card, found, store, now)


def _fact_candidates(store: Store, low: str) -> list[Fact]:
    """Facts whose keywords the question holds: whole phrases count most, a year it names decides."""
    asked = {stem(w) for w in content_words(low)}
    years = {w for w in asked if len(w) == 4 and w.isdigit()}
    scored = []
    for fact in store.facts():
        phrases = sum(len(k.split()) for k in fact.keywords if _has(low, fold(k)))
        terms = {stem(w) for k in fact.keywords for w in content_words(k)}
        shared = len(asked & terms)
        if phrases or shared >= 2:
            scored.append((phrases + shared + 3 * len(years & terms), fact))
    scored.sort(key=lambda sf: -sf[0])
    if not scored:
        return []
    best = scored[0][0]
    return [f for s, f in scored if s == best][:2]


def _search(store: Store, q: str) -> Card | None:
    words = content_words(q)
    if not [w for w in words if w not in GENERIC]:
        return None
    hits = store.search(q, limit=3)
    # A passage must hold every meaningful word of a short question, most of a long one's.
    needed = 1.0 if len(words) <= 3 else 0.75
    good = [h for h in hits if h.terms_matched >= needed]
    if not good:
        return None
    card = Card()
    for hit in good[:2]:
        card.section(f"“{esc(hit.text)}”")
        card.cite(hit.source)
    return card


def no_source(store: Store, q: str) -> Card:
    """Nothing on record answers this: say so, and point at what might."""
    card = Card().section("I have no source for that.")
    card.context(
        "I answer only from the desk's sources. Try `/apec next-meeting`, `/apec meetings`, "
        "`/apec delegation US`, `/apec members`, `/apec sources`, or `/apec help`."
    )
    return card
