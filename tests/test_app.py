"""The real Bolt app over real HTTP on loopback, with requests signed as Slack signs them."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import at

MENTION = {
    "type": "app_mention",
    "user": "U1",
    "channel": "C1",
    "ts": "1769000000.000100",
    "text": "<@UBOT> who leads the US delegation?",
}


def test_slash_command_is_answered_in_the_http_response(server):
    status, body = server.command("next-meeting")
    assert status == 200
    reply = json.loads(body)
    assert "SOM1" in reply["text"] and "Guangzhou" in reply["text"]
    assert reply["response_type"] == "ephemeral" and reply["blocks"]


def test_empty_command_gets_help(server):
    status, body = server.command("")
    assert status == 200 and "/apec next-meeting" in json.loads(body)["text"]


def test_unknown_command_gets_a_short_helpful_reply(server):
    status, body = server.command("nxet-meeting")
    assert status == 200 and "next-meeting" in json.loads(body)["text"]


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": str(int(time.time()) - 600)},
        {"X-Slack-Request-Timestamp": "not-a-number"},
    ],
)
def test_bad_or_stale_signatures_get_401(server, headers):
    body = "command=%2Fapec&text=members&user_id=U1&channel_id=C1"
    signed = {**server.signed(body), **headers}
    if "X-Slack-Request-Timestamp" in headers and headers["X-Slack-Request-Timestamp"].isdigit():
        signed = server.signed(body, timestamp=int(headers["X-Slack-Request-Timestamp"]))
    status, _ = server.post(body, "application/x-www-form-urlencoded", signed, sign=False)
    assert status == 401


def test_wrong_secret_and_no_signature_get_401(server):
    body = "command=%2Fapec&text=members"
    wrong = server.signed(body, secret="not-the-secret")
    assert server.post(body, "application/x-www-form-urlencoded", wrong, sign=False)[0] == 401
    assert server.post(body, "application/x-www-form-urlencoded", sign=False)[0] == 401


def test_url_verification_must_be_signed(server):
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"})
    status, text = server.post(body, "application/json")
    assert status == 200 and "abc123" in text
    assert server.post(body, "application/json", sign=False)[0] == 401


def test_mention_is_answered_in_its_thread(server, web_api, clock):
    clock.now = at("2026-02-03T09:00+08:00")  # the US delegation and its economy are out by then
    assert server.event(MENTION)[0] == 200
    (call,) = web_api.wait_for("chat.postMessage")
    assert call.params["channel"] == "C1" and call.params["thread_ts"] == MENTION["ts"]
    assert "Casey Mace" in call.params["text"] and "Source:" in call.params["text"]


def test_a_retried_event_is_acknowledged_and_not_answered_again(server, web_api):
    assert server.event(MENTION, event_id="EvA")[0] == 200
    web_api.wait_for("chat.postMessage", 1)
    assert server.event(MENTION, event_id="EvA", retry=1) == (200, "")
    other = {**MENTION, "ts": "1769000000.000200", "text": "<@UBOT> what is the theme?"}
    assert server.event(other, event_id="EvB")[0] == 200
    posts = web_api.wait_for("chat.postMessage", 2)
    assert sorted(p.params["thread_ts"] for p in posts) == [MENTION["ts"], other["ts"]]
    assert len(web_api.calls_to("chat.postMessage")) == 2


def test_a_429_from_slack_is_waited_out_and_retried(server, web_api):
    web_api.rate_limit("chat.postMessage", times=1, retry_after=1)
    server.event(MENTION, event_id="EvRate")
    calls = web_api.wait_for("chat.postMessage", 2, timeout=10)
    assert [c.status for c in calls] == [429, 200]


def test_home_tab_shows_next_meetings_countdown_and_commands(server, web_api):
    server.event(
        {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}, event_id="EvH"
    )
    (call,) = web_api.wait_for("views.publish")
    view = call.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    text = json.dumps(view)
    assert view["type"] == "home" and "SOM1" in text and "Leaders" in text and "/apec help" in text
    assert len(view["blocks"]) <= 100


def test_share_button_posts_the_same_answer_to_the_channel(server, web_api):
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
                "value": "next-meeting",
                "action_ts": "1",
            }
        ],
    }
    assert server.action(payload)[0] == 200
    (call,) = web_api.wait_for("hooks.response")
    assert call.params["response_type"] == "in_channel" and "SOM1" in call.params["text"]
    assert not any(b.get("type") == "actions" for b in call.params.get("blocks", []))


def _button(web_api, action_id: str, value: str) -> dict:
    return {
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
                "action_id": action_id,
                "block_id": "b",
                "type": "button",
                "value": value,
                "action_ts": "1",
            }
        ],
    }


def test_a_mention_is_answered_short_and_its_more_button_shows_the_whole_card_to_the_asker(
    server, web_api, clock
):
    clock.now = at("2026-02-03T09:00+08:00")  # the US delegation and its economy are out by then
    server.event(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "ts": "1.1",
            "text": "<@UBOT> who leads the US delegation?",
        },
        event_id="EvMore",
    )
    (call,) = web_api.wait_for("chat.postMessage")
    first = call.params["text"].splitlines()[0]
    assert "Casey Mace" in first and "Stated objectives" not in call.params["text"]
    blocks = call.params["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    (row,) = [b for b in blocks if b["type"] == "actions"]
    (more,) = [e for e in row["elements"] if e["action_id"] == "more"]
    assert server.action(_button(web_api, "more", more["value"]))[0] == 200
    (shown,) = web_api.wait_for("hooks.response")
    assert shown.params["response_type"] == "ephemeral"
    assert "Stated objectives" in shown.params["text"] and "Ruth Perry" in shown.params["text"]


def test_a_body_over_1_mib_gets_413_and_the_server_keeps_serving(server):
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(server.base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        # Declared too large: refused on the headers alone, before any body is read.
        conn.putrequest("POST", "/slack/events")
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(1024 * 1024 + 10))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()
    try:
        # Sent whole: 413 too, though the server may close while the client still writes.
        status, _ = server.post(
            "text=" + "a" * (1024 * 1024 + 10), "application/x-www-form-urlencoded"
        )
        assert status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert server.command("members")[0] == 200


@pytest.mark.parametrize(
    ("body", "ctype", "expected"),
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ("payload=%7Bnope", "application/x-www-form-urlencoded", 400),
        ("hello", "text/plain", 415),
    ],
)
def test_a_body_that_is_not_what_its_content_type_says_gets_4xx(server, body, ctype, expected):
    assert server.post(body, ctype)[0] == expected
    assert server.command("members")[0] == 200


def test_healthz_and_unknown_paths(server):
    assert server.get("/healthz")[0] == 200
    assert server.get("/nope")[0] == 404
    assert server.get("/slack/events")[0] == 405


def test_hostile_command_text_is_answered(server):
    for text in ['"; DROP TABLE x; --', "NEAR(", "x" * 5000, "💥" * 100, "<@U1> <!channel>"]:
        status, body = server.command(text)
        assert status == 200 and json.loads(body)["text"].strip()


def test_clock_is_injected(server, clock):
    clock.now = at("2026-11-24T09:00+09:00")
    assert "No upcoming meeting" in json.loads(server.command("next-meeting")[1])["text"]


def test_slash_commands_are_answered_while_slack_is_unreachable(db_path, clock):
    """Bolt's own single-team auth calls auth.test on the first request; ours answers regardless."""
    from bot.app import create_app
    from bot.config import Config
    from bot.server import SlackHTTP
    from bot.stores import Stores
    from tests.conftest import BOT_TOKEN, SEEDS, SIGNING_SECRET, Served, serving

    config = Config(
        db_path=db_path,
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        api_url="http://127.0.0.1:9/",
        seeds=SEEDS,
    )
    app = create_app(config, Stores(db_path, SEEDS), clock)
    with serving(SlackHTTP(app, SIGNING_SECRET, lambda: {"ok": True})) as http:
        served = Served(f"http://127.0.0.1:{http.effective_port}", SIGNING_SECRET)
        for _ in range(2):
            status, body = served.command("next-meeting")
            assert status == 200 and "SOM1" in json.loads(body)["text"]


def test_a_page_button_turns_the_sources_listing_in_place(server, web_api, clock):
    # The seeds' six sources fit on one page: a button from a page 2 shown earlier leads back.
    clock.now = at("2026-06-01T09:00+08:00")  # all six out (the desk note is of 19 May)
    assert server.action(_button(web_api, "page_previous", "sources 1"))[0] == 200
    (call,) = web_api.wait_for("hooks.response")
    assert call.params["replace_original"] in (True, "true")
    assert call.params["text"].startswith("*6 sources*"), call.params["text"][:80]


def test_a_button_is_acknowledged_at_once_while_its_answer_is_slow_to_go(server, web_api, clock):
    clock.now = at("2026-06-01T09:00+08:00")  # all six sources out
    web_api.delay("hooks.response", 3.5)  # Slack slow to take the answer: the ack must not wait
    started = time.perf_counter()
    assert server.action(_button(web_api, "page_previous", "sources 1"))[0] == 200
    took = time.perf_counter() - started
    (call,) = web_api.wait_for("hooks.response", timeout=10)
    assert took < 1.0 and call.params["text"].startswith("*6 sources*")


def test_a_question_asked_back_offers_readings_each_answered_in_place_when_pressed(
    server, web_api, clock
):
    clock.now = at("2026-06-01T09:00+08:00")
    server.event(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "ts": "2.1",
            "text": "<@UBOT> korea som1",
        },
        event_id="EvAskBack",
    )
    (call,) = web_api.wait_for("chat.postMessage")
    assert call.params["text"].startswith("No source on record answers that as asked")
    blocks = call.params["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    (row,) = [b for b in blocks if b["type"] == "actions"]
    readings = [e for e in row["elements"] if e["action_id"].startswith("reading-")]
    assert [e["action_id"] for e in readings] == ["reading-1", "reading-2", "reading-3"]
    assert readings[0]["value"] == "ask Who led the Republic of Korea delegation to SOM1?"
    assert server.action(_button(web_api, "reading-1", readings[0]["value"]))[0] == 200
    (shown,) = web_api.wait_for("hooks.response")
    assert shown.params["replace_original"] in (True, "true")
    assert shown.params["text"].splitlines()[0].startswith("*Park Jong-han*")
