"""The table every question is read into: a row per kind of record and what is asked of it, and
the function that answers it, tried in this order (the first that answers wins).

A row's phrasings are questions with a placeholder for its subject ({meeting}, {economy},
{person}, {day}, {year}, {term}): the tests fill them with every subject of the kind the store
holds and check that each is answered by the table, or plainly said not to be on record, never
left to a passage found by search.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.reader.base import Intent
from handlers.reader.days import duration, left, on_day, since, weekday
from handlers.reader.delegations import delegation
from handlers.reader.facts import facts
from handlers.reader.meetings import host, kind_list, meeting, order, parts, period
from handlers.reader.members import counts, membership
from handlers.reader.people import attendance, doers, person, who_is
from handlers.reader.said import statements
from handlers.reader.terms import term
from handlers.reader.time import countdown, next_meeting, time_of_day


@dataclass(frozen=True)
class Row:
    """A kind of record, what is asked of it, who answers, and how people ask it."""

    kind: str  # meeting, calendar, economy, person, delegation, apec, term, fact
    ask: str
    answer: Intent
    phrasings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.answer.__name__


TABLE: tuple[Row, ...] = (
    Row(
        "term",
        "stands for",
        term,
        (
            "what does {term} stand for?",
            "{term} meaning",
            "what does the {term} do?",
        ),
    ),
    Row(
        "meeting",
        "weekday",
        weekday,
        (
            "what day of the week does {meeting} open?",
            "which weekday did {meeting} end",
            "is {meeting} on a weekend?",
        ),
    ),
    Row(
        "meeting",
        "duration",
        duration,
        (
            "how long is {meeting}?",
            "how many days does {meeting} run",
        ),
    ),
    Row(
        "meeting",
        "since",
        since,
        ("how long ago did {meeting} end?", "how many days since {meeting}"),
    ),
    Row(
        "meeting",
        "countdown",
        countdown,
        ("how many days until {meeting}?", "countdown to {meeting}"),
    ),
    Row("calendar", "day", on_day, ("anything on {day}?", "what's happening on {day}")),
    Row("calendar", "left", left, ("anything left on the apec {year} calendar?",)),
    Row("calendar", "next", next_meeting, ("next meeting?", "what's the next SOM")),
    Row("meeting", "time", time_of_day, ("what time does {meeting} start?",)),
    Row("economy", "member", membership, ("is {economy} an apec member?", "{economy} member?")),
    Row("fact", "count", counts, ()),
    Row("person", "who", who_is, ("who is {person}?",)),
    Row("delegation", "head", delegation, ("who leads the {economy} delegation?",)),
    Row("person", "attended", attendance, ("did {person} attend {meeting}?",)),
    Row("meeting", "doer", doers, ("who chaired {meeting}?",)),
    Row("subject", "said", statements, ("what was agreed at {meeting}?",)),
    Row("apec", "host", host, ("who hosts apec {year}?",)),
    Row("meeting", "parts", parts, ("what is held alongside {meeting}?",)),
    Row("calendar", "kind", kind_list, ("list the {year} SOMs",)),
    Row("meeting", "order", order, ()),
    Row(
        "meeting",
        "when-where",
        meeting,
        (
            "when is {meeting}?",
            "where is {meeting}?",
            "has {meeting} happened yet?",
            "{meeting}?",
        ),
    ),
    Row("calendar", "period", period, ("meetings in {month}",)),
    Row("person", "about", person, ("tell me about {person}",)),
    Row("fact", "about", facts, ()),
)

INTENTS: tuple[Intent, ...] = tuple(row.answer for row in TABLE)
# Rows whose "Yes" is read out of a sentence rather than a record's own field: checked again by
# handlers/reader/checks.py `grounded` (as is a passage found by search).
READ_FROM_TEXT: frozenset[Intent] = frozenset({counts, doers, statements, person, facts})
