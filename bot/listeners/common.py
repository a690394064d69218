"""What the listeners share: how a question is made and answered, the pool for what comes after an
ack, who pressed a button where, and how a page goes to Slack (into a channel, people named
without being pinged)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.permissions import Names
from bot.webapi import pooled, pooled_respond
from handlers.render import Card, esc
from handlers.router import Ask

log = logging.getLogger("apec.app")

Body = dict[str, Any]  # a request's payload as Bolt hands it to a listener
Work = Callable[[Body, Respond, WebClient], None]  # what a button does after its ack
Responder = Callable[..., Any]  # Bolt's `respond` (a command's response_url), or a stand-in

NO_FORM = (
    "I could not open the form; type the change instead, e.g. "
    '`/apec add-meeting "SOM3" 2026-08-10..2026-08-21 Dalian`.'
)


class AskFrom(Protocol):
    """A question from Slack; with the asker's own zone when it reads or shows their times (by
    default, when its command does)."""

    def __call__(self, text: str, user: str, channel: str, zoned: bool | None = None) -> Ask: ...


@dataclass(frozen=True)
class Listening:
    """What every listener is built with: how a question is made (`ask`) and answered (`answer`:
    the store's plain reply when it does not open), the pool for the work after an ack, and
    people's names for what goes into a channel."""

    ask: AskFrom
    answer: Callable[[str, str, str], Card]
    later: ThreadPoolExecutor
    names: Names


def after(later: ThreadPoolExecutor, work: Callable[..., Any], *args: Any) -> None:
    """Run `work` after the ack, on the pool; a failure is logged (a future would keep it quiet).
    A Web API client or a `respond` among `args` (Bolt makes plain ones for each request) is given
    to `work` on the kept connections (bot/webapi.py), there, off the ack's path."""

    def run() -> None:
        try:
            work(*(_on_kept_connections(a) for a in args))
        except Exception:
            log.exception("%s failed after the ack", _name(work))

    later.submit(run)


def _on_kept_connections(arg: Any) -> Any:
    """A Web API client or a `respond` Bolt made, as the same on the kept connections."""
    if isinstance(arg, WebClient):
        return pooled(arg)
    if isinstance(arg, Respond):
        return pooled_respond(arg)
    return arg


def acked(later: ThreadPoolExecutor, work: Work) -> Callable[[Ack, Body, Respond, WebClient], None]:
    """A listener that acknowledges at once and does `work(body, respond, client)` after, on
    `later`: Bolt sends the ack only when the listener returns; a slow Slack must not hold it."""

    def listener(ack: Ack, body: Body, respond: Respond, client: WebClient) -> None:
        ack()
        after(later, work, body, respond, client)

    listener.__name__ = listener.__qualname__ = _name(work)  # Bolt's logs name the listener
    return listener


def _name(work: Callable[..., Any]) -> str:
    """What a piece of work is called in a log line (a partial by its function's name)."""
    return str(getattr(getattr(work, "func", work), "__name__", "work"))


def who_where(body: Body) -> tuple[str, str]:
    """Who sent a button's press, and in which channel ("" where Slack says none: the Home tab)."""
    user = (body.get("user") or {}).get("id", "")
    channel = (body.get("channel") or {}).get("id", "")
    return str(user), str(channel)


# -- what goes into a channel ------------------------------------------------------------------

_PERSON = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


def public(page: dict[str, Any], names: Names) -> dict[str, Any]:
    """A page as it may go into a channel: each person it names by their name, not a mention, so
    that nobody is pinged by a post someone else caused (a history, a reminder's confirmation)."""

    def named(match: re.Match[str]) -> str:
        found = names.name(match[1])
        return "@" + esc(found) if found else "someone"

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return _PERSON.sub(named, value)
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, dict):
            return {
                k: (v if k in ("action_id", "value", "type") else fix(v)) for k, v in value.items()
            }
        return value

    return fix(page)


def message(page: dict[str, Any]) -> dict[str, Any]:
    """A page as `chat.postMessage` and its kin take it: its fallback text and its blocks."""
    return {"text": page["text"], "blocks": page["blocks"]}


def send(respond: Responder, page: dict[str, Any], names: Names, replace: bool = False) -> None:
    """One page by a command's response_url: as `public` makes it when it is for the channel."""
    shown = public(page, names) if page.get("response_type") == "in_channel" else page
    respond(**shown, replace_original=replace)


def respond_all(
    respond: Responder, pages: list[dict[str, Any]], names: Names | None = None
) -> None:
    """Each page by the response_url, after the one shown (as `send` makes it, given `names`)."""
    for page in pages:
        if names is not None:
            send(respond, page, names)
        else:
            respond(**page, replace_original=False)


def say(respond: Responder, text: str) -> None:
    """One line to the asker alone, after what they were shown."""
    respond(**Card().section(text).payload(), replace_original=False)


def open_form(client: WebClient, respond: Responder, trigger: str, view: dict[str, Any]) -> None:
    """A form (a modal) opened for its trigger; if Slack will not, the asker is told to type."""
    try:
        pooled(client).views_open(trigger_id=trigger, view=view)
    except SlackApiError as exc:
        log.warning("views.open failed: %s", exc.response.get("error"))
        say(respond, NO_FORM)
