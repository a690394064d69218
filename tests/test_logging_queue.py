"""Log lines through a queue while serving (bot/observe.py `start_log_queue`): a request's thread
never waits on stderr; a thread of each process writes the lines, masked, and none is lost at a
stop, at exit or in a forked worker."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from bot.observe import setup_logging, start_log_queue, stop_log_queue
from tests.conftest import ROOT
from tests.test_serve_scheduler import TICK_DONE, T

SECRET = "secret-value-123"


class Gate(io.StringIO):
    """A stderr whose writes wait until it is opened (a slow journald, a terminal scrolled back)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = threading.Event()
        self.held = threading.Event()  # a write is waiting

    def write(self, text: str) -> int:
        self.held.set()
        self.opened.wait()
        return super().write(text)


@pytest.fixture
def root_kept():
    """The root logger's handlers and level as they were, after the test; and what records look
    up (setup_logging turns off the caller's frame, thread and process: pytest's reports of the
    tests after it show where each line came from)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    looked_up = ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing")
    kept = {name: getattr(logging, name) for name in looked_up}
    yield
    stop_log_queue()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in kept.items():
        setattr(logging, name, value)


def in_a_process(code: str, fmt: str = "text") -> str:
    """Run `code` in a new Python process, its log queued as serve queues it; its stderr."""
    script = (
        "import logging, os, sys\n"
        "from bot.observe import setup_logging, start_log_queue, stop_log_queue\n"
        f"setup_logging(logging.INFO, {fmt!r}, [{SECRET!r}])\n"
        "start_log_queue()\n"
        "log = logging.getLogger('apec.test')\n"
        f"{code}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_a_request_thread_logs_on_while_stderr_holds_its_lines(monkeypatch, root_kept):
    gate = Gate()
    monkeypatch.setattr(sys, "stderr", gate)
    setup_logging(logging.INFO, "text", [SECRET])
    start_log_queue()
    went_on = threading.Event()

    def request() -> None:
        log = logging.getLogger("waitress.queue")
        for n in range(50):
            log.warning("Task queue depth is %d", n)
        went_on.set()

    thread = threading.Thread(target=request, daemon=True)
    thread.start()
    try:
        assert gate.held.wait(10)  # the log's thread waits on stderr with the first line
        assert went_on.wait(10)  # and the request's thread did not
    finally:
        gate.opened.set()
        thread.join(timeout=10)
    stop_log_queue()  # every line written before it returns
    lines = [line for line in gate.getvalue().splitlines() if " waitress.queue: " in line]
    assert [line.split(": ", 1)[1] for line in lines] == [
        f"Task queue depth is {n}" for n in range(50)
    ]


def test_secrets_are_masked_in_the_lines_the_queue_writes():
    out = in_a_process(
        f"log.info('calling with %s and xoxb-999-abc', {SECRET!r})\n"
        "try:\n"
        f"    raise ValueError('refused: ' + {SECRET!r})\n"
        "except ValueError:\n"
        "    log.exception('it failed')\n"
    )
    assert SECRET not in out and "xoxb-999-abc" not in out
    assert "calling with [redacted] and xoxb-[redacted]" in out
    assert "ValueError: refused: [redacted]" in out


def test_json_lines_keep_the_traceback_apart_from_the_message():
    out = in_a_process(
        "try:\n"
        "    1 / 0\n"
        "except ZeroDivisionError:\n"
        "    log.exception('dividing failed for %s', 'U1', extra={'user': 'U1'})\n",
        fmt="json",
    )
    (line,) = out.splitlines()
    record = json.loads(line)
    assert record["message"] == "dividing failed for U1" and record["user"] == "U1"
    assert "ZeroDivisionError" in record["error"]


def test_lines_still_waiting_are_written_at_exit_and_before_an_abrupt_exit():
    out = in_a_process("for n in range(2000):\n    log.info('line %d', n)\n")  # a clean exit
    assert len(re.findall(r"apec.test: line \d+$", out, re.M)) == 2000
    out = in_a_process(
        "for n in range(2000):\n"
        "    log.info('line %d', n)\n"
        "for handler in logging.getLogger().handlers:\n"  # as serve does at its stop timeout
        "    handler.flush()\n"
        "os._exit(0)\n"
    )
    assert len(re.findall(r"apec.test: line \d+$", out, re.M)) == 2000


def test_a_forked_child_writes_its_lines_with_a_thread_of_its_own():
    out = in_a_process(
        "log.info('parent before')\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    log.info('child %d', os.getpid())\n"
        "    logging.shutdown()\n"  # as a worker ends (bot/workers.py)
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "log.info('parent after')\n"
        "stop_log_queue()\n"
        "log.info('written as it comes')\n"
    )
    said = re.findall(r"apec\.test: (.*)$", out, re.M)
    assert said.count("parent before") == 1  # the child did not write its copy of the queue
    assert said.count("parent after") == said.count("written as it comes") == 1
    assert len([line for line in said if line.startswith("child ")]) == 1, out


def test_two_workers_log_every_request_and_their_stop(db_path, web_api, bots):
    """`serve --workers 2`: each forked worker's lines reach stderr, the last ones at its stop."""
    service = bots.start(T - timedelta(days=1), APEC_WORKERS="2")
    service.wait_line(TICK_DONE, count=2)  # both workers serve
    for _ in range(20):  # a new connection each: the kernel spreads them over the workers
        status, _ = service.served.command("next-meeting")
        assert status == 200
    service.stop()
    text = "".join(service.lines)
    assert len(re.findall(r"apec\.http: command next-meeting -> 200", text)) == 20, text[-3000:]
    assert len(re.findall(r"apec\.serve: stopped in", text)) == 2, text[-3000:]


class Counted(Gate):
    """A stderr that counts its writes, the first held until it is opened."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_lines_that_wait_are_written_together_in_their_order_masked(monkeypatch, root_kept):
    # Under load the thread wrote (and flushed) a line at a time, each write letting the
    # interpreter's lock go and waiting to take it back from the busy request threads: 55 us of
    # CPU a request in `serve` against 10 alone. Lines that wait are written in one go.
    stream = Counted()
    monkeypatch.setattr(sys, "stderr", stream)
    setup_logging(logging.INFO, "text", [SECRET])
    start_log_queue()
    log = logging.getLogger("apec.test")
    log.info("first")
    assert stream.held.wait(10)  # the thread holds the first line; the rest wait on the queue
    for n in range(500):
        log.info("line %d %s", n, SECRET)
    logging.getLogger("apec.quiet").debug("below the level: never written")
    stream.opened.set()
    stop_log_queue()
    lines = stream.getvalue().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == ["first"] + [
        f"line {n} [redacted]" for n in range(500)
    ]
    assert stream.writes <= 10, f"{stream.writes} writes for 501 lines"
