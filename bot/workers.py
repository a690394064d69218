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
before would fail again: then the service stops); and on SIGTERM or SIGINT passes the signal on and
waits for each worker to finish what it is doing.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("apec.workers")

READY_WAIT = 60.0  # seconds a worker may take to start listening
STOP_WAIT = 75.0  # seconds a worker may take to stop: its post under way, sent and recorded
RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)

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


@dataclass
class Pool:
    """The workers, forked from this process and replaced when one dies."""

    run: Run
    shared_dir: str
    workers: dict[int, Worker] = field(default_factory=dict)

    def start(self, slot: int, restarts: int = 0) -> Worker:
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the supervisor's code
            os.close(read)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # `serve` sets its own
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            status = 1
            try:
                status = self.run(write)
            except BaseException:
                log.exception("worker %s failed", slot)
            finally:
                logging.shutdown()
                os._exit(status)
        os.close(write)
        worker = Worker(slot, pid, read, restarts)
        self.workers[slot] = worker
        return worker

    def wait_ready(self, timeout: float) -> bool:
        """Wait until every worker listens (each writes a byte to its pipe); False if one dies."""
        deadline = time.monotonic() + timeout
        while not all(w.ready for w in self.workers.values()):
            left = deadline - time.monotonic()
            waiting = [w for w in self.workers.values() if not w.ready]
            if left <= 0 or any(w.exited() for w in waiting):
                return False
            self.poll_ready(min(left, 0.5))
        return True

    def poll_ready(self, timeout: float = 0.0) -> None:
        """Note the workers that have said they listen, waiting up to `timeout` for one."""
        waiting = {w.ready_fd: w for w in self.workers.values() if w.ready_fd >= 0}
        if not waiting:
            return
        readable, _, _ = select.select(list(waiting), [], [], timeout)
        for fd in readable:
            worker = waiting[fd]
            worker.ready = os.read(fd, 1) == b"1"
            self._close_pipe(worker)

    def forget(self, worker: Worker) -> None:
        """A worker is gone: its live gauges leave /metrics with it."""
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, self.shared_dir)
        self._close_pipe(worker)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Pass the signal on and wait for each worker to finish; kill one that does not."""
        for worker in self.workers.values():
            if not worker.exited():
                os.kill(worker.pid, signum)
        deadline = time.monotonic() + STOP_WAIT
        for worker in self.workers.values():
            while not worker.exited():
                if time.monotonic() > deadline:
                    log.error("worker %s (pid %s) did not stop: killed", worker.slot, worker.pid)
                    os.kill(worker.pid, signal.SIGKILL)
                    os.waitpid(worker.pid, 0)
                    worker.status = -signal.SIGKILL
                    break
                time.sleep(0.05)
            self._close_pipe(worker)

    @staticmethod
    def _close_pipe(worker: Worker) -> None:
        if worker.ready_fd >= 0:
            os.close(worker.ready_fd)
            worker.ready_fd = -1


def supervise(run: Run, count: int, shared_dir: str, say_ready: Callable[[], None]) -> int:
    """Run `count` workers until a signal; the exit status. `say_ready` tells the admin the
    service listens, once every worker does."""
    pool = Pool(run, shared_dir)
    received: list[int] = []

    def handle(signum: int, frame: object) -> None:
        received.append(signum)

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    try:
        for slot in range(count):
            pool.start(slot)
        if not pool.wait_ready(READY_WAIT):
            return _failed_start(pool)
        say_ready()
        status = _watch(pool, received)
        log.warning("stopping: each worker finishes what it is doing")
        return status
    finally:
        pool.stop(received[0] if received else signal.SIGTERM)


def _watch(pool: Pool, received: list[int]) -> int:
    """Replace workers that die until a signal; a status to exit with if one cannot start."""
    while not received:
        pool.poll_ready(0.5)  # also the loop's pause: a worker saying it listens wakes it
        for slot, worker in list(pool.workers.items()):
            if not worker.exited():
                continue
            pool.forget(worker)
            if not worker.ready and worker.status:  # it failed to start: so would the next
                log.error("worker %s exited with %s before it listened: stopping", slot, worker.status)  # fmt: skip
                return worker.status if worker.status > 0 else 1
            wait = RESTART_BACKOFF[min(worker.restarts, len(RESTART_BACKOFF) - 1)]
            log.warning("worker %s (pid %s) exited with %s: another starts in %.0f s",
                        slot, worker.pid, worker.status, wait)  # fmt: skip
            deadline = time.monotonic() + wait
            while not received and time.monotonic() < deadline:
                time.sleep(0.05)
            if received:
                return 0
            pool.start(slot, worker.restarts + 1)
    return 0


def _failed_start(pool: Pool) -> int:
    """Some worker did not start: stop the others; its exit status (it said why on stderr)."""
    statuses = [w.status for w in pool.workers.values() if w.exited() and w.status]
    if not statuses:
        print("apec-bot: the workers did not start listening in time", file=sys.stderr)
    return statuses[0] if statuses and statuses[0] > 0 else 1
