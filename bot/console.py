"""The console adapter: `/apec TEXT` and `@bot TEXT` lines in, the bot's answers out. No Slack
needed."""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from handlers.router import Ask, mention, route

BANNER = (
    "APEC desk bot — console. Type `/apec help`, `/apec next-meeting`, or "
    "`@bot who leads the US delegation?`.\n"
    "A line without `/apec` or `@bot` is read as a command. End with Ctrl-D."
)

CONSOLE_CHANNEL = "console"
CONSOLE_USER = "console"
PROMPT = "> "
CLEAR_LINE = "\r\x1b[K"  # to the line's start, and erase it (VT100, which every terminal reads)


class Screen:
    """The terminal the console shares with the scheduler's posts and the log.

    Each goes through `lines(stream)`, which writes whole lines only, one writer at a time. While
    the prompt waits on a terminal, a line is put above it: the prompt's line is cleared, the line
    written, and the prompt shown again with what was typed so far (readline's buffer), so nothing
    lands inside what the person is typing."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.lock = threading.RLock()
        self.waiting = False  # the prompt is on the screen, waiting for a line

    def lines(self, stream: TextIO) -> io.TextIOBase:
        """A stream that hands `stream` whole lines, above the prompt."""
        return _Lines(self, stream)

    def write_above(self, stream: TextIO, text: str) -> None:
        with self.lock:
            redraw = self.waiting and _is_terminal(stream) and _is_terminal(self.out)
            if redraw:
                self.out.write(CLEAR_LINE)
                self.out.flush()
            stream.write(text)
            stream.flush()
            if redraw:
                self.out.write(PROMPT + _typed())
                self.out.flush()

    def take_over_logs(self) -> None:
        """Send the root logger's stream handlers through this screen."""
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler.stream, _Lines
            ):
                handler.setStream(self.lines(handler.stream))


class _Lines(io.TextIOBase):
    """Whole lines to a stream through a Screen; a partial line waits for its end."""

    def __init__(self, screen: Screen, stream: TextIO) -> None:
        self.screen, self.stream, self.pending = screen, stream, ""

    def write(self, text: str) -> int:
        with self.screen.lock:
            self.pending += text
            whole, newline, self.pending = self.pending.rpartition("\n")
            if newline:
                self.screen.write_above(self.stream, whole + newline)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return _is_terminal(self.stream)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed stream, or none
        return False


def _typed() -> str:
    """What the person has typed at the prompt so far, where readline keeps it."""
    readline = sys.modules.get("readline")
    return readline.get_line_buffer() if readline is not None else ""


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


def run(
    ask: Callable[[], Ask],
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    screen: Screen | None = None,
) -> int:
    """Read lines until end of input, answering each; a prompt only when a person is typing.

    `ask()` gives a fresh question for each line: this thread's store, the clock's time, the
    console's user and channel. With `screen`, what others write (posts, the log) goes above the
    prompt, never into it."""
    screen = screen or Screen(stdout)
    interactive = stdin.isatty()
    # input() gives line editing, and a buffer to show again after a line is put above the prompt
    edit = interactive and stdin is sys.stdin and stdout is sys.stdout
    if edit:
        try:
            import readline  # noqa: F401 - loading it is what gives input() its editing
        except ImportError:  # not on every platform: the prompt still works without it
            pass
    if interactive:
        with screen.lock:
            print(BANNER, file=stdout)
    while True:
        line = _read(stdin, stdout, screen, interactive, edit)
        if line is None:
            break
        text = reply_for(line, ask())
        if text is not None:
            with screen.lock:
                print(text, file=stdout, flush=True)
                if interactive:
                    print(file=stdout)
    return 0


def _read(
    stdin: TextIO, stdout: TextIO, screen: Screen, interactive: bool, edit: bool
) -> str | None:
    """One line from the person (or the pipe); None at the end of input."""
    if not interactive:
        return stdin.readline() or None
    with screen.lock:
        screen.waiting = True
        if not edit:
            print(PROMPT, end="", file=stdout, flush=True)
    try:
        if edit:
            try:
                return input(PROMPT)  # readline shows the prompt; the screen redraws it
            except EOFError:
                print(file=stdout)
                return None
        return stdin.readline() or None
    finally:
        with screen.lock:
            screen.waiting = False
