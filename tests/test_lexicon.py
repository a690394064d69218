"""The lexicon (store/lexicon.py): every index the question reader needs, built once per version
of the store (and of each view of it as of a day), handed to the parser whole."""

from __future__ import annotations

from datetime import date

from handlers.question import parse
from handlers.router import Ask, route
from store.lexicon import build_lexicon, lexicon_of
from tests.conftest import ADMIN, SEEDS, at

JULY = at("2026-07-20T09:00+09:00")
FORUM = '"Lima Oceans Forum" 2027-03-01..2027-03-02 Lima'


def add_meeting(store, fields: str) -> None:
    route(
        Ask(
            store=store,
            now=JULY,
            text=f"add-meeting {fields}",
            user=ADMIN,
            channel="C1",
            can_edit=lambda: True,
            seeds=SEEDS,
        )
    )


def test_the_lexicon_is_built_once_per_store_version(store):
    first = lexicon_of(store)
    parse(store, "who leads the us delegation to SOM1?", JULY)
    assert lexicon_of(store) is first
    add_meeting(store, FORUM)
    again = lexicon_of(store.refresh())
    assert again is not first
    assert "oceans" in again.unique and "oceans" not in first.unique


def test_a_view_as_of_a_day_has_the_lexicon_of_what_it_holds(store):
    add_meeting(store, FORUM)
    store.refresh()
    before, after = store.at(date(2026, 7, 1)), store.at(date(2026, 7, 25))
    assert lexicon_of(before) is not lexicon_of(after)
    assert not any(
        "Lima Oceans Forum" == typed for typed, _ in lexicon_of(before).names.find(FORUM)
    )
    assert ("Lima Oceans Forum", "meeting") in [
        (typed, target.split("\t")[0]) for typed, target in lexicon_of(after).names.find(FORUM)
    ]


def test_a_new_meeting_is_found_by_its_telling_words_once_it_is_on_record(store):
    question = "when is the lima oceans forum?"
    assert parse(store, question, JULY).meetings == ()
    add_meeting(store, FORUM)
    (meeting,) = parse(store.refresh(), question, JULY).meetings
    assert meeting.name == "Lima Oceans Forum"


def test_names_typed_as_one_word_are_split_back(store):
    lexicon = lexicon_of(store)
    assert lexicon.unjoin("who is caseymace?") == "who is Casey Mace?"
    assert lexicon.unjoin("who is CaseyMace?") == "who is Casey Mace?"
    assert lexicon.unjoin("who is casey?") == "who is casey?"


def test_the_desk_shorthand_of_the_glossary_is_spelt_out(store):
    assert lexicon_of(store).spell_out("who is the HoD of the budget cmte") == (
        "who is the head of delegation of the budget committee"
    )


def test_capitals_and_adjectives_name_their_economy(store):
    found = lexicon_of(store).names.find("what did Seoul push for the Korean delegation")
    assert found == [("Seoul", "capital\tKR"), ("Korean", "economy\tKR")]


def test_a_word_of_one_meeting_only_tells_it_apart_and_a_shared_one_does_not(store):
    lexicon = lexicon_of(store)
    assert "shenzhen" in lexicon.unique  # the Leaders' Summit's city, and no other meeting's
    assert "guangzhou" in lexicon.telling["som1-2026"]
    assert "guangzhou" in lexicon.telling["bmc1-2026"]
    # SOM1's parts are held in Guangzhou too: the city names the one meeting they are part of
    assert lexicon.word_meetings["guangzhou"] == {"som1-2026"}


def test_the_years_held_are_the_store_s(store):
    assert lexicon_of(store).years == {2025, 2026}
    assert build_lexicon(store).years == lexicon_of(store).years
