"""What Slack knows about the one asking and the channel named: a user's own time zone
(`users.info` → `tz`) and whether the bot is in a channel (`conversations.info` → `is_member`).

Both are kept for a while (a zone for an hour) and fail soft and fast, as bot/permissions.py
does: its client (a short timeout, no retry), at most four look-ups waiting on Slack at once, and
none for half a minute after Slack was slow or limited us. What cannot be learnt is None: the
caller falls back to APEC_TZ for a zone, and says it cannot tell for a channel.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import urllib.error
from collections.abc import Callable
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import ConfigError, parse_tz
from bot.permissions import TIMEOUT

log = logging.getLogger("apec.users")
KEEP_ZONE = 3600.0  # seconds a user's zone stands: people rarely move, and Slack tells on the next
KEEP_MEMBER = 60.0  # seconds a channel's membership stands: an `/invite` is seen within a minute
KEEP_FAILURE = 30.0  # seconds a failed look-up stands, and Slack is left alone after a timeout
IN_FLIGHT = 4  # look-ups at once: at most this many workers ever wait on Slack
WAIT_SLOT = 0.5  # seconds a look-up waits for one of those to be free
WAIT_KEY = TIMEOUT + 0.5  # seconds a look-up waits for another's of the same key
NETWORK = (urllib.error.URLError, OSError)
_CHANNEL = re.compile(r"[CG][A-Z0-9]{1,30}")  # a public or private channel's id, not a DM's
T = TypeVar("T")


class _Kept(Generic[T]):
    """Answers kept per key until they expire, one look-up per key at a time, a few at once in
    all; none while Slack is down, and none waited for long (then None, not kept)."""

    def __init__(self, what: str, clock: Callable[[], float]) -> None:
        self.what, self.clock = what, clock
        self._found: dict[str, tuple[T | None, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(IN_FLIGHT)
        self.down_until = float("-inf")

    def get(self, key: str, look_up: Callable[[str], tuple[T | None, float]]) -> T | None:
        hit = self._hit(key)
        if hit is not None or self.clock() < self.down_until:
            return hit[0] if hit is not None else None
        # Who asks for a key another thread is looking up waits for that answer, up to the
        # client's timeout, holding no slot meanwhile.
        lock = self._key_lock(key)
        if not lock.acquire(timeout=WAIT_KEY):
            return None
        try:
            hit = self._hit(key)
            if hit is not None:
                return hit[0]
            if not self._slots.acquire(timeout=WAIT_SLOT):
                log.warning("%s busy: %s not known for this request", self.what, key)
                return None
            try:
                if self.clock() < self.down_until:
                    return None  # Slack was slow or limited us a moment ago: nobody waits on it
                value, keep = look_up(key)
            finally:
                self._slots.release()
            with self._lock:
                self._found[key] = (value, self.clock() + keep)
            return value
        finally:
            lock.release()

    def failed(self, key: str, exc: Exception) -> float:
        """Log a failed look-up; how long to keep its None. Slow, limiting us or failing itself
        (a 5xx): Slack is left alone for a while."""
        log.warning("%s for %s failed (%s): not known for now", self.what, key, _why(exc))
        status = exc.response.status_code if isinstance(exc, SlackApiError) else 0
        if status == 0 or status == 429 or status >= 500:
            self.down_until = self.clock() + KEEP_FAILURE
        return KEEP_FAILURE

    def _hit(self, key: str) -> tuple[T | None] | None:
        with self._lock:
            found = self._found.get(key)
        return (found[0],) if found is not None and self.clock() < found[1] else None

    def _key_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())


def _why(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__


class UserZones:
    """A user's own time zone, as their Slack profile gives it; None when Slack does not say."""

    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self._kept: _Kept[ZoneInfo] = _Kept("users.info", clock)

    def zone(self, user: str) -> ZoneInfo | None:
        """`user`'s zone, from users.info at most once an hour."""
        return self._kept.get(user, self._look_up) if user else None

    def _look_up(self, user: str) -> tuple[ZoneInfo | None, float]:
        try:
            info = self.client.users_info(user=user)["user"]
        except SlackApiError as exc:
            if exc.response.get("error") in ("user_not_found", "users_not_found"):
                return None, KEEP_ZONE  # it will not be found in a minute either
            return None, self._kept.failed(user, exc)
        except (*NETWORK, KeyError, TypeError) as exc:
            return None, self._kept.failed(user, exc)
        name = str(info.get("tz") or "") if isinstance(info, dict) else ""
        try:
            return (parse_tz(name, "users.info tz") if name else None), KEEP_ZONE
        except ConfigError:
            log.warning("users.info gave %s a zone that is not an IANA name: not used", user)
            return None, KEEP_ZONE


class Membership:
    """Whether the bot is in a channel: True, False, or None when Slack cannot tell us."""

    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self._kept: _Kept[bool] = _Kept("conversations.info", clock)

    def member_of(self, channel: str) -> bool | None:
        """True when the bot is in `channel` (a C… or G… id); a DM or anything else: None."""
        if not _CHANNEL.fullmatch(channel):
            return None
        return self._kept.get(channel, self._look_up)

    def _look_up(self, channel: str) -> tuple[bool | None, float]:
        try:
            found = self.client.conversations_info(channel=channel)["channel"]
        except SlackApiError as exc:
            if exc.response.get("error") == "channel_not_found":
                return False, KEEP_MEMBER  # a private channel the bot is not in looks like this
            return None, self._kept.failed(channel, exc)
        except (*NETWORK, KeyError, TypeError) as exc:
            return None, self._kept.failed(channel, exc)
        member = found.get("is_member") if isinstance(found, dict) else None
        return (member if isinstance(member, bool) else None), KEEP_MEMBER
