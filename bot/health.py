"""The store's watchdog: one thread a process that notices a fault of the store's files, probes a
failing store until it is sound again, and runs SQLite's quick check every hour. What a fault
episode is, and who is told of it, is in bot/faults.py (re-exported here for older imports).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.faults import AdminAlerts, Faults
from bot.stores import Stores
from store.db import StoreDatabase, connect, log_missing, retire
from store.errors import StoreError

__all__ = ["AdminAlerts", "Faults", "Watchdog"]  # the first two for older imports

log = logging.getLogger("apec.health")

LOOK_EVERY = 1.0  # seconds between the watchdog's looks (a few stat calls each)
PROBE_EVERY = 5.0  # seconds between probes of a failing store
QUICK_CHECK_EVERY = 3600.0  # seconds between quick checks of a sound one
SOUND_PROBES = 2  # probes in a row, PROBE_EVERY apart, that end an episode


class Watchdog:
    """One thread a process, never on a request's path. Each LOOK_EVERY it notices an episode
    begun or ended by another process, and whether the store's log was deleted under its own
    long-held connection (copying that log in if so); while an episode is on, it probes every
    PROBE_EVERY and ends the episode when two probes in a row find the store sound; every
    QUICK_CHECK_EVERY it runs SQLite's quick check (corruption in pages nobody reads is found
    within the hour)."""

    def __init__(
        self,
        stores: Stores,
        *,
        look_every: float = LOOK_EVERY,
        probe_every: float = PROBE_EVERY,
        quick_every: float = QUICK_CHECK_EVERY,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stores = stores
        self.look_every, self.probe_every, self.quick_every = look_every, probe_every, quick_every
        self.ticks = ticks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._held: StoreDatabase | None = None  # held open: it can copy in a log deleted later
        self._probed = float("-inf")
        self._sound = 0  # probes in a row that found a failing store sound
        self._quick = ticks()  # `serve` checked the store at start

    def start(self) -> Watchdog:
        self._thread = threading.Thread(target=self._run, name="store-watchdog", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread (a probe under way may take a few seconds) and let its connection go."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            if self._thread.is_alive():
                return  # a daemon: it goes with the process, connection and all
        if self._held is not None:
            retire(self._held)
            self._held = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:
                log.exception("the store's watchdog failed a step")
            self._stop.wait(self.look_every)

    def step(self) -> None:
        """One look (the thread's loop; tests call it too)."""
        faults, now = self.stores.faults, self.ticks()
        self._look_at_files()
        if faults.failing() is None:
            self._sound = 0
        elif now - self._probed >= self.probe_every:
            self._probed = now
            self._sound = self._sound + 1 if self.stores.check() is None else 0
            if self._sound >= SOUND_PROBES:  # twice in a row: no flapping, and time to see the 503
                self._sound = 0
                faults.recovered()
        if now - self._quick >= self.quick_every:
            self._quick = now
            found = self.stores.quick_check()
            if found is not None:
                faults.failed(found)

    def _look_at_files(self) -> None:
        """A log deleted under the store (or its files replaced) is a fault, seen within a look."""
        path, faults = self.stores.path, self.stores.faults
        if log_missing(path):
            faults.failed(f"the store's log {path.name}-wal was deleted while the store was open")
        held = self._held
        if held is not None:
            try:
                held.check_files()  # a mismatch reports the fault and copies the log in
            except StoreError:
                pass
            if held.broken is not None:
                self._held = None
                retire(held)
        if self._held is None and path.is_file():
            try:
                self._held = connect(
                    path, create=False, on_fault=faults.failed, check_same_thread=False
                )
            except StoreError:
                pass  # opened again at a later look
