"""Logs and metrics: one line per request and per post, JSON for log shippers, Prometheus counters.

Secrets never reach a log line: a filter masks the configured tokens and anything shaped like a
Slack token, whatever logged it (our code, Bolt, slack-sdk or waitress).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import queue
import re
import threading
import time
from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_TOKEN_SHAPE = re.compile(r"\b(xox[abpres]|xapp)-[A-Za-z0-9-]+")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _may_hold_token(text: str) -> bool:
    return "xox" in text or "xapp" in text


class Redact(logging.Filter):
    """Mask the configured secrets and anything shaped like a Slack token."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        # Plain substring tests first: most lines hold nothing to mask, and cost no regex.
        clean = _TOKEN_SHAPE.sub(r"\1-[redacted]", message) if _may_hold_token(message) else message
        for secret in self.secrets:
            if secret in clean:
                clean = clean.replace(secret, "[redacted]")
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                text = text.replace(secret, "[redacted]")
            record.exc_text = _TOKEN_SHAPE.sub(r"\1-[redacted]", text)
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        )
        if record.exc_text:
            out["error"] = record.exc_text
        elif record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def setup_logging(level: int, fmt: str, secrets: Iterable[str]) -> None:
    """Configure the root logger once: text or JSON to stderr, secrets masked on every handler.

    Lines are written as they are logged; `serve` puts them through a queue while it serves
    (`start_log_queue`)."""
    global _stderr
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redact(secrets))  # on the handler that writes: it sees the final message
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    _stderr = handler
    # Neither format shows where a line was logged from, or its thread or process: the logging
    # HOWTO's "Optimization" settings, so that no record looks them up (the caller's frame, the
    # thread's and the process's names). Every request logs a line: 8.8 µs a line, 6.5 without.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


# The handler setup_logging made, and the queue in its place while a server runs.
_stderr: logging.StreamHandler[Any] | None = None
_queued: LineQueue | None = None
FLUSH_WAIT = 5.0  # seconds a flush waits at most for the log's thread (stderr may be stuck)


class LineQueue(logging.handlers.QueueHandler):
    """The root's handler while a server runs: a request's thread puts its line on a queue and
    goes on; a thread of this process (a QueueListener) writes the lines to stderr, through the
    handler setup_logging made (its format, and its filter that masks secrets).

    Writing to stderr blocks when whatever reads it is slow (a pipe to journald, a terminal), and
    the thread writing holds the handler's lock, which every other thread that logs waits for:
    waitress' loop thread too, which logs "Task queue depth" holding the lock its task threads
    need for their next request (why throughput followed that logger's level: bot/channel.py).
    A forked child starts a thread of its own with its first line."""

    def __init__(self, target: logging.StreamHandler[Any]) -> None:
        super().__init__(queue.SimpleQueue())
        self.target = target
        self._writing = threading.Lock()  # held by the thread while it writes a line
        self._listener = self._start()
        self._running = True  # this process's thread writes (False: stopped, or not yet forked)
        self._forked = False
        self._lock_start = threading.Lock()

    def _start(self) -> logging.handlers.QueueListener:
        listener = _Listener(self.queue, self.target, self._writing)
        listener.start()
        return listener

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """A copy with its arguments merged into its message now (they may change later); the
        other handlers keep the record as it was. A traceback is formatted by the thread."""
        copy = type(record).__new__(type(record))
        copy.__dict__.update(record.__dict__)
        copy.msg = copy.message = record.getMessage()
        copy.args = None
        return copy

    def emit(self, record: logging.LogRecord) -> None:
        if self._forked:
            self._restart()
        super().emit(record)

    def _restart(self) -> None:
        """A forked child: the parent's thread does not exist here."""
        with self._lock_start:
            if self._forked:
                self._listener = self._start()
                self._forked, self._running = False, True

    def flush(self) -> None:
        """Wait (up to FLUSH_WAIT) until every line put so far is written."""
        if self._running:
            self._written(FLUSH_WAIT)

    def _written(self, timeout: float) -> bool:
        mark = _Mark()
        self.enqueue(mark)
        return mark.done.wait(timeout)

    def close(self) -> None:
        """Write what waits, then end the thread."""
        if self._running:
            self._running = False
            if self._written(FLUSH_WAIT):  # (else stderr is stuck: the thread, a daemon, stays)
                self._listener.stop()
        super().close()

    def before_fork(self) -> None:
        self._writing.acquire()  # the child must not inherit stderr half written

    def after_fork_in_parent(self) -> None:
        self._writing.release()

    def after_fork_in_child(self) -> None:
        self.queue = queue.SimpleQueue()
        self._writing = threading.Lock()
        self._lock_start = threading.Lock()
        self._forked, self._running = True, False


class _Mark(logging.LogRecord):
    """Put on the queue by a flush: set when every line before it is written."""

    def __init__(self) -> None:
        super().__init__("apec.log", logging.INFO, "", 0, "", None, None)
        self.done = threading.Event()


BATCH = 512  # lines the thread writes in one go at most
GATHER = 0.01  # seconds between the thread's writes at least, under load (lines wait, gathered)
# Lines formatted between two moments the thread lets the interpreter's lock go. Formatting a
# batch of 40 lines held it for as long as a request takes, and a request that came meanwhile
# waited: the p99 at one connection of a reply made with one fixed answer (bench/load_bench.py's
# plumbing) was x1.67-2.76 the floor's over four runs, x1.40-1.71 with this.
YIELD_EVERY = 4


class _Listener(logging.handlers.QueueListener):
    """Writes the lines that wait together: formatted (and masked) one by one, letting the
    interpreter's lock go every YIELD_EVERY lines, then one write and one flush for them all;
    under load, at most one write every GATHER seconds (a line after a quiet spell is written at
    once). A line at a time, every line woke the thread, and each wake-up and write let the
    interpreter's lock go and waited to take it back from the busy request threads: under load
    that cost 55 µs of CPU a request."""

    def __init__(self, q: Any, target: logging.StreamHandler[Any], writing: Any) -> None:
        super().__init__(q, target, respect_handler_level=True)
        self.target, self.writing = target, writing
        self.wrote = float("-inf")  # when the last write began (time.monotonic())

    def _monitor(self) -> None:
        while True:
            batch = [self.dequeue(True)]
            wait = self.wrote + GATHER - time.monotonic()
            if wait > 0 and not isinstance(batch[0], _Mark):  # a flush waits for nobody
                time.sleep(wait)  # the lines that come meanwhile go with this one
            self.wrote = time.monotonic()
            while len(batch) < BATCH:
                try:
                    batch.append(self.dequeue(False))
                except queue.Empty:
                    break
            if not self.write(batch):
                return

    def write(self, batch: list[Any]) -> bool:
        """Write a batch in order, a flush mark set once what came before it is written; False
        when the batch ends the thread (QueueListener's sentinel, after the lines before it)."""
        lines: list[str] = []
        end = getattr(self, "_sentinel", None)  # what QueueListener.stop puts last
        for n, record in enumerate(batch, 1):
            if n % YIELD_EVERY == 0:
                time.sleep(0)  # the interpreter's lock let go: a request thread waiting takes it
            if record is end:
                self._emit(lines)
                return False
            if isinstance(record, _Mark):
                self._emit(lines)
                lines = []
                record.done.set()
            elif record.levelno >= self.target.level and self.target.filter(record):
                try:
                    lines.append(self.target.format(record) + self.target.terminator)
                except Exception:
                    self.target.handleError(record)
        self._emit(lines)
        return True

    def _emit(self, lines: list[str]) -> None:
        if not lines:
            return
        with self.writing, self.target.lock or nullcontext():
            try:
                self.target.stream.write("".join(lines))
                self.target.flush()
            except Exception:  # as StreamHandler.emit: said on stderr, never raised here
                self.target.handleError(logging.makeLogRecord({"msg": lines[0].rstrip()}))


def start_log_queue() -> None:
    """Put the log's lines through a queue, written by a thread of this process (a server's
    request threads never wait on stderr). Does nothing without setup_logging."""
    global _queued
    root = logging.getLogger()
    if _stderr is None or _queued is not None or _stderr not in root.handlers:
        return
    _queued = LineQueue(_stderr)
    _swap(root, _stderr, _queued)


def stop_log_queue() -> None:
    """Write every line that waits, end the queue's thread, and write lines as they come again."""
    global _queued
    queued, _queued = _queued, None
    if queued is None:
        return
    root = logging.getLogger()
    if queued in root.handlers:
        _swap(root, queued, queued.target)
    queued.close()


def _swap(logger: logging.Logger, old: logging.Handler, new: logging.Handler) -> None:
    """Put `new` where `old` is, in one step: no line is written twice, or missed."""
    handlers = logger.handlers
    handlers[handlers.index(old)] = new


def _before_fork() -> None:
    if _queued is not None:
        _queued.before_fork()


def _after_fork_in_parent() -> None:
    if _queued is not None:
        _queued.after_fork_in_parent()


def _after_fork_in_child() -> None:
    if _queued is not None:
        _queued.after_fork_in_child()


os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)


# Where a listener says a request's outcome when the HTTP status cannot (a refusal is answered
# 200, as Slack asks): a key of Bolt's request context, copied into the WSGI environ after dispatch.
OUTCOME = "apec.outcome"
REFUSED = "refused"  # answered, but the asker may not do what they asked (a change by a non-admin)


def outcome_of(status: int, said: str | None = None) -> str:
    """A request's outcome label: ok, refused, rejected (a 4xx) or error (a 5xx)."""
    if status >= 500:
        return "error"
    if status >= 400:
        return "rejected"
    return said or "ok"


class Metrics:
    """The service's Prometheus metrics.

    With `shared_dir` (PROMETHEUS_MULTIPROC_DIR, which `serve --workers N` sets for its workers),
    each worker writes its values to files there and `render()` adds up every worker's: /metrics
    says the same whichever worker answers it.
    """

    def __init__(self, shared_dir: str = "") -> None:
        self.shared_dir = shared_dir
        if shared_dir:  # a forked worker: its values go to files there, whenever the library loaded
            from prometheus_client import values

            values.ValueClass = values.MultiProcessValue()
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "apec_requests_total",
            "Requests from Slack, by command and outcome",
            ["kind", "command", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "apec_request_seconds",
            "Time to answer a request from Slack",
            ["kind"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.posts = Counter(
            "apec_posts_total",
            "Scheduled posts, by kind and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.last_tick = Gauge(
            "apec_scheduler_last_tick_timestamp_seconds",
            "When a scheduler last ticked (Unix time): alert on time() minus this",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.leader = Gauge(
            "apec_scheduler_posting",
            "Processes holding the scheduler lease: 1 when all is well",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.workers = Gauge(
            "apec_workers",
            "Worker processes serving",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.workers.set(1)

    def render(self) -> bytes:
        """The text exposition format: this process's values, or every worker's added up."""
        if not self.shared_dir:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.shared_dir)
        return generate_latest(registry)
