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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.posting import Poster, PostError
from handlers.render import Card, esc

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
