"""Asking back: a question that names something on record and asks nothing the table can read of
it ("SOM2 -- ?", "korea som1") gets no guess. The reply says plainly that no source answers it
as asked, offers up to three readings of it as buttons ("When is SOM2?", "Where is SOM2?"),
each answering in place when pressed, and shows the passages nearest to its words under a label
that says what they are.
"""

from __future__ import annotations

from handlers.question import Question
from handlers.reader.base import Answer, Point, echo
from handlers.render import esc
from store.queries import Store

MAX_READINGS = 3
MAX_NEAREST = 2

# The readings offered for a subject of each kind, most asked first.
READINGS = {
    "meeting": ("When is {x}?", "Where is {x}?", "Who attended {x}?"),
    "person": ("Who is {x}?", "Where do the sources place {x}?"),
    "economy": ("Is {x} an APEC member?", "Who leads the {x} delegation?"),
}


def ask_back(q: Question, store: Store) -> Answer | None:
    """ "No source answers that as asked", the readings of the question's subject as buttons and
    the passages nearest its words; None when it names nothing on record."""
    subjects = _subjects(q)
    if not subjects or q.topic:  # something asked that nothing on record holds: no source
        return None
    kind, name = subjects[0]
    readings = [r.format(x=name) for r in READINGS[kind]][:MAX_READINGS]
    answer = Answer(f"No source on record answers that as asked: {echo(q)}")
    answer.readings = readings
    answer.nearest = [
        Point(f"“{esc(h.text)}”", h.source, h.text) for h in store.search(q.text, MAX_NEAREST)
    ]
    return answer


def _subjects(q: Question) -> list[tuple[str, str]]:
    """What the question names, as (kind, the name to ask by)."""
    found = [("meeting", m.short) for m in q.meetings]
    found += [("person", p.name) for p in q.people]
    found += [("economy", e.name) for _, e in q.economies]
    return found


# Two things named and nothing asked of either ("korea som1"): the readings of the pair.
PAIRS = {
    ("economy", "meeting"): (
        "Who led the {economy} delegation to {meeting}?",
        "When is {meeting}?",
        "Is {economy} an APEC member?",
    ),
    ("person", "meeting"): (
        "Did {person} attend {meeting}?",
        "Who is {person}?",
        "When is {meeting}?",
    ),
}


def ambiguous(q: Question, store: Store) -> Answer | None:
    """A question that names a meeting and an economy or a person and asks nothing of them: no
    row should guess which it means (a "No" to "is SOM1 in Korea?", asked by no one)."""
    if q.polar or q.asks or q.topic or q.period is not None or len(q.meetings) != 1:
        return None
    other = (
        ("economy", q.economies[0][1].name)
        if q.economies
        else (("person", q.people[0].name) if q.people else None)
    )
    if other is None:
        return None
    kind, name = other
    names = {kind: name, "meeting": q.meetings[0].short}
    answer = Answer(f"No source on record answers that as asked: {echo(q)}")
    answer.readings = [r.format(**names) for r in PAIRS[(kind, "meeting")]]
    answer.by = "asked back"
    return answer
