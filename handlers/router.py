"""One router for the slash command, mentions, the console and the CLI: parse, dispatch, reply.

The commands are registered by the modules named in `COMMAND_MODULE_NAMES` (one list, in one
place: a new command's module is named there); `handlers.registry` holds what they register
into."""

from __future__ import annotations

import difflib
from importlib import import_module

from handlers import answer
from handlers.registry import (
    _ALIASES,
    REGISTRY,
    STORE_DOWN,
    Ask,
    Command,
    UsageError,
    guarded,
    lookup,
    refuse_unless_admin,
    split,
    store_down,
    visible,
)
from handlers.render import SHARE_ACTION, Card, esc
from store.models import replaced

__all__ = [
    "COMMAND_MODULES",
    "REGISTRY",
    "STORE_DOWN",
    "Ask",
    "Command",
    "UsageError",
    "lookup",
    "mention",
    "route",
    "split",
    "store_down",
    "visible",
]

# Every module whose commands `/apec`, mentions, the console and the CLI answer, imported here
# (importing one registers its commands), as slack-machine names its plugins.
COMMAND_MODULE_NAMES = (
    "answer",
    "brief",
    "calendar",
    "edits",
    "feeds",
    "info",
    "meetings",
    "members",
    "people",
    "proposals",
    "reminders",
    "timeline",
)
COMMAND_MODULES = tuple(import_module(f"handlers.{name}") for name in COMMAND_MODULE_NAMES)
MAX_INPUT = 2000  # Slack caps slash-command text near this; longer is not a question


def route(ask: Ask) -> Card:
    """Answer `/apec TEXT`: always a reply, never an exception. Slack's `.payload()` of it is
    the one place text becomes a message; the console prints its `.plain()`."""
    text = " ".join(ask.text.replace("\x00", " ").split())
    if len(text) > MAX_INPUT:
        return _short_reply(
            f"That is {len(text):,} characters; I read questions of up to {MAX_INPUT:,}. "
            "Try `/apec help`."
        )
    word, args = split(text)
    if not word:
        word = "help"
    found = lookup(word)
    if found is None:
        return unknown_command(word)
    ask = replaced(ask, text=text, args=args)
    if found.admin:
        refusal = refuse_unless_admin(ask)
        if refusal is not None:
            return refusal
    # Every command answers from what was published by the day it is asked (`now`'s own date);
    # writes go through the same connection. Inside `guarded`: reading the day may meet a fault.
    try:
        reply = guarded(
            ask, lambda: found.handler(replaced(ask, store=ask.store.at(ask.now.date())))
        )
    except UsageError as exc:
        return usage_reply(found, str(exc))
    if found.private:
        reply.private = True
    if found.share and reply.response_type == "ephemeral":
        reply.button("Post to channel", SHARE_ACTION, text)
    return reply


def mention(ask: Ask) -> Card:
    """What `@bot TEXT` answers: a command if it starts with one that answers mentions (admin
    commands checked as in `/apec`), else the question answered in words."""
    text = " ".join(ask.text.replace("\x00", " ").split())
    word, _ = split(text)
    found = lookup(word)
    if found is not None and (found.admin or found.mention):
        reply = route(replaced(ask, text=text))
        reply.buttons = []  # in the thread for all to see: nothing to post again
        return reply.in_channel()
    return guarded(ask, lambda: answer.answer(ask.store, text, ask.now)).in_channel()


def unknown_command(word: str) -> Card:
    """A short reply naming the closest commands and an example."""
    names = sorted(REGISTRY) + sorted(_ALIASES)
    close = difflib.get_close_matches(word, names, n=3, cutoff=0.5)
    card = Card().section(f"I don't know the command `{esc(word[:40])}`.")
    if close:
        suggestions = ", ".join(f"`{_ALIASES.get(c, c)}`" for c in dict.fromkeys(close))
        card.section(f"Did you mean {suggestions}?")
    card.context("Try `/apec next-meeting`, or `/apec help` for every command.")
    return card


def usage_reply(cmd: Command, message: str) -> Card:
    """A usage error: what was wrong, how to use the command, an example."""
    card = Card().section(message)
    card.context(f"Usage: `/apec {esc(cmd.usage)}` — for example `/apec {esc(cmd.example)}`")
    return card


def _short_reply(text: str) -> Card:
    return Card().section(text)
