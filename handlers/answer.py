"""Answering a question in plain words (an @-mention, or `/apec ask`).

The question is read once (handlers/question.py), then the table (handlers/reader/table.py) is tried
in order; the first that answers wins. What none answers goes to full-text search over the
sources' passages, held to a strict standard; and what that cannot answer gets a plain "I have no
source for that". The answer comes first and short, its source under it; the whole card is one
"More" away.
"""

from __future__ import annotations

from datetime import datetime

from handlers.language import foreign, foreign_reply
from handlers.question import Question, parse, parts_of
from handlers.reader.asking import ambiguous, ask_back
from handlers.reader.base import Answer, Intent, Point, echo
from handlers.reader.checks import correct, decided, grounded, not_yet, outcome_said
from handlers.reader.table import INTENTS, READ_FROM_TEXT
from handlers.registry import Ask, UsageError, command
from handlers.render import Card, esc
from store.dates import find_dates
from store.queries import GENERIC, Store, content_words

MORE_ACTION = "more"
# A reading of a question asked back ("reading-1"...: a message's buttons need ids of their own),
# answered in place when pressed.
READING_ACTION = "reading"
EMPTY = (
    "Ask me about APEC meetings, delegations, members or what the sources say, "
    "e.g. `who leads the US delegation?`. `/apec help` lists the commands."
)


@command(
    "ask",
    usage="ask QUESTION",
    example="ask who leads the US delegation?",
    aliases=("q", "question"),
    kept=True,
)
def ask_command(ask: Ask) -> Card:
    """A question in plain words, answered from the sources (the same as mentioning me)."""
    if not ask.args:
        raise UsageError("What would you like to know?")
    return answer(ask.store, ask.args, ask.now)


def answer(store: Store, question: str, now: datetime) -> Card:
    """The best sourced answer to a question, or a plain "I have no source for that"."""
    store = store.at(now.date())  # only what was published by the day asked (its own zone's)
    language = foreign(question)
    if language is not None:
        return foreign_reply(store, question, language)
    parts = parts_of(question)
    if len(parts) > 1:
        return _several(store, parts, now)
    q = parse(store, question, now)
    if not q.words:
        return Card().section(EMPTY)
    found = respond(q, store)
    return card(found).button("More", MORE_ACTION, found.more)


# Words by which a part points back at what the first part names ("what did it seek?").
_BACK = frozenset("it its they them their theirs he him his she her there that".split())


def _several(store: Store, parts: list[str], now: datetime) -> Card:
    """A question of several parts, each answered in turn with its own sources, an answer said
    once. The first part's meeting frames every part that names none ("SOM2: where, when, and who
    led the US del?"); its person or economy, a part that names nothing or points back ("who led
    the Korean delegation, and what did it seek at SOM1?")."""
    first = parse(store, parts[0], now)
    out = Card()
    more = ""
    said: set[str] = set()
    for n, part in enumerate(parts):
        q = first if n == 0 else parse(store, part, now)
        names_nothing = not (q.meetings or q.people or q.kind or q.economies)
        back = names_nothing or bool(_BACK & set(q.words))
        if n:
            kept = [
                *([] if q.meetings or q.kind else [m.short for m in first.meetings]),
                *([] if q.people or not back else [p.name for p in first.people]),
                *([] if q.economies or not back else [typed for typed, _ in first.economies]),
            ]
            if kept:
                asked = " ".join(part.replace("?", " ").split())  # one sentence, then its subject
                q = parse(store, f"{asked} {' '.join(kept)}?", now)
        found = respond(q, store) if q.words else no_source()
        if found.line not in said:  # "when is SOM3 and where is it?": one answer gives both
            said.add(found.line)
            card(found, out, hint=False)
        more = more or found.more
    return out.button("More", MORE_ACTION, more)


def respond(q: Question, store: Store, intents: tuple[Intent, ...] = INTENTS) -> Answer:
    """The first row of the table (`intents`, in order) that answers; else a passage that answers;
    else no source. A "Yes" must stand on the words it cites, and a false premise is corrected
    first."""
    first = not_yet(q, store) or ambiguous(q, store)
    if first is not None:
        return first
    found, row = next(((a, i) for i in intents if (a := i(q, store)) is not None), (None, None))
    if found is not None and row is not None:  # found by that row
        found.by = row.__name__
    read = found is None or row in READ_FROM_TEXT
    found = grounded(q, found or _fallen_through(q, store), read)
    return decided(q, correct(q, store, outcome_said(q, found)))


def _fallen_through(q: Question, store: Store) -> Answer:
    """What answers a question no row of the table reads: a passage, a question asked back, or
    plainly no source."""
    for by, read in (("search", search), ("asked back", ask_back)):
        answer = read(q, store)
        if answer is not None:
            answer.by = by
            return answer
    answer = no_source()
    answer.by = "no source"
    return answer


def search(q: Question, store: Store) -> Answer | None:
    """A passage holding every meaningful word of a short question (most of a long one's)."""
    words = content_words(q.text)
    if not [w for w in words if w not in GENERIC]:
        return None
    hits = store.search(q.text, limit=3)
    needed = 1.0 if len(words) <= 3 else 0.75
    good = [h for h in hits if h.terms_matched >= needed]
    if not good:
        return None
    first, *rest = good[:2]
    said = [Point(f"“{esc(h.text)}”", h.source) for h in good[:2]]
    if "when" in q.asks and not find_dates(
        first.text, q.now.date() if q.now else first.source.reference_date
    ):
        return Answer("No source on record gives a date for that.", nearby=said)
    if q.polar:  # a passage near the words is no yes or no
        return Answer(f"No source on record says so: {echo(q)}", nearby=said)
    return Answer(
        f"“{esc(first.text)}”",
        cite=Point("", first.source),
        points=[Point(f"“{esc(h.text)}”", h.source) for h in rest],
    )


NO_SOURCE = "I have no source for that."


def no_source() -> Answer:
    """Nothing on record answers this: say so (the card points at what might)."""
    return Answer(NO_SOURCE)


NO_SOURCE_HINT = (
    "I answer only from the desk's sources. Try `/apec next-meeting`, `/apec meetings`, "
    "`/apec delegation US`, `/apec members`, `/apec sources`, or `/apec help`."
)


def card(a: Answer, out: Card | None = None, hint: bool = True) -> Card:
    """An answer as a card (or added to `out`): the line, its source, the rest of the answer,
    then what is near it on record under a label of its own, and where to see more."""
    out = (out if out is not None else Card()).section(a.line)
    if a.cite is not None:
        out.cite(a.cite.source, a.cite.quote)
    said = [p for p in a.points if p.text]
    if said:
        out.section("\n".join(f"• {p.text}" for p in said))
    for p in a.points:
        out.cite(p.source, p.quote if p.text else "")
    if a.nearby:
        out.section("*On record:*\n" + "\n".join(f"• {p.text}" for p in a.nearby))
        for p in a.nearby:
            out.cite(p.source, p.quote)
    if a.readings:
        out.section("Did you mean: " + " · ".join(f"*{esc(r)}*" for r in a.readings))
    for n, reading in enumerate(a.readings, 1):
        out.button(reading, f"{READING_ACTION}-{n}", f"ask {reading}")
    if a.nearest:
        out.section(
            "*Nearest on record (not an answer):*\n" + "\n".join(f"• {p.text}" for p in a.nearest)
        )
        for p in a.nearest:
            out.cite(p.source)
    if a.line == NO_SOURCE and hint:
        out.context(NO_SOURCE_HINT)
    if a.more:
        out.context(f"More: `/apec {esc(a.more)}`")
    return out
