"""`apec-bot serve --workers N`: N processes share one port, and one of them posts.

One Python process is bound by its interpreter lock; N processes answer N requests at once. This
process checks the configuration, builds the store if need be and imports everything, then forks
N workers: each runs `serve` on the port, bound with SO_REUSEPORT (the kernel spreads connections
over them), with a scheduler that posts only while it holds the store's lease, so exactly one of
them posts. Forked, a worker starts in a few milliseconds: the imports were paid for once, here.
The workers write their metrics to a shared folder (prometheus-client's multiprocess mode), so
/metrics adds them all up whichever worker answers.

This process serves nothing and starts no thread (a fork copies only the thread that forks: a lock
held by another would stay held forever in the child). It holds the port bound, not listening,
while workers come and go; replaces a worker that dies after it started listening (one that fails
before would fail again: then the service stops); and on SIGTERM or SIGINT passes the signal on,
waits up to the stop timeout for the workers to finish what they are doing, and kills the ones
still running. Between events it sleeps, as gunicorn's arbiter does: a signal (SIGCHLD when a
worker exits) or a worker saying it listens wakes it.

A worker never outlives this process: Linux sends it SIGTERM when this process dies, however it
dies (PR_SET_PDEATHSIG), and the worker also looks at its parent every second (as gunicorn's
workers do), which holds elsewhere too. Either way it stops as on SIGTERM: it gives up the lease.

Why our own supervisor over waitress, rather than gunicorn's or granian's: each worker's scheduler
(its lease, its clean stop finishing the post under way) lives beside its server, and waitress runs
inside our process, so the tests run the server production runs. gunicorn holds a thread per
trickling connection and was no faster; granian was 1.3x to 1.9x faster (bench/server_bench.py, the
README's "Why waitress") but runs the application in workers of its own making, away from the
scheduler. A desk's busiest minute is a few requests a second; one waitress worker answers 2,300.
"""

from __future__ import annotations

import ctypes
import logging
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

log = logging.getLogger("apec.workers")

READY_WAIT = 60.0  # seconds a worker may take to start listening
RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
IDLE_WAKE = 1.0  # seconds this process sleeps at most while nothing happens
PARENT_CHECK = 1.0  # seconds between a worker's looks at its parent
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Held while forking: a signal passed on to a worker just forked must find the worker's handlers.
FORK_HELD = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}

# A worker: given the pipe to say it listens on, it serves until a signal; its exit status.
Run = Callable[[int], int]


@dataclass
class Worker:
    """One worker process, and whether it has said it listens."""

    slot: int
    pid: int
    ready_fd: int
    restarts: int = 0
    ready: bool = False
    status: int | None = None  # its exit status, once it has exited

    def exited(self) -> bool:
        """Whether it has exited (reaped here, so it leaves no zombie)."""
        if self.status is None:
            pid, wait_status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(wait_status)
        return self.status is not None


class Pool:
    """The workers, forked from this process and replaced when one dies; this process' signals
    (while in a `with` block) and its sleep between them."""

    def __init__(self, run: Run, shared_dir: str) -> None:
        self.run = run
        self.shared_dir = shared_dir
        self.workers: dict[int, Worker] = {}
        self.received: list[int] = []  # SIGTERM or SIGINT: stop
        self._wake = os.pipe()  # each signal writes a byte here (signal.set_wakeup_fd)
        for fd in self._wake:
            os.set_blocking(fd, False)
        self._prctl = _prctl()  # looked up here: the worker does as little as it can before serving

    def __enter__(self) -> Pool:
        signal.signal(signal.SIGTERM, self._stop_asked)
        signal.signal(signal.SIGINT, self._stop_asked)
        # A handler of its own, doing nothing, so that a worker's exit writes to the pipe.
        # (SIG_IGN would not do: it would also have the kernel reap the workers, status unknown.)
        signal.signal(signal.SIGCHLD, _nothing)
        signal.set_wakeup_fd(self._wake[1], warn_on_full_buffer=False)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in self._wake:
            os.close(fd)

    def _stop_asked(self, signum: int, frame: object) -> None:
        self.received.append(signum)

    def start(self, slot: int, restarts: int = 0) -> Worker:
        """Fork the worker for `slot`."""
        read, write = os.pipe()
        parent = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        signal.pthread_sigmask(signal.SIG_BLOCK, FORK_HELD)
        try:
            pid = os.fork()
            if pid == 0:
                self._work(slot, read, write, parent)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORK_HELD)
        os.close(write)
        worker = Worker(slot, pid, read, restarts)
        self.workers[slot] = worker
        return worker

    def _work(self, slot: int, read: int, write: int, parent: int) -> NoReturn:
        """The worker, just forked: never returns into the supervisor's code."""
        status = 1
        try:
            signal.set_wakeup_fd(-1)  # first: the pipe's number is about to be closed
            for signum in FORK_HELD:
                signal.signal(signum, signal.SIG_DFL)  # `serve` sets its own
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORK_HELD)  # one passed on: it ends here
            for fd in (read, *self._wake):
                os.close(fd)
            if _tie_to(parent, self._prctl):
                _watch_parent(parent)
                status = self.run(write)
            else:
                status = 0  # the supervisor died before the tie was made: nothing to serve for
        except BaseException:
            log.exception("worker %s failed", slot)
        finally:
            logging.shutdown()
            os._exit(status)

    def sleep(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for a signal (SIGCHLD when a worker exits) or a worker
        saying it listens; note the workers that have said so."""
        waiting = {w.ready_fd: w for w in self.workers.values() if w.ready_fd >= 0}
        readable, _, _ = select.select([self._wake[0], *waiting], [], [], max(0.0, timeout))
        for fd in readable:
            if fd == self._wake[0]:
                while _read_some(fd):  # the signals' bytes: what they ask is in `received`
                    pass
                continue
            worker = waiting[fd]
            worker.ready = os.read(fd, 1) == b"1"
            self._close_pipe(worker)

    def wait_ready(self, timeout: float) -> bool:
        """Wait until every worker listens (each writes a byte to its pipe); False if one dies
        first, or a signal asks to stop."""
        deadline = time.monotonic() + timeout
        while not all(w.ready for w in self.workers.values()):
            left = deadline - time.monotonic()
            waiting = [w for w in self.workers.values() if not w.ready]
            if self.received or left <= 0 or any(w.exited() for w in waiting):
                return False
            self.sleep(min(left, IDLE_WAKE))
        return True

    def forget(self, worker: Worker) -> None:
        """A worker is gone: its live gauges leave /metrics with it."""
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, self.shared_dir)
        self._close_pipe(worker)

    def stop(self, signum: int, timeout: float) -> None:
        """Pass the signal on and wait up to `timeout` seconds for the workers to finish; kill
        the ones still running then."""
        for worker in self.workers.values():
            if not worker.exited():
                os.kill(worker.pid, signum)
        deadline = time.monotonic() + timeout
        running = [w for w in self.workers.values() if not w.exited()]
        while running and time.monotonic() < deadline:
            self.sleep(min(deadline - time.monotonic(), IDLE_WAKE))
            running = [w for w in running if not w.exited()]
        for worker in running:
            log.error("worker %s (pid %s) did not stop in time: killed", worker.slot, worker.pid)
            os.kill(worker.pid, signal.SIGKILL)
            os.waitpid(worker.pid, 0)
            worker.status = -signal.SIGKILL
        for worker in self.workers.values():
            self._close_pipe(worker)

    @staticmethod
    def _close_pipe(worker: Worker) -> None:
        if worker.ready_fd >= 0:
            os.close(worker.ready_fd)
            worker.ready_fd = -1


def supervise(
    run: Run, count: int, shared_dir: str, say_ready: Callable[[], None], *, stop_timeout: float
) -> int:
    """Run `count` workers until a signal; the exit status. `say_ready` tells the admin the
    service listens, once every worker does; on a signal each worker has `stop_timeout` seconds."""
    with Pool(run, shared_dir) as pool:
        try:
            for slot in range(count):
                pool.start(slot)
            if not pool.wait_ready(READY_WAIT):
                return 0 if pool.received else _failed_start(pool)
            say_ready()
            status = _watch(pool)
            log.info("stopping: the workers have %g s to finish their work", stop_timeout)
            return status
        finally:
            pool.stop(pool.received[0] if pool.received else signal.SIGTERM, stop_timeout)


def _watch(pool: Pool) -> int:
    """Replace workers that die until a signal; a status to exit with if one cannot start."""
    due: dict[int, tuple[float, int]] = {}  # slot -> (when its replacement starts, its restarts)
    while not pool.received:
        for slot, worker in list(pool.workers.items()):
            if not worker.exited():
                continue
            pool.forget(worker)
            del pool.workers[slot]
            if not worker.ready and worker.status:  # it failed to start: so would the next
                log.error(
                    "worker %s exited with %s before it listened: stopping", slot, worker.status
                )
                return worker.status if worker.status > 0 else 1
            wait = RESTART_BACKOFF[min(worker.restarts, len(RESTART_BACKOFF) - 1)]
            log.warning(
                "worker %s (pid %s) exited with %s: another starts in %.0f s",
                slot,
                worker.pid,
                worker.status,
                wait,
            )
            due[slot] = (time.monotonic() + wait, worker.restarts + 1)
        now = time.monotonic()
        for slot, (at, restarts) in list(due.items()):
            if at <= now:
                del due[slot]
                pool.start(slot, restarts)
        pool.sleep(min([IDLE_WAKE, *(at - now for at, _ in due.values())]))
    return 0


def _failed_start(pool: Pool) -> int:
    """Some worker did not start: stop the others; its exit status (it said why on stderr)."""
    statuses = [w.status for w in pool.workers.values() if w.exited() and w.status]
    if not statuses:
        print("apec-bot: the workers did not start listening in time", file=sys.stderr)
    return statuses[0] if statuses and statuses[0] > 0 else 1


def _nothing(signum: int, frame: object) -> None:
    """A signal handler that only lets the signal wake the sleep."""


def _read_some(fd: int) -> bytes:
    try:
        return os.read(fd, 512)
    except BlockingIOError:
        return b""


def _prctl() -> Callable[..., int] | None:
    """Linux's prctl(2) from the C library, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _tie_to(parent: int, prctl: Callable[..., int] | None) -> bool:
    """Have the kernel send this worker SIGTERM when `parent` dies; whether it still lives (it
    may have died before the tie was made)."""
    # The signal follows the thread that forked, not the process: the supervisor has one thread.
    if prctl is not None and prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        log.warning("PR_SET_PDEATHSIG failed (errno %s): only the parent check stops it", errno)
    return os.getppid() == parent


def _watch_parent(parent: int) -> None:
    """Stop this worker, as SIGTERM stops it, once `parent` is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK)
        log.warning("the supervisor (pid %s) is gone: stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-check", daemon=True).start()
