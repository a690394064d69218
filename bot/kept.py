"""Keys' 64-bit digests, each with the time it is kept from, in about 16 bytes a key.

The replay record (`bot/seen.py`) keeps every signed request's key for 5 minutes and every event's
for a day: at a few hundred requests a second, a hundred thousand keys or more. In a dict a key
costs about 90 bytes (its entry, an int and a float, each an object); here the newest FREEZE keys
are in a dict, and the rest in two arrays, sorted by digest (8 bytes each for the digest and its
time).

A lookup bisects `array.array`s with `bisect`, which holds the interpreter's lock: numpy's
`searchsorted` lets it go, and taking it back waits behind the other busy threads (with one
spinning, a lookup took 370 µs, not 2; a made reply grew slower as the arrays grew). numpy only
merges the dict into the arrays, a few milliseconds at 200,000 keys once every FREEZE keys (every
process of ours has it loaded already: sqlite-utils imports it).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Any

import numpy as np

Column = np.ndarray[Any, Any]

FREEZE = 4096  # keys in the dict before they are merged into the arrays


class Kept:
    """Digests, each kept from a time: the latest given for it. Not thread-safe: its owner locks."""

    def __init__(self, freeze: int = FREEZE) -> None:
        self.freeze = freeze
        self.recent: dict[int, float] = {}  # never older than the arrays' time for a digest
        self.digests = array("q")  # the rest, sorted
        self.ats = array("d")  # each one's time

    def get(self, digest: int) -> float | None:
        """The time `digest` is kept from; None if it is not kept."""
        at = self.recent.get(digest)
        if at is not None:
            return at
        digests = self.digests
        i = bisect_left(digests, digest)
        if i < len(digests) and digests[i] == digest:
            return self.ats[i]
        return None

    def claim(self, digest: int, at: float, within: float) -> bool:
        """Keep `digest` from `at`, unless it is kept from `at - within` or later: then False (a
        repeat within its time). One lookup, on a request's path."""
        before = self.get(digest)
        if before is not None and before >= at - within:
            return False
        self._keep(digest, at)  # (later than `before`: `within` is not negative)
        return True

    def raise_to(self, digest: int, at: float) -> None:
        """Keep `digest` from `at`, unless it already is from then or later."""
        before = self.get(digest)
        if before is None or before < at:
            self._keep(digest, at)

    def _keep(self, digest: int, at: float) -> None:
        self.recent[digest] = at
        if len(self.recent) >= self.freeze:
            self._merge()

    def forget(self, before: float, most: int) -> None:
        """Drop the digests kept from before `before`, then the oldest past `most` (of the same
        time, the lower digest first)."""
        self.recent = {d: at for d, at in self.recent.items() if at >= before}
        if not self.digests and len(self.recent) <= most:
            return
        self._merge()
        digests, ats = _columns(self)
        keep = ats >= before
        if int(keep.sum()) > most:  # the oldest go: every one past its time among them
            keep[np.argsort(ats, kind="stable")[: len(ats) - most]] = False
        if not keep.all():
            self._set(digests[keep], ats[keep])

    def items(self) -> list[tuple[int, float]]:
        """Every digest with its time, by digest (for tests)."""
        self._merge()
        return list(zip(self.digests, self.ats, strict=True))

    def _merge(self) -> None:
        """Move the dict's digests into the arrays: a digest in both takes the dict's time (never
        older), the others go in at their places."""
        if not self.recent:
            return
        keys = np.fromiter(self.recent.keys(), np.int64, len(self.recent))
        times = np.fromiter(self.recent.values(), np.float64, len(self.recent))
        self.recent = {}
        order = np.argsort(keys)
        keys, times = keys[order], times[order]
        digests, ats = _columns(self)
        at = digests.searchsorted(keys)
        there = at < len(digests)
        there[there] = digests[at[there]] == keys[there]
        ats[at[there]] = times[there]  # (in place: the arrays are replaced below)
        new = ~there
        self._set(np.insert(digests, at[new], keys[new]), np.insert(ats, at[new], times[new]))

    def _set(self, digests: Column, ats: Column) -> None:
        self.digests, self.ats = array("q"), array("d")
        self.digests.frombytes(digests.data.cast("B"))  # copied once, no bytes between
        self.ats.frombytes(ats.data.cast("B"))


def _columns(kept: Kept) -> tuple[Column, Column]:
    """The arrays as numpy arrays (views, not copies)."""
    return np.frombuffer(kept.digests, np.int64), np.frombuffer(kept.ats, np.float64)
