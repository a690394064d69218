"""Answers about membership and the numbers the sources state."""

from __future__ import annotations

import re
from dataclasses import replace

from handlers.question import Question
from handlers.reader.base import Answer, Point, cited, examples, now_of
from handlers.reader.facts import fact_answer, fact_candidates, fact_terms
from handlers.reader.people import title_asked
from handlers.reader.words import NUMBER
from handlers.render import day_text, esc
from store.queries import STOPWORDS, Store, stem
from store.text import fold

_UNKNOWN_ECONOMY = re.compile(
    r"^(?:is|are|was)\s+(?P<name>.+?)\s+(?:a|an)?\s*(?:apec\s+)?(?:member|in apec|part of apec)"
)


def _unlisted(q: Question) -> Answer:
    day = day_text(now_of(q).date())
    return Answer(f"No source on record yet lists APEC's member economies (as of {day}).")


def _lists(q: Question) -> bool:
    return "count" in q.asks or q.has("which", "list", "members", "economies")


@examples("usa member of apec?", "is Taiwan in APEC", "is India a member", "how many members?")
def membership(q: Question, store: Store) -> Answer | None:
    """Whether an economy is a member, under APEC's official name; how many members there are."""
    if not _asks_membership(q):
        return None
    q = _first_named(q)
    if (q.economies or q.non_members or not q.topic and _lists(q)) and not store.members():
        return _unlisted(q)  # asked before any source listed the members
    if q.economies:
        return _member(q)
    return _not_a_member(q, store)


def _asks_membership(q: Question) -> bool:
    """Whether the question asks about membership: in words, as a bare "X in APEC?", or as the
    official name of an economy."""
    asked = "member" in q.asks or _bare(q) or _name_asked(q)
    return bool(asked) and not (q.delegation or q.people or q.meetings)


def _bare(q: Question) -> bool:
    """An economy named in a yes-or-no question, or a bare "brazil apec?", that asks nothing
    else ("Taiwan in APEC?")."""
    asked = q.polar or q.raw.rstrip().endswith("?") and "apec" in q.words
    return bool(
        asked and (q.economies or q.non_members) and not q.asks and not q.meetings and not q.topic
    )


def _name_asked(q: Question) -> bool:
    """The official name of an economy asked for, not a person's title."""
    return bool("name" in q.asks and q.economies and not q.people and not title_asked(q))


def _first_named(q: Question) -> Question:
    """A non-member named before a member is the one asked about: the member is set aside."""
    if (
        q.non_members
        and q.economies
        and q.text.lower().find(q.non_members[0][0].lower())
        < q.text.lower().find(q.economies[0][0].lower())
    ):
        return replace(q, economies=())
    return q


def _member(q: Question) -> Answer:
    """A member economy asked about: yes under its official name, or its official name."""
    typed, economy = q.economies[0]
    note = "" if fold(typed) == fold(economy.name) else f" (you asked about {esc(typed)})"
    if "name" in q.asks:
        of = note.replace(" (you asked about", " of").rstrip(")")
        return Answer(
            f"The official APEC name{of} is *{esc(economy.name)}*.",
            cite=cited(economy.source, economy.quote),
            more="members",
        )
    line = f"Yes: *{esc(economy.name)}*{note} is an APEC member economy."
    if "when" in q.asks:
        return Answer(
            f"No source on record gives when *{esc(economy.name)}* joined APEC.",
            nearby=[Point(line[5:], economy.source, economy.quote)],
        )
    return Answer(line, cite=cited(economy.source, economy.quote), more="members")


def _not_a_member(q: Question, store: Store) -> Answer | None:
    """No member named: a non-member (no), the list of members, or a name on no list."""
    members = store.members()
    listing = cited(members[0].source) if members else None
    if q.non_members:
        typed, name = q.non_members[0]
        line = (
            f"No: *{esc(name)}* is not an APEC member economy; "
            f"it is not among the {len(members)} members on record."
        )
        return Answer(line, cite=listing, more="members")
    if q.topic:
        return None  # "how many original members": not what the list says
    if _lists(q):
        names = ", ".join(esc(e.name) for e in members)
        return Answer(f"APEC has *{len(members)} member economies*: {names}.", cite=listing)
    unknown = _UNKNOWN_ECONOMY.match(" ".join(q.words))
    if unknown:
        return Answer(
            f"No source on record names an economy called `{esc(unknown['name'][:60])}`; "
            f"the {len(members)} members are listed by `/apec members`."
        )
    return None


@examples(
    "how many events this year?", "how many times has the US hosted APEC?", "how many SOMs in 2026"
)
def counts(q: Question, store: Store) -> Answer | None:
    """A number the sources state ("three times", "about 300 events"), or that they state none."""
    if "count" not in q.asks or "member" in q.asks and not q.topic or "countdown" in q.asks:
        return None
    if q.delegation or q.meetings and not q.kind:
        return None
    counted = _counted(q)
    found = [f for f in fact_candidates(store, q) if _states_count(f.answer, counted, q.kind)]
    if not found and counted:
        found = [
            f
            for f in store.facts()
            if any(t.startswith(counted) for t in fact_terms(f))  # "minist": "ministerial"
            and _states_count(f.answer, counted, None)
        ][:1]
    return fact_answer(q, store, found) if found else None


def _counted(q: Question) -> str:
    """What "how many" counts: the first telling word after it ("how many APEC events": event)."""
    joined = " ".join(q.words)
    found = re.search(r"\bhow many ((?:\w+ ?){1,3})", joined)
    if found is None:
        return ""
    words = [w for w in found[1].split() if w not in STOPWORDS]
    return stem(words[0]) if words else ""


def _states_count(answer: str, counted: str, kind: str | None) -> bool:
    """Whether a statement gives a number of the thing counted ("about 300 events", "three
    times", "Three Senior Officials' Meetings")."""
    things = [counted] if counted else []
    things += list(KIND_TOPIC.get(kind or "", ()))
    if not things:
        return bool(NUMBER.search(answer))
    low = fold(answer)
    return any(
        re.search(rf"(?:{NUMBER.pattern})(?:\W+\w+){{0,3}}?\W+{re.escape(t)}", low) for t in things
    )


KIND_TOPIC = {
    "som": ("senior officials", "som"),
    "summit": ("summit",),
    "ministerial": ("ministerial",),
}
