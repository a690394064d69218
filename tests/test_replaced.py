"""`store.models.replaced`: `dataclasses.replace` for the paths every request takes. It must give
what `replace` gives, field for field, for every record it copies, and leave to `replace` every
record whose making checks or derives something."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from handlers.registry import Ask
from store.dates import DateError, Span
from store.models import Meeting, Source, replaced

SOURCE = Source("s1", "A calendar", "The desk", "report", date(2025, 12, 13), "cal.md", "seed")
NOW = datetime(2026, 3, 2, tzinfo=UTC)


def som2(**changes: object) -> Meeting:
    fields = dict(
        id="som2",
        name="Second Senior Officials' Meeting",
        short="SOM2",
        kind="som",
        parent_id="",
        span=Span(date(2026, 5, 1), date(2026, 5, 31), "month", "May 2026"),
        status="scheduled",
        city="Shanghai",
        host_id="cn",
        host_name="China",
        tz="Asia/Shanghai",
        source=SOURCE,
        quote="SOM2 in Shanghai in May",
        note="",
        origin="seed",
    )
    return Meeting(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"text": "next-meeting som", "args": "som"},
        {"store": object()},
        {"user": "U1", "channel": "C1", "via": "mention"},
    ],
)
def test_a_question_replaced_is_the_question_replace_makes(changes):
    ask = Ask(store=None, now=NOW, text="next-meeting", user="U9")  # type: ignore[arg-type]
    copy = replaced(ask, **changes)
    assert copy == dataclasses.replace(ask, **changes)
    assert type(copy) is Ask and copy is not ask
    assert ask.text == "next-meeting" and ask.user == "U9"  # the original as it was
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.text = "changed"  # type: ignore[misc]


def test_a_name_that_is_no_field_is_refused_as_replace_refuses_it():
    ask = Ask(store=None, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        replaced(ask, txet="typo")


def test_what_a_record_worked_out_from_its_old_fields_is_not_carried_over():
    month_only = som2()
    assert not month_only.dated  # worked out, and kept in the record's __dict__
    assert month_only.starts_at == datetime(2026, 5, 1, tzinfo=month_only.zone)
    dated = replaced(month_only, span=Span(date(2026, 5, 18), date(2026, 5, 19), "day"))
    assert dated.dated
    assert dated.starts_at == datetime(2026, 5, 18, tzinfo=dated.zone)
    assert dated == dataclasses.replace(month_only, span=dated.span)


def test_a_record_whose_making_checks_its_fields_is_made_through_replace():
    may = Span(date(2026, 5, 1), date(2026, 5, 31), "month")
    with pytest.raises(DateError):  # Span's __post_init__ refuses an end before the start
        replaced(may, end=date(2026, 4, 1))
    assert replaced(may, text="May") == Span(may.start, may.end, "month", "May")


def test_a_record_whose_fields_a_base_keeps_in_slots_is_made_through_replace():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        kind: str

    @dataclasses.dataclass(frozen=True)
    class Named(Base):  # its own instances have a __dict__, but `kind` is in Base's slot
        name: str

    record = Named("som", "SOM2")
    assert replaced(record, name="SOM3") == Named("som", "SOM3")
    assert replaced(record, kind="summit") == Named("summit", "SOM2")
