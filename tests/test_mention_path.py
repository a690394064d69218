"""A mention's path: acknowledged as a bare Bolt app acknowledges, answered after the ack on kept
connections to the Web API. The real app and a bare one under the same server, over loopback."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from tests.conftest import BOT_TOKEN, SIGNING_SECRET, served_app, serving
from tests.slack_stub import BOT_ID, BOT_USER

MENTION = {
    "type": "app_mention",
    "user": "U1",
    "channel": "C1",
    "ts": "1769000000.000100",
    "text": "<@UBOT> when is the next meeting?",
}


def mention_body(event_id: str, ts: str = MENTION["ts"]) -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1,
            "event": {**MENTION, "ts": ts},
        }
    )


def post(base: str, body: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """A signed POST to /slack/events: its status, its headers (but Date) and its body."""
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=stamp, body=body)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
        response = conn.getresponse()
        kept = [(k, v) for k, v in response.getheaders() if k.lower() != "date"]  # as sent
        return response.status, kept, response.read()
    finally:
        conn.close()


@pytest.fixture
def floor(web_api) -> Iterator[str]:
    """A bare Bolt app that only acks, under the same server: the floor of bench/load_bench.py."""
    app = App(
        signing_secret=SIGNING_SECRET,
        client=WebClient(base_url=web_api.url),
        authorize=lambda enterprise_id, team_id: AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=BOT_TOKEN
        ),
        token_verification_enabled=False,
        process_before_response=True,
    )
    app.event("app_mention")(lambda ack: ack())
    with serving(SlackRequestHandler(app)) as http_server:
        yield f"http://127.0.0.1:{http_server.effective_port}"


def test_a_mention_is_acknowledged_exactly_as_a_bare_bolt_app_acknowledges_it(
    server, floor, web_api
):
    ours = post(server.base, mention_body("EvOurs"))
    bare = post(floor, mention_body("EvBare"))
    assert ours == bare
    assert ours[0] == 200 and ours[2] == b""
    web_api.wait_for("chat.postMessage")  # and ours is answered, after


def test_mentions_are_answered_on_one_kept_connection_to_the_web_api(
    db_path, web_api, clock, changes
):
    later = ThreadPoolExecutor(max_workers=1)  # one answer at a time: one connection is enough
    with served_app(db_path, web_api, clock, changes, later=later) as server:
        for n in range(10):
            ts = f"1769000000.{n:06d}"
            assert post(server.base, mention_body(f"EvKept{n}", ts))[0] == 200
        web_api.wait_for("chat.postMessage", 10)
    later.shutdown()
    threads = sorted(call.params["thread_ts"] for call in web_api.calls_to("chat.postMessage"))
    assert threads == [f"1769000000.{n:06d}" for n in range(10)]
    assert len(web_api.calls) == 11  # auth.test once, then the ten answers
    assert web_api.connections == 1  # urllib opened one for each


@pytest.mark.parametrize(
    "own", [{"user": BOT_USER}, {"user": "U2", "bot_id": BOT_ID}], ids=["its-user", "its-bot-id"]
)
def test_the_bots_own_mention_is_acknowledged_and_never_answered(
    db_path, web_api, clock, changes, own
):
    """As Bolt ignores an app's own events: a bot that mentioned itself would answer itself."""
    later = ThreadPoolExecutor(max_workers=2)
    with served_app(db_path, web_api, clock, changes, later=later) as server:
        itself = {**MENTION, **own, "ts": "1769000000.000900"}
        body = json.dumps({**json.loads(mention_body("EvOwn")), "event": itself})
        assert post(server.base, body)[::2] == (200, b"")
        assert post(server.base, mention_body("EvSomeone"))[0] == 200
        later.shutdown(wait=True)  # every answer after an ack has been made
    posts = web_api.calls_to("chat.postMessage") + web_api.calls_to("chat.postEphemeral")
    assert [p.params["thread_ts"] for p in posts] == [MENTION["ts"]]


@pytest.mark.parametrize("event_id", [12345, {"id": "Ev1"}, ["Ev", 1]], ids=["int", "dict", "list"])
def test_a_mention_whose_event_id_is_not_text_is_answered_once_not_a_500(
    db_path, web_api, clock, changes, event_id
):
    """Hostile (signed) bodies: Slack sends the id as text; anything else is still one id."""
    later = ThreadPoolExecutor(max_workers=2)
    with served_app(db_path, web_api, clock, changes, later=later) as server:
        sent = {**json.loads(mention_body("unused")), "event_id": event_id}
        assert post(server.base, json.dumps(sent))[0] == 200
        again = json.dumps({**sent, "event_time": 2})  # Slack's retry (its own signature)
        assert post(server.base, again)[0] == 200  # acknowledged, not answered again
        later.shutdown(wait=True)
    assert len(web_api.calls_to("chat.postMessage")) == 1
