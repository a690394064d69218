"""Answers from the facts on record: definitions, themes, numbers, and whether they say yes or
no."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from handlers.meetings import title
from handlers.question import Question
from handlers.reader.base import Answer, Point, cited, echo, examples, now_of, yes_no
from handlers.reader.words import HEDGE, SYNONYMS, stems, stems_in
from handlers.render import esc
from store.dates import find_dates
from store.models import Fact
from store.queries import STOPWORDS, Store, stem
from store.text import fold
from store.vocabulary import KIND_LABELS


@examples(
    "What is the theme of APEC 2026?",
    "what are the bogor goals",
    "how does APEC make decisions",
    "Who announced the dates of the 2026 Leaders' Meeting?",
)
def facts(q: Question, store: Store) -> Answer | None:
    """A fact on record whose keywords the question holds, for the year and economy asked."""
    defined = definition(store, q)
    found = [defined] if defined else fact_candidates(store, q)
    if not found:
        return None
    return fact_answer(q, store, found)


def fact_answer(q: Question, store: Store, found: list[Fact]) -> Answer:
    """The first fact as the answer (yes or no where it says so outright), or why it is not one."""
    misfit = misfit_reason(q, store, found[0])
    if misfit:
        return Answer(misfit, nearby=[Point(esc(f.answer), f.source, f.quote) for f in found[:1]])
    first, *rest = found
    line = esc(first.answer)
    verdict = verdict_of(first.answer, q.topic, q) if q.polar else None
    if q.polar and verdict is None and q.topic:
        return Answer(
            f"No source on record says so: {echo(q)}",
            nearby=[Point(esc(f.answer), f.source, f.quote) for f in found],
        )
    if verdict is not None:
        line = yes_no(verdict, line)
    return Answer(
        line,
        cite=cited(first.source, first.quote),
        points=[Point(esc(f.answer), f.source, f.quote) for f in rest],
    )


_NEGATION = re.compile(
    r"\b(?:not|no|non|never|cannot|can't|without)\b[\w\s,-]{0,30}$", re.IGNORECASE
)


def verdict_of(text: str, topic: tuple[str, ...], q: Question | None = None) -> bool | None:
    """Yes where a statement holds every word asked about; no where one of them is negated
    ("does not produce legally binding treaties"); else, or where it is hedged ("should he
    accept") and the question is not, it does not say."""
    words = [w for w in topic if not w.isdigit()]
    if not words:
        return None
    low = fold(text)
    found = _where_said(low, words)
    if not found or _hedged_unasked(low, found, q):
        return None
    if any(_NEGATION.search(low[: at.start()]) for at in found):
        return False
    numbers = _numbers_asked(q)
    if numbers and not numbers <= set(re.findall(r"\d+", low)):
        return None
    enough = len(found) == len(words) or bool(numbers) and 2 * len(found) >= len(words)
    return True if enough else None


def _where_said(low: str, words: list[str]) -> list[re.Match[str]]:
    """Where the statement says each word asked about (or a synonym), for those it says."""
    found = []
    for w in words:
        meant = "|".join(re.escape(stem(x)) for x in (w, *SYNONYMS.get(w, ())))
        at = re.search(rf"\b(?:{meant})\w*", low)
        if at is not None:
            found.append(at)
    return found


def _hedged_unasked(low: str, found: list[re.Match[str]], q: Question | None) -> bool:
    """A word asked about hedged in the statement ("should he accept") where the question is not."""
    hedged = q is not None and HEDGE.search(" ".join(q.words))
    return bool(
        not hedged and any(HEDGE.search(low[max(0, at.start() - 40) : at.start()]) for at in found)
    )


def _numbers_asked(q: Question | None) -> set[str]:
    """The numbers in the question, years aside."""
    if q is None:
        return set()
    return {
        n for n in re.findall(r"\d+", " ".join(q.words)) if not re.fullmatch(r"(?:19|20)\d\d", n)
    }


def misfit_reason(q: Question, store: Store, f: Fact) -> str:
    """Why a fact that matches the words does not answer this question, if it does not."""
    for misfit in _MISFITS:
        reason = misfit(q, store, f)
        if reason:
            return reason
    return ""


def _other_year(q: Question, store: Store, f: Fact) -> str:
    years = {int(y) for y in re.findall(r"\b(?:19|20)\d\d\b", f"{f.id} {f.topic}")}
    if q.year and years and q.year not in years:
        return f"No source on record answers that for {q.year}."
    return ""


def _other_economy(q: Question, store: Store, f: Fact) -> str:
    named = {i for _, i in store.named_in_text("economy", f"{f.topic} {f.answer}")}
    asked = {e.id for _, e in q.economies}
    if asked and named and not asked & named:
        return f"No source on record answers that for {esc(q.economies[0][1].name)}."
    return ""


def _other_meeting(q: Question, store: Store, f: Fact) -> str:
    about = {i for _, i in store.named_in_text("meeting", f.topic)}
    meetings = {m.id for m in q.meetings} | {m.parent_id for m in q.meetings}
    if q.meetings and about and not about & meetings:
        return f"No source on record answers that for *{esc(title(q.meetings[0]))}*."
    return ""


def _other_kind(q: Question, store: Store, f: Fact) -> str:
    kinds = {m.kind for m in store.meetings_in_text(f"{f.topic} {f.answer}")}
    if q.kind and not q.meetings and kinds and q.kind not in kinds:
        # "who chairs the SOMs": a fact about a committee's chair is no answer for the SOMs
        return f"No source on record answers that for the {KIND_LABELS.get(q.kind, q.kind)}s."
    return ""


def _no_amount(q: Question, store: Store, f: Fact) -> str:
    if "amount" in q.asks and not _AMOUNT.search(f.answer):
        return "No source on record gives that figure."
    return ""


def _no_date(q: Question, store: Store, f: Fact) -> str:
    if (
        q.asks & {"when"}
        and not q.meetings
        and not find_dates(f.answer, date_of(q))
        and not _prose_year(f.answer)
    ):
        if _DURATION.search(f.answer):
            return f"No source on record gives a date for that; on record: {esc(f.answer)}"
        return "No source on record gives a date for that."
    return ""


# Each way a fact can match the words and still not answer, in the order they are told.
_MISFITS: tuple[Callable[[Question, Store, Fact], str], ...] = (
    _other_year,
    _other_economy,
    _other_meeting,
    _other_kind,
    _no_amount,
    _no_date,
)


def _prose_year(text: str) -> bool:
    """A year said as a date ("at their 1994 meeting"), not as part of a name ("Vision 2040")."""
    for found in re.finditer(r"(\S+)\s+((?:19|20)\d\d)\b", text):
        if not found[1][:1].isupper():
            return True
    return False


_DURATION = re.compile(r"\b\d+ (?:years?|months?|weeks?|days?)\b")
_AMOUNT = re.compile(
    r"(?:\$|US\$|USD|€|£|¥)\s?\d"
    r"|\d[\d,.]*\s?(?:million|billion|thousand|dollars|yuan|won|percent|%)",
    re.IGNORECASE,
)


def date_of(q: Question) -> date:
    return now_of(q).date()


def fact_candidates(store: Store, q: Question) -> list[Fact]:
    """Facts whose keywords the question holds (worked out once a question and store version)."""
    return list(_candidates(store, store.version(), q))


@lru_cache(maxsize=64)
def _candidates(store: Store, version: object, q: Question) -> tuple[Fact, ...]:
    """Facts whose keywords the question holds, weighted by how rare each word is among the facts;
    one that names the economy asked about counts that as a word held."""
    sought = _Sought.of(q)
    weights = fact_weights(store)
    scored = []
    for fact in store.facts():
        score = sought.score(store, fact, weights)
        if score is not None:
            scored.append((score, fact))
    scored.sort(key=lambda sf: -sf[0])
    if not scored:
        return ()
    return tuple(f for s, f in scored if s >= scored[0][0] - 0.01)[:2]


@dataclass(frozen=True)
class _Sought:
    """What a question looks for among the facts: the stems of its words, those of its telling
    words with their synonyms, the economies it names and the words that name things."""

    q: Question
    asked: list[str]
    meant: set[str]
    economies: set[str]
    entity: set[str]

    @classmethod
    def of(cls, q: Question) -> _Sought:
        words = [w for w in q.words if w not in STOPWORDS or w in ("how", "what", "who")]
        return cls(
            q=q,
            asked=[stem(w) for w in q.words],
            meant={stem(w) for w in words} | {stem(s) for w in words for s in SYNONYMS.get(w, ())},
            economies={e.id for _, e in q.economies},
            entity={stem(w) for w in _entity_words(q)},
        )

    def score(self, store: Store, fact: Fact, weights: dict[str, float]) -> float | None:
        """How well a fact answers, by the rare words and phrases it shares; None: it does not."""
        terms = fact_terms(fact)
        shared = (self.meant & terms) - _WEAK
        phrases = [k for k in fact.keywords if stems_in(stems(k), self.asked)]
        named = self.economies & {i for _, i in store.named_in_text("economy", fact.topic)}
        if not phrases and len(shared) + len(named) < 2:
            return None
        if not self._on_topic(terms, shared, phrases):
            return None
        score = sum(weights.get(t, 0.0) for t in shared) + sum(len(k.split()) for k in phrases)
        score += 5 * len({k for k in fact.keywords if k in self.q.asks})  # "theme" asked: the theme
        return score + len(named)

    def _on_topic(self, terms: set[str], shared: set[str], phrases: list[str]) -> bool:
        """A question with a topic is answered only by a fact that shares it, or shares words
        or a phrase of more than its names."""
        content = shared - self.entity
        telling = [k for k in phrases if len(k.split()) > 1 and set(stems(k)) - self.entity]
        q = self.q
        return not (
            q.topic and not {stem(w) for w in q.topic} & terms and not telling and not content
        )


def _entity_words(q: Question) -> set[str]:
    """The words of the question that name things (meetings, places, economies, people)."""
    texts = [m.short + " " + m.name + " " + m.city for m in q.meetings]
    texts += [p.name for p in q.people] + [f"{t} {e.name}" for t, e in q.economies] + [q.place]
    return {w for t in texts for w in re.findall(r"[a-z0-9]+", fold(t).replace("'", ""))}


def definition(store: Store, q: Question) -> Fact | None:
    """The fact that says what a thing is ("What APEC is"), for "what is X", "X?" and "what does
    X do": X's words are all of the question's telling words."""
    asked = {stem(w) for w in q.words if w not in STOPWORDS and w not in _DEFINE_WORDS}
    asked = asked or ({"apec"} if "apec" in q.words else set())
    if not asked or not (
        q.asks & {"define"} or len(q.words) <= 2 or q.has("happens", "purpose", "do")
    ):
        return None
    for fact in store.facts():
        thing = re.match(r"^What (?:an? )?(.+?) is$", fact.topic)
        if thing is None:
            continue
        said = {stem(w) for w in re.findall(r"[a-z0-9]+", fold(thing[1]).replace("'", ""))}
        if (
            asked <= said
            or asked
            <= said | {stem(w) for k in fact.keywords for w in re.findall(r"[a-z0-9]+", fold(k))}
            and len(asked) <= 2
        ):
            return fact
    return None


_DEFINE_WORDS = frozenset(
    "what whats is are does do happens happen purpose mean means stand for".split()
)


_WEAK = frozenset(stem(w) for w in "apec 2026 2025 china korea us summit meeting som year".split())


def fact_terms(f: Fact) -> set[str]:
    words = [
        w
        for text in (*f.keywords, f.topic)
        for w in re.findall(r"[a-z0-9]+", fold(text).replace("'", ""))
    ]
    return {stem(w) for w in words if w not in STOPWORDS}


def fact_weights(store: Store) -> dict[str, float]:
    all_facts = store.facts()
    df: dict[str, int] = {}
    for f in all_facts:
        for t in fact_terms(f):
            df[t] = df.get(t, 0) + 1
    n = len(all_facts) or 1
    return {t: math.log(1 + n / d) for t, d in df.items()}
