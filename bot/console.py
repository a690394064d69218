"""The console adapter: `/apec TEXT` and `@bot TEXT` lines in, the bot's answers out. No Slack needed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from handlers.answer import mention
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
    seeds: Path | None = None,
) -> str | None:
    """The plain-text answer to one console line, or None for a blank line."""
    line = line.strip()
    if not line:
        return None
    mentioned = False
    if line.startswith("@"):
        line = line.split(maxsplit=1)[1] if " " in line else ""
        mentioned = True
    elif line.lower().startswith("/apec"):
        line = line[5:]
    ask = Ask(
        store=store,
        now=now,
        text=line,
        user=CONSOLE_USER,
        channel=CONSOLE_CHANNEL,
        tz=tz,
        via="console",
        on_change=on_change,
        reminder_channel=reminder_channel,
        can_edit=lambda: True,  # the console's user is the operator
        seeds=seeds,
    )
    return for_terminal((mention(ask) if mentioned else route(ask))["text"])


def run(
    stores: Callable[[], Store],
    clock: Callable[[], datetime],
    tz: ZoneInfo,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    on_change: Callable[[], None] = lambda: None,
    reminder_channel: str = "",
    seeds: Path | None = None,
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
        text = reply_for(line, stores(), clock(), tz, on_change, reminder_channel, seeds)
        if text is not None:
            print(text, file=stdout, flush=True)
            if interactive:
                print(file=stdout)
    return 0
