"""A reminder post's buttons, the asker's own zone and whom a reminder is for: the real app over
real HTTP, signed requests, the real scheduler posting through the Web API stand-in."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import command_text, mention_text, web_client
from bot.config import Config
from bot.posting import SlackPoster
from bot.scheduler import Engine
from handlers.reminder_actions import DONE_ACTION, LIST_ACTION, describe_rule
from store.db import connect
from store.desk import Desk
from tests.conftest import ADMIN, BOT_TOKEN, at

SEOUL = ZoneInfo("Asia/Seoul")
LABELS = [
    "Mark as done",
    "Snooze 20 min",
    "Snooze 1 hour",
    "Snooze until tomorrow",
    "List my reminders",
]
TOMORROW = "reminder_snooze_tomorrow"


@pytest.fixture
def desk(db_path):
    db = connect(db_path)
    yield Desk(db)
    db.close()


@pytest.fixture
def engine(stores, web_api, clock) -> Engine:
    """The scheduler's engine, posting through the real Slack client to the stand-in."""
    poster = SlackPoster(web_client(Config(api_url=web_api.url), BOT_TOKEN))
    found = Engine(stores, poster, clock, ZoneInfo("UTC"))
    assert found.hold_lease()
    return found


def post_one_off(
    desk, engine, web_api, clock, target="U1", by="U1", for_user="", text="call Seoul"
):
    """A one-off queued and posted by the scheduler: the chat.postMessage call that posted it."""
    number = desk.add_one_off(
        target,
        clock.now + timedelta(minutes=5),
        "Asia/Seoul",
        text,
        by=by,
        now=clock.now,
        for_user=for_user,
    )
    clock.advance(minutes=5)
    before = len(web_api.calls_to("chat.postMessage"))
    assert engine.run_due().sent == [f"one-off:{number}"]
    return web_api.calls_to("chat.postMessage")[before]


def pressing(web_api, posted, action_id: str, user: str = "U1") -> dict:
    """The block_actions payload Slack sends when `user` presses a button of the posted message."""
    message = posted.response["message"]
    (row,) = [b for b in message["blocks"] if b["type"] == "actions"]
    (button,) = [e for e in row["elements"] if e["action_id"] == action_id]
    channel = posted.response["channel"]
    return {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": channel},
        "team": {"id": "T1"},
        "api_app_id": "A1",
        "token": "x",
        "trigger_id": "1.2",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel},
        "message": message,
        "response_url": web_api.url + "hooks.response",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b",
                "type": "button",
                "value": button["value"],
                "action_ts": "1",
            }
        ],
    }


def replies(web_api, count: int) -> list[dict]:
    return [call.params for call in web_api.wait_for("hooks.response", count, timeout=10)]


def in_place(reply: dict) -> bool:
    return reply.get("replace_original") in (True, "true")


# -- the post ---------------------------------------------------------------------------------


def test_a_reminder_for_me_is_a_direct_message_with_dates_and_five_buttons(
    desk, engine, web_api, clock
):
    posted = post_one_off(desk, engine, web_api, clock)
    (opened,) = web_api.calls_to("conversations.open")
    assert opened.params["users"] == "U1"
    assert posted.params["channel"] == web_api.dm_channel("U1")
    assert "<!date^" in posted.params["text"] and "<!date^" in json.dumps(posted.params["blocks"])
    (row,) = [b for b in posted.params["blocks"] if b["type"] == "actions"]
    assert [e["text"]["text"] for e in row["elements"]] == LABELS


# -- Mark as done -----------------------------------------------------------------------------


def test_mark_as_done_pressed_three_times_two_at_once_acts_once(
    server, desk, engine, web_api, clock
):
    posted = post_one_off(desk, engine, web_api, clock)
    payload = pressing(web_api, posted, DONE_ACTION)
    presses = [threading.Thread(target=server.action, args=(payload,)) for _ in range(2)]
    for press in presses:
        press.start()
    for press in presses:
        press.join(timeout=30)
    assert server.action(payload)[0] == 200
    said = replies(web_api, 5)  # each press: the post in place; the two late ones, a note too
    marked = [r for r in said if in_place(r)]
    notes = [r for r in said if not in_place(r)]
    assert len(marked) == 3 and len(notes) == 2
    assert {m["blocks"][-1]["elements"][0]["text"] for m in marked} == {
        marked[0]["blocks"][-1]["elements"][0]["text"]
    }
    assert "Marked done by <@U1>" in marked[0]["blocks"][-1]["elements"][0]["text"]
    assert all(b["type"] != "actions" for m in marked for b in m["blocks"])
    assert all(n["text"].startswith("This was already marked done by <@U1>") for n in notes)
    key = payload["actions"][0]["value"]
    assert desk.done_by(key)[0] == "U1"
    assert desk.db.execute("SELECT count(*) FROM done").fetchone()[0] == 1


def test_done_stops_the_snoozes_still_to_come(server, desk, engine, web_api, clock):
    posted = post_one_off(desk, engine, web_api, clock)
    server.action(pressing(web_api, posted, "reminder_snooze_1h"))
    replies(web_api, 1)
    server.action(pressing(web_api, posted, DONE_ACTION))
    replies(web_api, 2)
    clock.advance(hours=2)
    assert engine.run_due().sent == []  # the snooze was cancelled with it


# -- Snooze -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "due"),
    [
        ("reminder_snooze_20m", "2026-01-20T23:55+09:00"),
        ("reminder_snooze_1h", "2026-01-21T00:35+09:00"),
        # The presser is in Seoul, the desk (APEC_TZ) in UTC: tomorrow is Seoul's tomorrow.
        (TOMORROW, "2026-01-21T09:00+09:00"),
    ],
)
def test_snooze_pressed_twice_makes_one_one_off_in_the_pressers_zone(
    server, desk, engine, web_api, clock, choice, due
):
    web_api.set_user("U1", tz="Asia/Seoul")
    clock.now = at("2026-01-20T23:30+09:00")
    posted = post_one_off(desk, engine, web_api, clock)  # posted at 23:35 Seoul, 14:35 UTC
    payload = pressing(web_api, posted, choice)
    assert server.action(payload)[0] == 200
    first = replies(web_api, 1)[0]
    clock.advance(minutes=1)  # pressed again a minute later: still the first press's time
    assert server.action(payload)[0] == 200
    second = replies(web_api, 2)[1]
    snoozed = [one for one in desk.one_offs() if one.origin]
    assert len(snoozed) == 1
    (one,) = snoozed
    assert one.origin == f"{payload['actions'][0]['value']}|{choice}"
    assert one.due_at == at(due) and one.tz == "Asia/Seoul" and one.text == "call Seoul"
    assert (one.channel, one.created_by) == ("U1", "U1")
    assert in_place(first) and first == second
    line = first["blocks"][-1]["elements"][0]["text"]
    assert "Snoozed by <@U1>" in line and f"<!date^{int(at(due).timestamp())}^" in line

    clock.now = at(due)
    assert engine.run_due().sent == [f"one-off:{one.id}"]  # the snooze is posted, once
    again = web_api.calls_to("chat.postMessage")[-1]
    assert (
        again.params["channel"] == web_api.dm_channel("U1") and "call Seoul" in again.params["text"]
    )
    clock.advance(hours=1)
    assert engine.run_due().sent == []


def test_snoozing_what_is_done_snoozes_nothing(server, desk, engine, web_api, clock):
    posted = post_one_off(desk, engine, web_api, clock)
    server.action(pressing(web_api, posted, DONE_ACTION))
    replies(web_api, 1)
    server.action(pressing(web_api, posted, TOMORROW))
    note = replies(web_api, 3)[-1]
    assert "nothing to snooze" in note["text"]
    assert [one for one in desk.one_offs() if one.origin] == []


# -- who may press ------------------------------------------------------------------------------


def test_only_the_asker_the_one_reminded_or_an_admin_may_act(server, desk, engine, web_api, clock):
    posted = post_one_off(desk, engine, web_api, clock, target="U3", by="U1", for_user="U3")
    key = pressing(web_api, posted, DONE_ACTION)["actions"][0]["value"]
    server.action(pressing(web_api, posted, DONE_ACTION, user="U2"))  # a stranger
    (refused,) = replies(web_api, 1)
    assert not in_place(refused) and "only <@U1>, <@U3> or an admin" in refused["text"]
    server.action(pressing(web_api, posted, TOMORROW, user="U2"))
    replies(web_api, 2)
    assert desk.done_by(key) is None and [one for one in desk.one_offs() if one.origin] == []
    server.action(pressing(web_api, posted, TOMORROW, user="U3"))  # the one reminded
    assert in_place(replies(web_api, 3)[-1])
    assert len([one for one in desk.one_offs() if one.origin]) == 1


def test_an_admin_may_mark_a_channel_reminder_done(server, desk, engine, web_api, clock):
    posted = post_one_off(desk, engine, web_api, clock, target="C1", by="U1")
    server.action(pressing(web_api, posted, DONE_ACTION, user=ADMIN))
    assert in_place(replies(web_api, 1)[0])
    assert desk.done_by(pressing(web_api, posted, DONE_ACTION)["actions"][0]["value"])[0] == ADMIN


@pytest.mark.parametrize(
    "value", ["one-off:999", "recurring:999:2026-01-20T09:00", "reminder:C1:x", "", "one-off:1'--"]
)
def test_a_button_whose_reminder_is_not_on_record_changes_nothing(server, desk, web_api, value):
    payload = {
        "type": "block_actions",
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "team": {"id": "T1"},
        "api_app_id": "A1",
        "token": "x",
        "trigger_id": "1.2",
        "container": {"type": "message"},
        "response_url": web_api.url + "hooks.response",
        "actions": [
            {
                "action_id": DONE_ACTION,
                "block_id": "b",
                "type": "button",
                "value": value,
                "action_ts": "1",
            }
        ],
    }
    assert server.action(payload)[0] == 200
    (note,) = replies(web_api, 1)
    assert "no longer on record" in note["text"] and not in_place(note)
    assert desk.db.execute("SELECT count(*) FROM done").fetchone()[0] == 0


# -- lists --------------------------------------------------------------------------------------


def _some_reminders(desk, clock) -> None:
    now = clock.now
    desk.add_one_off("U1", now + timedelta(days=1), "Asia/Seoul", "call Seoul", "U1", now)
    desk.add_one_off("C1", now + timedelta(days=2), "Asia/Seoul", "desk note", "U1", now)
    desk.add_one_off("U2", now + timedelta(days=1), "UTC", "someone else's", "U2", now)
    desk.add_one_off("U1", now - timedelta(days=1), "Asia/Seoul", "already past", "U1", now)
    start = datetime(2026, 1, 26, 9, 0)  # a Monday, wall time in Seoul
    desk.add_recurring("U1", "Asia/Seoul", "FREQ=WEEKLY;BYDAY=MO", start, "weekly note", "U1", now)
    desk.add_recurring("C2", "UTC", "FREQ=DAILY", datetime(2026, 1, 21, 17), "stand-up", "U2", now)


def test_list_my_reminders_shows_the_pressers_own_to_them_alone(
    server, desk, engine, web_api, clock
):
    _some_reminders(desk, clock)
    posted = post_one_off(desk, engine, web_api, clock, text="the pressed one")
    server.action(pressing(web_api, posted, LIST_ACTION))
    (shown,) = replies(web_api, 1)
    text = shown["text"]
    assert not in_place(shown) and shown["response_type"] == "ephemeral"
    assert "call Seoul" in text and "desk note" in text and "weekly note" in text
    assert "every Monday at 09:00" in text and "<#C1>" in text and "<!date^" in text
    assert "someone else's" not in text and "stand-up" not in text and "already past" not in text


def test_home_tab_lists_the_viewers_reminders_and_the_channel_ones_they_set(
    server, desk, web_api, clock
):
    _some_reminders(desk, clock)
    server.event(
        {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"},
        event_id="EvHomeReminders",
    )
    (call,) = web_api.wait_for("views.publish")
    text = json.dumps(call.params["view"])
    assert "Reminders for you" in text and "Reminders you set for others" in text
    assert "call Seoul" in text and "weekly note" in text and "desk note" in text
    assert "someone else" not in text and "stand-up" not in text
    assert len(call.params["view"]["blocks"]) <= 100


# -- the asker's zone, and whom a reminder is for -----------------------------------------------


def test_the_askers_zone_is_asked_of_slack_only_for_commands_that_read_times(server, web_api):
    web_api.set_user(ADMIN, tz="Asia/Seoul")  # an admin by APEC_ADMINS: no permission look-up
    assert server.command("next-meeting", user=ADMIN)[0] == 200
    assert server.command("members", user=ADMIN)[0] == 200
    assert web_api.calls_to("users.info") == []
    for _ in range(2):
        assert server.command("reminders", user=ADMIN)[0] == 200
    (call,) = web_api.calls_to("users.info")  # kept for the hour
    assert call.params["user"] == ADMIN


def test_remind_reads_a_time_in_the_askers_own_zone(server, desk, web_api, clock):
    web_api.set_user("U1", tz="Asia/Seoul")  # the desk's APEC_TZ is UTC
    clock.now = at("2026-01-20T09:00+09:00")
    status, body = server.command("remind me tomorrow at 9am call Seoul")
    assert status == 200
    one_offs, _ = desk.reminders_for("U1")
    (one,) = one_offs
    assert one.due_at == at("2026-01-21T09:00+09:00") and one.channel == "U1"
    assert one.text == "call Seoul"


def test_a_mention_keeps_whom_a_reminder_is_for(server, desk, web_api, clock):
    web_api.set_user("U1", tz="Asia/Seoul")
    event = {
        "type": "app_mention",
        "user": "U1",
        "channel": "C1",
        "ts": "3.1",
        "text": "<@UBOT> remind <@U2|casey> tomorrow at 9am call Seoul",
    }
    assert server.event(event, event_id="EvRemindCasey")[0] == 200
    web_api.wait_for("chat.postMessage")
    one_offs, _ = desk.reminders_for("U2")
    (one,) = one_offs
    assert (one.channel, one.for_user, one.created_by) == ("U2", "U2", "U1")
    assert one.text == "call Seoul" and one.due_at == at("2026-01-21T09:00+09:00")


def test_remind_in_a_channel_the_bot_is_not_in_is_refused(server, desk, web_api):
    web_api.set_channel("C2", is_member=False)
    status, body = server.command("remind <#C2|desk> tomorrow at 9am send the cables")
    assert status == 200
    (call,) = web_api.calls_to("conversations.info")
    assert call.params["channel"] == "C2"
    assert desk.one_offs("C2") == [] and desk.recurring("C2") == []


# -- pieces ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("remind <@U2|casey> tomorrow 9am hi", "remind <@U2|casey> tomorrow 9am hi"),
        ("remind <#C2|apec-desk> at 3pm A &amp; B", "remind <#C2|apec-desk> at 3pm A & B"),
        ("remind me in 1 minute <!channel> hello", "remind me in 1 minute @channel hello"),
        ("delegation <@U2|casey>", "delegation @casey"),  # others read no ids
        ("Remind <@U2> x", "Remind <@U2> x"),
    ],
)
def test_command_text_keeps_ids_only_for_remind(raw, text):
    assert command_text(raw) == text


@pytest.mark.parametrize(
    ("raw", "bot", "text"),
    [
        ("<@UBOT> remind <@U2|casey> at 3pm hi", "UBOT", "remind <@U2|casey> at 3pm hi"),
        ("<@UBOT|apec> remind me at 3pm hi <@UBOT>", "UBOT", "remind me at 3pm hi"),
        ("<@UBOT> remind <@U2> at 3pm hi", "", "remind <@U2> at 3pm hi"),  # identity not known
        ("<@UBOT> who is <@U2|casey>?", "UBOT", "  who is  ?"),  # as before: people dropped
    ],
)
def test_mention_text_drops_the_bots_own_mention_and_keeps_the_rest_for_remind(raw, bot, text):
    assert mention_text(raw, bot) == text


@pytest.mark.parametrize(
    ("rule", "start", "words"),
    [
        ("FREQ=WEEKLY;BYDAY=MO", "2026-11-09T09:00", "every Monday at 09:00"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "2026-11-09T08:30", "every weekday at 08:30"),
        ("FREQ=WEEKLY;BYDAY=MO,TH", "2026-11-09T10:00", "every Monday and Thursday at 10:00"),
        ("FREQ=WEEKLY;BYDAY=SA,SU", "2026-11-14T09:00", "every Saturday and Sunday at 09:00"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=FR", "2026-11-13T09:00", "every 2 weeks on Friday at 09:00"),
        (
            "FREQ=DAILY;UNTIL=20261120T235959",
            "2026-11-09T17:00",
            "every day at 17:00, until 20 November 2026",
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=15", "2026-11-15T09:00", "every month on the 15th at 09:00"),
        ("FREQ=MONTHLY;BYMONTHDAY=1", "2026-12-01T09:00", "every month on the 1st at 09:00"),
        # no BYMONTHDAY: the start's day (this crashed until mypy found it)
        ("FREQ=MONTHLY", "2026-11-15T09:00", "every month on the 15th at 09:00"),
        ("FREQ=MONTHLY;BYDAY=1MO", "2026-12-07T09:00", "every month on the first Monday at 09:00"),
        ("FREQ=YEARLY", "2026-11-18T09:00", "every year on 18 November at 09:00"),
        ("FREQ=DAILY;COUNT=21", "2026-11-09T09:00", "every day at 09:00, 21 times"),
    ],
)
def test_a_stored_rule_in_words(rule, start, words):
    assert describe_rule(rule, datetime.fromisoformat(start)) == words


def test_the_command_line_asks_slack_for_the_users_zone_when_it_has_a_token(db_path, web_api):
    from tests.test_cli import run

    web_api.set_user("USEOUL", tz="Asia/Seoul")
    env = {"APEC_DB": str(db_path), "SLACK_API_URL": web_api.url}
    args = ("command", "--user", "USEOUL", "--channel", "C1", "--now", "2026-01-20T09:00+09:00")
    offline = run(*args, "remind", "me", "tomorrow", "at", "9am", "call", "Seoul", env=env)
    assert offline.returncode == 0, offline.stderr
    assert web_api.calls_to("users.info") == []  # no token: APEC_TZ, as before
    result = run(
        *args,
        "remind",
        "me",
        "tomorrow",
        "at",
        "9am",
        "call",
        "Seoul",
        env={**env, "SLACK_BOT_TOKEN": BOT_TOKEN},
    )
    assert result.returncode == 0, result.stderr
    (call,) = web_api.calls_to("users.info")
    assert call.params["user"] == "USEOUL"
    assert BOT_TOKEN not in result.stdout + result.stderr
    db = connect(db_path)
    try:
        one_offs, _ = Desk(db).reminders_for("USEOUL")
    finally:
        db.close()
    assert [one.due_at for one in one_offs if one.tz == "Asia/Seoul"] == [
        at("2026-01-21T09:00+09:00")
    ]
