"""One workspace: the team (and enterprise) the bot is installed in, learned from `auth.test`, and
the check every request passes. Multi-workspace installs are out of scope: a request from another
team or enterprise (Slack Connect, a second install) is refused with a log line."""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("apec.workspace")


class Workspace:
    """Where the bot is installed; unknown until `auth.test` first answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.team_id = ""
        self.enterprise_id = ""

    def learn(self, team_id: str | None, enterprise_id: str | None) -> None:
        """What `auth.test` said: the bot's own team and enterprise."""
        with self._lock:
            self.team_id, self.enterprise_id = team_id or "", enterprise_id or ""

    @property
    def known(self) -> bool:
        return bool(self.team_id)

    def foreign(self, body: Any) -> str:
        """Why a request comes from another workspace ("team T2"), or "" when it does not (or
        when the bot's own team is not known yet: then a foreign user still cannot edit)."""
        if not self.known or not isinstance(body, dict):
            return ""
        for team in _teams(body):
            if team != self.team_id:
                return f"team {team}"
        for enterprise in _enterprises(body):
            if enterprise != self.enterprise_id:
                return f"enterprise {enterprise}"
        return ""

    def has_user(self, user_info: dict[str, Any]) -> bool:
        """Whether a `users.info` user is of this workspace (a Slack Connect guest is not)."""
        return self.known and user_info.get("team_id") == self.team_id


def _get(body: dict[str, Any], *path: str) -> Any:
    found: Any = body
    for key in path:
        found = found.get(key) if isinstance(found, dict) else None
    return found


def _teams(body: dict[str, Any]) -> list[str]:
    """Every team a request speaks for: the payload's, the user's, the event's."""
    found = [
        _get(body, "team_id"),
        _get(body, "team", "id"),
        _get(body, "user", "team_id"),
        _get(body, "user_team_id"),
        _get(body, "event", "user_team"),
        _get(body, "event", "source_team"),
    ]
    return [t for t in found if isinstance(t, str) and t]


def _enterprises(body: dict[str, Any]) -> list[str]:
    found = [_get(body, "enterprise_id"), _get(body, "enterprise", "id")]
    return [e for e in found if isinstance(e, str) and e]
