"""Serving the app over HTTP: a small WSGI front for Bolt under waitress, /healthz, /calendar.ics.

The front refuses what Bolt should never see: bodies over 1 MiB (413), bad or stale signatures (401),
bodies that are not what their content type says (400). Everything else goes to `App.dispatch`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

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


class SlackHTTP:
    """The WSGI application: POST /slack/events to Bolt, GET /healthz, GET /calendar.ics."""

    def __init__(
        self,
        app: App,
        signing_secret: str,
        health: Callable[[], dict[str, Any]],
        calendar: Callable[[], bytes] | None = None,
    ) -> None:
        self.app = app
        self.verifier = SignatureVerifier(signing_secret)
        self.health = health
        self.calendar = calendar
        self._feed: tuple[bytes, bytes] = (b"", b"")  # (the feed without DTSTAMP, as served)
        self.routes: dict[
            tuple[str, str], Callable[[dict[str, Any], StartResponse], list[bytes]]
        ] = {
            ("GET", "/healthz"): self.healthz,
            ("POST", EVENTS_PATH): self.events,
        }
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
        started = time.perf_counter()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _respond(start, 400, "Bad Content-Length")
        if length > MAX_BODY:
            return _respond(start, 413, "Payload Too Large")
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _respond(start, 400, "Body is not UTF-8")
        headers = _headers(environ)
        if not self._signed(body, headers):
            return _respond(start, 401, "Invalid signature")
        ctype = headers.get("content-type", "")
        if not (
            ctype.startswith("application/json")
            or ctype.startswith("application/x-www-form-urlencoded")
        ):
            return _respond(start, 415, "Unsupported Media Type")
        if not _well_formed(ctype, body):
            return _respond(start, 400, "Body does not match its content type")
        response = self.app.dispatch(
            BoltRequest(body=body, query=environ.get("QUERY_STRING", ""), headers=headers)
        )
        log.debug(
            "POST %s -> %s in %.1f ms",
            EVENTS_PATH,
            response.status,
            (time.perf_counter() - started) * 1000,
        )
        out_headers = [
            (k, v)
            for k, values in response.headers.items()
            for v in values
            if k.lower() not in ("content-length",)
        ]
        data = response.body.encode() if isinstance(response.body, str) else (response.body or b"")
        start(
            f"{response.status} {'OK' if response.status == 200 else ''}".strip(),
            [*out_headers, ("Content-Length", str(len(data)))],
        )
        return [data]


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
