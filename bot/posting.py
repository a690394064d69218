"""Where scheduled posts go: Slack's Web API, or the console. Both say the same two things."""

from __future__ import annotations

import itertools
import threading
import time
import urllib.error
from typing import Protocol, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.render import Card

METADATA_TYPE = "apec_post"
# Errors worth trying again later; anything else Slack says will not change by waiting.
TRANSIENT = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}


class PostError(Exception):
    """Slack refused a post: `error` is its reason; `transient` says whether to try again."""

    def __init__(self, error: str, transient: bool) -> None:
        super().__init__(error)
        self.error = error
        self.transient = transient


class Poster(Protocol):
    """Posts messages and finds a post again by its key (after a crash)."""

    def post(self, channel: str, card: Card, key: str) -> str: ...

    def find(self, channel: str, key: str, since: float) -> str | None: ...

    def dm(self, user: str, card: Card) -> tuple[str, str]: ...


class SlackPoster:
    """chat.postMessage with the key in the message's metadata; conversations.history to find it."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, card: Card, key: str) -> str:
        """Post; Slack's ts, or PostError."""
        payload = card.payload()
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=payload["text"],
                blocks=payload.get("blocks"),
                metadata={"event_type": METADATA_TYPE, "event_payload": {"key": key}},
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) or f"http_{exc.response.status_code}"
            raise PostError(error, error in TRANSIENT or exc.response.status_code >= 500) from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise PostError(f"network: {type(exc).__name__}", transient=True) from exc
        return str(response["ts"])

    def dm(self, user: str, card: Card) -> tuple[str, str]:
        """A direct message to a user, through the D… channel `conversations.open` gives: (its
        id, the message's ts)."""
        try:
            channel = str(self.client.conversations_open(users=[user])["channel"]["id"])
            payload = card.payload()
            response = self.client.chat_postMessage(
                channel=channel, text=payload["text"], blocks=payload["blocks"], unfurl_links=False
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) or f"http_{exc.response.status_code}"
            raise PostError(error, transient=False) from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise PostError(f"network: {type(exc).__name__}", transient=False) from exc
        return channel, str(response["ts"])

    def find(self, channel: str, key: str, since: float) -> str | None:
        """The ts of a post with this key in the channel's history since a time; None if not there."""
        cursor = None
        for _ in range(10):  # at most 10 pages of 200: a crash is found within minutes of its claim
            try:
                response = self.client.conversations_history(
                    channel=channel,
                    oldest=f"{since:.6f}",
                    limit=200,
                    include_all_metadata=True,
                    cursor=cursor,
                )
            except SlackApiError as exc:
                raise PostError(str(exc.response.get("error", "")), transient=True) from exc
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                raise PostError(f"network: {type(exc).__name__}", transient=True) from exc
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


class ConsolePoster:
    """The console adapter's Slack: posts are printed, and remembered so they can be found again."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.sent: dict[str, str] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)

    def post(self, channel: str, card: Card, key: str) -> str:
        with self._lock:
            ts = f"{time.time():.0f}.{next(self._ts):06d}"
            self.sent[key] = ts
            self.out.write(f"\n[posted to #{channel}]\n{card.plain()}\n")
            self.out.flush()
            return ts

    def dm(self, user: str, card: Card) -> tuple[str, str]:
        with self._lock:
            self.out.write(f"\n[direct message to {user}]\n{card.plain()}\n")
            self.out.flush()
            return f"D-{user}", f"{time.time():.0f}.{next(self._ts):06d}"

    def find(self, channel: str, key: str, since: float) -> str | None:
        return self.sent.get(key)
