"""What the bot says, as plain functions: every command through the router, and questions in
words."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.answer import answer
from handlers.router import REGISTRY, Ask, route
from tests.conftest import at

BEFORE_SOM1 = at("2026-01-20T09:00+09:00")
TODAY = at("2026-11-24T09:00+09:00")


def say(store, text, now=TODAY):
    card = route(Ask(store=store, now=now, text=text))
    return {
        **card.payload(),
        "text": card.plain(),
    }  # the words as read; the blocks as Slack gets them


def test_next_meeting_before_som1_names_som1_guangzhou_in_february_as_announced(store):
    # Until the US update of 1 February, the sources out give SOM1 only as "in February".
    reply = say(store, "next-meeting", BEFORE_SOM1)
    assert "SOM1" in reply["text"] and "Guangzhou" in reply["text"]
    assert "February 2026, dates not confirmed" in reply["text"] and "1–10" not in reply["text"]
    assert "Source:" in reply["text"] and "(2025-12-13)" in reply["text"]


def test_next_meeting_after_the_summit_says_none_upcoming_and_names_the_last(store):
    reply = say(store, "next-meeting")
    assert "No upcoming meeting is on record" in reply["text"]
    assert "Leaders' Meeting" in reply["text"] and "18–19 November 2026" in reply["text"]


def test_next_som_in_june_is_som3_month_only(store):
    reply = say(store, "next-meeting som", at("2026-06-01T09:00+09:00"))
    assert "SOM3" in reply["text"] and "August 2026, dates not confirmed" in reply["text"]


def test_meeting_dates_carry_no_time_of_day_since_no_source_gives_one(store):
    reply = say(store, "next-meeting", at("2026-06-01T09:00+09:00"))
    assert "<!date^" not in json.dumps(reply["blocks"])
    assert "00:00" not in reply["text"] and "August 2026" in reply["text"]
    reply = say(store, "next-meeting", at("2026-11-10T09:00+09:00"))
    assert "<!date^" not in json.dumps(reply["blocks"])
    assert "00:00" not in reply["text"] and "18–19 November 2026" in reply["text"]


@pytest.mark.parametrize("text", ["next-meeting som", "countdown"])
def test_a_month_only_meeting_gets_no_day_count(store, text):
    reply = say(store, text, at("2026-06-01T09:00+09:00"))
    assert "SOM3" in reply["text"] and "August 2026" in reply["text"]
    assert "days" not in reply["text"].split("SOM3", 1)[1].split("\n")[0]


@pytest.mark.parametrize("args", ["SOM?", "som!", "Summit?", "smmit", "meeting?", ""])
def test_next_meeting_reads_its_kind_through_punctuation_and_typos(store, args):
    reply = say(store, f"next-meeting {args}", BEFORE_SOM1)
    assert "don't know the kind" not in reply["text"]


def test_next_meeting_of_an_unknown_kind_is_a_usage_reply(store):
    assert "don't know the kind" in say(store, "next-meeting banquet", BEFORE_SOM1)["text"]


def test_answers_are_ephemeral_with_a_button_to_post_them(store):
    reply = say(store, "members")
    assert reply["response_type"] == "ephemeral"
    (actions,) = [b for b in reply["blocks"] if b["type"] == "actions"]
    assert actions["elements"][0]["value"] == "members"


def test_unknown_command_suggests_the_closest(store):
    reply = say(store, "nxt-meeting")
    assert "next-meeting" in reply["text"]


def test_missing_argument_gets_usage_and_an_example(store):
    reply = say(store, "member")
    assert "Usage" in reply["text"] and "/apec member South Korea" in reply["text"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("UK", "not an APEC member"),
        ("India", "not an APEC member"),
        ("Taiwan", "Chinese Taipei"),
        ("Atlantis", "don't know"),
    ],
)
def test_member_answers(store, name, expected):
    assert expected in say(store, f"member {name}")["text"]


def test_meeting_unknown_offers_close_names(store):
    reply = say(store, "meeting SOM9")
    assert "no meeting called" in reply["text"] and "SOM" in reply["text"]


def test_meetings_in_may_lists_som2(store):
    assert "SOM2" in say(store, "meetings in May")["text"]


def test_meetings_unreadable_period_is_a_usage_reply(store):
    assert "can't read" in say(store, "meetings blorp")["text"]


def test_delegation_us(store):
    text = say(store, "delegation US")["text"]
    assert "Casey Mace" in text and "Ruth Perry" in text


def test_delegation_of_economy_without_one_says_no_source(store):
    assert "no source" in say(store, "delegation Peru")["text"]


def test_help_lists_every_command_with_an_example_for_an_admin(store):
    text = route(Ask(store=store, now=TODAY, text="help", can_edit=lambda: True)).plain()
    for name in REGISTRY:
        assert f"/apec {REGISTRY[name].example}" in text


def test_help_lists_only_what_the_user_may_run(store):
    text = say(store, "help")["text"]
    for command in REGISTRY.values():
        assert (f"/apec {command.example}" in text) is not command.admin


def test_countdown_after_the_summit_says_none_upcoming(store):
    text = say(store, "countdown")["text"]
    assert "none upcoming" in text


def test_countdown_before_som1_counts_days_to_what_is_dated(store):
    # SOM1 is known only as "in February" then: no day count; the summit's days are announced.
    text = say(store, "countdown", BEFORE_SOM1)["text"]
    assert "SOM1" in text and "in 12 days" not in text and "in 302 days" in text


def test_sources_lists_all_six(store):
    assert "6 sources" in say(store, "sources")["text"]


# Questions a desk officer asks, and words the answer must hold.
QUESTIONS = [
    ("who leads the US delegation?", ["Casey Mace", "Source:"]),
    ("Who heads the South Korean delegation?", ["Park Jong-han"]),
    ("What is the theme of APEC 2026?", ["Prosper Together"]),
    ("When is the Leaders' Summit?", ["18–19 November 2026", "Shenzhen"]),
    ("Where is SOM3?", ["Dalian", "August 2026"]),
    ("What is the Putrajaya Vision 2040?", ["long-term vision"]),
    ("What are the Bogor Goals?", ["1994", "Bogor"]),
    ("How does APEC make decisions?", ["consensus"]),
    ("Is India a member of APEC?", ["not an APEC member"]),
    ("Who presided over the BMC meeting?", ["Lee Ji-yoon"]),
    ("Who is Ruth Perry?", ["Acting Principal Deputy Assistant Secretary"]),
    ("who hosted APEC in 2025?", ["Korea"]),
    ("how many members does APEC have?", ["21"]),
]


@pytest.mark.parametrize(("question", "needles"), QUESTIONS)
def test_questions_are_answered_from_the_records_with_a_source(store, question, needles):
    text = answer(store, question, TODAY).payload()["text"]
    for needle in needles:
        assert needle in text, text
    assert "Source:" in text


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of Peru?",
        "who is the president of France?",
        "tell us about the weather",
        "asdf qwer",
    ],
)
def test_questions_without_a_source_say_so(store, question):
    assert "I have no source for that" in answer(store, question, TODAY).payload()["text"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
def test_any_command_text_gets_a_non_empty_reply(store, text):
    reply = route(Ask(store=store, now=TODAY, text=text)).payload()
    assert reply["text"].strip()
    assert len(reply["blocks"]) <= 50


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
def test_any_question_gets_a_non_empty_reply(store, text):
    assert answer(store, text, TODAY).payload()["text"].strip()


@pytest.mark.parametrize(
    ("question", "needles"),
    [
        ("Who led the Korean delegation at SOM1?", ["Park Jong-han", "led"]),
        (
            "What is the BMC and who chairs it?",
            ["Korea is chairing the Budget and Management Committee"],
        ),
        ("When did China announce the 2026 calendar?", ["December 12, 2025", "Guo Jiakun"]),
        ("who leads the American delegation?", ["Casey Mace"]),
    ],
)
def test_questions_in_other_words_are_answered(store, question, needles):
    text = answer(store, question, TODAY).payload()["text"]
    for needle in needles:
        assert needle in text, text


def test_a_title_alone_does_not_make_a_passage_an_answer(store):
    # Every passage of the desk note stands under its title "…what China announced…".
    hits = store.search("announced calendar")
    assert all("announc" in h.text.lower() or "calendar" in h.text.lower() for h in hits)
