"""Meetings in any year: late November 2026, every seeded meeting is past; the next APEC year is on
record once the desk adds it, and until then every place that looks ahead says how to add it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.home import home_view
from handlers.meetings import HOW_TO_ADD
from handlers.posts import digest_card
from handlers.router import Ask, route
from store.db import connect
from store.queries import Store
from store.schedule import Post
from tests.conftest import SEEDS, at

NOW = at("2026-11-27T10:00+00:00")  # after the Leaders' Meeting of 18-19 November 2026


def say(db_path, text: str, now=NOW, admin: bool = False) -> str:
    db = connect(db_path)
    try:
        ask = Ask(
            store=Store(db),
            now=now,
            text=text,
            user="UADMIN",
            channel="C1",
            can_edit=lambda: admin,
            seeds=SEEDS,
        )
        return route(ask).plain()
    finally:
        db.close()


def digest(now) -> Post:
    return Post(
        f"digest:C1:{now.date()}", "C1", "digest", now, "UTC", now - timedelta(days=30), "weekly"
    )


@pytest.fixture
def with_2027(db_path):
    said = say(
        db_path,
        'add-meeting "First Senior Officials\' Meeting 2027" "3-5 March 2027" Hanoi '
        "short=SOM1-2027",
        admin=True,
    )
    assert said.startswith(":white_check_mark: Added"), said
    said = say(
        db_path,
        'add-meeting "Trade Ministers Meeting 2027" "June 2027" Hanoi short=MRT-2027',
        admin=True,
    )
    assert said.startswith(":white_check_mark: Added"), said
    return db_path


def test_with_nothing_ahead_each_place_that_looks_ahead_says_so_and_how_to_add(db_path):
    answer = say(db_path, "next-meeting")
    assert answer.startswith("No upcoming meeting is on record.")
    assert "AELM 2026" in answer  # the last one, labelled as such
    assert HOW_TO_ADD.replace("`", "") in answer.replace("`", "")
    db = connect(db_path)
    home = str(home_view(Ask(store=Store(db), now=NOW)))
    assert "No upcoming meeting is on record." in home and "/apec add-meeting" in home
    text = digest_card(digest(NOW), Store(db), NOW, None).plain()
    assert "none further ahead either" in text and "/apec proposals" in text
    db.close()


def test_next_meeting_crosses_into_the_next_year(with_2027):
    answer = say(with_2027, "next-meeting")
    # 27 November 2026 to 3 March 2027: 4 + 31 + 31 + 28 + 2 days.
    assert answer.startswith("The next meeting on record opens in 96 days:"), answer
    assert "SOM1-2027" in answer and "3–5 March 2027" in answer
    assert HOW_TO_ADD.replace("`", "") not in answer.replace("`", "")
    assert "SOM1-2027" in say(with_2027, "next som")


def test_meetings_of_a_year_lists_that_year_only(with_2027):
    listed = say(with_2027, "meetings 2027")
    assert "SOM1-2027" in listed and "MRT-2027" in listed
    assert "AELM 2026" not in listed and "SOM2" not in listed
    assert "SOM1-2027" not in say(with_2027, "meetings 2026")


def test_a_month_only_meeting_next_year_gets_no_day_count(with_2027):
    after_som1 = at("2027-03-10T00:00+00:00")
    answer = say(with_2027, "next-meeting", now=after_som1)
    assert "MRT-2027" in answer and "June 2027" in answer
    assert " days" not in answer.split("\n")[0], answer  # a month has no count of days


def test_the_digest_and_home_name_the_next_year_s_meeting(with_2027):
    db = connect(with_2027)
    soon = at("2027-02-10T09:00+00:00")
    text = digest_card(digest(soon), Store(db), soon, None).plain()
    assert "SOM1-2027" in text and HOW_TO_ADD.replace("`", "") not in text.replace("`", "")
    home = str(home_view(Ask(store=Store(db), now=NOW)))
    assert "SOM1-2027" in home and "/apec add-meeting" not in home
    db.close()
