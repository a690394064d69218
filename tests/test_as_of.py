"""The store as published by a day (`Store.at`): the store keeps everything, the reader filters.

Expectations from seeds/SOURCES.md and the desk note's own text: the desk note (2026-05-19)
reports China's announcement of 12 December 2025, published by Xinhua on 2025-12-13 (SOM1 in
Guangzhou in February, SOM2 in Shanghai in May, SOM3 in Dalian in August, the Leaders' Meeting in
Shenzhen on 18-19 November 2026); the US update (001) and the Q&A (003) are of 2026-02-01, the
news article (002, with the 21 members) of 2026-02-02, the Korean release (000: SOM1 held, the BMC
on 9 February) of 2026-02-10, the Lee-Xi commentary (004) of 2025-06-10.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.answer import answer
from handlers.brief import request, to_markdown
from handlers.home import home_view
from handlers.posts import message_for
from handlers.router import Ask, route
from store.build import build
from store.errors import SourceError
from store.models import Source
from store.queries import Store
from store.schedule import Post
from tests.conftest import ADMIN, SEEDS, at

DESK_NOTE = "APEC 2026 calendar: what China announced, and what was reported since"
KR_MOFA = "APEC 2026 First Senior Officials' Meeting Held in Guangzhou"
US_STATE = "U.S. Sends Delegation to First APEC 2026 Senior Officials' Meeting in Guangzhou"
US_NEWS = "US Engages in APEC 2026 Senior Officials' Meeting in Guangzhou"
# Questions whose passages and records span every source, for search and the names in them.
SEARCHES = (
    "Guangzhou",
    "Shenzhen November",
    "Casey Mace",
    "BMC budget",
    "Xi Jinping visit",
    "SOM2 Shanghai May",
    "21 economies",
    "illegal fishing",
    "theme openness",
)
PHRASES = (["SOM1"], ["SOM2", "Second Senior Officials"], ["Leaders' Meeting"], ["BMC"])


def text(card) -> str:
    return card.plain()


def ask(store: Store, question: str, now: str) -> str:
    return answer(store, question, at(now)).plain()


# -- nothing published after the day -------------------------------------------------------------


def cited(view: Store) -> list[tuple[str, Source]]:
    """Every source anything an accessor of `view` returns cites, with where it was found."""
    out: list[tuple[str, Source]] = [("sources", s) for s in view.sources()]
    out += [("source_page", s) for s in view.source_page(0, 100)]
    out += [(f"source {s.id}", s) for s in map(view.source, _SOURCE_IDS) if s is not None]
    out += [(f"meeting {m.id}", m.source) for m in view.meetings()]
    out += [(f"economy {e.id}", e.source) for e in view.members()]
    out += _people_cited(view) + _delegations_cited(view)
    out += [(f"fact {f.id}", f.source) for f in view.facts()]
    out += _found_cited(view)
    out += [("desk sources", s) for s in view.desk_sources_since("")]
    return out


def _people_cited(view: Store) -> list[tuple[str, Source]]:
    out: list[tuple[str, Source]] = []
    for p in view.people():
        out.append((f"person {p.id}", p.source))
        out += [(f"role of {p.id}", r.source) for r in p.roles]
    return out


def _delegations_cited(view: Store) -> list[tuple[str, Source]]:
    out: list[tuple[str, Source]] = []
    for d in view.delegations():
        out += [(f"delegation {d.id}", s) for s in (d.source, d.meeting.source, d.economy.source)]
        out += [(f"head of {d.id}", d.head.source)] if d.head else []
        out += [(f"member of {d.id}", m.source) for m in d.members]
        out += [(f"objective of {d.id}", o.source) for o in d.objectives]
    return out


def _found_cited(view: Store) -> list[tuple[str, Source]]:
    """What searching, and finding sentences and sources by their phrases, cite."""
    out: list[tuple[str, Source]] = []
    for q in SEARCHES:
        for hit in view.search(q, limit=10):
            out += [(f"search {q!r}", s) for s in (hit.source, *hit.also_in)]
    for phrases in PHRASES:
        out += [(f"sentences {phrases}", s.source) for s in view.sentences_naming(phrases)]
        out += [(f"sources naming {phrases}", s.source) for s in view.sources_naming(phrases)]
    return out


_SOURCE_IDS = (
    "kr-mofa-som1",
    "us-state-som1",
    "us-news-som1",
    "us-state-qa",
    "news-lee-xi-call",
    "desk-cn-calendar",
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(day=st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)))
def test_nothing_a_view_returns_cites_a_source_published_after_its_day(store, day):
    view = store.at(day)
    late = [(where, s.id, s.reference_date) for where, s in cited(view) if s.reference_date > day]
    assert not late, late
    assert view.source_count() == len(view.sources())
    published = {s.id for s in store.sources() if s.reference_date <= day}
    assert {s.id for s in view.sources()} == published
    # what a question may be matched against is what the view holds
    meetings, people = {m.id for m in view.meetings()}, {p.id for p in view.people()}
    assert set(view.names("meeting").values()) <= meetings
    assert set(view.names("person").values()) <= people
    members = {e.id for e in view.members()}
    assert {e.id for e in view.economies_in_text("the US, Korea and Chinese Taipei")} <= members
    assert (view.member("Korea").economy is not None) is ("KR" in members)


@pytest.mark.parametrize(
    "day,absent",
    [
        (date(2025, 7, 1), ["Guangzhou", "Mace", "Shenzhen", "Jiyoon", "Park"]),
        (date(2026, 1, 20), ["Mace", "Perry", "Jiyoon", "Bogor", "Putrajaya"]),
        (date(2026, 2, 5), ["Jiyoon", "Putrajaya", "Aotearoa"]),
    ],
)
def test_a_view_knows_no_word_first_published_later(store, day, absent):
    vocabulary = store.at(day).vocabulary()
    assert not [w for w in absent if w.lower() in vocabulary]


# -- the named cases ------------------------------------------------------------------------------


def test_who_leads_the_us_delegation_asked_in_january_is_not_on_record_yet(store):
    said = ask(store, "who leads the US delegation?", "2026-01-25T09:00+09:00")
    assert "Casey Mace" not in said and "Ruth Perry" not in said
    assert "no source" in said.splitlines()[0].lower()


def test_som1_asked_on_20_january_is_february_in_guangzhou_as_announced_in_december(store):
    said = ask(store, "when is SOM1?", "2026-01-20T09:00+09:00")
    first = said.splitlines()[0]
    assert "February 2026" in first and "Guangzhou" in first
    assert "1–10" not in said and "days" not in first and "held" not in first
    assert f"{DESK_NOTE}, The desk (compiled from public reports) (2025-12-13)" in said
    assert "SOM1 in Guangzhou in February" in said


@pytest.mark.parametrize("now", ["2026-02-01T12:00+08:00", "2026-02-03T09:00+09:00"])
def test_som1_asked_in_early_february_is_1_to_10_february_from_the_us_sources(store, now):
    said = ask(store, "when is SOM1?", now)
    assert "1–10 February 2026" in said.splitlines()[0]
    assert US_STATE in said or US_NEWS in said
    assert KR_MOFA not in said and DESK_NOTE not in said


def test_som1_asked_on_20_february_is_held_from_the_korean_release(store):
    said = ask(store, "when was SOM1?", "2026-02-20T09:00+09:00")
    assert "1–10 February 2026" in said and "held" in said.splitlines()[0]
    assert f"{KR_MOFA}, Republic of Korea Ministry of Foreign Affairs (2026-02-10)" in said


def test_the_first_bmc_meeting_asked_on_5_february_is_not_on_record(store):
    said = ask(store, "when is the first BMC meeting?", "2026-02-05T10:00+08:00")
    assert "no source" in said.splitlines()[0].lower()
    assert "9 February" not in said and "Lee Ji-yoon" not in said and KR_MOFA not in said
    view = store.at(date(2026, 2, 5))
    assert view.meeting("BMC") is None and view.meeting("first BMC meeting") is None
    assert store.at(date(2026, 2, 10)).meeting("BMC").span.describe() == "9 February 2026"


def test_brief_som2_on_1_may_quotes_nothing_dated_after(store):
    now = at("2026-05-01T09:00+08:00")
    brief = request(store, "SOM2", now)
    assert all(s.reference_date <= now.date() for s in brief.sources)
    note = to_markdown(brief)
    assert "May 18" not in note and "Monday" not in note and "May 11 to 17" not in note
    assert "May 2026, dates not confirmed" in note and "SOM2 in Shanghai in May" in note
    slack = text(route(Ask(store=store, now=now, text="brief SOM2")))
    assert "18–19 May" not in slack and "May 2026" in slack


# -- what each kind of record was, day by day -----------------------------------------------------


@pytest.mark.parametrize(
    "day,dates,status,source,published",
    [
        (date(2025, 12, 12), None, None, None, None),
        (
            date(2025, 12, 13),
            "February 2026, dates not confirmed",
            "scheduled",
            "desk-cn-calendar",
            date(2025, 12, 13),
        ),
        (date(2026, 2, 1), "1–10 February 2026", "scheduled", "us-state-som1", date(2026, 2, 1)),
        (date(2026, 2, 2), "1–10 February 2026", "scheduled", "us-news-som1", date(2026, 2, 2)),
        (date(2026, 2, 10), "1–10 February 2026", "held", "kr-mofa-som1", date(2026, 2, 10)),
    ],
)
def test_som1_is_each_source_s_version_from_the_day_it_was_published(
    store, day, dates, status, source, published
):
    m = store.at(day).meeting("SOM1")
    if dates is None:
        assert m is None
        return
    assert (m.span.describe(), m.status, m.city) == (dates, status, "Guangzhou")
    assert (m.source.id, m.source.reference_date) == (source, published)


def test_the_2025_summit_is_scheduled_later_that_year_until_a_source_says_it_was_held(store):
    june = store.at(date(2025, 7, 1)).meeting("2025 summit")
    assert (june.status, june.span.describe()) == ("scheduled", "2025, date not confirmed")
    assert june.source.id == "news-lee-xi-call"
    held = store.at(date(2026, 2, 10)).meeting("2025 summit")
    assert (held.status, held.source.id) == ("held", "kr-mofa-som1")


def test_ruth_perry_s_title_is_the_us_update_s_until_the_news_article_gives_it_whole(store):
    first = store.at(date(2026, 2, 1)).person("Ruth Perry")
    assert first.title.startswith("Acting Principal Deputy Assistant Secretary (Oceans")
    assert (
        store.at(date(2026, 2, 2))
        .person("Ruth Perry")
        .title.startswith("Acting Principal Deputy Assistant Secretary of State for Oceans")
    )
    assert store.at(date(2026, 1, 31)).person("Ruth Perry") is None


def test_a_fact_is_its_earlier_source_s_answer_until_the_later_one(store):
    feb1 = {f.id: f for f in store.at(date(2026, 2, 1)).facts()}
    assert (
        feb1["member-count"].source.id == "us-state-qa"
        and "21-member" in feb1["member-count"].answer
    )
    feb2 = {f.id: f for f in store.at(date(2026, 2, 2)).facts()}
    assert feb2["member-count"].answer == "APEC membership comprises 21 economies."
    assert "bmc-chair" not in feb2 and "bmc-chair" in {
        f.id for f in store.at(date(2026, 2, 10)).facts()
    }


def test_no_economy_is_on_record_before_the_list_of_members_is_published(store):
    before, after = store.at(date(2026, 2, 1)), store.at(date(2026, 2, 2))
    assert before.members() == [] and before.economy("US") is None
    assert before.member("US").economy is None and before.member("India").non_member == ""
    # the US delegation (1 February) names its economy itself, a day before the members' list
    (us,) = before.delegations()
    assert (us.economy.name, us.economy.source.id, us.head.name) == (
        "United States of America",
        "us-state-som1",
        "Casey Mace",
    )
    assert len(after.members()) == 21 and after.member("India").non_member == "India"
    assert [d.head.name for d in after.delegations()] == ["Casey Mace"]


def test_economy_names_still_read_a_question_before_the_members_list(store):
    # "Korea" is a word the desk reads by, on any day; being a member is on record from 2 February.
    said = ask(
        store, "Would it be Xi's first visit to Korea in 11 years?", "2025-07-01T09:00+09:00"
    )
    assert "11 years" in said.splitlines()[0] and "no source" not in said.lower()
    said = ask(store, "who hosts APEC this year?", "2025-07-01T09:00+09:00")
    assert "Republic of Korea" in said.splitlines()[0] and "(2025-06-10)" in said


def test_what_a_view_does_not_hold_yet_is_named_as_such_and_no_more(store):
    view = store.at(date(2026, 2, 5))
    assert view.named_later("meeting", "when is the first BMC meeting?") == [
        ("first BMC meeting", "bmc1-2026")
    ]
    assert view.named_later("person", "who is Lee Ji-yoon?") == [("Lee Ji-yoon", "lee-ji-yoon")]
    assert view.named_later("meeting", "when is SOM2?") == []  # announced in December
    assert store.at(date(2026, 1, 20)).named_later("economy", "is Korea a member?") == [
        ("Korea", "KR")
    ]
    assert store.named_later("meeting", "when is the first BMC meeting?") == []


def test_a_meeting_not_yet_published_is_not_recognized_in_a_question(store):
    view = store.at(date(2026, 3, 1))
    assert view.meeting("SOM2 related meetings") is None
    assert "SOM2 related meetings" not in view.names("meeting")
    assert view.meetings_in_text("what about the SOM2 related meetings?") == [
        view.meeting("SOM2")
    ]  # "SOM2" alone names SOM2, announced in December
    said = ask(store, "when are the SOM2 related meetings?", "2026-03-01T09:00+08:00")
    assert "11" not in said and "May 11 to 17" not in said


# -- cached per day, dropped when the store changes -----------------------------------------------


def test_a_day_s_view_is_kept_and_the_whole_store_serves_a_day_after_everything(store):
    day = date(2026, 1, 20)
    view = store.at(day)
    assert view is not store and store.at(day) is view and view.at(day) is view
    assert view.at(date(2026, 2, 20)) is store.at(date(2026, 2, 20))
    assert store.at(date(2026, 5, 19)) is store and view.at(date(2026, 11, 1)) is store
    assert view.db is store.db


def test_a_write_drops_the_views_and_a_view_refreshed_sees_it(store):
    view = store.at(date(2026, 2, 20))
    assert view.meeting("SOM1").city == "Guangzhou"
    route(admin(store, "edit-meeting SOM1 city=Ningbo", "2026-02-20T09:00+08:00"))
    assert store.refresh().at(date(2026, 2, 20)) is not view
    assert view.refresh().meeting("SOM1").city == "Ningbo"


def admin(store: Store, words: str, now: str) -> Ask:
    return Ask(store=store, now=at(now), text=words, user=ADMIN, can_edit=lambda: True, seeds=SEEDS)


# -- the desk's changes ----------------------------------------------------------------------------


def test_an_edit_made_before_a_record_s_sources_keeps_only_what_was_published(store):
    said = text(route(admin(store, "edit-meeting SOM1 city=Ningbo", "2026-01-20T09:00+09:00")))
    assert "Ningbo" in said and "February 2026" in said and "1–10" not in said, said
    asked = ask(store, "when is SOM1?", "2026-01-20T10:00+09:00")
    assert "Ningbo" in asked and "1–10" not in asked and "held" not in asked
    desk = store.refresh().at(date(2026, 1, 20)).meeting("SOM1").source
    assert desk.id == "desk" and desk.reference_date <= date(2026, 1, 20)


def test_a_meeting_the_desk_adds_is_on_record_from_the_day_it_was_added(store):
    route(
        admin(store, 'add-meeting "Ningbo trade forum" 2026-09-01 Ningbo', "2026-03-01T09:00+08:00")
    )
    later = store.refresh()
    assert later.at(date(2026, 3, 1)).meeting("Ningbo trade forum") is not None
    assert later.at(date(2026, 2, 27)).meeting("Ningbo trade forum") is None


def test_a_delegate_the_desk_adds_joins_from_that_day(store):
    said = text(
        route(admin(store, "add-delegate US SOM1 'Jane Doe' Deputy", "2026-02-15T09:00+08:00"))
    )
    assert "Jane Doe" in said, said
    later = store.refresh()
    (us,) = later.at(date(2026, 2, 15)).delegations(economy_id="US")
    assert "Jane Doe" in [m.person.name for m in us.members]
    (before,) = later.at(date(2026, 2, 12)).delegations(economy_id="US")
    assert "Jane Doe" not in [m.person.name for m in before.members]


# -- Home, digests ---------------------------------------------------------------------------------


def test_home_and_a_digest_in_january_hold_only_what_was_published(store):
    now = at("2026-01-20T09:00+09:00")
    home = str(home_view(Ask(store=store, now=now)))
    assert "SOM1" in home and "1–10 February" not in home and "Casey" not in home
    post = Post(
        "digest:C1:2026-01-20", "C1", "digest", now, "UTC", now - timedelta(days=30), "weekly"
    )
    digest = message_for(post, store, now).plain()
    assert "February 2026" in digest and "1–10 February" not in digest


# -- the build checks each version ----------------------------------------------------------------


VERSION = """
[[meetings.earlier]]
source = "desk-cn-calendar"
{}
quote = "Three Senior Officials' Meetings are planned: SOM1 in Guangzhou in February"
dates = "in February"
city = "Guangzhou"
status = "scheduled"
"""


@pytest.mark.parametrize(
    "fields,problem",
    [
        (
            'published = 2025-12-11\ndated_by = "Xinhua via People\'s Daily Online, 2025-12-13"',
            "not a date its quote states",
        ),
        ("published = 2025-12-13", "not a date its quote states"),
        ('published = 2025-12-13\ndated_by = "Xinhua, 2025-12-13"', "dated_by not found"),
        (
            'dated_by = "Xinhua via People\'s Daily Online, 2025-12-13"',
            "dated_by without a published date",
        ),
        (
            "published = 2026-06-01\n"
            'dated_by = "Reports of the SOM2 opening in Shanghai, May 2026"',
            "after its source's date",
        ),
    ],
)
def test_the_build_refuses_a_version_its_source_does_not_date(
    seeds_copy, tmp_path, fields, problem
):
    broken(seeds_copy, tmp_path, '[[meetings]]\nid = "som2-2026"', VERSION.format(fields), problem)


@pytest.mark.parametrize(
    "version,problem",
    [
        (
            '[[people.earlier]]\nsource = "us-state-som1"\n'
            'quote = "led by U.S. Senior Official Casey Mace"\ntitle = "U.S. Senior Official"\n',
            "give 'organization'",
        ),
        (
            '[[people.earlier]]\nsource = "us-state-som1"\n'
            'quote = "led by U.S. Senior Official Casey Mace"\n'
            'title = "x"\norganization = ""\nrank = "x"\n',
            "'rank' is not a field",
        ),
        (
            '[[people.earlier]]\nsource = "us-state-som1"\n'
            'quote = "Casey Mace is an astronaut"\ntitle = "x"\norganization = ""\n',
            "quote not found",
        ),
        (
            '[[people.earlier]]\nsource = "kr-mofa-som1"\n'
            'quote = "Korea"\ntitle = "x"\norganization = ""\n',
            "published after the record itself",
        ),
    ],
)
def test_the_build_refuses_a_version_that_says_more_or_later(
    seeds_copy, tmp_path, version, problem
):
    anchor = (
        'quote = "Casey Mace is the U.S. Senior Official to APEC (a State Department appointee)."'
    )
    broken(seeds_copy, tmp_path, anchor, "\n" + version, problem)


def test_the_build_refuses_a_version_s_dates_its_quote_does_not_write(seeds_copy, tmp_path):
    version = VERSION.format(
        'published = 2025-12-13\ndated_by = "Xinhua via People\'s Daily Online, 2025-12-13"'
    ).replace('dates = "in February"', 'dates = "in May"')
    broken(seeds_copy, tmp_path, '[[meetings]]\nid = "som2-2026"', version, "is not in its quote")


def broken(seeds, tmp_path, anchor: str, version: str, problem: str) -> None:
    """Put `version` in the desk file at the record `anchor` starts (or after the line it is),
    and check that the build names `problem`."""
    desk = seeds / "desk.toml"
    body = desk.read_text(encoding="utf-8")
    assert body.count(anchor) == 1
    if anchor.startswith("[[meetings]]"):  # after the record: before the next one
        start = body.index(anchor)
        end = body.index("\n[[meetings", start + len(anchor))
        body = body[:end] + "\n" + version + body[end:]
    else:
        end = body.index("\n", body.index(anchor)) + 1
        body = body[:end] + version + body[end:]
    desk.write_text(body, encoding="utf-8")
    from store.db import connect

    db = connect(tmp_path / "broken.db")
    with pytest.raises(SourceError, match=problem):
        build(db, seeds)
    db.close()


def test_every_record_has_a_version_and_som1_has_each_source_s(store):
    rows = store.db.execute(
        "SELECT published, source_id FROM versions "
        "WHERE kind = 'meetings' AND record_id = 'som1-2026' ORDER BY published"
    ).fetchall()
    assert rows == [
        ("2025-12-13", "desk-cn-calendar"),
        ("2026-02-01", "us-state-som1"),
        ("2026-02-02", "us-news-som1"),
        ("2026-02-10", "kr-mofa-som1"),
    ]
    for table, key in (
        ("meetings", "id"),
        ("people", "id"),
        ("facts", "id"),
        ("economies", "id"),
        ("delegations", "id"),
        ("roles", "id"),
        ("objectives", "id"),
    ):
        ids = {str(r[0]) for r in store.db.execute(f"SELECT {key} FROM {table}")}  # noqa: S608
        versioned = {
            r[0] for r in store.db.execute("SELECT record_id FROM versions WHERE kind = ?", [table])
        }
        assert ids == versioned, table


def test_now_s_own_date_is_the_day_asked(store):
    # 23:30 on 31 January in New York is already 1 February in Guangzhou: the asker's day counts.
    said = ask(store, "when is SOM1?", "2026-01-31T23:30-05:00")
    assert "1–10" not in said.splitlines()[0]
    said = ask(store, "when is SOM1?", "2026-02-01T12:30+08:00")  # the same moment, in Guangzhou
    assert "1–10 February 2026" in said.splitlines()[0]
