"""The console adapter: `/apec TEXT` and `@bot TEXT` lines in, the bot's answers out. No Slack needed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from handlers.answer import answer
from handlers.render import for_terminal
from handlers.router import Ask, route
from store.queries import Store

BANNER = """APEC desk bot — console. Type `/apec help`, `/apec next-meeting`, or `@bot who leads the US delegation?`.
A line without `/apec` or `@bot` is read as a command. End with Ctrl-D."""

CONSOLE_CHANNEL = "console"
CONSOLE_USER = "console"


def reply_for(
    line: str,
    store: Store,
    now: datetime,
    tz: ZoneInfo,
    on_change: Callable[[], None] = lambda: None,
    reminder_channel: str = "",
) -> str | None:
    """The plain-text answer to one console line, or None for a blank line."""
    line = line.strip()
    if not line:
        return None
    if line.startswith("@"):
        question = line.split(maxsplit=1)[1] if " " in line else ""
        return for_terminal(answer(store, question, now, response_type="in_channel")["text"])
    if line.lower().startswith("/apec"):
        line = line[5:]
    ask = Ask(
        store=store,
        now=now,
        text=line,
        user=CONSOLE_USER,
        channel=CONSOLE_CHANNEL,
        tz=tz,
        via="console",
    )
    return for_terminal(route(ask)["text"])


def run(
    stores: Callable[[], Store],
    clock: Callable[[], datetime],
    tz: ZoneInfo,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    on_change: Callable[[], None] = lambda: None,
    reminder_channel: str = "",
) -> int:
    """Read lines until end of input, answering each; a prompt only when a person is typing."""
    interactive = stdin.isatty()
    if interactive:
        print(BANNER, file=stdout)
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        text = reply_for(line, stores(), clock(), tz, on_change, reminder_channel)
        if text is not None:
            print(text, file=stdout, flush=True)
            if interactive:
                print(file=stdout)
    return 0
