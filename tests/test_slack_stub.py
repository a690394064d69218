"""The Slack Web API stand-in, driven by a real slack_sdk.WebClient over loopback HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.slack_stub import WebAPIStub

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Reminder*"}}]
METADATA = {"event_type": "reminder_sent", "event_payload": {"meeting": "SOM1"}}


@pytest.fixture
def stub() -> WebAPIStub:
    with WebAPIStub() as running:
        yield running


@pytest.fixture
def client(stub: WebAPIStub) -> WebClient:
    return WebClient(token=stub.token, base_url=stub.url, timeout=5)


def test_post_with_blocks_and_metadata_comes_back_in_history(
    stub: WebAPIStub, client: WebClient
) -> None:
    first = client.chat_postMessage(channel="C1", text="Reminder", blocks=BLOCKS, metadata=METADATA)
    second = client.chat_postMessage(channel="C1", text="plain", thread_ts=first["ts"])

    assert first["ok"] and first["channel"] == "C1"
    assert float(second["ts"]) > float(first["ts"])
    with_meta = client.conversations_history(channel="C1", include_all_metadata=True)
    assert [m["text"] for m in with_meta["messages"]] == ["plain", "Reminder"]
    reminder = with_meta["messages"][1]
    assert reminder["blocks"] == BLOCKS and reminder["metadata"] == METADATA
    assert reminder["bot_id"] == "BBOT" and reminder["user"] == "UBOT"
    assert with_meta["messages"][0]["thread_ts"] == first["ts"]
    without = client.conversations_history(channel="C1", limit=1)
    assert [m["text"] for m in without["messages"]] == ["plain"]
    assert "metadata" not in without["messages"][0]
    newer = client.conversations_history(channel="C1", oldest=first["ts"])["messages"]
    assert [m["text"] for m in newer] == ["plain"]  # oldest is exclusive, as in Slack
    assert stub.history("C1")[1]["metadata"] == METADATA
    assert [p["text"] for p in stub.posts("C1")] == ["Reminder", "plain"]
    assert stub.posts("C2") == []


def test_form_and_json_bodies_are_both_decoded(stub: WebAPIStub, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="hi", blocks=BLOCKS)  # slack_sdk sends JSON
    client.conversations_history(channel="C1", limit=5)  # form-urlencoded
    client.api_call("chat.postMessage", params={"channel": "C1", "blocks": json.dumps(BLOCKS)})

    json_call, form_call, form_post = stub.calls
    assert json_call.params["blocks"] == BLOCKS and json_call.token == stub.token
    assert form_call.params == {"channel": "C1", "limit": "5"}
    assert form_post.params["blocks"] == BLOCKS and form_post.status == 200
    request = urllib.request.Request(f"{stub.url}auth.test?token={stub.token}")
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
        assert json.load(answer)["user_id"] == "UBOT"


def test_wrong_token_is_invalid_auth(stub: WebAPIStub) -> None:
    intruder = WebClient(token="xoxb-wrong", base_url=stub.url, timeout=5)
    with pytest.raises(SlackApiError) as raised:
        intruder.chat_postMessage(channel="C1", text="hi")
    assert raised.value.response["error"] == "invalid_auth"
    assert stub.posts() == [] and stub.history("C1") == []
    app = WebClient(token="xapp-1-A1-1-abc", base_url=stub.url, timeout=5)
    assert app.apps_connections_open(app_token="xapp-1-A1-1-abc")["url"].startswith("ws://")


def test_fail_hits_only_the_named_channel_and_only_so_often(
    stub: WebAPIStub, client: WebClient
) -> None:
    stub.fail("chat.postMessage", "channel_not_found", channel="CGONE")

    assert client.chat_postMessage(channel="C1", text="fine")["ok"]
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="CGONE", text="lost")
    assert raised.value.response["error"] == "channel_not_found"
    assert raised.value.response.status_code == 200
    assert client.chat_postMessage(channel="CGONE", text="back")["ok"]
    assert [p["text"] for p in stub.posts()] == ["fine", "back"]


def test_rate_limit_is_retried_by_the_sdk_handler(stub: WebAPIStub, client: WebClient) -> None:
    # The handler sleeps Retry-After + random() seconds, so retry_after=0 costs under a second.
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    stub.rate_limit("chat.postMessage", retry_after=0)

    assert client.chat_postMessage(channel="C1", text="eventually")["ok"]
    limited, passed = stub.calls_to("chat.postMessage")
    assert (limited.status, limited.response["error"]) == (429, "ratelimited")
    assert passed.status == 200 and passed.params == limited.params


def test_rate_limit_without_handler_raises_with_retry_after(stub: WebAPIStub) -> None:
    client = WebClient(token=stub.token, base_url=stub.url, timeout=5, retry_handlers=[])
    stub.rate_limit("users.info", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="U1")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"


def test_wait_for_wakes_on_the_call(stub: WebAPIStub, client: WebClient) -> None:
    later = threading.Timer(0.05, client.chat_postMessage, kwargs={"channel": "C1", "text": "x"})
    started = time.monotonic()
    later.start()
    (call,) = stub.wait_for("chat.postMessage", timeout=2)
    assert call.params["text"] == "x"
    assert time.monotonic() - started < 1
    later.join()
    with pytest.raises(AssertionError, match="expected 2 call"):
        stub.wait_for("chat.postMessage", count=2, timeout=0.05)


def test_users_info(stub: WebAPIStub, client: WebClient) -> None:
    stub.set_user("UADMIN", is_admin=True, tz="Asia/Seoul")

    user = client.users_info(user="UADMIN")["user"]
    assert (user["id"], user["is_admin"], user["is_owner"], user["tz"]) == (
        "UADMIN",
        True,
        False,
        "Asia/Seoul",
    )
    with pytest.raises(SlackApiError) as raised:
        client.users_info(user="UNOBODY")
    assert raised.value.response["error"] == "user_not_found"


def test_other_methods(client: WebClient) -> None:
    auth = client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T1")
    view = client.views_publish(user_id="U1", view={"type": "home", "blocks": BLOCKS})["view"]
    assert view["id"] == "V1" and view["type"] == "home"
    assert client.conversations_info(channel="C1")["channel"]["is_archived"] is False
    assert client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]
    assert client.reactions_add(channel="C1", timestamp="1.0", name="eyes")["ok"]


def test_runs_as_a_process_and_writes_calls_file(tmp_path: Path) -> None:
    calls_file = tmp_path / "calls.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.slack_stub", "--port", "0", "--calls-file", str(calls_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/api/")
        WebClient(token="xoxb-test-token", base_url=url).chat_postMessage(channel="C9", text="hi")
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0
    (line,) = calls_file.read_text().splitlines()
    record = json.loads(line)
    assert (record["method"], record["params"], record["status"]) == (
        "chat.postMessage",
        {"channel": "C9", "text": "hi"},
        200,
    )
    assert abs(record["at"] - time.time()) < 60
