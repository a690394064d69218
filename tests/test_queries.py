"""The query layer, against a real store built from the seeds."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import at

# Every member economy, with aliases people type, and the official APEC name each must give.
ALIASES = [
    ("Australia", "Australia"),
    ("Brunei", "Brunei Darussalam"),
    ("Canada", "Canada"),
    ("Chile", "Chile"),
    ("PRC", "People's Republic of China"),
    ("China", "People's Republic of China"),
    ("Hong Kong", "Hong Kong, China"),
    ("Indonesia", "Indonesia"),
    ("Japan", "Japan"),
    ("South Korea", "Republic of Korea"),
    ("ROK", "Republic of Korea"),
    ("Korea", "Republic of Korea"),
    ("Malaysia", "Malaysia"),
    ("Mexico", "Mexico"),
    ("NZ", "New Zealand"),
    ("PNG", "Papua New Guinea"),
    ("Peru", "Peru"),
    ("the Philippines", "Philippines"),
    ("Russia", "Russian Federation"),
    ("Singapore", "Singapore"),
    ("Taiwan", "Chinese Taipei"),
    ("Thailand", "Thailand"),
    ("US", "United States of America"),
    ("USA", "United States of America"),
    ("U.S.", "United States of America"),
    ("America", "United States of America"),
    ("Viet Nam", "Vietnam"),
    ("vietnam", "Vietnam"),
]


@pytest.mark.parametrize(("alias", "official"), ALIASES)
def test_alias_names_the_member_economy(store, alias, official):
    found = store.member(alias)
    assert found.economy is not None and found.economy.name == official


def test_every_member_economy_has_an_alias_test(store):
    assert {e.name for e in store.members()} == {official for _, official in ALIASES}
    assert len(store.members()) == 21


@pytest.mark.parametrize("name", ["India", "UK", "United Kingdom", "European Union", "North Korea"])
def test_non_members_are_known_as_such(store, name):
    found = store.member(name)
    assert found.economy is None and found.non_member


def test_unknown_economy_gets_suggestions(store):
    found = store.member("Vietnm")
    assert found.economy is None and not found.non_member
    assert "Vietnam" in found.suggestions


def test_next_meeting_before_som1_is_som1_in_guangzhou(store):
    m = store.next_meeting(after=at("2026-01-20T09:00+09:00"))
    assert (m.short, m.city, m.span.start, m.span.end) == (
        "SOM1",
        "Guangzhou",
        date(2026, 2, 1),
        date(2026, 2, 10),
    )


def test_next_som_after_som2_is_som3_known_to_the_month(store):
    m = store.next_meeting(after=at("2026-06-01T09:00+09:00"), kind="som")
    assert m.short == "SOM3" and m.span.precision == "month" and not m.dated


def test_next_summit_is_the_november_18_19_leaders_meeting_in_shenzhen(store):
    m = store.next_meeting(after=at("2026-09-01T00:00+00:00"), kind="summit")
    assert (m.span.start, m.span.end, m.city) == (
        date(2026, 11, 18),
        date(2026, 11, 19),
        "Shenzhen",
    )


def test_after_the_summit_nothing_is_upcoming_and_the_summit_was_last(store):
    now = at("2026-11-24T09:00+09:00")
    assert store.next_meeting(after=now) is None
    assert store.last_meeting(before=now).id == "aelm-2026"


def test_venue_time_zone_decides_when_a_meeting_starts(store):
    # 1 Feb 00:00 in Guangzhou is 31 Jan 16:00 UTC.
    assert store.next_meeting(after=at("2026-01-31T15:59+00:00")).short == "SOM1"
    assert store.next_meeting(after=at("2026-01-31T16:00+00:00")).short != "SOM1"


def test_som1_is_under_way_during_its_dates(store):
    assert [m.short for m in store.ongoing(at("2026-02-05T12:00+08:00"))][:1] == ["SOM1"]


def test_meetings_in_may_are_som2_and_its_related_meetings(store):
    shorts = {m.short for m in store.meetings_between(date(2026, 5, 1), date(2026, 5, 31))}
    assert {"SOM2", "SOM2 related meetings"} <= shorts
    assert not any(s.startswith("Sectoral") for s in shorts)  # "From May" is no date


@pytest.mark.parametrize("name", ["SOM1", "som 1", "first SOM", "Guangzhou SOM", "som1-2026"])
def test_meeting_by_name_or_alias(store, name):
    assert store.meeting(name).id == "som1-2026"


def test_bmc_meeting_was_on_february_9(store):
    m = store.meeting("BMC")
    assert m.span.start == date(2026, 2, 9) and m.parent_id == "som1-2026"


def test_the_2025_summit_was_hosted_by_korea_and_has_no_made_up_date(store):
    m = store.meeting("aelm-2025")
    assert m.host_id == "KR" and m.span.start is None and not m.dated


def test_us_delegation_is_led_by_casey_mace_with_ruth_perry(store):
    (d,) = store.delegations(economy_id="US")
    assert d.head.name == "Casey Mace"
    assert [m.person.name for m in d.members] == ["Ruth Perry"]
    assert d.objectives and all(o.source for o in d.objectives)


def test_person_by_name_and_alias(store):
    assert store.person("Casey Mace").title
    assert store.person("casey mace").id == store.person("Mace").id
    assert store.person("Nobody Atall") is None


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        '""',
        "NOT",
        "NOT NOT",
        "NEAR(",
        "NEAR(a b",
        "*",
        "a*",
        "-",
        ":",
        "col:val",
        "(",
        ")",
        "'; DROP TABLE passages; --",
        "AND OR",
        "^",
        "x" * 5000,
        "a " * 2500,
        "",
        "   ",
        "\x00",
        "😀",
    ],
)
def test_hostile_search_text_returns_an_answer_not_an_exception(store, hostile):
    hits = store.search(hostile)
    assert isinstance(hits, list)
    assert store.db.execute("SELECT count(*) FROM passages").fetchone()[0] > 0


def test_search_finds_the_bogor_goals_with_their_source(store):
    (hit, *_) = store.search("Bogor Goals 1994")
    assert "Bogor" in hit.text and hit.source.title.startswith("US Engages")


def test_search_returns_the_repeated_q_and_a_once(store):
    hits = store.search("Casey Mace State Department appointee", limit=5)
    texts = [h.text for h in hits]
    assert len(texts) == len(set(texts))
    assert any(h.also_in for h in hits if "appointee" in h.text)
