"""Where scheduled posts go: Slack's Web API, or the console. Both say the same two things.

Every outcome of a post is one of three: Slack's `ts` (it is out); a `PostError` that is a clear
refusal (Slack answered an error such as `not_in_channel`, or 429: nothing was posted); or a
`PostError` with `unknown` set (a timeout, a connection error, a 5xx, Slack's own `internal_error`):
the post may be out, and only the channel's history can say.

A post whose target is a person (a reminder for them: store.desk.is_user) is a direct message: the
D… channel `conversations.open` gives (kept for the process), then chat.postMessage there with the
key in the metadata, as any post; it is looked for in that channel's history. Opening it posts
nothing, so its failure is a refusal, never an unknown outcome.
"""

from __future__ import annotations

import copy
import http.client
import io
import itertools
import math
import threading
import time
import urllib.error
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from handlers.render import Card
from store.desk import is_user

METADATA_TYPE = "apec_post"
# Refusals worth trying again later; anything else Slack refuses will not change by waiting.
TRANSIENT = {"ratelimited", "service_unavailable", "request_timeout"}
# Errors Slack answers when it may have done part of the work ("it's possible some aspect of the
# operation succeeded"): the outcome is unknown, like a 5xx.
MAYBE_DONE = {"internal_error", "fatal_error"}
MAX_WAIT = 10.0  # the longest Retry-After a post waits out; a longer one is a refusal, tried later
WAITS = 2  # 429s waited out in one post: at most WAITS * MAX_WAIT seconds of waiting
# Network failures after which the request may have reached Slack.
NETWORK = (urllib.error.URLError, OSError, http.client.HTTPException)

_budget: ContextVar[Callable[[], float]] = ContextVar("wait_budget", default=lambda: math.inf)


class PostError(Exception):
    """A post that did not come back with a ts: `error` says why; `transient`, whether a refusal is
    worth trying again; `unknown`, that the post may be out (look in the channel before
    resending)."""

    def __init__(self, error: str, transient: bool, unknown: bool = False) -> None:
        super().__init__(error)
        self.error = error
        self.transient = transient
        self.unknown = unknown


class Poster(Protocol):
    """Posts messages and finds a post again by its key (after a crash or an unknown outcome)."""

    def post(self, channel: str, card: Card, key: str) -> str: ...

    def find(self, channel: str, key: str, since: float) -> str | None: ...

    def dm(self, user: str, card: Card) -> tuple[str, str]: ...


@contextmanager
def waits_within(budget: Callable[[], float]) -> Iterator[None]:
    """Inside, a 429 is waited out only if the wait ends within `budget()` seconds (the scheduler
    passes what is left of its lease, so no wait outlasts it)."""
    token = _budget.set(budget)
    try:
        yield
    finally:
        _budget.reset(token)


def retry_after(response: HttpResponse) -> float:
    """Seconds Slack asks to wait (its Retry-After header; 1 when it says nothing usable)."""
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                break
    return 1.0


class RateLimitWait(RetryHandler):
    """Waits out a 429 only when Slack's Retry-After is at most `max_wait` seconds and within the
    budget of `waits_within`; otherwise the 429 reaches the caller as a refusal (nothing posted)."""

    def __init__(self, max_wait: float = MAX_WAIT, waits: int = WAITS) -> None:
        super().__init__(max_retry_count=waits)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after(response)
        return wait <= self.max_wait and wait < _budget.get()()

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None  # _can_retry answers True only for a response
        state.next_attempt_requested = True
        time.sleep(retry_after(response))  # Slack's own instruction; bounded by _can_retry
        state.increment_current_attempt()


class SlackPoster:
    """chat.postMessage with the key in the message's metadata; conversations.history to find it.

    It posts through its own copy of `client` (same token, address and timeout) whose only retry is
    `RateLimitWait`: a request that timed out or lost its connection is never re-sent blind.
    """

    def __init__(self, client: WebClient, max_wait: float = MAX_WAIT, waits: int = WAITS) -> None:
        self.client = copy.copy(client)
        self.client.retry_handlers = [RateLimitWait(max_wait, waits)]
        self._ims: dict[str, str] = {}  # a person's id -> the D… channel of our messages to them

    def post(self, channel: str, card: Card, key: str) -> str:
        """Post to a channel, or to a person as a direct message; Slack's ts, or PostError (a
        refusal, or an unknown outcome)."""
        payload = card.payload()
        conversation = self._conversation(channel)
        try:
            response = self.client.chat_postMessage(
                channel=conversation,
                text=payload["text"],
                blocks=payload.get("blocks"),
                metadata={"event_type": METADATA_TYPE, "event_payload": {"key": key}},
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            raise _slack_error(exc) from exc
        except NETWORK as exc:
            raise PostError(f"network: {type(exc).__name__}", True, unknown=True) from exc
        return str(response["ts"])

    def dm(self, user: str, card: Card) -> tuple[str, str]:
        """A direct message to a user, through the D… channel `conversations.open` gives: (its
        id, the message's ts). Never retried, never looked for: any failure is final."""
        try:
            channel = str(self.client.conversations_open(users=[user])["channel"]["id"])
            payload = card.payload()
            response = self.client.chat_postMessage(
                channel=channel, text=payload["text"], blocks=payload["blocks"], unfurl_links=False
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) or f"http_{exc.response.status_code}"
            raise PostError(error, transient=False) from exc
        except NETWORK as exc:
            raise PostError(f"network: {type(exc).__name__}", transient=False) from exc
        return channel, str(response["ts"])

    def find(self, channel: str, key: str, since: float) -> str | None:
        """The ts of a post with this key in the channel's (or the direct messages') history
        since a time; None if not there."""
        channel = self._conversation(channel)
        cursor = None
        for _ in range(10):  # at most 10 pages of 200: a claim is resolved within minutes of it
            response = self._history(channel, since, cursor)
            for message in response.get("messages", []):
                metadata = message.get("metadata") or {}
                if (
                    metadata.get("event_type") == METADATA_TYPE
                    and metadata.get("event_payload", {}).get("key") == key
                ):
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                return None
        return None

    def _conversation(self, target: str) -> str:
        """Where a post to `target` goes: a channel as it is; a person, the D… channel of our
        direct messages to them (conversations.open, once per person). Opening one posts nothing:
        a failure is a refusal (PostError, transient when Slack may answer later)."""
        if not is_user(target):
            return target
        found = self._ims.get(target)
        if found is None:
            try:
                response = self.client.conversations_open(users=[target])
            except SlackApiError as exc:
                refused = _slack_error(exc)
                raise PostError(refused.error, refused.transient or refused.unknown) from exc
            except NETWORK as exc:
                raise PostError(f"network: {type(exc).__name__}", True) from exc
            found = self._ims[target] = str(response["channel"]["id"])
        return found

    def _history(self, channel: str, since: float, cursor: str | None) -> Any:
        """One page of conversations.history; PostError (to look again later) if Slack fails."""
        try:
            return self.client.conversations_history(
                channel=channel,
                oldest=f"{since:.6f}",
                limit=200,
                include_all_metadata=True,
                cursor=cursor,
            )
        except SlackApiError as exc:
            raise PostError(str(exc.response.get("error", "")), transient=True) from exc
        except NETWORK as exc:
            raise PostError(f"network: {type(exc).__name__}", transient=True) from exc


def _slack_error(exc: SlackApiError) -> PostError:
    """What an error answer from Slack means for a post: a refusal, or an unknown outcome."""
    status = exc.response.status_code
    error = str(exc.response.get("error", "")) or f"http_{status}"
    if status >= 500 or error in MAYBE_DONE:
        return PostError(error, transient=True, unknown=True)
    return PostError(error, transient=status == 429 or error in TRANSIENT)


class ConsolePoster:
    """The console adapter's Slack: posts are printed, and remembered so they can be found again."""

    def __init__(self, out: TextIO | io.TextIOBase) -> None:
        self.out = out
        self.sent: dict[str, str] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)

    def post(self, channel: str, card: Card, key: str) -> str:
        with self._lock:
            ts = f"{time.time():.0f}.{next(self._ts):06d}"
            self.sent[key] = ts
            where = f"direct message to {channel}" if is_user(channel) else f"posted to #{channel}"
            self.out.write(f"\n[{where}]\n{card.plain()}\n")
            self.out.flush()
            return ts

    def dm(self, user: str, card: Card) -> tuple[str, str]:
        with self._lock:
            self.out.write(f"\n[direct message to {user}]\n{card.plain()}\n")
            self.out.flush()
            return f"D-{user}", f"{time.time():.0f}.{next(self._ts):06d}"

    def find(self, channel: str, key: str, since: float) -> str | None:
        return self.sent.get(key)
