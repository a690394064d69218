"""What an answer is (a line, its citation, more of it, what is near it on record) and the
small helpers every answer function shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from handlers.meetings import title
from handlers.question import Question
from handlers.render import esc, status_word, when
from store.models import Meeting, Source
from store.queries import Store


@dataclass(frozen=True)
class Point:
    """One cited statement: mrkdwn (already escaped), its source and the words quoted."""

    text: str
    source: Source
    quote: str = ""


@dataclass
class Answer:
    """A line that answers; more of the answer, each cited; what is near it on record; and the
    command that shows the whole card."""

    line: str
    cite: Point | None = None  # the line's own source (its text unused)
    points: list[Point] = field(default_factory=list)
    nearby: list[Point] = field(default_factory=list)
    more: str = ""
    readings: list[str] = field(default_factory=list)  # questions it may mean, asked back
    by: str = ""  # what answered: a row of the table, "search", "asked back" or "no source"
    nearest: list[Point] = field(default_factory=list)  # passages nearest its words, no answer


Intent = Callable[[Question, Store], "Answer | None"]


def examples(*asked: str) -> Callable[[Intent], Intent]:
    """Questions this intent answers: its documentation, and a test that it is the one chosen."""

    def attach(fn: Intent) -> Intent:
        fn.examples = asked  # type: ignore[attr-defined]
        return fn

    return attach


def cited(source: Source, quote: str = "") -> Point:
    return Point("", source, quote)


def now_of(q: Question) -> datetime:
    assert q.now is not None
    return q.now


def yes_no(yes: bool, rest: str) -> str:
    return f"{'Yes' if yes else 'No'}: {rest}"


def echo(q: Question) -> str:
    """The question as asked, quoted (for a first line that says the records lack it)."""
    return f"“{esc(q.raw.strip()[:200])}”"


def tense(m: Meeting, now: datetime, past: str, present: str, future: str) -> str:
    """The verb for a meeting as of now: over, under way, or ahead (or undated and not held)."""
    bounds = m.bounds()
    if bounds is None:
        return past if m.status == "held" else future
    start, end = bounds
    return past if now >= end else present if now >= start else future


def where_when(m: Meeting, now: datetime) -> str:
    """ "1–10 February 2026, Guangzhou, People's Republic of China (held)"."""
    place = f", {esc(m.place)}" if m.place else ""
    return f"{esc(when(m))}{place} ({status_word(m, now)})"


def meeting_point(m: Meeting, now: datetime) -> Point:
    return Point(f"*{esc(title(m))}*: {where_when(m, now)}.", m.source, m.quote)


def parent_point(store: Store, m: Meeting, now: datetime) -> list[Point]:
    parent = next((p for p in store.meetings() if p.id == m.parent_id), None)
    if parent is None:
        return []
    return [
        Point(
            f"It is held alongside or as part of *{esc(title(parent))}*: "
            f"{where_when(parent, now)}.",
            parent.source,
            parent.quote,
        )
    ]
