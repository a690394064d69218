"""The calendar feed, parsed back with icalendar and checked event by event against the store."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar

from handlers.calendar import calendar, feed_url
from handlers.router import Ask, route
from store.build import build
from store.db import connect
from store.desk import Desk
from store.errors import SourceError
from store.queries import Store
from tests.conftest import SEEDS, at
from tests.test_http_edge import request

ROOT = Path(__file__).resolve().parent.parent
NOW = at("2026-01-20T09:00+09:00")
# `/apec ics` says what the store holds as of its day: the desk note of 19 May dates SOM2.
AFTER_EVERY_SOURCE = at("2026-06-01T09:00+09:00")
DATED = {
    "som1-2026",
    "bmc1-2026",
    "som2-related-2026",
    "som2-2026",
    "aelm-2026",
}


def parse(body: bytes) -> Calendar:
    return Calendar.from_ical(body)


def events(body: bytes) -> dict[str, object]:
    """The feed's events by UID."""
    found = parse(body).events
    uids = [str(e["UID"]) for e in found]
    assert len(uids) == len(set(uids)), "UIDs are unique"
    return {u: e for u, e in zip(uids, found, strict=True)}


def event(body: bytes, meeting_id: str):
    return events(body)[f"{meeting_id}@apec-desk-bot"]


def set_dates(db_path: Path, meeting_id: str, start: str, end: str) -> None:
    db = connect(db_path)
    db.execute(
        "UPDATE meetings SET start_date = ?, end_date = ?, precision = 'day' WHERE id = ?",
        [start, end, meeting_id],
    )
    db.close()


def set_status(db_path: Path, meeting_id: str, status: str) -> None:
    db = connect(db_path)
    db.execute("UPDATE meetings SET status = ? WHERE id = ?", [status, meeting_id])
    db.close()


# -- the file ------------------------------------------------------------------------------------


def test_the_calendar_says_what_it_is_and_names_its_sources(store):
    cal = parse(calendar(store, NOW))
    assert str(cal["PRODID"]) == "-//APEC desk bot//EN"
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["CALSCALE"]) == "GREGORIAN"
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]) == "APEC meetings"
    described = str(cal["X-WR-CALDESC"])
    for m in store.meetings():
        if m.dated:
            assert m.source.cite() in described


@pytest.mark.parametrize(
    ("meeting_id", "start", "end", "summary", "where", "status"),
    [
        (
            "som1-2026",
            date(2026, 2, 1),
            date(2026, 2, 11),
            "SOM1 — First Senior Officials' Meeting and Related Meetings",
            "Guangzhou",
            "CONFIRMED",
        ),
        (
            "bmc1-2026",
            date(2026, 2, 9),
            date(2026, 2, 10),
            "BMC1 — First Budget and Management Committee (BMC) meeting",
            "Guangzhou",
            "CONFIRMED",
        ),
        (
            "som2-2026",
            date(2026, 5, 18),
            date(2026, 5, 20),
            "SOM2 — Second Senior Officials' Meeting (plenary)",
            "Shanghai",
            "TENTATIVE",
        ),
        (
            "som2-related-2026",
            date(2026, 5, 11),
            date(2026, 5, 18),
            "SOM2 related meetings — SOM2 related committee and working-group meetings",
            "Shanghai",
            "TENTATIVE",
        ),
        (
            "aelm-2026",
            date(2026, 11, 18),
            date(2026, 11, 20),
            "AELM 2026 — 33rd APEC Economic Leaders' Meeting",
            "Shenzhen",
            "CONFIRMED",
        ),
    ],
)
def test_each_dated_meeting_is_an_all_day_event_with_an_exclusive_end(
    store, meeting_id, start, end, summary, where, status
):
    body = calendar(store, NOW)
    e = event(body, meeting_id)
    m = next(m for m in store.meetings() if m.id == meeting_id)
    # All-day: plain dates (VALUE=DATE), no time and no zone; DTEND the day after the last.
    assert type(e["DTSTART"].dt) is date and e["DTSTART"].dt == start
    assert type(e["DTEND"].dt) is date and e["DTEND"].dt == end
    assert e["DTSTART"].params.get("VALUE") == "DATE"
    assert str(e["SUMMARY"]) == summary
    assert where in str(e["LOCATION"]) and "People's Republic of China" in str(e["LOCATION"])
    assert str(e["STATUS"]) == status
    assert [str(c) for c in e["CATEGORIES"].cats] == [m.kind]
    assert e["DTSTAMP"].dt == NOW.astimezone(UTC)
    assert isinstance(e.get("SEQUENCE"), int)
    assert str(e["X-APEC-VENUE-TZ"]) == "Asia/Shanghai"
    described = str(e["DESCRIPTION"])
    assert m.span.text in described  # the dates as the source writes them
    assert f"Source: {m.source.cite()} — “{' '.join(m.quote.split())}”" in described
    assert "Venue time zone: Asia/Shanghai" in described
    assert m.note in described


def test_a_part_of_a_meeting_says_what_it_is_part_of(store):
    described = str(event(calendar(store, NOW), "bmc1-2026")["DESCRIPTION"])
    assert "Part of: SOM1 — First Senior Officials' Meeting" in described


def test_month_only_and_undated_meetings_are_left_out(store):
    uids = set(events(calendar(store, NOW)))
    assert uids == {f"{i}@apec-desk-bot" for i in DATED}
    assert "som3-2026@apec-desk-bot" not in uids  # August, no days
    assert "sectoral-trade-2026@apec-desk-bot" not in uids  # "From May"
    assert "digital-week-2026@apec-desk-bot" not in uids  # no dates at all
    assert "cti-som1-2026@apec-desk-bot" not in uids  # a part with no dates of its own
    assert {m.id for m in store.meetings() if m.dated} == DATED


def test_the_file_is_crlf_folded_at_75_octets_as_icalendar_writes_it(store):
    body = calendar(store, NOW)
    assert parse(body).to_ical() == body  # icalendar writes back exactly what it read
    assert body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b"")
    lines = body.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)
    assert any(line.startswith(b" ") for line in lines)  # long descriptions are folded
    body.decode("utf-8")  # folding never splits a character


# -- stability -----------------------------------------------------------------------------------


def test_the_same_store_and_now_give_the_same_bytes(store):
    assert calendar(store, NOW) == calendar(store, NOW)


def test_uids_are_stable_across_builds_of_the_store_and_across_nows(store, tmp_path):
    first = calendar(store, NOW)
    db = connect(tmp_path / "fresh.db")
    build(db, SEEDS)
    fresh = calendar(Store(db), NOW)
    build(db, SEEDS)  # a rebuild over the same file
    rebuilt = calendar(Store(db), NOW)
    db.close()
    later = calendar(store, at("2026-06-01T12:34:56+00:00"))
    assert first == fresh == rebuilt
    assert set(events(later)) == set(events(first))
    # Only the stamp moves with the clock.
    differ = [
        (a, b) for a, b in zip(first.split(b"\r\n"), later.split(b"\r\n"), strict=True) if a != b
    ]
    assert differ and all(a.startswith(b"DTSTAMP:") for a, _ in differ)
    assert all(e["DTSTAMP"].dt == at("2026-06-01T12:34:56+00:00") for e in parse(later).events)


def test_a_redated_meeting_keeps_its_uid_and_moves(store, db_path):
    before = event(calendar(store, NOW), "som2-2026")
    set_dates(db_path, "som2-2026", "2026-05-19", "2026-05-21")
    after = event(calendar(store.refresh(), NOW), "som2-2026")
    assert str(after["UID"]) == str(before["UID"]) == "som2-2026@apec-desk-bot"
    assert (after["DTSTART"].dt, after["DTEND"].dt) == (date(2026, 5, 19), date(2026, 5, 22))
    assert str(after["SUMMARY"]) == str(before["SUMMARY"])


def test_a_month_only_meeting_joins_the_feed_once_dated(store, db_path):
    set_dates(db_path, "som3-2026", "2026-08-10", "2026-08-21")
    e = event(calendar(store.refresh(), NOW), "som3-2026")
    assert (e["DTSTART"].dt, e["DTEND"].dt) == (date(2026, 8, 10), date(2026, 8, 22))
    assert "Dalian" in str(e["LOCATION"]) and str(e["STATUS"]) == "TENTATIVE"


def test_a_cancelled_meeting_stays_in_the_feed_as_cancelled(store, db_path):
    set_status(db_path, "aelm-2026", "cancelled")
    found = events(calendar(store.refresh(), NOW))
    assert str(found["aelm-2026@apec-desk-bot"]["STATUS"]) == "CANCELLED"
    assert len(found) == len(DATED)  # kept, so calendar apps remove it rather than forget it


def test_feed_url_is_a_secret_path_under_the_base():
    assert (
        feed_url("https://bot.example.org/", "s3cr3t")
        == "https://bot.example.org/calendar/s3cr3t.ics"
    )
    assert feed_url("", "s3cr3t") == "https://YOUR-BOT-HOST/calendar/s3cr3t.ics"


# -- /apec ics -----------------------------------------------------------------------------------


def test_apec_ics_says_where_to_subscribe_and_what_is_left_out(store):
    text = route(Ask(store=store, now=AFTER_EVERY_SOURCE, text="ics")).plain()
    token = Desk(store.db).feed_token()
    assert (
        f"https://YOUR-BOT-HOST/calendar/{token}.ics" in text and "apec-bot ics > apec.ics" in text
    )
    assert "Socket Mode" in text
    assert "In the feed: 5 meeting(s) known to the day" in text
    left = [m for m in store.meetings() if not m.dated]
    assert f"Left out ({len(left)})" in text
    assert "August 2026, dates not confirmed: SOM3" in text
    assert "from May 2026, no dates announced" in text and "Sectoral: trade" in text
    assert "no dates on record: Leaders' Summit 2025, Digital Week" in text
    assert "dates not given separately" in text and "CTI" in text


def test_the_feed_address_is_escaped_and_never_offered_for_posting_to_a_channel(store):
    card = route(Ask(store=store, now=NOW, text="ics", public_url="https://bot.example.org"))
    payload = card.payload()
    assert (
        "<the bot" not in payload["text"] and "https://bot.example.org/calendar/" in payload["text"]
    )
    assert not card.buttons


def test_only_an_admin_rotates_the_feed_address(store):
    old = Desk(store.db).feed_token()
    refused = route(Ask(store=store, now=NOW, text="ics rotate", can_edit=lambda: False)).plain()
    assert "only the desk's calendar keepers" in refused and Desk(store.db).feed_token() == old
    done = route(Ask(store=store, now=NOW, text="ics rotate", can_edit=lambda: True)).plain()
    new = Desk(store.db).feed_token()
    assert new != old and new in done and old not in done


def test_apec_ics_counts_cancelled_meetings(store, db_path):
    set_status(db_path, "som2-2026", "cancelled")  # in the table: the whole store's
    text = route(Ask(store=store.refresh(), now=AFTER_EVERY_SOURCE, text="ics")).plain()
    assert "1 of them cancelled" in text


# -- GET /calendar/<token>.ics -------------------------------------------------------------------


def feed_path(db_path) -> str:
    db = connect(db_path)
    try:
        return f"/calendar/{Desk(db).feed_token()}.ics"
    finally:
        db.close()


def fetch(server, method: str = "GET", path: str = "", headers=None):
    return request(server.base, method, path or feed_path(server.db_path), headers)


def test_get_calendar_ics_serves_the_feed_unsigned(server, store, clock):
    status, headers, body = fetch(server)
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert headers["Content-Disposition"] == 'inline; filename="apec.ics"'
    assert headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()}"'
    assert "max-age" in headers["Cache-Control"]
    assert body == calendar(store, clock())
    assert set(events(body)) == {f"{i}@apec-desk-bot" for i in DATED}


@pytest.mark.parametrize("form", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_if_none_match_gets_304(server, form):
    etag = fetch(server)[1]["ETag"]
    status, headers, body = fetch(server, headers={"If-None-Match": form.format(etag=etag)})
    assert (status, body) == (304, b"")
    assert headers["ETag"] == etag
    assert "Content-Length" not in headers


def test_the_etag_holds_while_the_clock_runs_and_changes_with_the_meetings(server, db_path, clock):
    _, headers, body = fetch(server)
    etag = headers["ETag"]
    clock.advance(minutes=10)
    assert fetch(server, headers={"If-None-Match": etag})[0] == 304
    assert fetch(server)[2] == body  # the copy already served, its DTSTAMP with it
    set_dates(db_path, "som2-2026", "2026-05-19", "2026-05-21")
    status, headers, body = fetch(server, headers={"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag
    assert event(body, "som2-2026")["DTSTART"].dt == date(2026, 5, 19)
    assert event(body, "som2-2026")["DTSTAMP"].dt == clock().astimezone(UTC)


def test_head_calendar_ics_sends_headers_only(server):
    status, headers, body = fetch(server, "HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) == len(fetch(server)[2])


def test_post_to_the_feed_is_not_allowed(server):
    assert server.post("", "text/plain", sign=False, path=feed_path(server.db_path))[0] == 405


@pytest.mark.parametrize(
    "path", ["/calendar.ics", "/calendar/wrong.ics", "/calendar/.ics", "/calendar/"]
)
def test_the_feed_is_not_found_without_its_secret(server, path):
    assert fetch(server, path=path)[0] == 404


def test_internal_notes_and_editors_never_reach_the_feed(store, db_path):
    from store import edits
    from store.build import build

    record = {
        "id": "som4-2026",
        "name": "Fourth SOM",
        "short": "SOM4",
        "kind": "som",
        "dates": "2026-10-01..2026-10-02",
        "city": "Xian",
        "host": "CN",
        "tz": "Asia/Shanghai",
        "status": "scheduled",
        "note": "internal: heard from a MOFA contact",
    }
    with store.db.conn:
        edits.save_meeting(store.db, record, "UADMIN9", NOW, "add-meeting", None)
    build(store.db, SEEDS, records_only=True)
    body = calendar(store.refresh(), NOW).decode()
    assert "SOM4" in body and "MOFA contact" not in body and "UADMIN9" not in body


# -- apec-bot ics --------------------------------------------------------------------------------


def test_apec_bot_ics_prints_the_feed(db_path, store):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ics", "--now", "2026-01-20T09:00+09:00"],
        capture_output=True,
        env={**base, "APEC_DB": str(db_path)},
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == calendar(store, NOW)
    assert set(events(result.stdout)) == {f"{i}@apec-desk-bot" for i in DATED}


def test_apec_bot_ics_builds_the_store_on_first_use(tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APEC_", "SLACK_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ics"],
        capture_output=True,
        env={**base, "APEC_DB": str(tmp_path / "new.db")},
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert len(parse(result.stdout).events) == len(DATED)


# -- a feed calendars trust: revisions, refresh, notes that go when their field is set ---------

EDITED = at("2026-07-01T09:00+09:00")  # when the desk dates SOM3
LATER = at("2026-07-02T10:00+09:00")
NOTE = "Exact SOM3 dates were not given."


def desk_says(store: Store, text: str, now=EDITED) -> str:
    card = route(
        Ask(
            store=store,
            now=now,
            text=text,
            user="UADMIN",
            channel="C1",
            can_edit=lambda: True,
            seeds=SEEDS,
        )
    )
    return card.plain()


def som3_in(body: bytes):
    """SOM3's event as a calendar app reads the feed: icalendar, then recurring-ical-events."""
    import recurring_ical_events

    cal = parse(body)
    found = recurring_ical_events.of(cal).between(date(2026, 8, 1), date(2026, 9, 1))
    (som3,) = [e for e in found if str(e["UID"]) == "som3-2026@apec-desk-bot"]
    return cal, som3


def test_a_redated_meeting_s_sequence_counts_the_desk_s_revisions_and_says_when_it_changed(store):
    assert "Changed" in desk_says(store, "edit-meeting SOM3 dates=2026-08-10..2026-08-21")
    cal, som3 = som3_in(calendar(store.refresh(), LATER))
    assert (som3["DTSTART"].dt, som3["DTEND"].dt) == (date(2026, 8, 10), date(2026, 8, 22))
    assert int(som3["SEQUENCE"]) == 1
    assert som3["LAST-MODIFIED"].dt == EDITED.astimezone(UTC)
    assert som3["DTSTAMP"].dt == LATER.astimezone(UTC)
    # The calendar tells subscribers how often to ask again (RFC 7986, and Outlook's own).
    assert cal["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert cal["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert str(cal["X-PUBLISHED-TTL"]) == "PT1H"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in calendar(store, LATER)
    # Re-dated again: a newer revision, which a calendar app takes over the one it holds.
    desk_says(store, "edit-meeting SOM3 dates=2026-08-11..2026-08-21", now=LATER)
    _, again = som3_in(calendar(store.refresh(), LATER + timedelta(hours=1)))
    assert int(again["SEQUENCE"]) == 2 and again["LAST-MODIFIED"].dt == LATER.astimezone(UTC)
    assert again["DTSTART"].dt == date(2026, 8, 11)


def test_a_meeting_the_desk_never_changed_is_revision_0_modified_when_its_source_said_so(store):
    aelm = event(calendar(store, NOW), "aelm-2026")
    assert int(aelm["SEQUENCE"]) == 0
    source = store.meeting("aelm-2026").source.reference_date
    assert aelm["LAST-MODIFIED"].dt.date() == source and aelm["LAST-MODIFIED"].dt.tzinfo is not None


def test_the_som3_note_is_gone_from_answer_home_feed_and_export_once_its_dates_are_set(store):
    from handlers.home import home_view
    from store.edits import export_toml

    def everywhere() -> dict[str, str]:
        s = store.refresh()
        ask = Ask(store=s, now=LATER, text="", user="U1", channel="C1")
        return {
            "answer": route(Ask(store=s, now=LATER, text="meeting SOM3")).plain(),
            "mention": route(Ask(store=s, now=LATER, text="when is SOM3?", via="mention")).plain(),
            "home": str(home_view(ask)),
            "feed": calendar(s, LATER).decode().replace("\r\n ", ""),
            "export": export_toml(s.db),
        }

    assert NOTE in everywhere()["answer"]
    desk_says(store, "edit-meeting SOM3 city=Dalian status=scheduled")  # the dates not yet
    assert NOTE in everywhere()["answer"]
    desk_says(store, "edit-meeting SOM3 dates=2026-08-10..2026-08-21", now=LATER)
    shown = everywhere()
    assert "10–21 August 2026" in shown["answer"] and "SOM3" in shown["feed"]
    assert {where: NOTE in text for where, text in shown.items()} == dict.fromkeys(shown, False)
    assert "Dalian" in shown["export"]


def test_a_note_about_a_field_the_record_gives_is_refused_by_the_build(seeds_copy, tmp_path):
    desk = seeds_copy / "desk.toml"
    text = desk.read_text(encoding="utf-8")
    desk.write_text(
        text.replace('note_when_missing = "dates"', 'note_when_missing = "city"'), encoding="utf-8"
    )
    with pytest.raises(SourceError, match="note says city is missing"):
        build(connect(tmp_path / "x.db"), seeds_copy)
