"""The console adapter: `/apec TEXT` and `@bot TEXT` lines in, the bot's answers out. No Slack needed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from handlers.answer import mention
from handlers.router import Ask, route

BANNER = """APEC desk bot — console. Type `/apec help`, `/apec next-meeting`, or `@bot who leads the US delegation?`.
A line without `/apec` or `@bot` is read as a command. End with Ctrl-D."""

CONSOLE_CHANNEL = "console"
CONSOLE_USER = "console"


def reply_for(line: str, ask: Ask) -> str | None:
    """The plain-text answer to one console line (asked as `ask`), or None for a blank line."""
    line = line.strip()
    if not line:
        return None
    if line.startswith("@"):
        question = line.split(maxsplit=1)[1] if " " in line else ""
        return mention(replace(ask, text=question)).plain()
    if line.lower().startswith("/apec"):
        line = line[5:]
    return route(replace(ask, text=line)).plain()


def run(ask: Callable[[], Ask], stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """Read lines until end of input, answering each; a prompt only when a person is typing.

    `ask()` gives a fresh question for each line: this thread's store, the clock's time, the
    console's user and channel."""
    interactive = stdin.isatty()
    if interactive:
        print(BANNER, file=stdout)
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        text = reply_for(line, ask())
        if text is not None:
            print(text, file=stdout, flush=True)
            if interactive:
                print(file=stdout)
    return 0
