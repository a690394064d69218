"""The HTTP front under attack: trickling connections, replays, the feed's secret path, /metrics,
nested bodies, and the reverse proxy in front of it. The real app over real HTTP on loopback."""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from bot.seen import EVENT_TTL, PRUNE_EVERY, SIGNATURE_TTL, Seen, seen_path
from bot.server import MAX_DEPTH
from store.db import connect
from store.desk import Desk
from tests.conftest import ROOT, SEEDS, SIGNING_SECRET, Clock, Served, serving
from tests.slack_stub import WebAPIStub

METRICS_TOKEN = "metrics-test-token-1234"
TRICKLERS = 300


@dataclass
class Front:
    """The served front, its waitress server, and the store's path."""

    served: Served
    http: object
    db_path: Path


@contextmanager
def front(db_path: Path, web_api: WebAPIStub, clock: Clock) -> Iterator[Front]:
    """The real app behind the real front as `serve` wires it: feed, record of requests, metrics."""
    from bot.app import create_app
    from bot.config import Config
    from bot.observe import Metrics
    from bot.server import SlackHTTP
    from bot.stores import Stores
    from handlers.calendar import calendar

    config = Config(
        db_path=db_path,
        bot_token="xoxb-edge-test",
        signing_secret=SIGNING_SECRET,
        api_url=web_api.url,
        seeds=SEEDS,
    )
    stores = Stores(db_path, SEEDS)
    app = create_app(config, stores, clock)
    wsgi = SlackHTTP(
        app,
        SIGNING_SECRET,
        lambda: {"ok": stores.problem() is None},
        calendar=lambda: calendar(stores.get(), clock()),
        metrics=Metrics(),
        store=stores.get,
        seen=stores.seen,
        metrics_token=METRICS_TOKEN,
    )
    with serving(wsgi) as server:
        yield Front(
            Served(f"http://127.0.0.1:{server.effective_port}", SIGNING_SECRET), server, db_path
        )


@pytest.fixture
def edge(db_path: Path, web_api: WebAPIStub, clock: Clock) -> Iterator[Front]:
    """The front on a free loopback port, over a private copy of the store."""
    with front(db_path, web_api, clock) as served:
        yield served


def request(
    base: str,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    source: str | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a new connection, optionally from another loopback source address."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(
        url.hostname, url.port, timeout=10, source_address=(source, 0) if source else None
    )
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()  # headers: case-insensitive
    finally:
        conn.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until `condition()` holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


# -- trickling connections ---------------------------------------------------------------------


class Trickle:
    """Connections that each send a header line every second or so and never finish."""

    def __init__(self, base: str, count: int) -> None:
        url = urlsplit(base)
        self.socks = [socket.create_connection((url.hostname, url.port)) for _ in range(count)]
        self.rounds = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        """Send each connection its request line, then a header line a second, until stopped."""
        for sock in self.socks:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n")
        while not self.stop.wait(1.0):  # the attacker's pace: a line a second per connection
            for sock in self.socks:
                sock.sendall(f"X-Trickle-{self.rounds}: {'x' * 8}\r\n".encode())
            self.rounds += 1

    def all_open(self) -> bool:
        """Whether the server still holds every connection (nothing closed, nothing answered)."""
        for sock in self.socks:
            sock.setblocking(False)
            try:
                if sock.recv(1) == b"":
                    return False
            except BlockingIOError:
                continue
            finally:
                sock.setblocking(True)
            return False  # an answer to an unfinished request
        return True

    def close(self) -> None:
        """Stop trickling and close every connection."""
        self.stop.set()
        self.thread.join(timeout=5)
        for sock in self.socks:
            sock.close()


def test_healthz_answers_in_under_a_second_while_300_connections_trickle_headers(edge, reports):
    trickle = Trickle(edge.served.base, TRICKLERS)
    try:
        trickle.thread.start()
        wait_for(
            lambda: len(edge.http.active_channels) >= TRICKLERS,
            10,
            f"waitress to hold all {TRICKLERS} connections",
        )
        start_round, timings = trickle.rounds, []
        while trickle.rounds < start_round + 3 or len(timings) < 10:  # across several trickles
            started = time.perf_counter()
            status, _, body = request(edge.served.base, "GET", "/healthz")
            timings.append(time.perf_counter() - started)
            assert status == 200 and json.loads(body)["ok"] is True
        assert trickle.all_open()
    finally:
        trickle.close()
    median, worst = statistics.median(timings), max(timings)
    line = (
        f"healthz under {TRICKLERS} trickling connections: {len(timings)} requests, "
        f"median {median * 1000:.1f} ms, worst {worst * 1000:.1f} ms"
    )
    print(line)
    reports.append(line)
    assert worst < 1.0


def test_waitress_is_tuned_for_many_slow_connections(edge):
    adj = edge.http.adj
    assert adj.connection_limit >= 1000 and adj.asyncore_use_poll is True
    assert adj.channel_timeout <= 15 and adj.cleanup_interval <= adj.channel_timeout
    assert adj.max_request_header_size <= 16 * 1024 and adj.max_request_body_size == 1024 * 1024


def test_headers_over_the_limit_are_refused_and_the_server_keeps_serving(edge):
    status, _, _ = request(edge.served.base, "GET", "/healthz", {"X-Big": "x" * 20_000})
    assert status == 431
    assert request(edge.served.base, "GET", "/healthz")[0] == 200


# -- replays -----------------------------------------------------------------------------------


def command_body(text: str, trigger: str = "1.2.3") -> str:
    """A slash command's form body, as Slack sends it."""
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/apec",
            "text": text,
            "trigger_id": trigger,
        }
    )


def test_a_signed_request_sent_five_times_is_accepted_once(edge, reports):
    served = edge.served
    body = command_body("remind me to call Seoul in 2 hours")
    headers = served.signed(body)
    statuses = [
        served.post(body, "application/x-www-form-urlencoded", headers, sign=False)[0]
        for _ in range(5)
    ]
    accepted, refused = statuses.count(200), statuses.count(401)
    line = (
        f"the same signed request sent 5 times: {accepted} accepted, {refused} refused as replays"
    )
    print(line)
    reports.append(line)
    assert (accepted, refused) == (1, 4) and statuses[0] == 200
    db = connect(edge.db_path)
    try:
        assert len(Desk(db).one_offs()) == 1  # one reminder queued (a DM: "me"), not five
    finally:
        db.close()


def test_a_new_timestamp_or_a_new_signature_is_not_a_replay(edge):
    served, ctype = edge.served, "application/x-www-form-urlencoded"
    body, now = command_body("members"), int(time.time())
    assert served.post(body, ctype, served.signed(body, timestamp=now), sign=False)[0] == 200
    assert served.post(body, ctype, served.signed(body, timestamp=now - 1), sign=False)[0] == 200
    other = command_body("members", trigger="4.5.6")  # same timestamp, another signature
    assert served.post(other, ctype, served.signed(other, timestamp=now), sign=False)[0] == 200
    assert served.post(body, ctype, served.signed(body, timestamp=now), sign=False)[0] == 401


def test_a_refused_signature_is_not_recorded(edge):
    served, ctype = edge.served, "application/x-www-form-urlencoded"
    body = command_body("members")
    wrong = served.signed(body, secret="not-the-secret")
    assert served.post(body, ctype, wrong, sign=False)[0] == 401
    assert Seen(seen_path(edge.db_path)).count("signature") == 0


def test_slacks_unsigned_ssl_check_gets_200_and_reaches_nothing(edge, web_api):
    status, body = edge.served.post(
        "ssl_check=1&token=legacy-token", "application/x-www-form-urlencoded", sign=False
    )
    assert (status, body) == (200, "")
    assert edge.served.post("ssl_check=1", "application/x-www-form-urlencoded", sign=False) == (
        200,
        "",
    )
    assert web_api.calls == []  # not dispatched: Bolt would have asked auth.test who it is
    assert Seen(seen_path(edge.db_path)).count("signature") == 0


@pytest.mark.parametrize(
    "body, ctype",
    [
        ("ssl_check=1&" + command_body("ics"), "application/x-www-form-urlencoded"),
        ("ssl_check=1&command=%2Fapec&text=ics", "application/x-www-form-urlencoded"),
        ("ssl_check=1&ssl_check=1&token=x", "application/x-www-form-urlencoded"),
        ("ssl_check=0&token=x", "application/x-www-form-urlencoded"),
        ("ssl_check=1&payload=%7B%7D", "application/x-www-form-urlencoded"),
        ('{"ssl_check": "1", "token": "x"}', "application/json"),
        ("ssl_check=1&token=x", "text/plain"),
        (command_body("members"), "application/x-www-form-urlencoded"),
    ],
)
def test_anything_else_unsigned_still_gets_401(edge, web_api, body, ctype):
    assert edge.served.post(body, ctype, sign=False)[0] == 401
    assert web_api.calls == []


def test_the_record_forgets_signatures_after_5_minutes_and_events_after_a_day(tmp_path):
    seen = Seen(tmp_path / "apec.db.seen")
    assert seen.signature("1000", "v0=a", now=1000.0)
    assert not seen.signature("1000", "v0=a", now=1000.0 + SIGNATURE_TTL - 1)
    assert seen.event("Ev1", now=1000.0) and not seen.event("Ev1", now=1000.0 + EVENT_TTL - 1)
    assert seen.event("Ev1", now=1000.0 + EVENT_TTL + 1)  # past its day it is new, pruned or not
    # Pruned at most once a minute, not on every request: then what is past its time goes.
    later = 1000.0 + EVENT_TTL + PRUNE_EVERY + 2
    assert seen.signature("9000", "v0=b", now=later) and seen.event("Ev2", now=later)
    assert seen.count("signature") == 1  # v0=a went
    assert seen.count("event") == 2  # Ev1 (seen again at its day's end) and Ev2


def test_a_signature_dated_ahead_is_kept_until_its_timestamp_has_gone_stale(tmp_path):
    seen = Seen(tmp_path / "apec.db.seen")
    assert seen.signature("1200", "v0=ahead", now=1000.0)  # Slack's clock 200 s ahead of ours
    # At 1000 + 300 it still passes the 5-minute check (its timestamp is 100 s old): still a replay.
    assert not seen.signature("1200", "v0=ahead", now=1000.0 + SIGNATURE_TTL + 1)


def test_events_are_claimed_beside_the_store_and_leave_its_read_cache_alone(edge):
    from tests.test_app import MENTION

    served = edge.served
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": "EvSide",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_time": 1,
            "event": MENTION,
        }
    )
    db = connect(edge.db_path)
    try:
        before = db.execute("PRAGMA data_version").fetchone()[0]
        assert served.post(body, "application/json")[0] == 200
        # Slack signs each retry afresh: a new timestamp, so not a replay, but the same event.
        retry = {**served.signed(body, timestamp=int(time.time()) - 1), "X-Slack-Retry-Num": "1"}
        assert served.post(body, "application/json", retry, sign=False) == (200, "")
        assert db.execute("PRAGMA data_version").fetchone()[0] == before
    finally:
        db.close()
    assert seen_path(edge.db_path).is_file()
    assert Seen(seen_path(edge.db_path)).count("event") == 1


# -- the calendar feed at its secret path ------------------------------------------------------


def feed_token(db_path: Path) -> str:
    """The store's feed token (made on first need)."""
    db = connect(db_path)
    try:
        return Desk(db).feed_token()
    finally:
        db.close()


def test_the_feed_is_served_at_its_secret_path_with_etag_and_head(edge, store, clock):
    from handlers.calendar import calendar

    base, path = edge.served.base, f"/calendar/{feed_token(edge.db_path)}.ics"
    status, headers, body = request(base, "GET", path)
    assert status == 200 and body == calendar(store, clock())
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "private" in headers["Cache-Control"]
    assert request(base, "GET", path, {"If-None-Match": headers["ETag"]})[0] == 304
    status, head_headers, head_body = request(base, "HEAD", path)
    assert (status, head_body) == (200, b"") and head_headers["ETag"] == headers["ETag"]
    assert request(base, "POST", path)[0] == 405


@pytest.mark.parametrize(
    "path",
    [
        "/calendar.ics",
        "/calendar/.ics",
        "/calendar/",
        "/calendar/not-the-token.ics",
        "/calendar/{token}x.ics",
        "/calendar/{token}",
        "/calendar/{token}.ics/x",
        "/calendar/%2e%2e%2fhealthz.ics",
    ],
)
def test_a_wrong_or_missing_feed_token_is_404_like_any_unknown_path(edge, path):
    path = path.format(token=feed_token(edge.db_path))
    status, _, body = request(edge.served.base, "GET", path)
    assert (status, body) == (404, b"Not Found")
    assert request(edge.served.base, "POST", path)[0] == 404  # never says the feed is there


def test_a_rotated_token_closes_the_old_address(edge):
    old = feed_token(edge.db_path)
    db = connect(edge.db_path)
    try:
        new = Desk(db).rotate_feed_token()
    finally:
        db.close()
    assert request(edge.served.base, "GET", f"/calendar/{old}.ics")[0] == 404
    assert request(edge.served.base, "GET", f"/calendar/{new}.ics")[0] == 200


def test_the_feed_is_not_served_without_a_store_to_check_its_token(db_path, clock):
    from bot.server import SlackHTTP

    front = SlackHTTP(None, SIGNING_SECRET, lambda: {"ok": True}, calendar=lambda: b"feed")
    seen: list[str] = []
    body = front(
        {"REQUEST_METHOD": "GET", "PATH_INFO": f"/calendar/{feed_token(db_path)}.ics"},
        lambda status, headers: seen.append(status),
    )
    assert seen == ["404 Not Found"] and body == [b"Not Found"]


# -- /metrics ----------------------------------------------------------------------------------


def test_metrics_answer_loopback(edge):
    status, _, body = request(edge.served.base, "GET", "/metrics")
    assert status == 200 and b"apec_requests_total" in body


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (None, 403),
        ("Bearer wrong-token", 403),
        (f"Basic {METRICS_TOKEN}", 403),
        (f"Bearer {METRICS_TOKEN}x", 403),
        (f"Bearer {METRICS_TOKEN}", 200),
        (f"bearer {METRICS_TOKEN}", 200),
    ],
)
def test_metrics_from_another_address_need_the_token(edge, authorization, expected):
    # 127.0.0.2 reaches the server like another host would: it is not the loopback address.
    headers = {"Authorization": authorization} if authorization else {}
    status, _, body = request(edge.served.base, "GET", "/metrics", headers, source="127.0.0.2")
    assert status == expected
    assert (b"apec_requests_total" in body) is (expected == 200)


# -- nested bodies -----------------------------------------------------------------------------


def nested(depth: int) -> str:
    """A JSON object holding lists nested `depth` deep."""
    return '{"type":"event_callback","x":' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize(
    "depth",
    [100_000, sys.getrecursionlimit() + 10, sys.getrecursionlimit() - 60, MAX_DEPTH],
    ids=["100000", "past-the-limit", "just-under-the-limit", "past-max-depth"],
)
@pytest.mark.parametrize("form", [False, True], ids=["json", "form-payload"])
def test_a_deeply_nested_signed_body_is_400_and_the_server_keeps_serving(edge, depth, form):
    served = edge.served
    body = urlencode({"payload": nested(depth)}) if form else nested(depth)
    ctype = "application/x-www-form-urlencoded" if form else "application/json"
    assert len(body.encode()) < 1024 * 1024
    assert served.post(body, ctype)[0] == 400
    status, reply = served.command("next-meeting")
    assert status == 200 and "SOM1" in json.loads(reply)["text"]


def test_a_body_nested_as_deep_as_slack_sends_is_accepted(edge):
    from tests.test_app import MENTION

    event = {**MENTION, "blocks": [{"type": "rich_text", "elements": [{"elements": [[[{}]]]}]}]}
    assert edge.served.event(event, event_id="EvDeepish")[0] == 200


# -- the reverse proxy -------------------------------------------------------------------------


def test_the_proxy_exposes_only_the_events_health_feed_and_timeline(tmp_path):
    conf = (ROOT / "deploy" / "nginx-apec-bot.conf").read_text()
    directives = [line.split("#")[0].strip() for line in conf.splitlines()]
    proxied = [d for d in directives if d.startswith("location")]
    assert proxied == [
        "location = /slack/events {",
        "location = /healthz {",
        "location /calendar/ {",
        "location /timeline/ {",  # the Home tab's picture, at a signed address
        "location / {",
    ]
    assert "/metrics" not in "\n".join(d for d in directives if d.startswith("location"))
    for setting in (
        "client_header_timeout",
        "client_body_timeout",
        "client_max_body_size 1m;",
        "limit_conn ",
        "proxy_read_timeout",
    ):
        assert any(d.startswith(setting) for d in directives), setting
    fallback = conf[conf.index("location / {") :]
    assert "return 404;" in fallback.split("}")[0]
