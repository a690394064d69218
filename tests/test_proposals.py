"""Proposals from new documents: read precisely, kept once, approved into records that cite the
document (in answers, the feed, the Home tab and the scheduler's plan at once), ignored for good,
posted to the desk's channel exactly once, and acted on only by admins.

The documents are fictional texts written for these tests, in tmp_path, never in seeds/.
"""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.scheduler import POST_TIMEOUT, Engine
from bot.stores import Stores
from handlers.calendar import calendar
from handlers.home import home_view
from handlers.proposals import APPROVE, IGNORE, document_card, edit_form, submit_edit
from handlers.router import Ask, route
from store import proposals
from store.build import build
from store.db import connect
from store.desk import Desk
from store.edits import export_toml, history
from store.ingest import IngestReport, analyse, ingest
from store.proposals import ProposalError, decide, open_proposals, propose
from store.queries import Store
from store.schedule import plan
from tests.conftest import ADMIN, SEEDS, Clock, at
from tests.test_cli import run
from tests.test_delivery_faults import Wall, poster
from tests.test_injection import live_in

UTC = ZoneInfo("UTC")
LATE_2026 = at("2026-11-20T10:00+00:00")  # every meeting in the seeds is past
MID_2026 = at("2026-07-01T09:00+09:00")  # SOM3 is on record for "August" only
SOM1_2027 = "SOM1 of APEC 2027 will be held in Hanoi on 2-4 March 2027."
NEXT_YEAR = f"""Exampleland Foreign Ministry: APEC 2027 first announcements (fictional)
Reference date: 2026-11-20

{SOM1_2027}
SOM2 of APEC 2027 will take place in May 2027.
The Concluding Senior Officials' Meeting may be held in Da Nang.
"""
THIS_YEAR = """Exampleland news: SOM3 details (fictional)
Reference date: 2026-07-01

SOM3 will be held in Qingdao from 10 to 21 August 2026.
Jane Roe, Deputy Minister of Foreign Affairs, will lead Chile's delegation to SOM3.
SOM3 and SOM2 will be held in Dalian.
"""


def write(tmp_path: Path, text: str, name: str = "doc.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def take_in(store: Store, tmp_path: Path, text: str, now, name: str = "doc.md"):
    """A document ingested as the watch does it, and the proposals made from it."""
    report = ingest(store.db, write(tmp_path, text, name), now, SEEDS)
    return report, propose(store.db, report, now)


def admin(store: Store, text: str, now, changes: list | None = None):
    return route(
        Ask(
            store=store.refresh(),
            now=now,
            text=text,
            user=ADMIN,
            can_edit=lambda: True,
            seeds=SEEDS,
            on_change=(lambda: changes.append(1)) if changes is not None else lambda: None,
        )
    )


# -- reading documents ---------------------------------------------------------------------------


def test_a_meeting_of_a_year_not_on_record_is_proposed_with_its_city_and_days(store, tmp_path):
    report, made = take_in(store, tmp_path, NEXT_YEAR, LATE_2026)
    first, second = made
    assert (first.kind, first.target, first.status) == ("add-meeting", "som1-2027", "open")
    assert first.record["dates"] == "2–4 March 2027" and first.record["city"] == "Hanoi"
    assert first.record["kind"] == "som" and first.quote == SOM1_2027
    assert first.line() == (
        f"proposal {first.id}: add meeting SOM1 2027 (som): 2–4 March 2027, Hanoi — “{SOM1_2027}”"
    )
    assert first.source_id == report.source_id


def test_a_month_only_date_stays_a_month_and_nothing_hedged_is_proposed(store, tmp_path):
    _, made = take_in(store, tmp_path, NEXT_YEAR, LATE_2026)
    assert [p.record.get("dates") for p in made] == ["2–4 March 2027", "May 2027"]
    assert not any("Da Nang" in p.quote for p in made)  # "may be held": not plain


def test_no_time_of_day_is_kept(store, tmp_path):
    text = (
        "Fictional notice\n\nSOM1 of APEC 2027 will be held in Hanoi on 2-4 March 2027 at 10:00.\n"
    )
    _, (p,) = take_in(store, tmp_path, text, LATE_2026)
    assert p.record["dates"] == "2–4 March 2027" and "10:00" not in json.dumps(p.record)


def test_a_known_meeting_is_dated_and_moved_and_a_delegation_head_named(store, tmp_path):
    _, made = take_in(store, tmp_path, THIS_YEAR, MID_2026)
    assert [(p.kind, p.target) for p in made] == [
        ("date-meeting", "som3-2026"),
        ("move-meeting", "som3-2026"),
        ("add-delegate", "CL/som3-2026/Jane Roe"),
    ]
    dated, moved, head = made
    assert dated.change == "date SOM3 2026 to 10–21 August 2026 (on record: August 2026)"
    assert moved.change == "move SOM3 2026 to Qingdao (on record: Dalian)"
    assert head.record == {
        "economy": "CL",
        "meeting": "som3-2026",
        "name": "Jane Roe",
        "role": "Head of delegation (Deputy Minister of Foreign Affairs)",
    }


def test_a_re_dated_meeting_says_what_was_on_record(store, tmp_path):
    text = "Fictional notice\n\nSOM2 will be held from May 20 to 22, 2026 in Shanghai.\n"
    _, (p,) = take_in(store, tmp_path, text, at("2026-04-01T00:00+00:00"))
    assert p.change == "re-date SOM2 2026 to 20–22 May 2026 (on record: 18–19 May 2026)"


@pytest.mark.parametrize(
    "sentence",
    [
        "SOM2 will be held from May 18 to 19 in Shanghai.",  # as on record
        "SOM3 will be held in August 2026.",  # a month that holds what is on record
        "SOM3 could be held in Qingdao in August 2026.",  # hedged
        "SOM3 will not be held in Qingdao.",  # negated
        "SOM3 and SOM2 will be held in Dalian on 3-5 August 2026.",  # two meetings
        "SOM3 will be held on 3-5 August or 10-12 August 2026.",  # two dates
        "Is SOM3 to be held in Qingdao?",  # a question
        "Casey Mace will lead the United States delegation to SOM1.",  # on record already
    ],
)
def test_what_a_sentence_does_not_plainly_change_is_not_proposed(store, tmp_path, sentence):
    _, made = take_in(store, tmp_path, f"Fictional notice\n\n{sentence}\n", MID_2026)
    assert made == []


def test_the_seed_documents_propose_nothing_the_store_has_not(store):
    desk = tomllib.loads((SEEDS / "desk.toml").read_text(encoding="utf-8"))
    for source in desk["sources"]:
        text = (SEEDS / source["file"]).read_text(encoding="utf-8")
        ref = source["reference_date"]
        report = IngestReport(
            source["id"], source["title"], ref, 0, True, analyse(store.db, text, ref)
        )
        assert propose(store.db, report, LATE_2026) == [], source["id"]


def test_a_document_seen_before_proposes_nothing(store, tmp_path):
    take_in(store, tmp_path, NEXT_YEAR, LATE_2026)
    report, made = take_in(store, tmp_path, NEXT_YEAR, LATE_2026, name="again.md")
    assert not report.new and made == []


# -- once, and never again when ignored ------------------------------------------------------------


def test_an_open_change_is_not_proposed_twice_and_an_ignored_one_never_again(store, tmp_path):
    _, made = take_in(store, tmp_path, NEXT_YEAR, LATE_2026)
    second = f"Another fictional release\n\nAs announced, {SOM1_2027}\n"
    assert take_in(store, tmp_path, second, LATE_2026, name="b.md")[1] == []  # open already
    decide(store.db, SEEDS, made[0].id, False, ADMIN, LATE_2026)
    third = f"A third fictional release\n\nOnce more: {SOM1_2027}\n"
    assert take_in(store, tmp_path, third, LATE_2026, name="c.md")[1] == []  # ignored: never
    other = (
        "A fourth fictional release\n\nSOM1 of APEC 2027 will be held in Hanoi on 3-5 March 2027.\n"
    )
    assert [
        p.record["dates"] for p in take_in(store, tmp_path, other, LATE_2026, name="d.md")[1]
    ] == ["3–5 March 2027"]


def test_ignore_is_audited_and_the_store_is_unchanged(store, tmp_path):
    _, made = take_in(store, tmp_path, NEXT_YEAR, LATE_2026)
    before = [m.id for m in store.refresh().meetings()]
    p = decide(store.db, SEEDS, made[0].id, False, ADMIN, LATE_2026)
    assert (p.status, p.decided_by) == ("ignored", ADMIN)
    assert [m.id for m in store.refresh().meetings()] == before
    (entry,) = history(store.db)
    assert entry.action == "ignore-proposal" and entry.user == ADMIN


def test_a_decided_or_unknown_proposal_is_refused(store, tmp_path):
    _, made = take_in(store, tmp_path, NEXT_YEAR, LATE_2026)
    decide(store.db, SEEDS, made[0].id, True, ADMIN, LATE_2026)
    with pytest.raises(ProposalError, match="already approved"):
        decide(store.db, SEEDS, made[0].id, False, "U2", LATE_2026)
    with pytest.raises(ProposalError) as unknown:
        decide(store.db, SEEDS, 999, True, ADMIN, LATE_2026)
    assert unknown.value.unknown
    assert [e.action for e in history(store.db)].count("approve-proposal") == 1


# -- approved: everywhere at once, citing the document ---------------------------------------------


def test_an_approved_meeting_is_in_answers_the_feed_the_home_tab_and_the_plan_at_once(
    store, tmp_path
):
    report, made = take_in(store, tmp_path, NEXT_YEAR, LATE_2026)
    desk = Desk(store.db)
    desk.subscribe_reminders("C1", "UTC", ("7d",), ("som",), "U1", LATE_2026)
    changes: list[int] = []
    reply = admin(store, f"approve {made[0].id}", LATE_2026, changes)
    assert "Approved proposal" in reply.plain() and changes == [1]

    answer = route(Ask(store=store.refresh(), now=LATE_2026, text="meeting SOM1 2027")).plain()
    assert "2–4 March 2027" in answer and "Hanoi" in answer
    assert (
        "Exampleland Foreign Ministry" in answer
        and "will be held in Hanoi on 2-4 March 2027" in answer
    )
    meeting = store.meeting("SOM1 2027")
    assert (meeting.source.id, meeting.quote, meeting.origin) == (
        report.source_id,
        SOM1_2027,
        "desk",
    )

    feed = calendar(store, LATE_2026).decode()
    assert "SOM1 2027" in feed and "DTSTART;VALUE=DATE:20270302" in feed
    home = json.dumps(home_view(Ask(store=store, now=at("2027-01-15T00:00+00:00"))))
    assert "SOM1 2027" in home
    window = (at("2027-02-20T00:00+00:00"), at("2027-03-01T00:00+00:00"))
    keys = [p.key for p in plan(store, desk, *window, UTC)]
    assert "reminder:C1:som1-2027:2027-03-02:7d" in keys


def test_an_approved_re_date_cites_the_document_and_moves_the_reminders(store, tmp_path):
    report, made = take_in(store, tmp_path, THIS_YEAR, MID_2026)
    desk = Desk(store.db)
    desk.subscribe_reminders("C1", "UTC", ("7d",), ("som",), "U1", MID_2026)
    window = (at("2026-07-20T00:00+00:00"), at("2026-08-20T00:00+00:00"))
    assert plan(store, desk, *window, UTC) == []  # a month: no reminders
    decide(store.db, SEEDS, made[0].id, True, "cli", MID_2026)
    m = store.refresh().meeting("SOM3")
    assert (m.span.start.isoformat(), m.dated, m.city) == ("2026-08-10", True, "Dalian")
    assert m.source.id == report.source_id and m.quote.startswith("SOM3 will be held in Qingdao")
    assert [p.key for p in plan(store, desk, *window, UTC)] == [
        "reminder:C1:som3-2026:2026-08-10:7d"
    ]
    decide(store.db, SEEDS, made[2].id, True, "cli", MID_2026)
    (d,) = store.refresh().delegations(economy_id="CL")
    assert d.head is not None and d.head.name == "Jane Roe" and d.members == ()
    assert d.source.id == report.source_id
    said = route(
        Ask(
            store=store,
            now=MID_2026,
            text="ask who leads Chile's delegation to SOM3?",
            via="mention",
        )
    ).plain()
    assert said.startswith("Jane Roe (Deputy Minister of Foreign Affairs) is to lead"), said
    assert "will lead Chile's delegation to SOM3" in said


def test_a_later_desk_edit_cites_the_desk_not_the_document(store, tmp_path):
    _, made = take_in(store, tmp_path, THIS_YEAR, MID_2026)
    decide(store.db, SEEDS, made[0].id, True, ADMIN, MID_2026)
    admin(store, 'edit-meeting SOM3 dates=2026-08-11..2026-08-21 note="phone call"', MID_2026)
    m = store.refresh().meeting("SOM3")
    assert m.source.id == "desk" and "phone call" in m.quote


def test_the_export_stays_valid_toml_and_carries_the_citation(store, tmp_path):
    report, made = take_in(store, tmp_path, THIS_YEAR, MID_2026)
    for p in made:
        decide(store.db, SEEDS, p.id, True, ADMIN, MID_2026)
    exported = tomllib.loads(export_toml(store.db))
    (meeting,) = exported["meetings"]
    assert meeting["source"] == report.source_id and meeting["quote"].startswith("SOM3 will be")
    (delegate,) = exported["desk_delegates"]
    assert delegate["source"] == report.source_id


def test_a_full_rebuild_keeps_the_approved_record_and_its_citation(store, tmp_path):
    report, made = take_in(store, tmp_path, NEXT_YEAR, LATE_2026)
    decide(store.db, SEEDS, made[0].id, True, ADMIN, LATE_2026)
    build(store.db, SEEDS)
    assert store.refresh().meeting("SOM1 2027").source.id == report.source_id


# -- the commands, the shell -----------------------------------------------------------------------


def test_proposals_are_listed_for_anyone_and_decided_only_by_admins(store, tmp_path):
    _, made = take_in(store, tmp_path, NEXT_YEAR, LATE_2026)
    listed = route(Ask(store=store, now=LATE_2026, text="proposals", user="U2")).plain()
    assert f"proposal {made[0].id}: add meeting SOM1 2027" in listed
    refused = route(
        Ask(
            store=store,
            now=LATE_2026,
            text=f"approve {made[0].id}",
            user="U2",
            can_edit=lambda: False,
            seeds=SEEDS,
        )
    ).plain()
    assert "only the desk's calendar keepers" in refused
    assert [p.id for p in open_proposals(store.db)] == [p.id for p in made]


def test_the_command_line_lists_approves_and_ignores(db_path, tmp_path):
    db = connect(db_path)
    _, made = take_in(Store(db), tmp_path, NEXT_YEAR, LATE_2026)
    db.close()
    env = {"APEC_DB": str(db_path)}
    listed = run("proposals", env=env)
    assert listed.returncode == 0
    assert [line.split(":")[0] for line in listed.stdout.splitlines()] == [
        f"proposal {p.id}" for p in made
    ]
    approved = run("approve", str(made[0].id), "--now", "2026-11-20T10:00Z", env=env)
    assert approved.returncode == 0 and approved.stdout.startswith(
        f"approved proposal {made[0].id}:"
    )
    assert approved.stdout.count("\n") == 1
    assert run("ignore", str(made[1].id), env=env).returncode == 0
    again = run("approve", str(made[0].id), env=env)
    assert (
        again.returncode == 1
        and again.stderr.count("\n") == 1
        and "already approved" in again.stderr
    )
    unknown = run("ignore", "999", env=env)
    assert (
        unknown.returncode == 2
        and "no proposal 999" in unknown.stderr
        and "Traceback" not in unknown.stderr
    )
    assert run("approve", "x", env=env).returncode == 2
    assert run("proposals", env=env).stdout == ""
    answer = run("command", "meeting", "SOM1 2027", "--now", "2026-11-20T10:00Z", env=env).stdout
    assert "2–4 March 2027" in answer
    db = connect(db_path)
    users = {e.action: e.user for e in history(db)}
    db.close()
    assert users == {"approve-proposal": "cli", "add-meeting": "cli", "ignore-proposal": "cli"}


# -- the card --------------------------------------------------------------------------------------


def test_the_card_quotes_each_sentence_with_its_buttons_and_nothing_live(store, tmp_path):
    hostile = (
        "Fictional hostile release\n\nSOM1 of APEC 2027 will be held in Hanoi on 2-4 March 2027 "
        "<!channel> <@UEVIL> <https://evil.example/x|click> ``` &lt;!here&gt;.\n"
    )
    report, (p,) = take_in(store, tmp_path, hostile, LATE_2026)
    payload = document_card(store, report.source_id).payload()
    assert live_in(payload) == [] and "&lt;!channel&gt;" in payload["text"]
    (row,) = [b for b in payload["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in row["elements"]] == [APPROVE, "proposal_edit", IGNORE]
    assert {e["value"] for e in row["elements"]} == {str(p.id)}
    assert payload["response_type"] == "in_channel"


def test_edit_opens_the_form_filled_in_and_saving_it_approves_the_proposal(store, tmp_path):
    _, made = take_in(store, tmp_path, THIS_YEAR, MID_2026)
    ask = Ask(
        store=store,
        now=MID_2026,
        user=ADMIN,
        channel="CDESK",
        via="slack",
        can_edit=lambda: True,
        seeds=SEEDS,
    )
    form, note = edit_form(ask, str(made[0].id), ("CDESK", "1.1"))
    assert note is None
    shown = {
        b["block_id"]: b["element"].get("initial_value")
        for b in form["blocks"]
        if b["element"]["type"] == "plain_text_input"
    }
    assert (shown["start"], shown["end"], shown["month"]) == ("2026-08-10", "2026-08-21", None)
    state = {b: {"value": {"value": v or ""}} for b, v in shown.items()}
    state["end"] = {"value": {"value": "2026-08-20"}}  # the admin corrects a day
    errors, reply = submit_edit(ask, state, form["private_metadata"])
    assert errors is None and "10–20 August 2026" in reply.plain()
    assert proposals.get(store.db, made[0].id).status == "approved"
    again, _ = submit_edit(ask, state, form["private_metadata"])
    assert "decided meanwhile" in again["name"]


# -- over Slack: the real app, signed requests -----------------------------------------------------


def _pressed(web_api, user: str, action_id: str, value: str) -> dict:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": "CDESK"},
        "team": {"id": "T1"},
        "api_app_id": "A1",
        "token": "x",
        "trigger_id": "1.2",
        "container": {"type": "message"},
        "message": {"ts": "1.1"},
        "response_url": web_api.url + "hooks.response",
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"proposal-{value}",
                "type": "button",
                "value": value,
                "action_ts": "1",
            }
        ],
    }


def test_an_admin_approves_on_the_card_and_the_card_says_who(
    server, web_api, db_path, tmp_path, changes
):
    db = connect(db_path)
    _, made = take_in(Store(db), tmp_path, NEXT_YEAR, LATE_2026)
    assert server.action(_pressed(web_api, ADMIN, APPROVE, str(made[0].id)))[0] == 200
    (call,) = web_api.wait_for("hooks.response")
    assert call.params["replace_original"] in (True, "true")
    assert f"Approved by <@{ADMIN}>" in call.params["text"] and changes.count == 1
    assert Store(db).meeting("SOM1 2027") is not None
    db.close()


def test_a_non_admins_crafted_approve_changes_nothing(server, web_api, db_path, tmp_path):
    db = connect(db_path)
    _, made = take_in(Store(db), tmp_path, NEXT_YEAR, LATE_2026)
    for action in (APPROVE, IGNORE):
        assert server.action(_pressed(web_api, "U1", action, str(made[0].id)))[0] == 200
    calls = web_api.wait_for("hooks.response", 2)
    assert all("only the desk's calendar keepers" in c.params["text"] for c in calls)
    assert all(c.params["replace_original"] in (False, "false") for c in calls)
    assert proposals.get(db, made[0].id).status == "open"
    assert Store(db).meeting("SOM1 2027") is None and history(db) == []
    db.close()


# -- posted to the desk's channel, exactly once ----------------------------------------------------


def _engine(db_path: Path, web_api, clock, wall) -> Engine:
    return Engine(
        Stores(db_path, SEEDS),
        poster(web_api),
        clock,
        UTC,
        wall=wall,
        host="a",
        desk_channel="CDESK",
    )


def test_a_documents_proposals_are_posted_once_as_one_card(db_path, web_api, tmp_path):
    db = connect(db_path)
    report, made = take_in(Store(db), tmp_path, NEXT_YEAR, LATE_2026)
    clock = Clock(LATE_2026 + timedelta(seconds=30))
    bot = _engine(db_path, web_api, clock, Wall())
    assert [p.kind for p in bot.plan(LATE_2026, LATE_2026 + timedelta(days=1))] == ["proposals"]
    assert bot.hold_lease()
    assert bot.run_due().sent == [f"proposals:{report.source_id}"]
    clock.advance(minutes=5)
    assert bot.run_due().sent == []
    (post,) = web_api.posts("CDESK")
    assert SOM1_2027 in post["text"] and f"Proposal {made[1].id}" in post["text"]
    db.close()


def test_a_card_whose_outcome_is_unknown_is_found_in_the_channel_not_sent_again(
    db_path, web_api, tmp_path
):
    db = connect(db_path)
    report, _ = take_in(Store(db), tmp_path, NEXT_YEAR, LATE_2026)
    key = f"proposals:{report.source_id}"
    wall, clock = Wall(), Clock(LATE_2026)
    web_api.fail_after_posting("chat.postMessage")
    bot = _engine(db_path, web_api, clock, wall)
    assert bot.hold_lease() and bot.run_due().unknown == [key]
    wall.advance(POST_TIMEOUT)
    assert bot.recover() == [key]
    assert Desk(db).delivery(key).status == "sent" and web_api.posted_keys()[key] == 1
    clock.advance(hours=1)
    bot.run_due()
    assert web_api.posted_keys()[key] == 1
    db.close()


def test_with_no_desk_channel_nothing_is_posted(db_path, web_api, tmp_path):
    db = connect(db_path)
    take_in(Store(db), tmp_path, NEXT_YEAR, LATE_2026)
    bot = Engine(Stores(db_path, SEEDS), poster(web_api), Clock(LATE_2026), UTC, host="a")
    assert bot.hold_lease() and bot.run_due().sent == []
    db.close()


def test_the_schedule_command_lists_the_card(db_path, tmp_path):
    db = connect(db_path)
    report, _ = take_in(Store(db), tmp_path, NEXT_YEAR, LATE_2026)
    db.close()
    env = {"APEC_DB": str(db_path), "APEC_DESK_CHANNEL": "CDESK"}
    out = run("schedule", "--now", "2026-11-20T09:00Z", "--days", "2", env=env).stdout
    assert "CDESK proposals - " in out and f"key=proposals:{report.source_id}" in out


def test_edit_on_the_card_opens_the_form_and_saving_it_approves_and_updates_the_card(
    server, web_api, db_path, tmp_path
):
    db = connect(db_path)
    _, made = take_in(Store(db), tmp_path, THIS_YEAR, MID_2026)
    assert server.action(_pressed(web_api, ADMIN, "proposal_edit", str(made[0].id)))[0] == 200
    (opened,) = web_api.wait_for("views.open")
    view = opened.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    values = {
        b["block_id"]: b["element"].get("initial_value", "")
        for b in view["blocks"]
        if b["element"]["type"] == "plain_text_input"
    }
    state = {k: {"value": {"type": "plain_text_input", "value": v}} for k, v in values.items()}
    state |= {
        k: {"value": {"type": "static_select", "selected_option": {"value": v}}}
        for k, v in (("kind", "som"), ("status", "tbc"))
    }
    submission = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": ADMIN},
        "api_app_id": "A1",
        "token": "x",
        "trigger_id": "1.2",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": {"values": state},
        },
    }
    status, body = server.action(submission)
    assert status == 200 and body in ("", "null")
    (update,) = web_api.wait_for("chat.update")
    assert update.params["ts"] == "1.1" and f"Approved by <@{ADMIN}>" in update.params["text"]
    assert proposals.get(db, made[0].id).status == "approved"
    assert "10–21 August 2026" in json.loads(server.command("meeting SOM3")[1])["text"]
    db.close()
