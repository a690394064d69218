"""`apec-bot serve` as the HTTP benches start it: the bot's own command line, with two things a
bench needs that the bot has no setting for, applied in this process only before it starts.

* `BENCH_LOG_LEVELS="waitress.queue=ERROR,apec.http=INFO"`: each logger's level. The bot sets the
  root logger's level only (INFO for `serve`); a logger with a level of its own keeps it.
* `BENCH_CACHE_COUNTS=FOLDER`: count the reply cache's hits and misses (bot/replies.py `Replies`:
  a miss is a reply made, a hit one found kept), so that the bench can show that its uncached
  requests were (one call and a counter more per request). Each process writes its counts to
  FOLDER/<pid>.json a few times a second, from a thread started at its first count (so a
  supervisor, which counts nothing, starts none).
* `BENCH_KEEP_NONE=1`: the reply cache keeps nothing (`Replies.SIZE` 0): every reply is made, as
  for a question nobody asked in its minute, however the texts read.
* With `BENCH_CACHE_COUNTS`, the CPU time of the thread answering each POST /slack/events is
  counted too, from the call of the front's `events` to its return (the checks, the answer, the
  log line and the metrics; not waitress' reading and writing, nor the work left to other
  threads: a mention's answer, the log's writing). The floor counts its Bolt adapter's call the
  same way (`time_requests`), so the two are the same measure of what each app does a request.
* `BENCH_FIXED_ANSWER=1`: every `/apec` reply is one fixed answer, made anew each time (the texts
  of next-meeting's reply, made once, put into a card and turned into its message and JSON) without
  reading the words or asking the store: the bot's plumbing alone (the checks, the replay record,
  the reply cache's bookkeeping, the JSON, the log line, the metrics). Against it, what a made
  reply costs more is the reader and the handler: what answering costs, which the floor does not
  do.

Run as `python bench/_child.py serve --host 127.0.0.1 --port N [--workers N]`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FLUSH_EVERY = 0.1  # seconds between writes of a process's counts (only when they changed)


def set_levels(spec: str) -> None:
    """Set each `logger=LEVEL` of a comma-separated list."""
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, level = item.partition("=")
        logging.getLogger(name.strip()).setLevel(level.strip().upper())


class Counts:
    """This process' hits and misses, and the CPU time its requests took (`app`), written to
    FOLDER/<pid>.json by a thread of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hits = self.misses = 0
        self.app_ns = self.app_calls = 0
        self._pid = 0  # the process whose thread writes: a forked worker starts its own
        self._lock = threading.Lock()  # app's two sums move together
        self._starting = threading.Lock()
        self._writing = threading.Lock()  # one writer of the part file at a time

    def hit(self) -> None:
        self.hits += 1
        self._writer()

    def miss(self) -> None:
        self.misses += 1
        self._writer()

    def app(self, ns: int) -> None:
        """A request's thread spent `ns` nanoseconds of CPU on it."""
        with self._lock:
            self.app_ns += ns
            self.app_calls += 1
        self._writer()

    def _writer(self) -> None:
        if self._pid == os.getpid():
            return
        with self._starting:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._write, name="bench-counts", daemon=True).start()

    def _write(self) -> None:
        last: tuple[int, ...] = ()
        while True:
            if self.snapshot() != last:
                last = self.write()
            time.sleep(FLUSH_EVERY)

    def snapshot(self) -> tuple[int, int, int, int]:
        """(hits, misses, app_ns, app_calls) as they stand."""
        with self._lock:
            return self.hits, self.misses, self.app_ns, self.app_calls

    def write(self) -> tuple[int, int, int, int]:
        """Write this process's counts to FOLDER/<pid>.json now (whole: a reader never sees half
        a file, and one writer at a time: the process's thread and any other caller share the
        part file); the counts written."""
        names = ("hits", "misses", "app_ns", "app_calls")
        path = self.folder / f"{os.getpid()}.json"
        part = path.with_suffix(".tmp")
        with self._writing:
            now = self.snapshot()  # read under the lock: a later write never holds older counts
            part.write_text(json.dumps(dict(zip(names, now, strict=True))))
            part.replace(path)
        return now


def _summed(folder: Path, *names: str) -> tuple[int, ...]:
    """The counts `names`, summed over every process that wrote to `folder`."""
    sums = [0] * len(names)
    for path in folder.glob("*.json"):
        try:
            found = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        sums = [total + found.get(name, 0) for total, name in zip(sums, names, strict=True)]
    return tuple(sums)


def read_counts(folder: Path) -> tuple[int, int]:
    """Hits and misses of every process that wrote to `folder`."""
    hits, misses = _summed(folder, "hits", "misses")
    return hits, misses


def read_app_time(folder: Path) -> tuple[int, int]:
    """The CPU nanoseconds the requests' threads spent, and the requests, of every process that
    wrote to `folder`."""
    ns, calls = _summed(folder, "app_ns", "app_calls")
    return ns, calls


def time_requests(counts: Counts, cls: type, name: str) -> bool:
    """Count the CPU time of the calling thread in each call of `cls.name` (False when the class
    has no such method: nothing counted)."""
    method = getattr(cls, name, None)
    if not callable(method):
        return False

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.thread_time_ns()
        try:
            return method(self, *args, **kwargs)
        finally:
            counts.app(time.thread_time_ns() - started)

    setattr(cls, name, timed)
    return True


def count_replies(counts: Counts) -> bool:
    """Count the reply cache's hits and misses by wrapping `Replies`: `kept` (or, before it,
    `pages`) makes a reply (a miss) or finds it (a hit); `json`, the front's kept answer where it
    is still asked, finds it (a hit). False when the class has none of them (nothing counted)."""
    from bot import replies

    cls = getattr(replies, "Replies", None)
    name = next((n for n in ("kept", "pages") if callable(getattr(cls, n, None))), None)
    if cls is None or name is None:
        return False
    made_or_found: Callable[..., Any] = getattr(cls, name)
    front: Callable[..., Any] | None = getattr(cls, "json", None)

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        made = [False]

        def watched(answer: Callable[[], Any]) -> Callable[[], Any]:
            def answer_counted() -> Any:
                made[0] = True
                return answer()

            return answer_counted

        args = tuple(watched(a) if callable(a) else a for a in args)
        kwargs = {k: watched(v) if callable(v) else v for k, v in kwargs.items()}
        out = made_or_found(self, *args, **kwargs)
        counts.miss() if made[0] else counts.hit()
        return out

    def counted_front(self: Any, *args: Any, **kwargs: Any) -> Any:
        assert front is not None
        out = front(self, *args, **kwargs)
        if out is not None:
            counts.hit()
        return out

    setattr(cls, name, counted)
    if front is not None:
        cls.json = counted_front
    return True


def fixed_answer() -> bool:
    """Every `/apec` command answered with one fixed answer, its words not read (understood as
    typed) and the store not asked: next-meeting's reply, made once by the real handler at the
    first request, whose texts each reply then puts into a card of its own (so the answer keeps
    next-meeting's shape and length whatever the seeds say). False when the bot has no
    `Questions.answer` or `understood` to replace."""
    from bot import questions, replies
    from handlers.render import Card

    if not hasattr(questions.Questions, "answer") or not hasattr(replies, "understood"):
        return False
    real = questions.Questions.answer
    texts: list[tuple[str, str]] = []  # (block type, its text), filled at the first request

    def answer(self: Any, text: str, user: str, channel: str) -> Card:
        if not texts:
            texts[:] = _texts(real(self, "next-meeting", user, channel))  # (one step: no doubles)
        card = Card()
        for kind, mrkdwn in texts:
            card.section(mrkdwn) if kind == "section" else card.context(mrkdwn)
        return card.button("Post to channel", "post_to_channel", "next-meeting")

    def as_typed(text: str, store: Any = None) -> str:
        return " ".join(text.split())

    questions.Questions.answer = answer  # type: ignore[method-assign]
    replies.understood = as_typed
    return True


def _texts(card: Any) -> list[tuple[str, str]]:
    """A card's sections and context lines, as (block type, text)."""
    out = []
    for block in card.blocks:
        if block["type"] == "section":
            out.append(("section", block["text"]["text"]))
        elif block["type"] == "context":
            out.append(("context", " ".join(e["text"] for e in block["elements"])))
    return out


def keep_none() -> None:
    """The reply cache holds no reply: each one made is dropped as soon as it is kept."""
    from bot.replies import Replies

    Replies.SIZE = 0


def main() -> int:
    set_levels(os.environ.get("BENCH_LOG_LEVELS", ""))
    if os.environ.get("BENCH_KEEP_NONE"):
        keep_none()
    if os.environ.get("BENCH_FIXED_ANSWER") and not fixed_answer():
        print("bench: the answer cannot be fixed (Questions, understood changed)", file=sys.stderr)
        return 2
    folder = os.environ.get("BENCH_CACHE_COUNTS")
    if folder:
        from bot.server import SlackHTTP

        counts = Counts(Path(folder))
        if not count_replies(counts):
            print("bench: the reply cache cannot be counted (Replies changed)", file=sys.stderr)
        if not time_requests(counts, SlackHTTP, "events"):
            print("bench: the requests cannot be timed (SlackHTTP changed)", file=sys.stderr)
    from bot.cli import main as cli

    return cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
