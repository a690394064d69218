"""Nothing private in a channel, and one canvas per brief: the real app over real HTTP on loopback,
requests signed as Slack signs them, Slack's Web API stood in for by tests/slack_stub.py."""

from __future__ import annotations

import itertools
import json
import re
import time

from handlers.router import REGISTRY, lookup
from store.db import connect
from store.desk import Desk
from tests.conftest import ADMIN, at

_TS = itertools.count(1)
FEED = re.compile(r"/calendar/[A-Za-z0-9_-]+\.ics")
PING = re.compile(r"<@[UW][A-Z0-9]+")
SOM = at("2026-02-03T09:00+08:00")  # SOM1 under way, the US delegation on record


def _mention(server, text: str, user: str = "U1", channel: str = "C1") -> str:
    """@bot TEXT in a channel; the mention's ts (its thread)."""
    ts = f"1769000000.{next(_TS):06d}"
    event = {
        "type": "app_mention",
        "user": user,
        "channel": channel,
        "ts": ts,
        "text": f"<@UBOT> {text}",
    }
    assert server.event(event, event_id=f"Ev{ts}")[0] == 200
    return ts


def _replies(web_api, threads: set[str], timeout: float = 30.0) -> None:
    """Wait until every mention in `threads` is answered in its thread (openly or to the asker)."""
    deadline = time.monotonic() + timeout
    while True:
        answered = {
            c.params.get("thread_ts")
            for c in web_api.calls
            if c.method in ("chat.postMessage", "chat.postEphemeral")
        }
        if threads <= answered:
            return
        assert time.monotonic() < deadline, f"unanswered mentions: {sorted(threads - answered)}"
        time.sleep(0.02)


def _seen(params: dict) -> str:
    """Everything a message shows: its text and its blocks."""
    return f"{params.get('text', '')}\n{json.dumps(params.get('blocks') or [])}"


def _channel_posts(web_api) -> list[dict]:
    """Every message the channel sees: chat.postMessage, and in_channel response_url posts."""
    return [
        c.params
        for c in web_api.calls
        if c.method == "chat.postMessage"
        or (c.method == "hooks.response" and c.params.get("response_type") == "in_channel")
    ]


def _ephemerals(web_api, thread: str) -> list[dict]:
    return [
        c.params
        for c in web_api.calls_to("chat.postEphemeral")
        if c.params.get("thread_ts") == thread
    ]


# -- the calendar feed's address -----------------------------------------------------------------


def test_ics_by_mention_shows_the_address_to_the_asker_alone_in_the_thread(server, web_api):
    thread = _mention(server, "ics")
    _replies(web_api, {thread})
    (shown,) = _ephemerals(web_api, thread)
    assert shown["user"] == "U1" and shown["channel"] == "C1"
    assert FEED.search(shown["text"])
    assert not [p for p in _channel_posts(web_api) if "/calendar/" in _seen(p)]


def test_ics_rotate_by_mention_shows_the_new_address_to_the_admin_alone(server, web_api):
    web_api.set_user(ADMIN, display_name="Ada")
    thread = _mention(server, "ics rotate", user=ADMIN)
    _replies(web_api, {thread})
    (shown,) = _ephemerals(web_api, thread)
    db = connect(server.db_path)
    token = Desk(db).feed_token()
    db.close()
    assert shown["user"] == ADMIN and f"/calendar/{token}.ics" in shown["text"]
    assert "New calendar address" in shown["text"]
    assert not [p for p in _channel_posts(web_api) if token in _seen(p) or "/calendar/" in _seen(p)]


def test_ics_by_slash_command_is_ephemeral_and_offers_no_post_to_channel(server):
    status, body = server.command("ics")
    reply = json.loads(body)
    assert status == 200 and reply["response_type"] == "ephemeral" and FEED.search(reply["text"])
    assert not [b for b in reply["blocks"] if b["type"] == "actions"]
    assert lookup("ics").private and not lookup("ics").share


def test_a_post_to_channel_button_for_ics_still_answers_the_presser_alone(server, web_api):
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
                "action_id": "post_to_channel",
                "block_id": "b",
                "type": "button",
                "value": "ics",
                "action_ts": "1",
            }
        ],
    }
    assert server.action(payload)[0] == 200
    (call,) = web_api.wait_for("hooks.response")
    assert call.params["response_type"] == "ephemeral" and FEED.search(call.params["text"])


# -- naming people without pinging them -----------------------------------------------------------


def _admin_edits(server, web_api) -> None:
    """An admin's change to SOM3, done (answered in the ack, or after it) before this returns."""
    hooks = len(web_api.calls_to("hooks.response"))
    status, body = server.command(
        'edit-meeting SOM3 city="Dalian"', user=ADMIN, response_url=web_api.url + "hooks.response"
    )
    assert status == 200 and "Sorry" not in body
    if "Working on it" in body:
        web_api.wait_for("hooks.response", hooks + 1)


def test_no_command_a_non_admin_runs_makes_a_channel_post_that_pings_anyone(server, web_api, clock):
    """Every command in the registry (a new one is covered without a word here), by mention and by
    slash command, as a user who is no admin, after an admin's change that `history` names."""
    clock.now = SOM
    web_api.set_user(ADMIN, display_name="Ada Admin")
    web_api.set_user("U1", display_name="Uma")
    _admin_edits(server, web_api)
    lookup("help")  # the registry loaded
    assert len(REGISTRY) > 20
    threads, acks = set(), []
    for cmd in sorted(REGISTRY.values(), key=lambda c: c.name):
        status, body = server.command(
            cmd.example, user="U1", response_url=web_api.url + "hooks.response"
        )
        assert status == 200, cmd.name
        if body.startswith("{"):
            acks.append((cmd.name, json.loads(body)))
        threads.add(_mention(server, cmd.example))
    _replies(web_api, threads)
    time.sleep(0.5)  # what follows an ack (a brief's canvas, later parts) has arrived by now
    in_channel = [reply for _, reply in acks if reply.get("response_type") == "in_channel"]
    posts = _channel_posts(web_api) + in_channel
    assert posts, "the mentions were answered in their threads"
    pinged = [p for p in posts if PING.search(_seen(p))]
    assert not pinged, _seen(pinged[0])[:400]
    assert not [p for p in posts if ADMIN in _seen(p)]
    # The history names the admin in the thread, by name; a refusal goes to the asker alone.
    history = _mention(server, "history SOM3")
    _replies(web_api, {history})
    (told,) = [
        c.params
        for c in web_api.calls_to("chat.postMessage")
        if c.params.get("thread_ts") == history
    ]
    assert "@Ada Admin" in told["text"] and "edit-meeting" in told["text"]
    refused = _mention(server, "cancel-meeting SOM3")
    _replies(web_api, {refused})
    (refusal,) = _ephemerals(web_api, refused)
    assert "only the desk's calendar keepers" in refusal["text"] and refusal["user"] == "U1"


def test_history_by_slash_command_shown_in_the_channel_names_without_pinging(
    server, web_api, clock
):
    web_api.set_user(ADMIN, display_name="Ada Admin")
    _admin_edits(server, web_api)
    status, body = server.command("history SOM3", user="U1")
    reply = json.loads(body)
    (row,) = [b for b in reply["blocks"] if b["type"] == "actions"]
    (share,) = row["elements"]
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
                "action_id": share["action_id"],
                "block_id": "b",
                "type": "button",
                "value": share["value"],
                "action_ts": "1",
            }
        ],
    }
    hooks = len(web_api.calls_to("hooks.response"))  # the admin's change may have answered there
    assert server.action(payload)[0] == 200
    shared: list = []
    for more in (1, 2):  # a late answer to the admin's change may come in between: not the share
        calls = web_api.wait_for("hooks.response", hooks + more)[hooks:]
        shared = [c for c in calls if c.params.get("response_type") == "in_channel"]
        if shared:
            break
    (call,) = shared
    assert "@Ada Admin" in call.params["text"] and not PING.search(_seen(call.params))


# -- one canvas per brief --------------------------------------------------------------------------


def _brief(server, web_api, clock, count: int, text: str = "brief SOM1 for US") -> dict:
    """`/apec TEXT`, and the `count`-th word after it on where the note is (each brief is posted
    by the response_url, then where its note is)."""
    clock.now = SOM
    status, _ = server.command(text, response_url=web_api.url + "hooks.response")
    assert status == 200
    return web_api.wait_for("hooks.response", 2 * count)[-1].params


def test_a_brief_asked_again_updates_its_one_canvas_in_place_and_links_it(server, web_api, clock):
    first = _brief(server, web_api, clock, 1)
    (made,) = web_api.canvases()
    canvas = made["canvas_id"]
    assert f"<https://test.slack.com/docs/T1/{canvas}|" in first["text"]
    second = _brief(server, web_api, clock, 2)
    assert len(web_api.calls_to("canvases.create")) == 1
    (edit,) = web_api.calls_to("canvases.edit")
    assert edit.params["canvas_id"] == canvas
    (change,) = edit.params["changes"]
    assert change["operation"] == "replace" and "section_id" not in change
    assert change["document_content"]["markdown"].startswith("# Brief: SOM1")
    assert [c["canvas_id"] for c in web_api.canvases()] == [canvas]
    assert "updated" in second["text"] and f"/docs/T1/{canvas}|" in second["text"]


def test_a_brief_for_another_economy_or_channel_is_a_canvas_of_its_own(server, web_api, clock):
    _brief(server, web_api, clock, 1)
    _brief(server, web_api, clock, 2, "brief SOM1")
    assert len(web_api.canvases()) == 2 and web_api.calls_to("canvases.edit") == []


def test_a_deleted_canvas_is_made_anew_and_the_new_one_is_kept(server, web_api, clock):
    _brief(server, web_api, clock, 1)
    (old,) = web_api.canvases()
    web_api.delete_canvas(old["canvas_id"])
    told = _brief(server, web_api, clock, 2)
    (new,) = web_api.canvases()
    assert new["canvas_id"] != old["canvas_id"] and f"/docs/T1/{new['canvas_id']}|" in told["text"]
    _brief(server, web_api, clock, 3)
    assert len(web_api.calls_to("canvases.create")) == 2
    assert web_api.calls_to("canvases.edit")[-1].params["canvas_id"] == new["canvas_id"]


def test_the_markdown_file_of_a_brief_asked_again_replaces_the_one_before(server, web_api, clock):
    web_api.fail("canvases.create", "feature_not_enabled", times=2)
    _brief(server, web_api, clock, 1)
    (old,) = web_api.files()
    told = _brief(server, web_api, clock, 2)
    (new,) = web_api.files()
    assert new["id"] != old["id"] and "Markdown file" in told["text"]
    (deleted,) = web_api.calls_to("files.delete")
    assert deleted.params["file"] == old["id"]


def test_an_update_with_no_answer_makes_no_second_canvas(server, web_api, clock):
    _brief(server, web_api, clock, 1)
    web_api.fail("canvases.edit", "internal_error", status=500)
    told = _brief(server, web_api, clock, 2)
    assert len(web_api.calls_to("canvases.create")) == 1 and len(web_api.canvases()) == 1
    assert "canvas" in told["text"]


def test_the_brief_document_table_forgets_only_the_canvas_it_was_told_of(db_path):
    db = connect(db_path)
    desk = Desk(db)
    desk.keep_brief_document("C1", "som1-2026", "us", "canvas", "F1", SOM)
    desk.forget_brief_document("C1", "som1-2026", "us", "F0")
    assert desk.brief_document("C1", "som1-2026", "us") == ("canvas", "F1")
    desk.keep_brief_document("C1", "som1-2026", "us", "canvas", "F2", SOM)
    desk.forget_brief_document("C1", "som1-2026", "us", "F2")
    assert desk.brief_document("C1", "som1-2026", "us") is None
    db.close()
