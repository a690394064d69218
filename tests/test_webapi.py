"""Web API calls on kept connections (bot/webapi.py), against the Web API stand-in over loopback:
few TCP connections for many calls, a 429 still waited out, and a call that may have reached
Slack never sent again."""

from __future__ import annotations

import http.client
import threading
import urllib.error

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Config
from bot.permissions import lookup_client
from bot.posting import PostError, SlackPoster
from bot.webapi import PooledWebClient, pooled, web_client
from handlers.render import Card
from tests.conftest import BOT_TOKEN

DROPPED = (http.client.HTTPException, OSError)  # what a connection closed unanswered raises


def client(web_api, timeout: float = 10) -> WebClient:
    made = web_client(Config(api_url=web_api.url), BOT_TOKEN)
    made.timeout = timeout
    return made


def test_fifty_posts_from_five_threads_go_out_on_at_most_five_connections(web_api):
    posting = client(web_api)

    def post_ten(thread: int) -> None:
        for n in range(10):
            posting.chat_postMessage(channel="C1", text=f"{thread}.{n}")

    threads = [threading.Thread(target=post_ten, args=(t,)) for t in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(web_api.posts("C1")) == 50
    assert web_api.connections <= 5  # at most one a thread posting at once; urllib opened 50


def test_clients_made_apart_share_the_connections_of_their_host(web_api):
    web_api.set_user("U1")
    client(web_api).chat_postMessage(channel="C1", text="one")
    lookup_client(web_api.url, BOT_TOKEN).users_info(user="U1")
    bolts = WebClient(token=BOT_TOKEN, base_url=web_api.url)  # as Bolt makes one a request
    pooled(bolts).chat_postMessage(channel="C1", text="two")
    assert web_api.connections == 1


def test_a_429_is_waited_out_as_retry_after_asks_on_the_same_connection(web_api):
    web_api.rate_limit("chat.postMessage", times=1, retry_after=1)
    assert client(web_api).chat_postMessage(channel="C1", text="hi")["ok"]
    assert [c.status for c in web_api.calls_to("chat.postMessage")] == [429, 200]
    assert web_api.connections == 1


def test_a_429_with_no_handler_is_slack_s_refusal_with_its_retry_after(web_api):
    web_api.rate_limit("chat.postMessage", times=1, retry_after=7)
    bare = PooledWebClient(token=BOT_TOKEN, base_url=web_api.url, timeout=5, retry_handlers=[])
    with pytest.raises(SlackApiError) as raised:
        bare.chat_postMessage(channel="C1", text="hi")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


def test_a_call_whose_connection_is_dropped_after_it_was_read_is_not_sent_again(web_api):
    posting = client(web_api)
    posting.chat_postMessage(channel="C1", text="first")  # the connection is kept after this
    web_api.drop("chat.postMessage")
    with pytest.raises(DROPPED):
        posting.chat_postMessage(channel="C1", text="second")
    assert [m["text"] for m in web_api.history("C1")] == ["second", "first"]  # Slack has it
    assert len(web_api.calls_to("chat.postMessage")) == 2  # and it was sent once
    posting.chat_postMessage(channel="C1", text="third")  # on a new connection
    assert web_api.connections == 2


def test_a_call_that_timed_out_is_not_sent_again_and_its_connection_is_not_kept(web_api):
    posting = client(web_api, timeout=0.3)
    web_api.answer_late("chat.postMessage", 30)  # handled, the answer held past the timeout
    with pytest.raises(TimeoutError):
        posting.chat_postMessage(channel="C1", text="late")
    assert len(web_api.calls_to("chat.postMessage")) == 1
    assert posting.chat_postMessage(channel="C1", text="next")["ok"]
    assert web_api.connections == 2  # the held one is not used again


def test_a_kept_connection_the_server_closed_is_replaced_before_anything_is_sent(web_api):
    posting = client(web_api)
    posting.chat_postMessage(channel="C1", text="first")
    assert web_api.close_idle() == 1  # as Slack's idle timeout would
    assert posting.chat_postMessage(channel="C1", text="second")["ok"]
    assert [c.status for c in web_api.calls_to("chat.postMessage")] == [200, 200]
    assert web_api.connections == 2


def test_slack_unreachable_fails_as_urllib_did(web_api):
    url = web_api.url
    web_api.stop()
    with pytest.raises(urllib.error.URLError):
        PooledWebClient(token=BOT_TOKEN, base_url=url, timeout=2, retry_handlers=[]).auth_test()


@pytest.mark.parametrize(
    "fault, unknown",
    [
        ("500 having posted", True),
        ("500 without posting", True),
        ("internal_error having posted", True),
        ("answered late", True),
        ("dropped having posted", True),
        ("long retry-after", False),
        ("not_in_channel", False),
    ],
)
def test_each_fault_of_a_scheduled_post_is_told_and_the_post_never_sent_twice(
    web_api, fault, unknown
):
    method = "chat.postMessage"
    arrange = {
        "500 having posted": lambda: web_api.fail_after_posting(method, status=500),
        "500 without posting": lambda: web_api.fail(method, "internal_error", status=500),
        "internal_error having posted": lambda: web_api.fail_after_posting(method, status=200),
        "answered late": lambda: web_api.answer_late(method, 30),
        "dropped having posted": lambda: web_api.drop(method),
        "long retry-after": lambda: web_api.rate_limit(method, retry_after=20),
        "not_in_channel": lambda: web_api.fail(method, "not_in_channel"),
    }
    poster = SlackPoster(client(web_api, timeout=0.5))
    poster.post("C1", Card().section("warm"), "warm")  # a kept connection for the fault
    arrange[fault]()
    with pytest.raises(PostError) as raised:
        poster.post("C1", Card().section("due"), "key")
    assert raised.value.unknown is unknown
    assert len(web_api.calls_to(method)) == 2  # one each: nothing sent again
    assert poster.post("C1", Card().section("after"), "after")  # the pool carries on


# -- a command's response_url (Bolt's `respond`) -------------------------------------------------


def test_a_command_s_later_pages_go_out_on_one_kept_connection(web_api):
    from bot.webapi import responder

    respond = responder(web_api.url + "hooks.response")
    for n in range(5):
        respond(text=f"page {n}", response_type="ephemeral", replace_original=False)
    assert [c.params["text"] for c in web_api.calls_to("hooks.response")] == [
        f"page {n}" for n in range(5)
    ]
    assert web_api.connections == 1  # Bolt's Respond: a new connection for each (5)


def test_a_response_url_post_whose_connection_drops_is_not_sent_again(web_api):
    from bot.webapi import responder

    respond = responder(web_api.url + "hooks.response")
    web_api.drop("hooks.response")
    with pytest.raises(DROPPED):
        respond(text="the answer", response_type="ephemeral")
    assert len(web_api.calls_to("hooks.response")) == 1  # Bolt's Respond retried it: 2


def test_a_respond_bolt_made_is_taken_on_the_kept_connections_after_the_ack(web_api):
    from concurrent.futures import ThreadPoolExecutor

    from slack_bolt import Respond

    from bot.listeners.common import after
    from bot.webapi import PooledRespond

    seen: list[object] = []
    later = ThreadPoolExecutor(1)
    after(later, seen.append, Respond(response_url=web_api.url + "hooks.response"))
    later.shutdown(wait=True)
    assert isinstance(seen[0], PooledRespond)


def test_a_child_forked_while_a_thread_makes_a_pooled_client_can_make_its_own(web_api):
    import os
    import select

    from bot import webapi

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with webapi._twins_lock:  # another thread of the parent, mid-`pooled()` at the fork
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: makes a pooled client, says so, and leaves
        try:
            pooled(WebClient(token=BOT_TOKEN, base_url=web_api.url))
            os.write(write, b"1")
        finally:
            os._exit(0)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 10)
        said = os.read(read, 1) if ready else b""
    finally:
        release.set()
        holder.join()
        os.waitpid(pid, 0) if said else os.kill(pid, 9)
        os.close(read)
    assert said == b"1"  # the child was not stuck on a lock its parent's thread held
