"""The pool for the work after an ack (bot/app.py `after_ack_pool`): bounded, so that a flood of
mentions acknowledged faster than they are answered cannot grow the process's memory without end
(`bench/load_bench.py --memory`: +74 MB over 110,000 requests with mentions, +26 MB without),
and never waiting on itself (work that hands on work must not block its own workers)."""

from __future__ import annotations

import threading
import time

import pytest

from bot.app import BoundedPool


def wait_for(ready, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.01)


def test_a_request_waits_for_room_when_the_backlog_is_full_and_every_task_runs():
    pool = BoundedPool(workers=1, backlog=3, wait=30.0)
    gate = threading.Event()
    ran: list[int] = []
    try:
        pool.submit(gate.wait)  # the worker is held
        for n in range(2):
            pool.submit(ran.append, n)  # the backlog is full: 3 waiting or running
        handed = threading.Event()

        def request() -> None:
            pool.submit(ran.append, 2)
            handed.set()

        thread = threading.Thread(target=request)
        thread.start()
        wait_for(lambda: pool.waiting == 1)  # the request waits for room
        assert not handed.is_set()
        gate.set()
        thread.join(timeout=10)
        assert handed.is_set()
    finally:
        pool.shutdown(wait=True)
    assert ran == [0, 1, 2]


def test_work_handed_on_from_the_pool_never_waits_for_room():
    pool = BoundedPool(workers=1, backlog=1, wait=30.0)
    done = threading.Event()
    try:

        def first() -> None:
            pool.submit(done.set)  # from the pool's own worker: no room, but it must not wait

        pool.submit(first)
        assert done.wait(10)
        assert pool.waiting == 0
    finally:
        pool.shutdown(wait=True)


def test_a_request_that_waited_its_time_hands_its_work_on_all_the_same():
    pool = BoundedPool(workers=1, backlog=1, wait=0.0)
    gate = threading.Event()
    ran: list[str] = []
    try:
        pool.submit(gate.wait)
        pool.submit(ran.append, "late")  # no room and no wait: handed on past the bound
        gate.set()
    finally:
        pool.shutdown(wait=True)
    assert ran == ["late"]


def test_a_task_refused_by_a_pool_shut_down_gives_its_room_back():
    pool = BoundedPool(workers=1, backlog=1, wait=0.0)
    pool.shutdown(wait=True)
    for _ in range(3):  # each refused; none keeps the one place
        with pytest.raises(RuntimeError):
            pool.submit(print)
    assert pool._room.acquire(blocking=False)
