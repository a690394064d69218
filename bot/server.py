"""Serving the app over HTTP: a small WSGI front for Bolt under waitress, /healthz, /metrics and
the calendar feed at its secret path.

The front refuses what Bolt should never see: bodies over 1 MiB (413), bad or stale signatures
(401), a signed request seen before (401), bodies that are not what their content type says or
that nest too deep (400). Slack's unsigned `ssl_check=1` gets a bare 200. A `/apec` command goes
straight to our own listener (`command`: bot/listeners/commands.py, `Direct`), from the body parsed
here once; everything else goes to `App.dispatch`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltResponse
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.observe import OUTCOME, Metrics, outcome_of
from bot.seen import Seen
from handlers.router import lookup
from handlers.timeline import IMAGE_PREFIX, image_day, year_png
from store.desk import Desk
from store.queries import Store

log = logging.getLogger("apec.http")

MAX_BODY = 1024 * 1024
MAX_DEPTH = 64  # Slack's deepest payloads (rich text in a submitted view) nest under 20 levels
EVENTS_PATH = "/slack/events"
FORM = "application/x-www-form-urlencoded"
CALENDAR_PREFIX = "/calendar/"  # the feed is at /calendar/<token>.ics
_FEED_PATH = re.compile(r"/calendar/([A-Za-z0-9_-]{1,128})\.ics")
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
StartResponse = Callable[..., Any]

# waitress, tuned for connections that trickle (see make_server)
CONNECTION_LIMIT = 2000
CHANNEL_TIMEOUT = 10  # seconds a connection may sit idle, mid-headers included
CLEANUP_INTERVAL = 2  # how often idle connections are looked for
MAX_HEADER_BYTES = 8 * 1024  # Slack's request headers are well under 2 KiB


def _respond(
    start: StartResponse,
    status: int,
    body: str | bytes,
    ctype: str = "text/plain; charset=utf-8",
    headers: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    data = body.encode() if isinstance(body, str) else body
    start(
        _status_line(status),
        [("Content-Type", ctype), ("Content-Length", str(len(data))), *headers],
    )
    return [data]


def _status_line(status: int) -> str:
    """A WSGI status line: the code and its reason phrase (the code alone if HTTP has none)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _json(start: StartResponse, status: int, obj: Any) -> list[bytes]:
    return _respond(start, status, json.dumps(obj), "application/json; charset=utf-8")


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return headers


def parse(
    ctype: str, body: str, fields: list[tuple[str, str]] | None = None
) -> dict[str, Any] | None:
    """The body as Bolt reads it (a form's fields, or JSON), parsed once for the whole request
    (a form's `fields` given when already read); None when it is not what its content type says,
    or nests deeper than a real Slack payload."""
    if ctype.startswith("application/json"):
        return _json_object(body)
    if not ctype.startswith(FORM):
        return None
    # As Bolt reads a form: the last value of each field, and a JSON `payload` in their place.
    form: dict[str, Any] = dict(_fields(body) if fields is None else fields)
    if "payload" in form:
        return _json_object(form["payload"])
    return form


def _fields(body: str) -> list[tuple[str, str]]:
    return parse_qsl(body, keep_blank_values=True)


def _json_object(text: str) -> dict[str, Any] | None:
    """`text` parsed, if it is a JSON object nested no deeper than MAX_DEPTH."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested past the interpreter's limit
        return None
    # Bolt's listeners walk the payload again: anything deeper than a real one is refused here.
    return data if isinstance(data, dict) and _depth(data) <= MAX_DEPTH else None


def _depth(value: Any) -> int:
    """How deep a parsed JSON value nests, walked without recursion; stops past MAX_DEPTH."""
    deepest, stack = 0, [(value, 1)]
    while stack and deepest <= MAX_DEPTH:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item)
    return deepest


def ssl_check(ctype: str, body: str, fields: list[tuple[str, str]] | None = None) -> bool:
    """Whether a body is Slack's certificate check, which it sends unsigned: a form of
    `ssl_check=1` and at most its `token`, nothing that would be dispatched (a form's `fields`
    given when already read)."""
    if not ctype.startswith(FORM):
        return False
    fields = _fields(body) if fields is None else fields
    names = [name for name, _ in fields]
    return (
        dict(fields).get("ssl_check") == "1"
        and len(names) == len(set(names))
        and set(names) <= {"ssl_check", "token"}
    )


PLAIN = [("Content-Type", "text/plain; charset=utf-8")]
JSON = [("Content-Type", "application/json;charset=utf-8")]  # as Bolt sends a JSON body
BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")  # what Slack POSTs


@dataclass(frozen=True)
class Outcome:
    """What one POST to /slack/events came to: the answer's status, headers and body, and what
    the request was, for its log line and metrics: its kind ("command", "event", "rejected",
    "replay", "ssl_check"...) and its command or event."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    kind: str
    what: str = ""


@dataclass(frozen=True)
class Answer:
    """A command's answer made without Bolt's dispatch: what is sent, and a refusal the listener
    said (`OUTCOME`), for the metrics."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    outcome: str | None = None


def answer_of(response: BoltResponse, outcome: str | None = None) -> Answer:
    """A Bolt response as the front sends it (its length left for the front to count)."""
    headers = [
        (k, v)
        for k, values in response.headers.items()
        for v in values
        if k.lower() != "content-length"
    ]
    body = response.body.encode() if isinstance(response.body, str) else (response.body or b"")
    return Answer(response.status, headers, body, outcome)


def _rejected(status: int, body: bytes) -> Outcome:
    return Outcome(status, PLAIN, body, "rejected")


_COMMAND_WORD = re.compile(r"[a-z][a-z-]{0,30}")


def describe(body: dict[str, Any]) -> tuple[str, str]:
    """What a request is, for its log line and metrics: ("command", "next-meeting"),
    ("event", "app_mention"), ("action", "post_to_channel"), ("view", "meeting_form").
    No user text."""
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        return "event", str(event.get("type", "") if isinstance(event, dict) else "")[:40]
    if kind == "view_submission":
        view = body.get("view")
        return "view", str(view.get("callback_id", "") if isinstance(view, dict) else "")[:40]
    if kind == "block_actions":
        actions = body.get("actions")
        first = actions[0] if isinstance(actions, list) and actions else {}
        return "action", str(first.get("action_id", "") if isinstance(first, dict) else "")[:40]
    if "command" not in body:
        return str(kind or "json")[:40], ""
    words = str(body.get("text", "")).strip().lower().split()
    word = words[0] if words else "help"
    # Only a known shape of word reaches a label: the metrics must not grow with what users type.
    return "command", word if _COMMAND_WORD.fullmatch(word) and lookup(word) else (
        "help" if not words else "unknown"
    )


class SlackHTTP:
    """The WSGI application: POST /slack/events to Bolt, GET /healthz, GET /metrics, the feed.

    `calendar` makes the feed's bytes and `store` gets the store that holds its token: the feed is
    served at /calendar/<token>.ics when both are given. `seen` refuses replayed signatures; the
    metrics answer loopback, or a request bearing `metrics_token`. `direct` answers a command or an
    @-mention from its parsed body without Bolt (None: not one it answers); `kept`, a kept
    reply's bytes.
    """

    def __init__(
        self,
        app: App,
        signing_secret: str,
        health: Callable[[], dict[str, Any]],
        calendar: Callable[[], bytes] | None = None,
        metrics: Metrics | None = None,
        events: bool = True,
        *,
        store: Callable[[], Store] | None = None,
        seen: Seen | None = None,
        metrics_token: str = "",
        kept: Callable[[dict[str, Any]], bytes | None] | None = None,
        direct: Callable[[dict[str, Any]], Answer | None] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.verifier = SignatureVerifier(signing_secret) if events else None
        self.health = health
        self.calendar = calendar if store is not None else None
        self.store = store
        self.seen = seen
        self.kept = kept  # a kept reply's JSON for a parsed request, to answer without Bolt
        self.direct = direct  # a command or a mention answered without Bolt's dispatch
        self._metrics_token = metrics_token.encode()
        self._feed: tuple[bytes, bytes] = (b"", b"")  # (the feed without DTSTAMP, as served)
        self.routes: dict[
            tuple[str, str], Callable[[dict[str, Any], StartResponse], list[bytes]]
        ] = {
            ("GET", "/healthz"): self.healthz,
        }
        if events:  # Socket Mode gets its events over the socket: no signed endpoint to expose
            self.routes[("POST", EVENTS_PATH)] = self.events
        if metrics is not None:
            self.routes[("GET", "/metrics")] = self.metrics_page

    def __call__(self, environ: dict[str, Any], start: StartResponse) -> list[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        try:
            if path.startswith(CALENDAR_PREFIX):
                return self.calendar_path(environ, start)
            if path.startswith(IMAGE_PREFIX):
                return self.timeline_image(environ, start)
            handler = self.routes.get((method, path))
            if handler is None:
                if any(p == path for _, p in self.routes):
                    return _respond(start, 405, "Method Not Allowed")
                return _respond(start, 404, "Not Found")
            return handler(environ, start)
        except Exception:
            log.exception("%s %s failed", method, _loggable(path))
            return _respond(start, 500, "Internal Server Error")

    def _signed(self, body: str, headers: dict[str, str]) -> bool:
        if self.verifier is None:
            return False
        try:
            return self.verifier.is_valid_request(body, headers)
        except (ValueError, TypeError):  # a timestamp that is not a number
            return False

    def _first_time(self, headers: dict[str, str]) -> bool:
        """Whether this signed request's (timestamp, signature) pair is new within 5 minutes."""
        if self.seen is None:
            return True
        timestamp = headers.get("x-slack-request-timestamp", "")
        return self.seen.signature(timestamp, headers.get("x-slack-signature", ""), time.time())

    def healthz(self, environ: dict[str, Any], start: StartResponse) -> list[bytes]:
        """GET /healthz: 200 with the report when all is well, 503 with it when not."""
        report = self.health()
        return _json(start, 200 if report.get("ok") else 503, report)

    def calendar_path(self, environ: dict[str, Any], start: StartResponse) -> list[bytes]:
        """/calendar/<token>.ics: the feed for its token; any other is 404, as for no such path."""
        found = _FEED_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if found is None or not self._feed_token(found.group(1)):
            return _respond(start, 404, "Not Found")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _respond(start, 405, "Method Not Allowed", headers=[("Allow", "GET, HEAD")])
        return self.calendar_feed(environ, start)

    def timeline_image(self, environ: dict[str, Any], start: StartResponse) -> list[bytes]:
        """/timeline/<day>-<signature>.png: the Home tab's picture of the year, for the address
        the Home tab gave (it changes with the records); anything else is 404."""
        if self.store is None:
            return _respond(start, 404, "Not Found")
        store = self.store()
        day = image_day(store, environ.get("PATH_INFO", ""))
        if day is None:
            return _respond(start, 404, "Not Found")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _respond(start, 405, "Method Not Allowed", headers=[("Allow", "GET, HEAD")])
        body = year_png(store, day)
        etag = f'"{hashlib.sha256(body).hexdigest()}"'
        # One address, one picture: it never changes, but its address is unguessable: private.
        headers = [("ETag", etag), ("Cache-Control", "private, max-age=86400, immutable")]
        if _matches(environ.get("HTTP_IF_NONE_MATCH", ""), etag):
            start("304 Not Modified", headers)
            return []
        data = _respond(start, 200, body, "image/png", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else data

    def _feed_token(self, token: str) -> bool:
        """Whether `token` opens the feed (compared in constant time by the store)."""
        if self.calendar is None or self.store is None:
            return False
        return Desk(self.store().db).is_feed_token(token)

    def calendar_feed(self, environ: dict[str, Any], start: StartResponse) -> list[bytes]:
        """The feed, with an ETag that holds while only its DTSTAMPs change; 304 when it matches."""
        assert self.calendar is not None
        body = self._unchanged(self.calendar())
        etag = f'"{hashlib.sha256(body).hexdigest()}"'
        headers = [
            ("ETag", etag),
            # private: its address is a secret, so no shared cache should keep a copy
            ("Cache-Control", "private, max-age=300"),
            ("Content-Disposition", 'inline; filename="apec.ics"'),
        ]
        if _matches(environ.get("HTTP_IF_NONE_MATCH", ""), etag):
            start("304 Not Modified", headers)  # no body, and waitress sends no length
            return []
        data = _respond(start, 200, body, "text/calendar; charset=utf-8", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else data

    def _unchanged(self, body: bytes) -> bytes:
        """The feed as last served while only its DTSTAMPs differ, so its ETag holds still."""
        # Each build stamps DTSTAMP with the running clock: without this, every request would
        # get a new ETag and calendar apps would download the whole feed every time.
        content = b"\r\n".join(
            line for line in body.split(b"\r\n") if not line.startswith(b"DTSTAMP")
        )
        last_content, last_body = self._feed
        if content == last_content:
            return last_body
        self._feed = (content, body)
        return body

    def events(self, environ: dict[str, Any], start: StartResponse) -> list[bytes]:
        """POST /slack/events: checked, handed to Bolt, logged in one line and counted."""
        started = time.perf_counter()
        done = self._events(environ)
        elapsed = time.perf_counter() - started
        outcome = outcome_of(done.status, environ.get(OUTCOME))
        log.info(
            "%s %s -> %s in %.1f ms",
            done.kind,
            done.what or "-",
            done.status,
            elapsed * 1000,
            extra={
                "kind": done.kind,
                "command": done.what,
                "status": done.status,
                "outcome": outcome,
                "latency_ms": round(elapsed * 1000, 2),
            },
        )
        if self.metrics is not None:
            label = done.what if done.kind == "command" else done.kind
            self.metrics.requests.labels(done.kind, label, outcome).inc()
            self.metrics.latency.labels(done.kind).observe(elapsed)
        length = ("Content-Length", str(len(done.body)))
        start(_status_line(done.status), [*done.headers, length])
        return [done.body]

    def _events(self, environ: dict[str, Any]) -> Outcome:
        """One POST: refused at the first thing wrong with it, else answered (kept, or by Bolt)."""
        body = _body(environ)
        if isinstance(body, Outcome):
            return body
        headers = _headers(environ)
        parsed = self._checked(body, headers)
        if isinstance(parsed, Outcome):
            return parsed
        return self._answered(environ, headers, parsed)

    def _checked(self, body: str, headers: dict[str, str]) -> dict[str, Any] | Outcome:
        """The parsed body of a signed request seen for the first time; else what it is answered."""
        ctype = headers.get("content-type", "")
        # A form's fields read once: for the certificate check, then for the body itself.
        fields = _fields(body) if ctype.startswith(FORM) else None
        if ssl_check(ctype, body, fields):  # Slack's unsigned check of our certificate
            return Outcome(200, PLAIN, b"", "ssl_check")
        if not self._signed(body, headers):
            return _rejected(401, b"Invalid signature")
        # Never a 503 for the record: it is checked in memory first and written best-effort
        # (bot/seen.py), so a full or read-only disk still lets reads be answered.
        if not self._first_time(headers):
            return Outcome(401, PLAIN, b"Request already received", "replay")
        if not ctype.startswith(BODY_TYPES):
            return _rejected(415, b"Unsupported Media Type")
        parsed = parse(ctype, body, fields)
        if parsed is None:
            return _rejected(400, b"Body does not match its content type")
        return parsed

    def _answered(
        self, environ: dict[str, Any], headers: dict[str, str], parsed: dict[str, Any]
    ) -> Outcome:
        """A checked request's answer: our own for a command or a mention (`direct`, or a kept
        reply's), else Bolt's."""
        kind, what = describe(parsed)
        if kind in ("command", "event") and self.direct is not None:
            answer = self.direct(parsed)
            if answer is not None:
                environ[OUTCOME] = answer.outcome  # a refusal, said by the listener
                return Outcome(answer.status, answer.headers, answer.body, kind, what)
        if self.kept is not None and kind == "command":
            data = self.kept(parsed)
            if data is not None:
                return Outcome(200, JSON, data, kind, what)
        # Parsed and its signature checked once, here: Bolt takes the body as it takes one from
        # Socket Mode (a dict, with no raw body to verify again).
        request = BoltRequest(
            body=parsed,
            query=environ.get("QUERY_STRING", ""),
            headers=dict(headers),
            mode="socket_mode",
        )
        answer = answer_of(self.app.dispatch(request))
        environ[OUTCOME] = request.context.get(OUTCOME)  # a refusal, said by the listener
        return Outcome(answer.status, answer.headers, answer.body, kind, what)

    def metrics_page(self, environ: dict[str, Any], start: StartResponse) -> list[bytes]:
        """GET /metrics: Prometheus' text format, for loopback or the metrics token only."""
        assert self.metrics is not None
        if not self._may_see_metrics(environ):
            return _respond(start, 403, "Forbidden")
        return _respond(
            start, 200, self.metrics.render(), "text/plain; version=0.0.4; charset=utf-8"
        )

    def _may_see_metrics(self, environ: dict[str, Any]) -> bool:
        """From this host's loopback address, or with `Authorization: Bearer <metrics token>`."""
        # REMOTE_ADDR is the socket's peer: waitress trusts no proxy header (see make_server).
        if environ.get("REMOTE_ADDR", "") in LOOPBACK:
            return True
        scheme, _, given = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        return (
            bool(self._metrics_token)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), self._metrics_token)
        )


def _body(environ: dict[str, Any]) -> str | Outcome:
    """A POST's body as text; or its refusal, when its length is no number or over MAX_BODY, or
    it is not UTF-8."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _rejected(400, b"Bad Content-Length")
    if length > MAX_BODY:
        return _rejected(413, b"Payload Too Large")
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    try:
        return str(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return _rejected(400, b"Body is not UTF-8")


def _loggable(path: str) -> str:
    """A request path fit for a log line: the feed's token left out."""
    for secret in (CALENDAR_PREFIX, IMAGE_PREFIX):
        if path.startswith(secret):
            return secret + "…"
    return path[:200]


def _matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match against our ETag, by weak comparison as RFC 9110 asks."""
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


DRAIN_SHARE = 0.75  # of the stop timeout, for requests under way; the rest is for what they began


class Stop:
    """A graceful stop of the server: asked for from a signal handler, carried out by `run`.

    `run` then stops accepting, closes idle connections at once, lets each request under way (a
    body still arriving included) be answered and closes its connection after, and returns when
    no connection is left, or `DRAIN_SHARE` of `timeout` after the ask, closing what is still open.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.asked_at: float | None = None  # time.monotonic() of the first ask
        self._wake: Callable[[], object] = lambda: None  # set by `run` while its loop runs

    def ask(self) -> None:
        """Stop (a second ask changes nothing). Safe in a signal handler: no lock, a pipe write."""
        if self.asked_at is None:
            self.asked_at = time.monotonic()
        self._wake()

    @property
    def asked(self) -> bool:
        return self.asked_at is not None

    @property
    def deadline(self) -> float:
        """When all must be done, on time.monotonic()'s clock; infinity until asked."""
        return math.inf if self.asked_at is None else self.asked_at + self.timeout

    @property
    def drain_by(self) -> float:
        """When connections still open are closed, answered or not."""
        return self.deadline - self.timeout * (1 - DRAIN_SHARE)


def run(server: Any, stop: Stop | None = None) -> None:
    """Serve until `server.close()` (from another thread) or, given `stop`, until it is asked
    for and carried out."""
    if stop is None:
        try:
            server.run()
        except OSError:
            # closing the listening socket under the running loop ends it this way
            if server.socket is not None and server.socket.fileno() != -1:
                raise
        return
    from waitress import wasyncore

    # Waitress' own loop (server.run) runs while any connection is open: once the listening socket
    # is closed, nothing closes an idle keep-alive connection (its idle check runs from the
    # listener), and the loop never ends. This loop is waitress' own, one turn at a time, with a
    # look at the connections after each.
    stop._wake = server.pull_trigger  # a byte down waitress' own pipe into its loop
    try:
        while not (stop.asked and _drained(server, stop)):
            wait = server.adj.asyncore_loop_timeout
            if stop.asked:
                wait = min(wait, max(0.0, stop.drain_by - time.monotonic()))
            wasyncore.loop(wait, use_poll=server.adj.asyncore_use_poll, map=server._map, count=1)
    finally:
        stop._wake = lambda: None
        if server.accepting:
            wasyncore.dispatcher.close(server)
        # The pipe stays open, to go with the process: a request cut short (or whose client has
        # left) still pulls it as it ends, and a number closed now may be a store's file by then.


def _drained(server: Any, stop: Stop) -> bool:
    """One step of a graceful stop, in the server's loop; whether every connection is closed."""
    from waitress import wasyncore

    if server.accepting:
        # The listening socket only: the loop's pipe stays, so that a request answered wakes it.
        wasyncore.dispatcher.close(server)
        # Then one turn that only takes in what has already arrived: a request sent just before
        # the stop is under way, not idle.
        wasyncore.loop(0, use_poll=server.adj.asyncore_use_poll, map=server._map, count=1)
        log.info("stopping: no new connections; %d open", len(server.active_channels))
    now, late = time.time(), time.monotonic() >= stop.drain_by
    cut = 0
    for channel in list(server.active_channels.values()):
        busy = _under_way(channel, now)
        if channel.will_close or (busy and not late):
            continue
        channel.will_close = True  # the loop's next turn closes it
        cut += busy
    if cut:
        log.error("stopping: %d connection(s) closed with a request still under way", cut)
    return not server.active_channels


def _under_way(channel: Any, now: float) -> bool:
    """Whether a connection has a request being answered, an answer being sent, or a request
    arriving (unless it has been silent for the idle timeout, as waitress would close it)."""
    if channel.requests or channel.total_outbufs_len:
        return True
    return channel.request is not None and now - channel.last_activity < channel.adj.channel_timeout


def make_server(
    wsgi: Callable[..., Any], host: str, port: int, threads: int = 8, *, reuse_port: bool = False
) -> Any:
    """A waitress server that keeps answering while many connections trickle their headers.

    With `reuse_port`, the port is shared with the other workers that bind it the same way
    (SO_REUSEPORT): the kernel spreads new connections over them.
    """
    # Not `app.start()`: one thread and a backlog of 5 lose requests. A connection sending a header
    # line now and then holds a channel without a thread; at waitress' default limit of 100 such
    # channels it accepts nothing more, /healthz included. So: a high limit, poll() (select() fails
    # past descriptor 1024), idle connections closed quickly, small headers. The reverse proxy in
    # deploy/ is what times out a slow sender for good (client_header_timeout).
    from waitress.server import create_server

    from bot.channel import PatientChannel

    where: dict[str, Any] = (
        {"sockets": [shared_socket(host, port)]} if reuse_port else {"host": host, "port": port}
    )
    server: Any = create_server(
        wsgi,
        threads=threads,
        connection_limit=_connection_limit(CONNECTION_LIMIT),
        asyncore_use_poll=True,
        channel_timeout=CHANNEL_TIMEOUT,
        cleanup_interval=CLEANUP_INTERVAL,
        max_request_header_size=MAX_HEADER_BYTES,
        max_request_body_size=MAX_BODY,
        ident="apec-bot",
        backlog=1024,
        clear_untrusted_proxy_headers=True,
        **where,
    )
    # waitress' own busy-loops while a task sends: throughput followed a logger's level
    server.channel_class = PatientChannel  # (bot/channel.py)
    return server


def shared_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) with SO_REUSEPORT, not yet listening: every process that
    binds the port this way shares it. Port 0 picks a free one (read it from `getsockname()`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _connection_limit(wanted: int) -> int:
    """Raise this process' open-file limit toward `wanted` connections; the limit it allows."""
    import resource

    spare = 256  # the store, the record of requests, logs, Slack's sockets, a body in a temp file
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + spare
    if soft != resource.RLIM_INFINITY and soft < need:
        soft = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return wanted if soft == resource.RLIM_INFINITY else max(1, min(wanted, soft - spare))
