"""Who may change the calendar: the user IDs in APEC_ADMINS, and this workspace's admins
(users.info).

The look-up fails closed and fast: a short timeout, no retries, and what it found (or failed to
find) kept for a while, so a slow or rate-limited Slack holds no worker and delays no answer.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.webapi import PooledWebClient
from bot.workspace import Workspace

log = logging.getLogger("apec.permissions")
KEEP_ANSWER = 300.0  # seconds a users.info answer stands
KEEP_FAILURE = 30.0  # seconds a failed look-up stands (fail closed, ask again later)
TIMEOUT = 2  # seconds users.info may take (WebClient takes whole seconds)
IN_FLIGHT = 2  # look-ups at once: at most this many workers ever wait on Slack


def lookup_client(base_url: str, token: str | None) -> WebClient:
    """A Web API client for permission look-ups: a short timeout, and no retry on a 429; on the
    kept connections every Web API call shares (bot/webapi.py)."""
    return PooledWebClient(token=token, base_url=base_url, timeout=TIMEOUT)


class Permissions:
    """One check for every way in: commands, mentions, buttons and form submissions."""

    def __init__(
        self,
        admins: frozenset[str],
        client: WebClient,
        workspace: Workspace,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.admins = admins
        self.client = client
        self.workspace = workspace
        self.clock = clock
        self._cache: dict[str, tuple[bool, float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._down_until = float("-inf")  # users.info timed out or was rate-limited: stop asking
        self._slots = threading.BoundedSemaphore(IN_FLIGHT)

    def may_edit(self, user: str) -> bool:
        """Whether `user` may change the calendar; a failed or slow look-up says no."""
        if not user:
            return False
        if user in self.admins:
            return True
        known = self._known(user)
        if known is not None:
            return known
        if self.clock() < self._down_until:
            return False  # Slack is slow or limiting us: no worker waits on it meanwhile
        if not self._slots.acquire(blocking=False):
            log.warning("users.info busy: %s is not an admin for this request", user)
            return False
        try:
            with self._user_lock(user):  # one look-up per user at a time
                known = self._known(user)
                if known is not None:
                    return known
                allowed, keep = self._look_up(user)
                with self._lock:
                    self._cache[user] = (allowed, self.clock() + keep)
                return allowed
        finally:
            self._slots.release()

    def _known(self, user: str) -> bool | None:
        with self._lock:
            hit = self._cache.get(user)
        return hit[0] if hit is not None and self.clock() < hit[1] else None

    def _user_lock(self, user: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(user, threading.Lock())

    def _look_up(self, user: str) -> tuple[bool, float]:
        """(may edit, how long to keep that): a workspace admin of this workspace only."""
        try:
            info = self.client.users_info(user=user)["user"]
        except (SlackApiError, urllib.error.URLError, OSError, KeyError, TypeError) as exc:
            log.warning(
                "users.info for %s failed (%s): not an admin for now", user, type(exc).__name__
            )
            if not isinstance(exc, SlackApiError) or exc.response.status_code == 429:
                self._down_until = self.clock() + KEEP_FAILURE  # slow or limited: for everyone
            return False, KEEP_FAILURE
        admin = bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
        if admin and not self.workspace.known:  # auth.test not answered yet: no verdict to keep
            log.warning(
                "user %s is an admin, but this workspace is not known yet: not for now", user
            )
            return False, KEEP_FAILURE
        if admin and not self.workspace.has_user(info):
            log.warning("user %s is an admin of another workspace: not of this one", user)
            return False, KEEP_ANSWER
        return admin, KEEP_ANSWER


KEEP_NAME = 3600.0  # seconds a user's display name stands


class Names:
    """A user's name as Slack shows it (users.info: the display name, else the real name, else
    the handle), to name people in a channel without pinging them; None when Slack does not say.
    Kept an hour; fails soft and fast, as the admin check does."""

    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._cache: dict[str, tuple[str | None, float]] = {}
        self._lock = threading.Lock()
        self._down_until = float("-inf")

    def name(self, user: str) -> str | None:
        """`user`'s name, from users.info at most once an hour."""
        with self._lock:
            hit = self._cache.get(user)
        if hit is not None and self.clock() < hit[1]:
            return hit[0]
        if not user or self.clock() < self._down_until:
            return None
        found, keep = self._look_up(user)
        with self._lock:
            self._cache[user] = (found, self.clock() + keep)
        return found

    def _look_up(self, user: str) -> tuple[str | None, float]:
        try:
            info = self.client.users_info(user=user)["user"]
        except (SlackApiError, urllib.error.URLError, OSError, KeyError, TypeError) as exc:
            log.warning(
                "users.info for %s failed (%s): not named for now", user, type(exc).__name__
            )
            if not isinstance(exc, SlackApiError) or exc.response.status_code == 429:
                self._down_until = self.clock() + KEEP_FAILURE
            return None, KEEP_FAILURE
        profile = info.get("profile") if isinstance(info.get("profile"), dict) else {}
        for found in (
            profile.get("display_name"),
            profile.get("real_name"),
            info.get("real_name"),
            info.get("name"),
        ):
            if isinstance(found, str) and found.strip():
                return found.strip(), KEEP_NAME
        return None, KEEP_NAME
