"""Serving the app over HTTP: a small WSGI front for Bolt under waitress, /healthz, /calendar.ics.

The front refuses what Bolt should never see: bodies over 1 MiB (413), bad or stale signatures (401),
bodies that are not what their content type says (400). Everything else goes to `App.dispatch`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.observe import Metrics
from handlers.router import lookup

log = logging.getLogger("apec.http")

MAX_BODY = 1024 * 1024
EVENTS_PATH = "/slack/events"
CALENDAR_PATH = "/calendar.ics"
StartResponse = Callable[..., Any]


def _respond(
    start: StartResponse,
    status: int,
    body: str | bytes,
    ctype: str = "text/plain; charset=utf-8",
    headers: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    data = body.encode() if isinstance(body, str) else body
    reason = {
        200: "OK",
        304: "Not Modified",
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Payload Too Large",
        415: "Unsupported Media Type",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }.get(status, "")
    start(
        f"{status} {reason}",
        [("Content-Type", ctype), ("Content-Length", str(len(data))), *headers],
    )
    return [data]


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


def _well_formed(ctype: str, body: str) -> bool:
    """Whether the body is what its content type says (Bolt would fail on it otherwise)."""
    if ctype.startswith("application/json"):
        try:
            return isinstance(json.loads(body), dict)
        except ValueError:
            return False
    if ctype.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body, keep_blank_values=True)
        if "payload" in form:
            try:
                return isinstance(json.loads(form["payload"][0]), dict)
            except ValueError:
                return False
        return True
    return False


_COMMAND_WORD = re.compile(r"[a-z][a-z-]{0,30}")


def describe(ctype: str, body: str) -> tuple[str, str]:
    """What a request is, for its log line and metrics: ("command", "next-meeting"),
    ("event", "app_mention"), ("action", "post_to_channel"), ("view", "meeting_form"). No user text."""
    if ctype.startswith("application/json"):
        data = json.loads(body)
        if data.get("type") == "event_callback":
            return "event", str((data.get("event") or {}).get("type", ""))[:40]
        return str(data.get("type", "json"))[:40], ""
    form = parse_qs(body, keep_blank_values=True)
    if "payload" in form:
        payload = json.loads(form["payload"][0])
        if payload.get("type") == "view_submission":
            return "view", str((payload.get("view") or {}).get("callback_id", ""))[:40]
        actions = payload.get("actions") or [{}]
        return "action", str(actions[0].get("action_id", ""))[:40]
    words = (form.get("text") or [""])[0].strip().lower().split()
    word = words[0] if words else "help"
    # Only a known shape of word reaches a label: the metrics must not grow with what users type.
    return "command", word if _COMMAND_WORD.fullmatch(word) and lookup(word) else (
        "help" if not words else "unknown"
    )


class SlackHTTP:
    """The WSGI application: POST /slack/events to Bolt, GET /healthz, GET /calendar.ics."""

    def __init__(
        self,
        app: App,
        signing_secret: str,
        health: Callable[[], dict[str, Any]],
        calendar: Callable[[], bytes] | None = None,
        metrics: Metrics | None = None,
        events: bool = True,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.verifier = SignatureVerifier(signing_secret) if events else None
        self.health = health
        self.calendar = calendar
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
        if calendar is not None:
            # Unsigned: calendar apps cannot sign, and the feed holds only what the bot answers.
            self.routes[("GET", CALENDAR_PATH)] = self.calendar_feed
            self.routes[("HEAD", CALENDAR_PATH)] = self.calendar_feed

    def __call__(self, environ: dict[str, Any], start: StartResponse) -> list[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        handler = self.routes.get((method, path))
        if handler is None:
            if any(p == path for _, p in self.routes):
                return _respond(start, 405, "Method Not Allowed")
            return _respond(start, 404, "Not Found")
        try:
            return handler(environ, start)
        except Exception:
            log.exception("%s %s failed", method, path)
            return _respond(start, 500, "Internal Server Error")

    def _signed(self, body: str, headers: dict[str, str]) -> bool:
        if self.verifier is None:
            return False
        try:
            return self.verifier.is_valid_request(body, headers)
        except (ValueError, TypeError):  # a timestamp that is not a number
            return False

    def healthz(self, environ: dict[str, Any], start: StartResponse) -> list[bytes]:
        report = self.health()
        return _json(start, 200 if report.get("ok") else 503, report)

    def calendar_feed(self, environ: dict[str, Any], start: StartResponse) -> list[bytes]:
        assert self.calendar is not None
        body = self._unchanged(self.calendar())
        etag = f'"{hashlib.sha256(body).hexdigest()}"'
        headers = [
            ("ETag", etag),
            ("Cache-Control", "public, max-age=300"),
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
        status, headers, data, kind, what = self._events(environ)
        elapsed = time.perf_counter() - started
        outcome = "ok" if status < 400 else "rejected" if status < 500 else "error"
        log.info("%s %s -> %s in %.1f ms", kind, what or "-", status, elapsed * 1000,
                 extra={"kind": kind, "command": what, "status": status, "outcome": outcome,
                        "latency_ms": round(elapsed * 1000, 2)})  # fmt: skip
        if self.metrics is not None:
            self.metrics.requests.labels(kind, what if kind == "command" else kind, outcome).inc()
            self.metrics.latency.labels(kind).observe(elapsed)
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 413: "Payload Too Large",
                  415: "Unsupported Media Type"}.get(status, "")  # fmt: skip
        start(f"{status} {reason}".strip(), [*headers, ("Content-Length", str(len(data)))])
        return [data]

    def _events(
        self, environ: dict[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes, str, str]:
        """(status, headers, body, kind of request, its command or event) for one POST."""
        plain = [("Content-Type", "text/plain; charset=utf-8")]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 400, plain, b"Bad Content-Length", "rejected", ""
        if length > MAX_BODY:
            return 413, plain, b"Payload Too Large", "rejected", ""
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return 400, plain, b"Body is not UTF-8", "rejected", ""
        headers = _headers(environ)
        if not self._signed(body, headers):
            return 401, plain, b"Invalid signature", "rejected", ""
        ctype = headers.get("content-type", "")
        if not (
            ctype.startswith("application/json")
            or ctype.startswith("application/x-www-form-urlencoded")
        ):
            return 415, plain, b"Unsupported Media Type", "rejected", ""
        if not _well_formed(ctype, body):
            return 400, plain, b"Body does not match its content type", "rejected", ""
        kind, what = describe(ctype, body)
        response = self.app.dispatch(
            BoltRequest(body=body, query=environ.get("QUERY_STRING", ""), headers=headers)
        )
        out = [
            (k, v)
            for k, values in response.headers.items()
            for v in values
            if k.lower() != "content-length"
        ]
        data = response.body.encode() if isinstance(response.body, str) else (response.body or b"")
        return response.status, out, data, kind, what

    def metrics_page(self, environ: dict[str, Any], start: StartResponse) -> list[bytes]:
        """GET /metrics: Prometheus' text format."""
        assert self.metrics is not None
        return _respond(
            start, 200, self.metrics.render(), "text/plain; version=0.0.4; charset=utf-8"
        )


def _matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match against our ETag, by weak comparison as RFC 9110 asks."""
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


def run(server: Any) -> None:
    """Serve until `server.close()` (from a signal handler or another thread)."""
    try:
        server.run()
    except OSError:
        # closing the listening socket under the running loop ends it this way
        if server.socket is not None and server.socket.fileno() != -1:
            raise


def make_server(wsgi: Callable[..., Any], host: str, port: int, threads: int = 8):
    """A waitress server (not `app.start()`: one thread and a backlog of 5 lose requests)."""
    from waitress.server import create_server

    return create_server(
        wsgi,
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=MAX_BODY,
        ident="apec-bot",
        backlog=1024,
        channel_timeout=30,
        clear_untrusted_proxy_headers=True,
    )
