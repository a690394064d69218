"""Who may change the calendar: the user IDs in APEC_ADMINS, and the workspace's admins (users.info)."""

from __future__ import annotations

import logging
import threading
import time
import urllib.error

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("apec.permissions")
CACHE_SECONDS = 300.0


class Permissions:
    """One check for every way in: commands, mentions, buttons and form submissions."""

    def __init__(self, admins: frozenset[str], client: WebClient) -> None:
        self.admins = admins
        self.client = client
        self._cache: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def may_edit(self, user: str) -> bool:
        """Whether `user` may change the calendar; a failed look-up says no (and is logged)."""
        if not user:
            return False
        if user in self.admins:
            return True
        with self._lock:
            hit = self._cache.get(user)
            if hit is not None and time.monotonic() - hit[1] < CACHE_SECONDS:
                return hit[0]
        try:
            info = self.client.users_info(user=user)["user"]
            allowed = bool(
                info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner")
            )
        except (SlackApiError, urllib.error.URLError, OSError, KeyError, TypeError) as exc:
            log.warning(
                "users.info for %s failed (%s): treated as not an admin", user, type(exc).__name__
            )
            return False
        with self._lock:
            self._cache[user] = (allowed, time.monotonic())
        return allowed
