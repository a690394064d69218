"""False claims made from every true record, put the ways desk officers put a claim to be
confirmed: none may get a "Yes".

Nobody wrote these questions: each is a record of the store with one part changed (another
meeting's city, a number moved by three, another economy's delegation), so the check covers
what the records hold rather than what a corpus happened to ask. A "Yes" here is the failure the
desk fears most: a claim no source makes, confirmed in front of senior people.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from handlers.answer import answer
from store.queries import Store
from tests.conftest import at

LATE_2026 = at("2026-12-06T09:00+08:00")  # every source published
OTHER_CITIES = ("Beijing", "Tokyo", "Jakarta")  # capitals and a city no meeting was held in


def _first_line(store: Store, text: str) -> str:
    return answer(store, text, LATE_2026).plain().splitlines()[0]


def _claims_of_place(store: Store) -> Iterator[str]:
    cities = sorted({m.city for m in store.meetings() if m.city} | set(OTHER_CITIES))
    for m in store.meetings():
        for city in cities:
            if m.city and city != m.city:
                yield f"was {m.short} in {city}?"
                yield f"{m.short} is in {city}, right?"
                yield f"is it true that {m.short} took place in {city}?"


def _claims_of_number(store: Store) -> Iterator[str]:
    for fact in store.facts():
        said = fact.answer.rstrip(".")
        for n in sorted(set(re.findall(r"\b\d+\b", said))):
            claim = re.sub(rf"\b{n}\b", str(int(n) + 3), said)
            yield f"is it true that {claim[0].lower()}{claim[1:]}?"
            yield f"{claim}, right?"


def _claims_of_date(store: Store) -> Iterator[str]:
    """Each meeting's days moved by one or two, and its month changed."""
    for m in store.meetings():
        start, end = m.span.start, m.span.end
        if start is None or end is None:
            continue
        if m.dated:
            for shift in (1, 2):
                a, b = start + timedelta(days=shift), end + timedelta(days=shift)
                days = f"{a:%b} {a.day}" if a == b else f"{a:%b} {a.day}-{b.day}"
                yield f"{m.short} is {days}, correct?"
                yield f"is {m.short} on {a.day} {a:%B}?" if a == b else f"was {m.short} {days}?"
        other = start.replace(day=1, month=start.month % 12 + 1)
        yield f"is {m.short} in {other:%B}?"
        yield f"{m.short} is in {other:%B} {other.year}, can you confirm?"


def _claims_of_delegation(store: Store) -> Iterator[str]:
    for d in store.delegations():
        if d.head is None:
            continue
        for other in store.members():
            if other.id != d.economy.id:
                yield f"did {d.head.name} lead the {other.name} delegation to {d.meeting.short}?"
                yield f"{d.head.name} headed the {other.name} delegation, didn't they?"


@pytest.mark.parametrize(
    "claims", [_claims_of_place, _claims_of_number, _claims_of_date, _claims_of_delegation]
)
def test_no_claim_made_false_from_a_record_is_confirmed(store, claims):
    asked = list(claims(store))
    assert len(asked) >= 10  # the records give claims to make false
    confirmed = [
        (text, line) for text in asked if (line := _first_line(store, text)).startswith("Yes")
    ]
    assert confirmed == []


def test_the_true_claims_they_were_made_from_are_not_denied(store):
    """The same forms with nothing changed: confirmed, never denied ("No:"), never said to lack a
    source (a meeting's city is on record)."""
    asked = [f"{m.short} is in {m.city}, right?" for m in store.meetings() if m.city]
    lines = [(text, _first_line(store, text)) for text in asked]
    assert asked and [(text, line) for text, line in lines if not line.startswith("Yes")] == []
