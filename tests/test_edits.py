"""The desk keeps the calendar: changes from Slack, who may make them, the audit trail, the
export."""

from __future__ import annotations

import json
import tomllib
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.edits import FORM
from handlers.router import Ask, route
from store.build import build
from store.db import connect
from store.desk import Desk
from store.edits import export_toml, history
from store.schedule import plan
from tests.conftest import ADMIN, SEEDS, at

NOW = at("2026-07-01T09:00+09:00")


def admin_says(store, text, now=NOW, changes=None):
    card = route(
        Ask(
            store=store,
            now=now,
            text=text,
            user=ADMIN,
            channel="C1",
            can_edit=lambda: True,
            seeds=SEEDS,
            on_change=(changes.append_one if changes else lambda: None),
        )
    )
    return {
        **card.payload(),
        "text": card.plain(),
    }  # the words as read; the blocks as Slack gets them


def test_typed_add_meeting_gives_som3_its_dates_at_once(store):
    reply = admin_says(store, 'add-meeting "SOM3" 2026-08-10..2026-08-21 Dalian note="MOFA notice"')
    assert "Updated" in reply["text"] and "10–21 August 2026" in reply["text"]
    m = store.refresh().meeting("SOM3")
    assert (m.span.start, m.span.end, m.dated, m.city) == (
        date(2026, 8, 10),
        date(2026, 8, 21),
        True,
        "Dalian",
    )
    assert m.source.id == "desk" and "MOFA notice" in m.quote
    assert (
        "10–21 August 2026"
        in route(Ask(store=store, now=NOW, text="meeting SOM3")).payload()["text"]
    )


def test_a_new_meeting_is_added_with_its_zone_from_the_city(store):
    admin_says(
        store,
        'add-meeting "Trade ministers meeting" 2026-05-20..2026-05-21 Suzhou host=China '
        'kind=ministerial note="Xinhua"',
    )
    m = store.refresh().meeting("Trade ministers meeting")
    assert (
        m.kind == "ministerial"
        and m.host_id == "CN"
        and m.tz == "Asia/Shanghai"
        and m.origin == "desk"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('add-meeting "SOM4" 2026-02-30..2026-03-01 Xian', "can't read"),
        ('add-meeting "SOM4" soon Xian', "can't read"),
        ('add-meeting "SOM4" 2026-09-01 Xian host=Atlantis', "not a member economy"),
        ('add-meeting "SOM4" 2026-09-01 Xian tz=Mars/Base', "not a time zone"),
        ('add-meeting "SOM4 2026-09-01', "check the quotes"),
        ("edit-meeting SOM9 city=Xian", "no meeting called"),
        ("edit-meeting", "Which meeting"),
        ("add-delegate US SOM3", "Give the economy"),
        ('add-delegate Atlantis SOM3 "A B" "role"', "not a member economy"),
    ],
)
def test_bad_changes_get_a_short_reply_and_change_nothing(store, text, expected):
    reply = admin_says(store, text)
    assert expected in reply["text"]
    assert history(store.db) == []


def test_everyone_else_is_refused_politely_with_who_can(store):
    for text in [
        'add-meeting "X" 2026-09-01 Y',
        "edit-meeting SOM3 city=Y",
        "cancel-meeting SOM3",
        'add-delegate US SOM1 "A B" "c"',
        'remove-delegate US SOM1 "Ruth Perry"',
    ]:
        reply = route(
            Ask(store=store, now=NOW, text=text, user="U2", can_edit=lambda: False, admins=(ADMIN,))
        ).payload()
        assert (
            "only the desk's calendar keepers" in reply["text"] and f"<@{ADMIN}>" in reply["text"]
        )
    assert history(store.db) == []


def test_cancel_meeting_stops_its_reminders_and_is_audited(store, db_path):
    desk = Desk(store.db)
    desk.subscribe_reminders("C1", "UTC", ("7d",), ("summit",), "U1", at("2026-10-01T00:00+00:00"))
    window = (at("2026-11-01T00:00+00:00"), at("2026-11-30T00:00+00:00"))
    assert plan(store, desk, *window, ZoneInfo("UTC"))
    admin_says(store, 'cancel-meeting AELM note="postponed"')
    assert plan(store.refresh(), desk, *window, ZoneInfo("UTC")) == []
    (entry,) = history(store.db)
    assert entry.action == "cancel-meeting" and entry.before["status"] == "scheduled"
    assert entry.after["status"] == "cancelled" and entry.user == ADMIN


def test_add_and_remove_delegate_and_its_history(store):
    (d,) = store.delegations(economy_id="US")  # read (and kept by the store) before the change
    assert [m.person.name for m in d.members] == ["Ruth Perry"]
    admin_says(store, 'add-delegate US SOM1 "Jane Doe" "Deputy Senior Official"')
    (d,) = store.refresh().delegations(economy_id="US")
    assert [m.person.name for m in d.members] == ["Ruth Perry", "Jane Doe"]
    admin_says(store, 'remove-delegate US SOM1 "Jane Doe"')
    (d,) = store.refresh().delegations(economy_id="US")
    assert [m.person.name for m in d.members] == ["Ruth Perry"]
    text = admin_says(store, "history")["text"]
    assert "add-delegate" in text and "remove-delegate" in text


def test_build_keeps_the_desks_change_and_says_it_wins(store, db_path):
    admin_says(store, "edit-meeting SOM3 dates=2026-08-10..2026-08-21 status=scheduled")
    report = build(connect(db_path), SEEDS)
    assert any("desk change wins over seeds for som3-2026" in n for n in report.notes)
    assert store.refresh().meeting("SOM3").dated


def test_export_writes_a_desk_file_that_reads_back(store):
    admin_says(store, 'add-meeting "SOM3" 2026-08-10..2026-08-21 Dalian')
    admin_says(store, 'add-delegate US SOM1 "Jane Doe" "Deputy"')
    exported = tomllib.loads(export_toml(store.db))
    assert exported["meetings"][0]["id"] == "som3-2026"
    assert exported["meetings"][0]["dates"] == "2026-08-10..2026-08-21"
    assert exported["desk_delegates"][0]["name"] == "Jane Doe"


def test_a_change_calls_on_change_once(store, changes):
    admin_says(store, "edit-meeting SOM3 dates=2026-08-10..2026-08-21", changes=changes)
    assert changes.count == 1


def test_help_lists_the_edit_commands_only_to_admins(store):
    admin = route(Ask(store=store, now=NOW, text="help", can_edit=lambda: True)).plain()
    other = route(Ask(store=store, now=NOW, text="help", can_edit=lambda: False)).plain()
    assert "add-meeting" in admin and "add-meeting" not in other


# -- over real HTTP -------------------------------------------------------------------------------


def test_an_admin_changes_the_calendar_over_http_and_answers_follow(server, changes):
    status, body = server.command("edit-meeting SOM3 dates=2026-08-10..2026-08-21", user=ADMIN)
    assert status == 200 and "Changed" in json.loads(body)["text"]
    assert changes.count == 1
    assert "10–21 August 2026" in json.loads(server.command("meeting SOM3")[1])["text"]


def test_a_non_admin_is_refused_over_http(server, changes):
    status, body = server.command("cancel-meeting SOM3", user="U2")
    assert status == 200 and "only the desk's calendar keepers" in json.loads(body)["text"]
    assert changes.count == 0
    assert "cancelled" not in json.loads(server.command("meeting SOM3")[1])["text"]


def test_a_workspace_admin_may_edit_per_users_info(server, web_api):
    web_api.set_user("UWS", is_admin=True)
    status, body = server.command("edit-meeting SOM3 city=Dalian", user="UWS")
    assert "Changed" in json.loads(body)["text"]
    assert web_api.calls_to("users.info")


def test_add_meeting_opens_a_form_in_slack(server, web_api):
    status, _ = server.command("add-meeting", user=ADMIN)
    assert status == 200
    (call,) = web_api.wait_for("views.open")  # opened right after the ack
    assert call.params["trigger_id"].endswith(".2.3") and call.params["view"]["callback_id"] == FORM


def _submission(user: str, values: dict, meeting_id: str = "") -> dict:
    state = {
        k: {
            "value": (
                {"type": "static_select", "selected_option": {"value": v}}
                if k in ("kind", "status")
                else {"type": "plain_text_input", "value": v}
            )
        }
        for k, v in values.items()
    }
    return {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": user},
        "api_app_id": "A1",
        "token": "x",
        "trigger_id": "1.2",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": FORM,
            "private_metadata": json.dumps({"id": meeting_id, "channel": "C1"}),
            "state": {"values": state},
        },
    }


FORM_VALUES = {
    "name": "Third Senior Officials' Meeting",
    "short": "SOM3",
    "kind": "som",
    "start": "2026-08-10",
    "end": "2026-08-21",
    "month": "",
    "city": "Dalian",
    "host": "CN",
    "tz": "",
    "status": "scheduled",
    "note": "MOFA notice",
}


def test_a_form_with_bad_dates_is_answered_with_field_errors(server):
    values = {**FORM_VALUES, "start": "2026-02-30", "end": ""}
    status, body = server.action(_submission(ADMIN, values, "som3-2026"))
    assert status == 200
    reply = json.loads(body)
    assert reply["response_action"] == "errors" and "start" in reply["errors"]
    values = {**FORM_VALUES, "start": "2026-08-21", "end": "2026-08-10"}
    assert "end" in json.loads(server.action(_submission(ADMIN, values, "som3-2026"))[1])["errors"]


def test_a_good_form_changes_the_meeting_and_confirms(server, web_api):
    status, body = server.action(_submission(ADMIN, FORM_VALUES, "som3-2026"))
    assert status == 200 and body in ("", "null")
    (confirm,) = web_api.wait_for("chat.postEphemeral")
    assert "SOM3" in confirm.params["text"]
    assert "10–21 August 2026" in json.loads(server.command("meeting SOM3")[1])["text"]


def test_a_crafted_form_or_button_from_a_non_admin_changes_nothing(server, web_api):
    reply = json.loads(server.action(_submission("U2", FORM_VALUES, "som3-2026"))[1])
    assert reply["response_action"] == "errors"
    button = {
        "type": "block_actions",
        "user": {"id": "U2"},
        "channel": {"id": "C1"},
        "team": {"id": "T1"},
        "api_app_id": "A1",
        "token": "x",
        "trigger_id": "1.2",
        "container": {"type": "message"},
        "response_url": web_api.url + "hooks.response",
        "actions": [
            {
                "action_id": "post_to_channel",
                "block_id": "b",
                "type": "button",
                "value": "cancel-meeting SOM3",
                "action_ts": "1",
            }
        ],
    }
    assert server.action(button)[0] == 200
    (call,) = web_api.wait_for("hooks.response")
    assert "only the desk's calendar keepers" in call.params["text"]
    assert (
        "August 2026, dates not confirmed" in json.loads(server.command("meeting SOM3")[1])["text"]
    )


def test_a_change_while_the_scheduler_runs_moves_its_reminders(db_path, web_api):
    from bot.app import web_client
    from bot.clock import Clock
    from bot.config import Config
    from bot.posting import SlackPoster
    from bot.scheduler import Engine, Scheduler
    from bot.stores import Stores

    stores = Stores(db_path, SEEDS)
    Desk(stores.get().db).subscribe_reminders(
        "C1", "UTC", ("7d",), ("som",), "U1", at("2026-07-01T00:00+00:00")
    )
    due = at("2026-08-03T09:00+00:00")  # 7 days before 10 August, once the desk dates SOM3
    clock = Clock(due - timedelta(seconds=2))
    scheduler = Scheduler(
        Engine(
            stores,
            SlackPoster(web_client(Config(api_url=web_api.url), "xoxb-test-token")),
            clock,
            ZoneInfo("UTC"),
        )
    )
    scheduler.start()
    try:
        route(
            Ask(
                store=stores.get(),
                now=clock(),
                text="edit-meeting SOM3 dates=2026-08-10..2026-08-21",
                user=ADMIN,
                can_edit=lambda: True,
                seeds=SEEDS,
                on_change=scheduler.notify,
            )
        )
        (call,) = web_api.wait_for("chat.postMessage", timeout=15)
        assert (
            call.params["metadata"]["event_payload"]["key"] == "reminder:C1:som3-2026:2026-08-10:7d"
        )
    finally:
        scheduler.stop()
