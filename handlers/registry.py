"""The command registry: what a command is, what a question to it carries, and the table of
commands by name. A leaf: it imports no handler. Handler modules register into it with `@command`;
`handlers.router` names those modules in one list (`COMMAND_MODULE_NAMES`) and dispatches."""

from __future__ import annotations

import inspect
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from handlers.render import Card
from store.db import StoreDatabase, check_written
from store.errors import StoreError
from store.queries import Store

log = logging.getLogger("handlers.router")


class UsageError(Exception):
    """A command used wrongly: the message says how to use it."""


@dataclass(frozen=True)
class Ask:
    """One question put to the bot: the words, who asks, where, and when."""

    store: Store
    now: datetime
    text: str = ""
    args: str = ""
    user: str = ""
    channel: str = ""
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))  # the desk's zone (APEC_TZ)
    via: str = "command"  # command, mention, console, cli
    reminder_channel: str = ""  # APEC_REMINDER_CHANNEL
    on_change: Callable[[], None] = lambda: None  # tell the scheduler the store's plan changed
    can_edit: Callable[[], bool] = lambda: False  # may this user change the calendar? asked lazily
    on_store_error: Callable[[str], None] = lambda _: None  # tell the admins the store failed
    admins: tuple[str, ...] = ()  # APEC_ADMINS, to name who can
    seeds: Path | None = None  # seeds/, for re-deriving the records after an edit
    public_url: str = ""  # APEC_PUBLIC_URL: the bot's HTTP address as users reach it
    feeds: tuple[str, ...] = ()  # APEC_FEEDS: the sources the environment has watched
    fetch_allow: tuple[str, ...] = ()  # APEC_FETCH_ALLOW: non-public hosts `watch` may take
    desk_economy: str = ""  # APEC_DESK_ECONOMY: whose objectives a brief shows by default
    user_tz: ZoneInfo | None = None  # the asker's own zone (Slack's users.info); None: use `tz`
    # Is the bot in this channel? True, False, or None when that cannot be known (no Slack).
    member_of: Callable[[str], bool | None] = lambda channel: None


Handler = Callable[[Ask], Card]


@dataclass(frozen=True)
class Command:
    """A registered command: its handler, and the help written once in its docstring."""

    name: str
    handler: Handler
    usage: str
    example: str
    summary: str
    aliases: tuple[str, ...] = ()
    share: bool = True  # an ephemeral reply gets a "Post to channel" button
    # Its reply is for the asker alone (a secret address): never in a channel or a thread, by
    # whatever way it is asked; so never shared either.
    private: bool = False
    admin: bool = False  # changes the calendar: only admins may run it
    writes: bool = False  # changes the store: in Slack, acknowledged at once if it takes a while
    # Its reply depends on nothing but the words, the records and the minute (not on who asks, or
    # where): Slack's side may keep it for the next to ask the same within that minute.
    kept: bool = False
    # A mention that starts with its name runs it ("@APEC subscribe reminders"); any other first
    # word starts a question ("@APEC next SOM?"), answered as such. Admin commands always run.
    mention: bool = False
    # Its answer may take long (a brief over many documents): in Slack, acknowledged at once and
    # posted when it is ready.
    slow: bool = False
    # For a kept command: what it reads its words as, given the store as of the day; the words it
    # answers exactly as every wording that reads so ("the apec smmit" is "summit"), "" for none,
    # or None for words it answers as typed (a usage error quotes them). Unset: words as typed.
    reads: Callable[[Store, str], str | None] | None = None


def reads_nothing(store: Store, words: str) -> str:
    """`Command.reads` for a command that reads no words: every wording of it is its name."""
    return ""


REGISTRY: dict[str, Command] = {}
_ALIASES: dict[str, str] = {}


def command(
    name: str,
    *,
    usage: str = "",
    example: str = "",
    aliases: tuple[str, ...] = (),
    share: bool = True,
    private: bool = False,
    admin: bool = False,
    writes: bool = False,
    kept: bool = False,
    mention: bool = False,
    slow: bool = False,
    reads: Callable[[Store, str], str | None] | None = None,
) -> Callable[[Handler], Handler]:
    """Register a handler under a command name; its docstring's first paragraph is its help. A name
    or alias already taken raises: two commands answering one word would leave one unreachable."""

    def register(fn: Handler) -> Handler:
        taken = [w for w in (name, *aliases) if w in REGISTRY or w in _ALIASES]
        if taken:
            raise ValueError(f"command word {taken[0]!r} is registered twice ({fn.__qualname__})")
        doc = inspect.getdoc(fn) or ""
        REGISTRY[name] = Command(
            name=name,
            handler=fn,
            usage=usage or name,
            example=example or name,
            summary=" ".join(doc.split("\n\n")[0].split()),
            aliases=aliases,
            # re-running a change from a button would make it twice; a private reply stays private
            share=share and not admin and not private,
            private=private,
            admin=admin,
            writes=writes or admin,
            kept=kept and not (writes or admin),
            mention=mention,
            slow=slow,
            reads=reads,
        )
        for alias in aliases:
            _ALIASES[alias] = name
        return fn

    return register


def split(text: str) -> tuple[str, str]:
    """The command word (lower case) and the rest."""
    words = text.strip().split(maxsplit=1)
    if not words:
        return "", ""
    return words[0].lower(), (words[1].strip() if len(words) > 1 else "")


def lookup(word: str) -> Command | None:
    """The command for a word or one of its aliases."""
    return REGISTRY.get(_ALIASES.get(word, word))


STORE_DOWN = (
    "The desk's store is unavailable just now; the admins have been told. Try again shortly."
)


def guarded(ask: Ask, answer: Callable[[], Card]) -> Card:
    """An answer, or, when the store fails under it (disk full, a damaged page, locked too
    long), a plain sentence for the user and a word to the admins: never a 500 or a blank.
    A change is answered only once its connection's files are found to be the store's own:
    a commit that went to a deleted log is answered as a failure, not as done."""
    db = ask.store.db
    changes = db.conn.total_changes
    try:
        card = answer()
        if db.conn.total_changes != changes:
            check_written(db)
        return card
    except (StoreError, sqlite3.Error) as exc:
        if isinstance(db, StoreDatabase):
            db.failed(exc)  # a fault of the files or disk: reported, and the connection reopened
        log.error("the store failed answering %r: %s: %s", ask.text[:40], type(exc).__name__, exc)
        ask.on_store_error(f"{type(exc).__name__}: {exc}")
        return store_down()


def store_down() -> Card:
    """The plain reply to a store that failed (or would not open) under a question; never kept."""
    card = Card().section(STORE_DOWN)
    card.transient = True
    return card


def refuse_unless_admin(ask: Ask) -> Card | None:
    """One permission check for commands, mentions, buttons and forms: None if the user may edit.
    The refusal is the asker's alone (never in a thread), so naming the admins pings nobody."""
    if ask.can_edit():
        return None
    who = ", ".join(f"<@{a}>" for a in ask.admins)
    names = f"{who} and the workspace's admins" if who else "the workspace's admins"
    card = Card().section(
        f"Sorry: only the desk's calendar keepers can change it ({names}). Ask one of them."
    )
    card.context("Everything else is open to you: `/apec help` lists what you can ask.")
    card.private = card.refused = True
    return card


def visible(ask: Ask) -> list[Command]:
    """The commands this user may run (help lists only these)."""
    commands = sorted(REGISTRY.values(), key=lambda c: c.name)
    if any(c.admin for c in commands) and not ask.can_edit():
        return [c for c in commands if not c.admin]
    return commands
