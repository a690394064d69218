"""Slack's Web API on keep-alive connections: slack_sdk's WebClient, its requests sent on a few
connections per host kept open and shared by every client and thread of the process, instead of a
new TCP (and TLS) connection for each call as urllib makes.

Everything above the sending stays slack_sdk's (the request it builds, its retry handlers, the
429's Retry-After, SlackApiError): only its last step, `_perform_urllib_http_request_internal`, is
replaced, and it answers and fails as urllib does there, so the handlers and our callers see no
difference: an HTTPError for a status that is not 2xx, a URLError for a failure to connect or to
send, and the error itself for a failure after the request was sent (a timeout, a dropped
connection).

Nothing here sends a request twice. A kept connection is checked before use; one the server has
closed meanwhile is dropped and a new one opened, nothing having been written on it. Any failure
once writing began is raised, whatever it was: a request that may have reached Slack is not sent
again without looking (bot/posting.py looks).
"""

from __future__ import annotations

import http.client
import io
import os
import select
import threading
import time
import urllib.error
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request

from slack_bolt import Respond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk import WebClient
from slack_sdk.errors import SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.webhook import WebhookClient, WebhookResponse

from bot.config import Config

KEEP = 8  # idle connections kept per host: the after-ack pool's workers, the scheduler besides
IDLE = 30.0  # seconds a connection may sit idle and still be used (Slack does not say its limit)
TIMEOUT = 10  # seconds a call may take to connect, and then between bytes of the answer


def web_client(config: Config, token: str | None = None) -> WebClient:
    """A Web API client that waits out 429s as Slack's Retry-After asks, and nothing else: the
    default handler would send a request again after a dropped connection, and a message or a
    canvas whose first sending may have arrived is not sent again without looking."""
    retry: list[RetryHandler] = [RateLimitErrorRetryHandler(max_retry_count=3)]
    return PooledWebClient(
        token=token, base_url=config.api_url, timeout=TIMEOUT, retry_handlers=retry
    )


class PooledWebClient(WebClient):
    """slack_sdk's WebClient, its calls sent on the process's kept connections (`_Pool`)."""

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy:  # through a proxy as slack_sdk goes there: urllib, a connection a call
            result: dict[str, Any] = super()._perform_urllib_http_request_internal(url, req)
            return result
        status, headers, body = _send(url, req, self.ssl, self.timeout)
        if headers.get_content_type() == "application/gzip":  # admin.analytics.getFile
            return {"status": status, "headers": headers, "body": body}
        charset = headers.get_content_charset() or "utf-8"
        return {"status": status, "headers": headers, "body": body.decode(charset)}


def _send(
    url: str, req: Request, context: Any, timeout: float | None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """`req` sent on the kept connections to its host: its status, headers and body; a status
    that is not 2xx raised as urllib raises it (slack_sdk reads a 429's Retry-After from it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SlackRequestError(f"Invalid URL detected: {url}")
    pool = _pool(parts.scheme, parts.hostname, parts.port, context)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    status, reason, headers, body = pool.send(req, target, timeout or TIMEOUT)
    if not 200 <= status < 300:
        raise urllib.error.HTTPError(url, status, reason, headers, io.BytesIO(body))
    return status, headers, body


class PooledWebhookClient(WebhookClient):
    """slack_sdk's client for a response_url, its posts sent on the kept connections."""

    def _perform_http_request_internal(self, url: str, req: Request) -> WebhookResponse:
        if self.proxy:
            response: WebhookResponse = super()._perform_http_request_internal(url, req)
            return response
        status, headers, body = _send(url, req, self.ssl, self.timeout)
        text = body.decode(headers.get_content_charset() or "utf-8")
        return WebhookResponse(url=url, status_code=status, body=text, headers=dict(headers))


class PooledRespond(Respond):
    """Bolt's `respond` (a command's or a button's response_url), its posts on the kept
    connections, and never sent twice: Bolt's own sends a post again after a dropped connection
    (slack_sdk's default handler for webhooks), when Slack may already have shown it. A 429 is
    waited out as Retry-After asks."""

    def __call__(
        self,
        text: str | dict[Any, Any] = "",
        blocks: Sequence[dict[Any, Any] | Block] | None = None,
        attachments: Sequence[dict[Any, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        client = PooledWebhookClient(
            url=self.response_url,
            timeout=TIMEOUT,
            ssl=self.ssl,
            proxy=self.proxy,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
        )
        if isinstance(text, dict):  # the whole message in one dict, as Bolt's takes it
            return client.send_dict(_build_message(**text))
        message = _build_message(
            text=text,
            blocks=blocks,
            attachments=attachments,
            response_type=response_type,
            replace_original=replace_original,
            delete_original=delete_original,
            unfurl_links=unfurl_links,
            unfurl_media=unfurl_media,
            thread_ts=thread_ts,
            metadata=metadata,
        )
        return client.send_dict(message)


def responder(response_url: str | None) -> PooledRespond:
    """A `respond` for a response_url, on the kept connections."""
    return PooledRespond(response_url=response_url)


def pooled_respond(respond: Respond) -> Respond:
    """Bolt's `respond` as a PooledRespond (the same address, proxy and TLS context)."""
    if isinstance(respond, PooledRespond):
        return respond
    return PooledRespond(response_url=respond.response_url, proxy=respond.proxy, ssl=respond.ssl)


_twins: dict[tuple[Any, ...], PooledWebClient] = {}
_twins_lock = threading.Lock()


def pooled(client: WebClient) -> WebClient:
    """The same client (token, address, timeout, team, retry handlers) on the kept connections:
    for the one Bolt makes for each request, a plain WebClient; made once, kept and shared (copy
    it to change it)."""
    if isinstance(client, PooledWebClient):
        return client
    handlers = list(client.retry_handlers)
    team = client.default_params.get("team_id")
    key: tuple[Any, ...] = (client.token, client.base_url, client.timeout, team, client.proxy)
    # The handlers and the TLS context are kept with the twin, so their ids stay theirs.
    key += (id(client.ssl), *(id(h) for h in handlers))
    with _twins_lock:
        found = _twins.get(key)
        if found is None:
            if len(_twins) >= 64:  # one team's bot token in practice: never grows past a few
                _twins.clear()
            found = _twins[key] = PooledWebClient(
                token=client.token,
                base_url=client.base_url,
                timeout=client.timeout,
                ssl=client.ssl,
                proxy=client.proxy,
                headers=dict(client.headers),
                team_id=team,
                logger=client.logger,
                retry_handlers=handlers,
            )
    return found


class _Pool:
    """Idle keep-alive connections to one host, the most recently used taken first."""

    def __init__(self, scheme: str, host: str, port: int | None, context: Any) -> None:
        self.scheme, self.host, self.port, self.context = scheme, host, port, context
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()

    def send(
        self, req: Request, target: str, timeout: float
    ) -> tuple[int, str, http.client.HTTPMessage, bytes]:
        """Send one request and read its whole answer: (status, reason, headers, body)."""
        conn = self._take(timeout)
        try:
            # The same call as urllib's, and its errors as urllib raises them: a failure to
            # connect or to write is a URLError, one after the request went out is itself.
            try:
                conn.request(req.get_method(), target, req.data, dict(req.header_items()))
            except OSError as exc:
                raise urllib.error.URLError(exc) from exc
            response = conn.getresponse()
            body = response.read()
        except BaseException:
            conn.close()
            raise
        if conn.sock is not None and not response.will_close:
            self._give(conn)
        return response.status, response.reason, response.msg, body

    def _take(self, timeout: float) -> http.client.HTTPConnection:
        """A kept connection still open (checked before a byte is written), else a new one."""
        now = time.monotonic()
        with self._lock:
            while self._idle:
                conn, since = self._idle.pop()
                if now - since < IDLE and _open(conn):
                    assert conn.sock is not None  # _open said so
                    conn.sock.settimeout(timeout)
                    return conn
                conn.close()
        if self.scheme == "https":
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=self.context
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _give(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < KEEP:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()

    def close(self) -> None:
        """Close every idle connection (a forked child's copies: the parent's stay open)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()


def _open(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection is still open: nothing to read on it (a close, or bytes nobody
    asked for, would be)."""
    if conn.sock is None:
        return False
    poller = select.poll()
    poller.register(conn.sock, select.POLLIN)
    return not poller.poll(0)


_pools: dict[tuple[str, str, int | None, int], _Pool] = {}
_pools_lock = threading.Lock()


def _pool(scheme: str, host: str, port: int | None, context: Any) -> _Pool:
    key = (scheme, host, port, id(context))
    with _pools_lock:
        found = _pools.get(key)
        if found is None or found.context is not context:
            found = _pools[key] = _Pool(scheme, host, port, context)
        return found


def _forget_pools() -> None:
    """In a forked child: the parent's connections are not the child's to use, and its locks may
    have been held by another thread at the fork (that thread does not exist here)."""
    global _pools_lock, _twins_lock
    _pools_lock = threading.Lock()
    _twins_lock = threading.Lock()
    for pool in list(_pools.values()):
        pool._lock = threading.Lock()
        pool.close()
    _pools.clear()


os.register_at_fork(after_in_child=_forget_pools)
