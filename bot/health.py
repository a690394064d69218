"""Whether the store takes writes, for every process serving it on this host, and who is told.

A fault of the store (a write refused by a full or read-only disk, its log deleted under it, an I/O
error, a damaged page found by quick_check) starts an episode: /healthz says 503, changes are
refused without being tried, every connection is opened anew, and the admins get one direct
message. The episode ends when a probe on a fresh connection reads and writes and quick_check finds
the store sound: one more message ("the store takes writes again"), and every connection is opened
anew once more, so none opened during the fault (read-only for good, say) is used after it.

One message per episode however many workers meet the fault: the episode is a marker file outside
the store, in the OS temp folder and named for the store's path, made with O_EXCL and ended with a
rename, so exactly one process starts it and exactly one ends it. Not the scheduler's lease: that
lives in the failing store, which can be neither leased nor renewed while it takes no write. WAL
already keeps every process of one store on one host, so a host-local file reaches them all. When
the marker cannot be made (the temp folder failing too), each process keeps the episode itself
and tells the admins itself: twice is better than never.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.posting import Poster, PostError
from handlers.render import Card, esc
from store.db import StoreDatabase, connect, log_missing, retire
from store.errors import StoreError

if TYPE_CHECKING:
    from bot.stores import Stores

log = logging.getLogger("apec.health")

FAILED = (
    ":rotating_light: The desk's store failed: {detail}\n"
    "Users are told it is unavailable, and changes are refused until it takes writes again; "
    "I will say when it does. `/healthz` says what the probe finds."
)
RECOVERED = (
    ":white_check_mark: The desk's store takes writes again (it failed at {since}: {detail})."
)


def marker_path(store_path: str | Path, folder: str | Path | None = None) -> Path:
    """The episode's marker for the store at `store_path`: one per store and user, outside it."""
    key = hashlib.sha256(str(Path(store_path).resolve()).encode()).hexdigest()[:16]
    return Path(folder or tempfile.gettempdir()) / f"apec-store-fault-{os.geteuid()}-{key}"


class Faults:
    """The store's fault episodes, shared by the processes on this host through a marker file."""

    def __init__(self, store_path: str | Path, folder: str | Path | None = None) -> None:
        self.marker = marker_path(store_path, folder)
        self.tell: Callable[[str], None] = lambda text: None  # the admins' messages (the app's)
        self._lock = threading.Lock()
        self._own: dict[str, Any] | None = None  # the episode, when the marker cannot be made
        self._read: tuple[tuple[int, int], str] | None = None  # ((inode, mtime), its detail)
        self._on = False  # whether an episode was on when last looked
        self._changed: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` when an episode starts or ends, here or in another process."""
        self._changed.append(listener)

    def failing(self) -> str | None:
        """What failed, while an episode is on (started here or by another process); else None.
        A stat of the marker; noticing a change calls the listeners."""
        detail = self._own["detail"] if self._own is not None else self._marker_detail()
        self._notice(detail is not None)
        return detail

    def failed(self, detail: str) -> None:
        """A fault met: starts an episode unless one is on; whoever starts it tells the admins."""
        if self.failing() is not None:
            return
        kept = detail[:500]
        episode = {
            "detail": kept,
            "since": datetime.now(UTC).isoformat(),
            "pid": os.getpid(),
        }
        if self._start(episode):
            log.error("the store failed: %s; changes are refused until it recovers", detail)
            self._send(FAILED.format(detail=esc(kept)))
        self._notice(True)

    def recovered(self) -> None:
        """The store reads and takes writes again: the episode ends; whoever ends it says so."""
        episode = self._end()
        if episode is not None:
            log.info("the store takes writes again (it failed: %s)", episode.get("detail", "?"))
            since = str(episode.get("since", "?"))[:16].replace("T", " ")
            detail = esc(str(episode.get("detail", "a fault"))[:300])
            self._send(RECOVERED.format(since=f"{since} UTC", detail=detail))
        self._notice(False)

    def _start(self, episode: dict[str, Any]) -> bool:
        """Make the marker (or, failing that, keep the episode here); whether this call began it."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.marker, flags, 0o600)
        except FileExistsError:
            if self._marker_detail() is not None:
                return False  # another process (or thread) began it just now
            log.warning("%s is not this user's file: this process keeps the episode", self.marker)
        except OSError as exc:
            log.warning(
                "cannot mark the store's fault at %s (%s): this process keeps it",
                self.marker,
                exc.strerror,
            )
        else:
            try:
                os.write(fd, json.dumps(episode).encode())
            except OSError as exc:  # the marker stands, without its detail
                log.warning("cannot write the store's fault into %s: %s", self.marker, exc.strerror)
            finally:
                os.close(fd)
            return True
        with self._lock:
            if self._own is not None:
                return False
            self._own = episode
        return True

    def _end(self) -> dict[str, Any] | None:
        """Take the episode away (marker or this process's); it, if this call ended it."""
        with self._lock:
            own, self._own = self._own, None
        if own is not None:
            return own
        taken = self.marker.with_name(f"{self.marker.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            if not self._mine(os.lstat(self.marker)):
                return None
            os.rename(self.marker, taken)  # atomic: of every process that tries, one succeeds
        except OSError:
            return None
        try:
            return dict(json.loads(taken.read_text() or "{}"))
        except (OSError, ValueError):
            return {}
        finally:
            taken.unlink(missing_ok=True)

    def _marker_detail(self) -> str | None:
        """The marker's detail if the marker is there and this user's."""
        try:
            found = os.lstat(self.marker)
        except OSError:
            return None
        if not self._mine(found):
            return None
        key = (found.st_ino, found.st_mtime_ns)
        read = self._read
        if read is not None and read[0] == key:
            return read[1]
        try:
            detail = str(json.loads(self.marker.read_text() or "{}").get("detail", ""))
        except (OSError, ValueError, AttributeError):
            detail = ""
        detail = detail or "a fault of the store (its detail was not recorded)"
        self._read = (key, detail)
        return detail

    @staticmethod
    def _mine(found: os.stat_result) -> bool:
        return stat.S_ISREG(found.st_mode) and found.st_uid == os.geteuid()

    def _notice(self, on: bool) -> None:
        with self._lock:
            changed, self._on = on != self._on, on
        if changed:
            for listener in self._changed:
                listener()

    def _send(self, text: str) -> None:
        """The admins' message, on a thread of its own: no request waits for Slack."""
        threading.Thread(target=self._tell, args=(text,), name="store-alert", daemon=True).start()

    def _tell(self, text: str) -> None:
        try:
            self.tell(text)
        except Exception:
            log.exception("telling the admins about the store failed")


class AdminAlerts:
    """Direct messages to each admin through Slack's Web API (never through the store)."""

    def __init__(self, admins: frozenset[str], poster: Poster) -> None:
        self.admins, self.poster = admins, poster

    def __call__(self, text: str) -> None:
        if not self.admins:
            log.warning("no admin to tell about the store (APEC_ADMINS is empty)")
        for admin in sorted(self.admins):
            try:
                self.poster.dm(admin, Card().section(text))
            except PostError as exc:
                log.error("could not tell admin %s about the store: %s", admin, exc.error)


LOOK_EVERY = 1.0  # seconds between the watchdog's looks (a few stat calls each)
PROBE_EVERY = 5.0  # seconds between probes of a failing store
QUICK_CHECK_EVERY = 3600.0  # seconds between quick checks of a sound one
SOUND_PROBES = 2  # probes in a row, PROBE_EVERY apart, that end an episode


class Watchdog:
    """One thread a process, never on a request's path. Each LOOK_EVERY it notices an episode
    begun or ended by another process, and whether the store's log was deleted under its own
    long-held connection (copying that log in if so); while an episode is on, it probes every
    PROBE_EVERY and ends the episode when two probes in a row find the store sound; every QUICK_CHECK_EVERY it runs
    SQLite's quick check (corruption in pages nobody reads is found within the hour)."""

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
