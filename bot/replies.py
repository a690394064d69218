"""Replies kept for the commands whose reply depends on nothing else (`Command.kept`): the next to
ask the same within the minute gets them at once, and the HTTP front can answer it without Bolt."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.gate import refusal
from bot.stores import Stores
from bot.workspace import Workspace
from handlers.render import Card, from_slack

Key = tuple[str, int, datetime]  # (the words, the store's epoch, the minute)


class Replies:
    """Replies kept per (words, store epoch, minute) for the commands whose reply depends on
    nothing else (`Command.kept`): the next to ask the same in that minute gets them at once,
    and the HTTP front can answer it without Bolt at all (`json`)."""

    SIZE = 512

    def __init__(self, stores: Stores, clock: Callable[[], datetime]) -> None:
        self.stores, self.clock = stores, clock
        self._kept: OrderedDict[Key, tuple[list[dict[str, Any]], bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, text: str) -> Key:
        minute = self.clock().replace(second=0, microsecond=0)
        return " ".join(text.split()), self.stores.epoch(), minute

    def pages(self, text: str, answer: Callable[[], Card]) -> list[dict[str, Any]]:
        """The reply's pages, kept or made (and kept, unless it is about a passing trouble)."""
        key = self._key(text)
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found[0]
        card = answer()
        pages = card.pages()
        if not card.transient:
            # What Bolt would send for ack(pages[0]), made once: the front may send it itself.
            first = json.dumps(pages[0]).encode() if len(pages) == 1 else b""
            with self._lock:
                self._kept[key] = (pages, first)
                if len(self._kept) > self.SIZE:
                    self._kept.popitem(last=False)
        return pages

    def json(self, text: str) -> bytes | None:
        """The whole HTTP answer to `/apec text` when it is kept and fits one message; else None
        (it goes through Bolt, which makes and keeps it)."""
        key = self._key(text)
        with self._lock:
            found = self._kept.get(key)
        return found[1] if found is not None and found[1] else None


def kept_reply(replies: Replies, workspace: Workspace, body: dict[str, Any]) -> bytes | None:
    """The front's short way for a `/apec` command whose reply is kept: the JSON Bolt's ack would
    send, for a request the gate lets through (bot/gate.py). None sends it through Bolt (which
    refuses one from another workspace)."""
    if body.get("command") != "/apec" or refusal(workspace, body) is not None:
        return None
    return replies.json(from_slack(str(body.get("text", ""))))
