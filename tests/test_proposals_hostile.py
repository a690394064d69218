"""Proposals from hostile or careless pages: history told in the past tense, dates that are no
dates, years far away, pages whose date drifts every poll, and a source that floods the desk.

Every document is a fictional text written here, ingested into a real store in tmp_path; the
desk's channel is the local Slack Web API stand-in, posted to by the real scheduler engine.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from handlers.proposals import (
    APPROVE,
    HELD_VALUE,
    card_after_edit,
    edit_form,
    held_card,
    pressed,
    submit_edit,
)
from handlers.router import Ask, route
from store import proposals
from store.db import connect
from store.desk import Desk
from store.errors import SourceError
from store.ingest import Document, ingest_many, ingest_text
from store.proposals import (
    FLOOD_LIMIT,
    REPROPOSE_AFTER,
    YEARS_AHEAD,
    decide,
    open_proposals,
    propose,
)
from store.queries import Store
from store.schedule import Schedule, plan
from tests.conftest import ADMIN, SEEDS, Clock, at
from tests.test_cli import run
from tests.test_delivery_faults import Wall
from tests.test_proposals import UTC, _engine

JAN_2026 = at("2026-01-10T09:00+00:00")  # SOM1 2026 (Guangzhou) is still ahead
PAGE = "https://news.example.org/apec/som1"
FEED = "https://news.example.org/apec/feed.xml"
OFFICIAL = "https://mfa.example.gov/apec/calendar"


def propose_text(
    store: Store,
    sentence: str,
    now: datetime = JAN_2026,
    *,
    reference: date | None = None,
    origin: str = "",
    name: str = "doc.md",
):
    """One fictional document holding the sentence, ingested and proposed from."""
    report = ingest_text(
        store.db,
        f"Fictional notice\n\n{sentence}\n",
        now=now,
        seeds=SEEDS,
        name=name,
        reference=reference or now.date(),
    )
    return propose(store.db, report, now, origin=origin)


def changes(made) -> list[str]:
    return [p.change for p in made]


# -- a sentence's own year binds its meeting ----------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "In 1993, SOM1 was held in Seattle.",
        "Seattle hosted the first Leaders' meeting in 1993.",
        "The Leaders' Meeting was first held in Seattle in 1993.",
        "The AELM 1993 was held in Blake Island.",
        "Back in 1993, the AELM took place in Blake Island.",
        "SOM1 has been held in Seattle since 1993.",
        "SOM1 2025 was held in Gyeongju.",  # last year's, not this year's
        "Back in 2025, SOM1 was held in Gyeongju.",
        "SOM1 was held in Seattle.",  # which year's: not said
        "The AELM was held in Blake Island.",
        "SOM1 was held in Seattle on 2-4 March.",  # past tense, the year read from the page
        "SOM1 will be held in Seattle next year.",  # next year's SOM1, not this year's
        "SOM1 of 1993 will be held in Seattle.",
        "SOM1 will be held in Seattle with 2040 delegates.",  # a number that reads as a year
    ],
)
def test_a_sentence_about_another_year_moves_nothing_of_this_years(store, sentence):
    assert changes(propose_text(store, sentence)) == []


def test_a_sentence_naming_this_years_meeting_still_moves_it(store):
    """The control: the same shape of sentence about this year's meeting is proposed."""
    assert changes(propose_text(store, "SOM1 2026 will be held in Seattle.")) == [
        "move SOM1 2026 to Seattle (on record: Guangzhou)"
    ]
    assert changes(propose_text(store, "In 2026, SOM2 will be held in Hangzhou.", name="b.md")) == [
        "move SOM2 2026 to Hangzhou (on record: Shanghai)"
    ]


def test_last_years_meeting_told_in_the_past_is_bound_to_last_year(store):
    """A history sentence of the year before binds that year's meeting, never this year's."""
    made = propose_text(store, "The Leaders' Summit 2025 was held in Gyeongju.")
    assert [(p.kind, p.target) for p in made] in ([], [("move-meeting", "aelm-2025")])
    assert all("2026" not in p.change for p in made)


# -- dates that are no dates, and years too far away ---------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "SOM1 will be held in Seattle on 31 February.",
        "SOM1 will be held in Seattle on 31 February 2026.",
        "SOM1 will be held in Seattle on 30 February 2026.",
        "SOM1 will be held in Seattle on 2026-13-02.",
        "SOM1 will be held in Seattle in March 9999.",
        "SOM1 will be held in Seattle on 2-4 March 9999.",
        "SOM1 will be held in Seattle in March 0100.",
        "SOM1 will be held in Seattle on 2-4 March 2199.",
        "SOM1 will be held in Seattle on 2-4 March 2031.",
        "SOM1 of APEC 2030 will be held in Hanoi on 2-4 March 2030.",
        "SOM1 of APEC 2024 will be held in Hanoi on 2-4 March 2024.",
    ],
)
def test_an_impossible_or_far_date_proposes_nothing(store, sentence):
    assert changes(propose_text(store, sentence)) == []


def test_the_window_reaches_three_years_ahead(store):
    """The control at the window's edge: three years after the page's year is proposed."""
    last = JAN_2026.year + YEARS_AHEAD
    made = propose_text(store, f"SOM1 of APEC {last} will be held in Hanoi on 2-4 March {last}.")
    assert changes(made) == [f"add meeting SOM1 {last} (som): 2–4 March {last}, Hanoi"]


def test_an_archive_page_tells_no_news_however_plainly_dated(store):
    sentence = "SOM1 of APEC 2003 was held in Khon Kaen on 2-4 March 2003."
    assert changes(propose_text(store, sentence, reference=date(2003, 3, 10))) == []
    # the control: the same page read when it was news
    then = at("2003-03-10T09:00+00:00")
    assert changes(propose_text(store, f"Archived. {sentence}", then, name="b.md")) == [
        "add meeting SOM1 2003 (som): 2–4 March 2003, Khon Kaen"
    ]


@pytest.mark.parametrize("stated", ["9999-01-10", "0100-01-10", "2031-01-10"])
def test_a_page_dated_absurdly_proposes_nothing(store, stated):
    text = f"Fictional notice\nReference date: {stated}\n\nSOM1 will be held in Seattle in March.\n"
    report = ingest_text(store.db, text, now=JAN_2026, seeds=SEEDS, name="d.md")
    assert report.reference_date == date.fromisoformat(stated)
    assert propose(store.db, report, JAN_2026) == []


def test_a_page_dated_31_february_is_refused_whole(store):
    text = (
        "Fictional notice\nReference date: 2026-02-31\n\nSOM1 will be held in Seattle in March.\n"
    )
    with pytest.raises(SourceError, match="2026-02-31"):
        ingest_text(store.db, text, now=JAN_2026, seeds=SEEDS, name="d.md")
    assert open_proposals(store.db) == []


def test_a_sensibly_dated_page_still_proposes(store):
    """The control: the same page dated a sane day is read."""
    text = (
        "Fictional notice\nReference date: 2026-01-09\n\nSOM1 will be held in Seattle in March.\n"
    )
    report = ingest_text(store.db, text, now=JAN_2026, seeds=SEEDS, name="d.md")
    assert "move SOM1 2026 to Seattle (on record: Guangzhou)" in changes(
        propose(store.db, report, JAN_2026)
    )


# -- re-worded and re-dated each poll: proposed once -------------------------------------------


def poll_page(
    store: Store, text: str, now: datetime, url: str = PAGE, published: date | None = None
):
    """One poll of a watched page that changed: a new version of it, and its proposals."""
    doc = Document(text, "som1", url, "SOM1 news", published or now.date(), page=True)
    (report,) = ingest_many(store.db, [doc], now=now, seeds=SEEDS)
    assert report.new
    return propose(store.db, report, now, origin=url)


DRIFTING = [  # the page's date moves a day each poll, its wording with it
    "SOM1 will be held in Seattle on 2-4 March 2026.",
    "SOM1 is to take place in Seattle on 3-5 March 2026.",
    "Officials say SOM1 will be held in Seattle, on 4-6 March 2026.",
    "SOM1 will take place in Seattle on 5-7 March 2026.",
    "SOM1 is set to be held in Seattle from 6 to 8 March 2026.",
]


def test_a_page_whose_date_drifts_over_five_polls_proposes_each_change_once(store):
    made = []
    for n, sentence in enumerate(DRIFTING):
        now = JAN_2026 + timedelta(minutes=15 * n)
        made += poll_page(store, f"SOM1 news (fictional), version {n}\n\n{sentence}\n", now)
    assert sorted(p.kind for p in made) == ["date-meeting", "move-meeting"]
    assert len(open_proposals(store.db)) == 2


def test_a_page_read_against_a_drifting_date_proposes_once(store):
    """No year written: each version read against its own published day, which drifts."""
    made = []
    for n in range(5):
        now = JAN_2026 + timedelta(days=n)
        text = (
            f"SOM1 news (fictional), version {n}\n\n"
            f"SOM1 will be held in Seattle on {2 + n}-{4 + n} March.\n"
        )
        made += poll_page(store, text, now, published=now.date() - timedelta(days=n))
    assert [p.kind for p in made].count("date-meeting") == 1


def test_a_decided_change_is_not_proposed_again_by_its_page_but_may_be_by_another_source(store):
    first = poll_page(store, f"v0\n\n{DRIFTING[0]}\n", JAN_2026)
    for p in first:
        decide(store.db, SEEDS, p.id, False, ADMIN, JAN_2026)
    later = JAN_2026 + timedelta(days=2)
    assert poll_page(store, f"v1\n\n{DRIFTING[1]}\n", later) == []  # the same page, re-dated
    official = poll_page(store, f"v0\n\n{DRIFTING[2]}\n", later, url=OFFICIAL)
    assert [p.kind for p in official] == ["date-meeting"]  # the very move ignored: never again
    # after the quiet spell, the page is heard again
    much_later = JAN_2026 + REPROPOSE_AFTER + timedelta(days=1)
    for p in official:
        decide(store.db, SEEDS, p.id, False, ADMIN, much_later)
    again = poll_page(store, f"v2\n\n{DRIFTING[3]}\n", much_later)
    assert [p.kind for p in again] == ["date-meeting"]  # its move was ignored: never again


# -- a flood: held, one card ---------------------------------------------------------------------

NAMES = [
    f"{first} {last}"
    for first in ("Alma", "Bruno", "Carla", "Dario", "Elena", "Fabio")
    for last in ("Ruiz", "Soto", "Vega", "Lagos", "Pinto")
]


def flood(store: Store, count: int, now: datetime, origin: str = FEED) -> list:
    """`count` items of a feed, each a document proposing one delegate."""
    made = []
    for n, name in enumerate(NAMES[:count]):
        text = f"Item {n} (fictional)\n\n{name} will lead Chile's delegation to SOM3.\n"
        doc = Document(text, f"item-{n}", f"{origin}#item-{n}", f"Item {n}", now.date())
        (report,) = ingest_many(store.db, [doc], now=now, seeds=SEEDS)
        made += propose(store.db, report, now, origin=origin)
    return made


def test_thirty_proposals_from_one_source_in_a_day_are_held_and_make_one_card(db_path, web_api):
    db = connect(db_path)
    store = Store(db)
    made = flood(store, 30, JAN_2026)
    assert len(made) == 30 and len(open_proposals(db)) == 30
    assert all(p.held for p in open_proposals(db))
    posts = plan(
        store,
        Desk(db),
        JAN_2026 - timedelta(hours=1),
        JAN_2026 + timedelta(days=1),
        UTC,
        desk_channel="CDESK",
    )
    assert [p.kind for p in posts] == ["proposals"]
    clock = Clock(JAN_2026 + timedelta(seconds=30))
    bot = _engine(db_path, web_api, clock, Wall())
    assert bot.hold_lease()
    assert len(bot.run_due().sent) == 1
    clock.advance(minutes=20)
    assert bot.run_due().sent == []
    (post,) = web_api.posts("CDESK")
    assert "held" in post["text"].lower() and "30 proposals" in post["text"]
    assert "news.example.org" in post["text"]
    db.close()
    listed = run("proposals", env={"APEC_DB": str(db_path)})
    assert listed.returncode == 0 and listed.stdout.count(" (held): add ") == 30


def test_held_proposals_are_listed_as_held_and_the_desk_still_decides_them(store):
    made = flood(store, FLOOD_LIMIT + 1, JAN_2026)
    listed = route(Ask(store=store, now=JAN_2026, text="proposals", user="U2")).plain()
    assert listed.count("(held)") == FLOOD_LIMIT + 1
    reply = route(
        Ask(
            store=store.refresh(),
            now=JAN_2026,
            text=f"approve {made[0].id}",
            user=ADMIN,
            can_edit=lambda: True,
            seeds=SEEDS,
        )
    ).plain()
    assert "Approved proposal" in reply
    ask = Ask(
        store=store.refresh(),
        now=JAN_2026,
        user=ADMIN,
        channel="CDESK",
        via="slack",
        can_edit=lambda: True,
        seeds=SEEDS,
    )
    card, note = pressed(ask, "proposal_ignore", f"{made[1].id}{HELD_VALUE}")
    assert note is None
    text = json.dumps(card.payload())
    assert (
        "held" in text.lower()
        and f"Ignored by <@{ADMIN}>" in text
        and f"Approved by <@{ADMIN}>" in text
    )
    assert proposals.get(store.db, made[1].id).status == "ignored"


def test_a_handful_a_day_is_not_held_and_each_document_has_its_card(store):
    made = flood(store, FLOOD_LIMIT, JAN_2026)
    assert not any(p.held for p in made)
    posts = plan(
        store,
        Desk(store.db),
        JAN_2026 - timedelta(hours=1),
        JAN_2026 + timedelta(days=1),
        UTC,
        desk_channel="CDESK",
    )
    assert len(posts) == FLOOD_LIMIT and all(p.key.startswith("proposals:") for p in posts)


def test_a_flood_the_next_day_is_held_anew_with_its_own_card(store):
    flood(store, 8, JAN_2026)
    next_day = JAN_2026 + timedelta(days=1)
    made = flood(store, 8, next_day, origin=FEED)  # the same items: nothing new to propose
    assert made == []
    text = "\n".join(f"{n} will lead Peru's delegation to SOM3." for n in NAMES[10:18])
    doc = Document(
        f"Day two (fictional)\n\n{text}\n", "day-2", f"{FEED}#day-2", "Day two", next_day.date()
    )
    (report,) = ingest_many(store.db, [doc], now=next_day, seeds=SEEDS)
    made = propose(store.db, report, next_day, origin=FEED)
    assert len(made) == 8 and all(p.held for p in made)
    posts = plan(
        store,
        Desk(store.db),
        JAN_2026 - timedelta(hours=1),
        next_day + timedelta(days=1),
        UTC,
        desk_channel="CDESK",
    )
    keys = [p.key for p in posts]
    assert len(keys) == 2 and len(set(keys)) == 2
    assert {k.split(":")[1] for k in keys} == {"2026-01-10", "2026-01-11"}


def test_the_held_card_names_the_source_and_offers_the_buttons(store):
    made = flood(store, FLOOD_LIMIT + 2, JAN_2026)
    held = proposals.get(store.db, made[0].id).held  # the first were made before the hold
    assert held == made[-1].held and held
    card = held_card(store, proposals.held_key(FEED, held))
    payload = card.payload()
    actions = [b for b in payload["blocks"] if b["type"] == "actions"]
    assert len(actions) == FLOOD_LIMIT + 2
    assert actions[0]["elements"][0]["action_id"] == APPROVE
    assert actions[0]["elements"][0]["value"] == f"{made[0].id}{HELD_VALUE}"
    assert f"{FLOOD_LIMIT + 2} proposals" in payload["text"]


def test_edit_from_the_held_card_redraws_the_held_card(store):
    """Meeting changes held (an Edit button): the form saved, the card it came from is redrawn."""
    text = "\n".join(
        [
            "SOM1 2026 will be held in Seattle.",
            "SOM2 2026 will be held in Suzhou.",
            "SOM3 2026 will be held in Qingdao.",
            "SOM1 of APEC 2027 will be held in Hanoi on 2-4 March 2027.",
            "SOM2 of APEC 2027 will be held in Hanoi on 11-13 May 2027.",
            "SOM3 of APEC 2027 will be held in Hanoi on 10-12 August 2027.",
        ]
    )
    doc = Document(
        f"Calendar (fictional)\n\n{text}\n", "cal", OFFICIAL, "Calendar", JAN_2026.date()
    )
    (report,) = ingest_many(store.db, [doc], now=JAN_2026, seeds=SEEDS)
    made = propose(store.db, report, JAN_2026, origin=OFFICIAL)
    assert len(made) == FLOOD_LIMIT + 1 and all(p.held for p in made)
    ask = Ask(
        store=store,
        now=JAN_2026,
        user=ADMIN,
        channel="CDESK",
        via="slack",
        can_edit=lambda: True,
        seeds=SEEDS,
    )
    form, note = edit_form(ask, f"{made[0].id}{HELD_VALUE}", ("CDESK", "1.1"))
    assert note is None
    state = {
        b["block_id"]: {"value": {"value": b["element"].get("initial_value") or ""}}
        for b in form["blocks"]
        if b["element"]["type"] == "plain_text_input"
    }
    errors, _ = submit_edit(ask, state, form["private_metadata"])
    assert errors is None and proposals.get(store.db, made[0].id).status == "approved"
    channel, ts, card = card_after_edit(store, form["private_metadata"])
    assert (channel, ts) == ("CDESK", "1.1")
    assert card.blocks[0]["text"]["text"] == "Proposals held for review"


def test_the_kept_plan_trades_the_documents_cards_for_the_held_card_when_a_flood_begins(db_path):
    db = connect(db_path)
    store = Store(db)
    schedule = Schedule(db_path, UTC, "", timedelta(days=2), desk_channel="CDESK")
    flood(store, FLOOD_LIMIT, JAN_2026)
    schedule.refresh(JAN_2026)
    assert len(schedule.planned()) == FLOOD_LIMIT
    flood_more = [f"{n} will lead Peru's delegation to SOM3." for n in NAMES[10:12]]
    doc = Document(
        "More (fictional)\n\n" + " ".join(flood_more) + "\n",
        "more",
        f"{FEED}#more",
        "More",
        JAN_2026.date(),
    )
    (report,) = ingest_many(db, [doc], now=JAN_2026, seeds=SEEDS)
    assert len(propose(db, report, JAN_2026, origin=FEED)) == 2
    schedule.refresh(JAN_2026 + timedelta(seconds=1))
    (post,) = schedule.planned()
    assert post.key.startswith("proposals-held:2026-01-10:") and schedule.replans["proposals"] == 1
    schedule.close()
    db.close()
