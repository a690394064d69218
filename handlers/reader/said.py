"""Answers about what was said, agreed or sought, gathered sentence by sentence from the sources."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

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
    "discussed": (
        "discuss talk conversation dialogue call raise raised highlight emphasi emphasized stress"
        " invit congratulat assur reaffirm request align agreed cover underscor introduc announc"
        " outlin unveil"
    ),
    "agreed": "agreed adopted endorsed approved declared decided concluded reaffirmed",
    "priorities": (
        "priorit theme objective aims focus deliverable plans agenda seek goal press push"
    ),
    "any": "",
}
# How the answer says that no source says it, for each thing asked.
_NONE_SAID = {
    "agreed": "No source on record says what was agreed at {}.",
    "discussed": "No source on record says what was discussed by {}.",
    "priorities": "No source on record states the priorities of {}.",
}


@examples(
    "what did Lee and Xi discuss?",
    "what was agreed at SOM2?",
    "what are china's priorities for apec 2026",
)
def statements(q: Question, store: Store) -> Answer | None:
    """Everything the sources say was discussed, agreed or prioritised, sentence by sentence."""
    if "theme" in q.asks:
        return None  # the theme is a fact on record
    asked = _asked(q)
    form = _asks_what_was_said(q)
    if _of_the_host(q, asked):
        q = with_host(q, store)
    if asked is None or not form or not (q.meetings or q.people or q.economies):
        return None
    if q.polar and any(w.isdigit() and len(w) < 4 for w in q.words):
        return None  # a number to check: the facts say it or not
    found = _gather(store, q, asked)
    if q.polar:
        return _said_so(q, found)
    if not found:
        answer = Answer(_NONE_SAID[asked].format(subject(q)))
        answer.nearby += [meeting_point(m, now_of(q)) for m in q.meetings[:1]]
        return answer
    first, *rest = found
    return Answer(first.text, cite=first, points=rest)


def _asked(q: Question) -> str | None:
    """What is asked of what was said (a key of SAID), if anything."""
    asked = next((a for a in ("agreed", "discussed", "priorities") if a in q.asks), None)
    if asked is None and q.polar and q.people and q.topic:
        return "any"
    return asked


def _asks_what_was_said(q: Question) -> bool:
    """A question put as "what...", or yes or no, or with no question word: not when or where."""
    form = (
        q.words[:1] in (("what",), ("whats",), ("which",))
        or q.polar
        or not set(q.words) & {"when", "where", "who", "how", "why", "which"}
    )
    return bool(form and "when" not in q.asks)


def _of_the_host(q: Question, asked: str | None) -> bool:
    """ "what are the host's priorities": asked of the host, no one else named."""
    return bool(
        asked in ("priorities", "discussed")
        and not q.polar
        and not (q.meetings or q.people or q.economies)
        and q.has("host")
    )


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


@dataclass(frozen=True)
class _Sieve:
    """What a sentence must do to be taken for a question: be of the year asked, come from a
    source about the meeting asked (or name it), name the subject, say what was asked, and name
    no one else; an agreement must not be hedged."""

    asked: str
    year: int | None
    said: re.Pattern[str]
    mentions: re.Pattern[str]
    of_meeting: re.Pattern[str] | None
    together: list[re.Pattern[str]]
    theirs: set[str]
    sources: set[str] | None
    others: set[str]

    @classmethod
    def of(cls, store: Store, q: Question, asked: str, names: list[str]) -> _Sieve:
        return cls(
            asked=asked,
            year=q.year,
            said=_saying(asked),
            mentions=_any_of(_subject_names(replace(q, meetings=()), store) or names),
            of_meeting=(
                _any_of(_subject_names(replace(q, people=(), economies=()))) if q.meetings else None
            ),
            together=[_any_of(group) for group in _economies_of_people(q, store)],
            theirs=_their_sources(q),
            sources=_sources_about(store, q.meetings[0]) if q.meetings else None,
            others={p.name for p in store.people()} - {p.name for p in q.people},
        )

    def takes(self, s: Sentence) -> bool:
        """Whether the sentence answers the question (a near-repeat aside)."""
        if self._off_year(s) or self._off_source(s):
            return False
        if not (self._names_subject(s) and self.said.search(s.text)):
            return False
        if _other_person(s, self.others) or _headline(s):
            return False
        return not (self.asked == "agreed" and HEDGE.search(s.text))

    def _off_year(self, s: Sentence) -> bool:
        """Of another year than the one asked (or the one before), and not naming it."""
        return bool(
            self.year
            and s.source.reference_date.year not in (self.year, self.year - 1)
            and str(self.year) not in s.text
        )

    def _off_source(self, s: Sentence) -> bool:
        """From a source that does not report the meeting asked, and not naming it."""
        return bool(
            self.sources is not None
            and s.source.id not in self.sources
            and not (self.of_meeting and self.of_meeting.search(s.text))
        )

    def _names_subject(self, s: Sentence) -> bool:
        """Names the subject, or the economies of the people asked about together in their
        own sources ("China and South Korea emphasized...")."""
        return bool(
            self.mentions.search(s.text)
            or (
                self.together
                and s.source.id in self.theirs
                and all(t.search(s.text) for t in self.together)
            )
        )


def _saying(asked: str) -> re.Pattern[str]:
    """The verbs that say it was discussed, agreed or sought (any sentence, for "any")."""
    return re.compile(
        rf"\b(?:{'|'.join(SAID[asked].split())})\w*" if SAID[asked] else "", re.IGNORECASE
    )


def _their_sources(q: Question) -> set[str]:
    """The sources of the people asked about and of their roles."""
    return {p.source.id for p in q.people} | {r.source.id for p in q.people for r in p.roles}


def _gather(store: Store, q: Question, asked: str) -> list[Point]:
    """Sentences that name the subject and say what was asked, near-repeats dropped; a sentence
    that goes on from one taken ("They will cover...") comes with it."""
    names = _subject_names(q, store)
    sieve = _Sieve.of(store, q, asked, names)
    found: list[Sentence] = []
    taken: tuple[int, int] = (-1, -1)
    for s in store.sentences_naming(names + [n for g in _economies_of_people(q, store) for n in g]):
        goes_on = (s.passage_id, s.seq - 1) == taken and _GOES_ON.match(s.text)
        if goes_on or sieve.takes(s) and not any(_same(s.text, f.text) for f in found):
            found.append(s)
            taken = (s.passage_id, s.seq)
    return _best_first(found[:MAX_POINTS], q)


def _best_first(found: list[Sentence], q: Question) -> list[Point]:
    """The sentences as points, the one that says most of the question first."""
    best = max(found, key=lambda s: _score(s.text, q), default=None)
    ordered = [best] + [s for s in found if s is not best] if best else []
    return [Point(esc(s.text), s.source, s.text) for s in ordered]


_GOES_ON = re.compile(r"^(?:They|These|This|It|The latter|Such|Both)\b")


MAX_POINTS = 10


def _sources_about(store: Store, m: Meeting) -> set[str]:
    """The sources that report a meeting: its own record's, and those of delegations and roles
    at it."""
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
