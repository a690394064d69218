"""What never reaches a listener: a request from another team or enterprise (refused, and logged),
and an event Slack sends again because it thinks it was lost (answered once).

The workspace is checked in `refusal` alone: Bolt's middleware asks it (through `refused`), and so
do the HTTP front's short ways for `/apec` and mentions that go without Bolt
(bot/listeners/commands.py, bot/replies.py); an event's repeat in `handled_before`, for both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltResponse

from bot.stores import Stores
from bot.workspace import Workspace

log = logging.getLogger("apec.app")

ELSEWHERE = "This app answers only in the workspace it is installed in."


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused ("team T2"), and what it is answered."""

    why: str
    response: BoltResponse


def refusal(workspace: Workspace, body: Any) -> Refusal | None:
    """How a request from another workspace is answered (a command is told why, anything else
    gets an empty 200); None for a request from ours."""
    why = workspace.foreign(body)
    if not why:
        return None
    is_command = isinstance(body, dict) and "command" in body
    return Refusal(why, BoltResponse(status=200, body=ELSEWHERE if is_command else ""))


def refused(workspace: Workspace, body: Any) -> BoltResponse | None:
    """The answer to a request from another workspace, logged; None for a request from ours."""
    found = refusal(workspace, body)
    if found is None:
        return None
    log.warning("refused a request from %s: this app serves one workspace", found.why)
    return found.response


def handled_before(stores: Stores, clock: Callable[[], datetime], body: Any) -> bool:
    """Whether a body is an event handled already (Slack sent it again), logged; an event seen
    for the first time is claimed."""
    event_id = body.get("event_id") if isinstance(body, dict) else None
    if event_id and not stores.claim_event(str(event_id), clock()):  # text, if Slack's ever not
        log.info("event %s already handled: acknowledged, not answered again", event_id)
        return True
    return False


def register(app: App, workspace: Workspace, stores: Stores, clock: Callable[[], datetime]) -> None:
    @app.middleware
    def gate(body: dict, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        refusing = refused(workspace, body)
        if refusing is not None:
            return refusing
        if handled_before(stores, clock, body):
            return BoltResponse(status=200, body="")
        return next()
