"""SIGTERM as systemd sends it: `serve` (one process, or a supervisor and its workers) ends within
APEC_STOP_TIMEOUT and exits 0, whatever its clients and Slack are doing.

The shipped nginx keeps 16 idle keep-alive connections to the bot; here they are raw sockets that
sent one complete HTTP/1.1 request and read its answer. A request under way at SIGTERM is a slow
sender that has sent half its body, and an @-mention whose reply waits on the Web API stand-in.
Nothing sleeps for time to pass: the tests wait on the process, on the stand-in's calls, on lines
the service writes and on the sockets themselves.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import socket
import sys
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest

from tests.conftest import SIGNING_SECRET, Served
from tests.test_serve_scheduler import TICK_DONE, WAIT, Bots, T, lease_pid

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="signals and /proc as on Linux")

KEEP_ALIVE = 16  # nginx's `keepalive 16` in deploy/nginx-apec-bot.conf
QUICK = 5.0  # seconds: a stop with nothing to wait for must take far less than the 20 s allowed
DENIED = "only the desk's calendar keepers"  # the reply to a non-admin's change


def address(base: str) -> tuple[str, int]:
    url = urlsplit(base)
    assert url.hostname and url.port
    return url.hostname, url.port


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """One whole HTTP/1.1 response from `sock` (its Content-Length body); (status, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    found = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    assert found, head
    while len(body) < int(found.group(1)):
        chunk = sock.recv(4096)
        assert chunk, "connection closed mid-body"
        body += chunk
    return int(head.split(b" ", 2)[1]), body


def idle_keep_alive(base: str, count: int) -> list[socket.socket]:
    """`count` connections that each sent one complete request, read its answer, and stay open."""
    opened = []
    for _ in range(count):
        sock = socket.create_connection(address(base), timeout=WAIT)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: apec-bot\r\n\r\n")
        read_response(sock)
        opened.append(sock)
    return opened


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed this idle connection (waits up to WAIT for it to)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def slow_command(base: str, text: str) -> tuple[socket.socket, bytes]:
    """A signed slash command whose headers and first half of body are sent, on a connection the
    server has answered once already (so it has surely taken it in); (socket, the rest)."""
    body = urlencode(
        {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/apec",
            "text": text,
            "trigger_id": "1.2.3",
        }
    ).encode()
    signed = Served(base, SIGNING_SECRET).signed(body.decode())
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: apec-bot\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in signed.items())
        + "\r\n"
    ).encode()
    (sock,) = idle_keep_alive(base, 1)
    half = len(body) // 2
    sock.sendall(head + body[:half])
    return sock, body[half:]


def mention(served: Served, text: str, event_id: str) -> None:
    event = {"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1.1", "text": text}
    status, _ = served.event(event, event_id=event_id)
    assert status == 200


def stopped_in(bot, timeout: float) -> float:
    """SIGTERM `bot`; the seconds until it exited with status 0."""
    started = time.monotonic()
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.proc.wait(timeout=timeout) == 0
    return time.monotonic() - started


def serving(bots: Bots, workers: int, **env: str):
    """A `serve` with `workers` processes, every one ticked and one holding the lease."""
    bot = bots.start(T - timedelta(days=1), APEC_WORKERS=str(workers), **env)
    bot.wait_line(TICK_DONE, count=workers)
    deadline = time.monotonic() + WAIT
    while lease_pid(bots.db_path) is None:
        assert time.monotonic() < deadline, "no worker took the lease"
        time.sleep(0.05)
    return bot


@pytest.mark.parametrize("workers", [1, 2])
def test_idle_keep_alive_connections_do_not_hold_sigterm(db_path, bots, reports, workers):
    bot = serving(bots, workers)
    idle = idle_keep_alive(bot.served.base, KEEP_ALIVE)
    took = stopped_in(bot, timeout=QUICK)
    assert all(closed_by_server(sock) for sock in idle)
    assert lease_pid(db_path) is None  # given up on the way out: a standby takes over at once
    reports.append(
        f"shutdown: SIGTERM to exit 0 with {KEEP_ALIVE} idle keep-alive connections, "
        f"{workers} worker(s): {took:.2f} s"
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_requests_and_replies_under_way_at_sigterm_are_finished(
    db_path, web_api, bots, reports, workers
):
    bot = serving(bots, workers)
    idle = idle_keep_alive(bot.served.base, KEEP_ALIVE)
    slow, rest = slow_command(bot.served.base, "next-meeting")
    # A change asked by a non-admin: acknowledged at once, its reply waits on users.info, held.
    web_api.delay("users.info", 1.0)
    mention(bot.served, "<@UBOT> cancel-meeting SOM1", "EvUnderWay")
    web_api.wait_for("users.info", timeout=WAIT)
    assert web_api.calls_to("chat.postEphemeral") == []  # the reply is still to be sent

    started = time.monotonic()
    bot.proc.send_signal(signal.SIGTERM)
    assert all(closed_by_server(sock) for sock in idle)  # the stop is under way
    slow.sendall(rest)
    status, body = read_response(slow)
    assert status == 200 and "SOM1" in json.loads(body)["text"]
    assert closed_by_server(slow)  # answered, then closed: no new request on it
    assert bot.proc.wait(timeout=QUICK) == 0
    took = time.monotonic() - started

    (reply,) = web_api.calls_to("chat.postEphemeral")  # a refusal: to the asker alone
    assert DENIED in reply.params["text"] and reply.params["thread_ts"] == "1.1"
    assert lease_pid(db_path) is None
    reports.append(
        f"shutdown: SIGTERM to exit 0 with a slow sender and a reply under way, "
        f"{workers} worker(s): {took:.2f} s"
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_a_reply_slack_never_answers_ends_at_the_stop_timeout_with_status_0(
    db_path, web_api, bots, workers
):
    stop_timeout = 3.0
    bot = serving(bots, workers, APEC_STOP_TIMEOUT=str(stop_timeout))
    web_api.delay("chat.postMessage", 120)  # the reply's answer is held far past the stop timeout
    mention(bot.served, "<@UBOT> who leads the US delegation?", "EvHeld")
    web_api.wait_for("chat.postMessage", timeout=WAIT)
    idle = idle_keep_alive(bot.served.base, 2)
    took = stopped_in(bot, timeout=stop_timeout + QUICK)
    assert took < stop_timeout + 1.0, took
    assert all(closed_by_server(sock) for sock in idle)
    bot.wait_line(re.compile(r"stop timeout of [\d.]+ s reached: leaving"))


def test_a_client_trickling_its_body_forever_is_cut_off_within_the_stop_timeout(bots):
    stop_timeout = 2.0
    bot = serving(bots, 1, APEC_STOP_TIMEOUT=str(stop_timeout))
    slow, rest = slow_command(bot.served.base, "next-meeting")
    cut = threading.Event()
    trickling = threading.Event()

    def trickle() -> None:
        """A byte of the body at a time, each well within the idle timeout, until cut off."""
        for n, byte in enumerate(itertools.cycle(rest[:-1])):  # never the last: it never ends
            try:
                slow.sendall(bytes([byte]))
            except OSError:
                break
            if n == 2:
                trickling.set()
            if cut.wait(0.2):  # the drip rate of this client (the test sets `cut` when done)
                break

    dripping = threading.Thread(target=trickle, daemon=True)
    dripping.start()
    # Stopped once the body has been trickling a while: a stop in the very moment its first half
    # arrived once found the connection idle on a loaded machine (no request under way yet).
    assert trickling.wait(WAIT)
    try:
        took = stopped_in(bot, timeout=stop_timeout + QUICK)
        assert took < stop_timeout + 1.0, took
        assert closed_by_server(slow)
        bot.wait_line(re.compile(r"1 connection\(s\) closed with a request still under way"))
    finally:
        cut.set()
        dripping.join(timeout=WAIT)
