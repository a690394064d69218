"""Answers about what was said, agreed or sought, gathered sentence by sentence from the sources."""

from __future__ import annotations

import re
from dataclasses import replace

from rapidfuzz import fuzz

from handlers.meetings import title
from handlers.question import Question, of_year
from handlers.reader.base import Answer, Point, echo, examples, meeting_point, now_of, yes_no
from handlers.reader.facts import verdict_of
from handlers.reader.words import HEDGE, overlap
from handlers.render import esc
from store.models import Meeting, Sentence
from store.queries import Store, content_words, stem
from store.text import fold

SAID = {  # word stems that say something was said, agreed or sought
    "discussed": "discuss talk conversation dialogue call raise raised highlight emphasi emphasized stress invit congratulat assur reaffirm request align agreed cover underscor introduc announc outlin unveil",  # noqa: E501
    "agreed": "agreed adopted endorsed approved declared decided concluded reaffirmed",
    "priorities": "priorit theme objective aims focus deliverable plans agenda seek goal press push",
    "any": "",
}


@examples(
    "what did Lee and Xi discuss?",
    "what was agreed at SOM2?",
    "what are china's priorities for apec 2026",
)
def statements(q: Question, store: Store) -> Answer | None:
    """Everything the sources say was discussed, agreed or prioritised, sentence by sentence."""
    asked = next((a for a in ("agreed", "discussed", "priorities") if a in q.asks), None)
    if "theme" in q.asks:
        return None  # the theme is a fact on record
    if asked is None and q.polar and q.people and q.topic:
        asked = "any"
    form = (
        q.words[:1] in (("what",), ("whats",), ("which",))
        or q.polar
        or not set(q.words) & {"when", "where", "who", "how", "why", "which"}
    )
    form = form and "when" not in q.asks
    if (
        asked in ("priorities", "discussed")
        and not q.polar
        and not (q.meetings or q.people or q.economies)
        and q.has("host")
    ):
        q = with_host(q, store)
    if asked is None or not form or not (q.meetings or q.people or q.economies):
        return None
    if q.polar and any(w.isdigit() and len(w) < 4 for w in q.words):
        return None  # a number to check: the facts say it or not
    found = _gather(store, q, asked)
    if q.polar:
        return _said_so(q, found)
    if not found:
        verb = {
            "agreed": "was agreed at",
            "discussed": "was discussed by",
            "priorities": "the priorities of",
        }[asked]
        line = (
            f"No source on record says what {verb} {subject(q)}."
            if asked != "priorities"
            else f"No source on record states {verb} {subject(q)}."
        )
        answer = Answer(line)
        answer.nearby += [meeting_point(m, now_of(q)) for m in q.meetings[:1]]
        return answer
    first, *rest = found
    return Answer(first.text, cite=first, points=rest)


def with_host(q: Question, store: Store) -> Question:
    """ "the host": this year's (or the year asked) host economy."""
    summit = of_year(store, "summit", q.year or now_of(q).year, None)
    economy = store.economy(summit.host_id) if summit else None
    return replace(q, economies=((economy.name, economy),)) if economy else q


def _said_so(q: Question, found: list[Point]) -> Answer:
    """A yes only where a sentence says it outright: the question's first verb not hedged
    ("should Xi accept..." says nothing of whether he did), unless the question hedges too."""
    needed = [w for w in q.topic if w not in ("phone", "call")]
    for p in found:
        if (
            needed
            and overlap(p.quote, tuple(needed)) >= len(needed)
            and verdict_of(p.quote, tuple(needed[:1]), q) is True
        ):
            return Answer(yes_no(True, p.text), cite=p, points=[x for x in found if x is not p][:3])
    answer = Answer(f"No source on record says so: {echo(q)}")
    answer.nearby += found[:4]
    return answer


def subject(q: Question) -> str:
    if q.meetings:
        return f"*{esc(title(q.meetings[0]))}*"
    parts = [esc(p.name) for p in q.people] + [esc(e.name) for _, e in q.economies]
    return " and ".join(parts) or "it"


def _subject_names(q: Question, store: Store | None = None) -> list[str]:
    names = []
    for m in q.meetings:
        names += [m.short, m.name]
    for p in q.people:
        family = p.name.split()[0] if p.economy_id in ("KR", "CN", "JP") else p.name.split()[-1]
        names += [p.name, family, f"President {family}"]
    theirs = {p.economy_id for p in q.people}
    for typed, e in q.economies:
        if e.id in theirs:
            continue
        names += [e.name, typed]
        if store is not None:
            names += [n for n, i in store.names("economy").items() if i == e.id and len(n) > 3]
    return [n for n in dict.fromkeys(names) if n]


def _gather(store: Store, q: Question, asked: str) -> list[Point]:
    """Sentences that name the subject and say what was asked, near-repeats dropped; a sentence
    that goes on from one taken ("They will cover...") comes with it."""
    names = _subject_names(q, store)
    said = re.compile(
        rf"\b(?:{'|'.join(SAID[asked].split())})\w*" if SAID[asked] else "", re.IGNORECASE
    )
    mentions = _any_of(_subject_names(replace(q, meetings=()), store) or names)
    of_meeting = (
        _any_of(_subject_names(replace(q, people=(), economies=()))) if q.meetings else None
    )
    together = [_any_of(group) for group in _economies_of_people(q, store)]
    theirs = {p.source.id for p in q.people} | {r.source.id for p in q.people for r in p.roles}
    sources = _sources_about(store, q.meetings[0]) if q.meetings else None
    others = {p.name for p in store.people()} - {p.name for p in q.people}
    found: list[Sentence] = []
    taken: tuple[int, int] = (-1, -1)
    for s in store.sentences_naming(names + [n for g in _economies_of_people(q, store) for n in g]):
        if (s.passage_id, s.seq - 1) == taken and _GOES_ON.match(s.text):
            found.append(s)
            taken = (s.passage_id, s.seq)
            continue
        if (
            q.year
            and s.source.reference_date.year not in (q.year, q.year - 1)
            and str(q.year) not in s.text
        ):
            continue
        if (
            sources is not None
            and s.source.id not in sources
            and not (of_meeting and of_meeting.search(s.text))
        ):
            continue
        named = mentions.search(s.text) or (
            together and s.source.id in theirs and all(t.search(s.text) for t in together)
        )
        if not (named and said.search(s.text)) or _other_person(s, others) or _headline(s):
            continue
        if asked == "agreed" and HEDGE.search(s.text):
            continue
        if not any(_same(s.text, f.text) for f in found):
            found.append(s)
            taken = (s.passage_id, s.seq)
    found = found[:MAX_POINTS]
    best = max(found, key=lambda s: _score(s.text, q), default=None)
    ordered = [best] + [s for s in found if s is not best] if best else []
    return [Point(esc(s.text), s.source, s.text) for s in ordered]


_GOES_ON = re.compile(r"^(?:They|These|This|It|The latter|Such|Both)\b")


MAX_POINTS = 10


def _sources_about(store: Store, m: Meeting) -> set[str]:
    """The sources that report a meeting: its own record's, and those of delegations and roles at it."""
    ids = {m.source.id}
    ids |= {d.source.id for d in store.delegations(meeting_id=m.id)}
    ids |= {r.source.id for p in store.people() for r in p.roles if r.meeting_id == m.id}
    return ids


def _any_of(names: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(rf"\b{re.escape(n)}\b" for n in names), re.IGNORECASE)


def _economies_of_people(q: Question, store: Store) -> list[list[str]]:
    """For two people or more of different economies: each economy's names ("China and South
    Korea emphasized..." is what Lee and Xi said together)."""
    ids = list(dict.fromkeys(p.economy_id for p in q.people if p.economy_id))
    if len(ids) < 2:
        return []
    names = store.names("economy")
    return [[n for n, i in names.items() if i == e and len(n) > 3] for e in ids]


def _other_person(s: Sentence, others: set[str]) -> bool:
    return any(name in s.text for name in others)


def _headline(s: Sentence) -> bool:
    return fold(s.text).startswith(fold(s.source.title)[:60])


def _same(a: str, b: str) -> bool:
    """Two sentences saying the same thing in other words (a summary and the body it sums up)."""
    one, two = {stem(w) for w in content_words(a)}, {stem(w) for w in content_words(b)}
    return fuzz.token_set_ratio(a, b) >= 85 or len(one & two) >= 0.6 * min(len(one), len(two))


def _score(text: str, q: Question) -> float:
    have = {stem(w) for w in content_words(text)}
    both = 2 if q.people and all(p.name.split()[0] in text for p in q.people) else 0
    return len(have & {stem(w) for w in q.words}) + both
