"""Replies kept for the commands whose reply depends on nothing else (`Command.kept`): the next to
ask the same within the minute gets them at once, and the HTTP front can answer it without Bolt.

"The same" is what the reader understood, not the characters typed: the command by its name (an
alias resolved, any case), and its words as it reads them (`Command.reads`: `next-meeting the apec
smmit?` is `next-meeting summit`, `countdown to SOM2` is `countdown`), else as typed with their
spacing collapsed. `understood` says it; those words are answered, so every wording kept under
them is answered as they are (tests/test_lean_path.py holds each kept command to it).
"""

from __future__ import annotations

import json
import logging
import sqlite3
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
from store.errors import StoreError
from store.queries import Store

log = logging.getLogger("apec.app")

Key = tuple[str, int, datetime]  # (the words as understood, the store's epoch, the minute)


def understood(text: str, store: Callable[[], Store | None] | None = None) -> str | None:
    """A kept command's words as the reader understood them ("Next  SOM?" is "next-meeting som"),
    read against `store()`, the store as of the day asked, got only for a command that reads its
    words (without it, or when it gives None, the words as typed); None when the command's reply
    is not kept."""
    words = " ".join(text.replace("\x00", " ").split())
    word, args = split(words)
    found = lookup(word)
    if found is None or not found.kept:
        return None
    if len(words) > MAX_INPUT:  # answered "That is N characters": N as typed
        return words
    read = _read(found.reads, store, args) if args and found.reads and store else None
    meant = f"{found.name} {args if read is None else read}".rstrip()
    # An alias written out may run past the limit the words as typed are within: answered as typed
    return meant if len(meant) <= MAX_INPUT else words


def _read(
    reads: Callable[[Store, str], str | None], store: Callable[[], Store | None], args: str
) -> str | None:
    """What a command reads its words as; None (as typed) when there is no store to read them
    against, or when reading fails: the command itself then meets the failure where its answer
    says what went wrong."""
    try:
        view = store()
        return None if view is None else reads(view, args)
    except Exception:  # the store's fault, or a reader's: the answer tells of it
        log.debug("reading %r for the reply cache failed", args[:40], exc_info=True)
        return None


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

    def understood(self, text: str) -> str | None:
        """`understood`, read against the store as of the clock's day (as the command is
        answered)."""
        return understood(text, self._store)

    def _store(self) -> Store | None:
        try:
            return self.stores.get(quick=True).at(self.clock().date())
        except (StoreError, sqlite3.Error):
            return None  # the words as typed: the answer tells of the store's trouble

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
        words = self.understood(text)
        return answer().pages() if words is None else self.kept(words, answer).pages

    def json(self, words: str) -> bytes | None:
        """The whole HTTP answer to the words as understood when it is kept and fits one
        message; else None."""
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
    words = replies.understood(from_slack(str(body.get("text", ""))))
    return None if words is None else replies.json(words)
