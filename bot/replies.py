"""Replies kept for the commands whose reply depends on nothing else (`Command.kept`): the next to
ask the same within the minute gets them at once, and the HTTP front can answer it without Bolt.

"The same" is what the reader understood, not the characters typed: the command by its name (an
alias resolved, any case), its arguments' spacing collapsed and, for a command whose answer is the
same in any case (`FOLDED`), their case folded. `understood` says it; those words are answered.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from bot.gate import refusal
from bot.stores import Stores
from bot.workspace import Workspace
from handlers.render import Card, from_slack
from handlers.router import MAX_INPUT, lookup, split

Key = tuple[str, int, datetime]  # (the words as understood, the store's epoch, the minute)

# Kept commands whose answer is the same whatever the case of their arguments (they read none):
# their arguments' case is folded. Every other kept command's answer may show its arguments as
# typed (a name not on record, quoted back; "US" read otherwise than "us"), so they are kept as
# typed. tests/test_lean_path.py asks every kept command in lower, upper and title case.
FOLDED: frozenset[str] = frozenset({"countdown", "members"})


def understood(text: str) -> str | None:
    """A kept command's words as the reader understood them ("Next  SOM" is "next-meeting som");
    None when the command's reply is not kept."""
    words = " ".join(text.replace("\x00", " ").split())
    word, args = split(words)
    found = lookup(word)
    if found is None or not found.kept:
        return None
    if len(words) > MAX_INPUT:  # answered "That is N characters": N as typed
        return words
    meant = f"{found.name} {args.lower() if found.name in FOLDED else args}".rstrip()
    # An alias written out may run past the limit the words as typed are within: answered as typed
    return meant if len(meant) <= MAX_INPUT else words


class Kept(NamedTuple):
    """A reply's pages, and the JSON of the first when it is the whole reply (else b"")."""

    pages: list[dict[str, Any]]
    json: bytes


class Replies:
    """Replies kept per (words understood, store epoch, minute) for the commands whose reply
    depends on nothing else (`Command.kept`): the next to ask the same in that minute gets them at
    once, and the HTTP front can send it without making it again (`json`)."""

    SIZE = 512

    def __init__(self, stores: Stores, clock: Callable[[], datetime]) -> None:
        self.stores, self.clock = stores, clock
        self._kept: OrderedDict[Key, Kept] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, words: str) -> Key:
        return words, self.stores.epoch(), self.clock().replace(second=0, microsecond=0)

    def kept(self, words: str, answer: Callable[[], Card]) -> Kept:
        """The reply to `words` (as `understood` gives them), kept or made (and kept, unless it
        is about a passing trouble)."""
        key = self._key(words)
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
        card = answer()
        pages = card.pages()
        # What Bolt would send for ack(pages[0]), made once: the front sends it itself.
        made = Kept(pages, json.dumps(pages[0]).encode() if len(pages) == 1 else b"")
        if not card.transient:
            with self._lock:
                self._kept[key] = made
                if len(self._kept) > self.SIZE:
                    self._kept.popitem(last=False)
        return made

    def pages(self, text: str, answer: Callable[[], Card]) -> list[dict[str, Any]]:
        """The reply's pages to `/apec text`, kept or made (and kept, when its command's are)."""
        words = understood(text)
        return answer().pages() if words is None else self.kept(words, answer).pages

    def json(self, text: str) -> bytes | None:
        """The whole HTTP answer to `/apec text` when it is kept and fits one message; else None."""
        words = understood(text)
        if words is None:
            return None
        key = self._key(words)
        with self._lock:
            found = self._kept.get(key)
        return found.json if found is not None and found.json else None


def kept_reply(replies: Replies, workspace: Workspace, body: dict[str, Any]) -> bytes | None:
    """The front's short way for a `/apec` command whose reply is kept: the JSON Bolt's ack would
    send, for a request the gate lets through (bot/gate.py). None sends it through Bolt (which
    refuses one from another workspace)."""
    if body.get("command") != "/apec" or refusal(workspace, body) is not None:
        return None
    return replies.json(from_slack(str(body.get("text", ""))))
