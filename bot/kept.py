"""Keys' 64-bit digests, each with the time it is kept from, in about 16 bytes a key.

The replay record (`bot/seen.py`) keeps every signed request's key for 5 minutes and every event's
for a day: at a few hundred requests a second, a hundred thousand keys or more. In a dict a key
costs about 90 bytes (its entry, an int and a float, each an object); here the newest FREEZE keys
are in a dict, and the rest in two arrays, sorted by digest (8 bytes each for the digest and its
time), searched by bisection. Merging the dict into the arrays costs a few milliseconds at 200,000
keys, once every FREEZE keys. numpy is imported at the first merge: a desk never comes near it,
and `serve` starts without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    Frozen = tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.float64]]]

FREEZE = 4096  # keys in the dict before they are merged into the arrays


class Kept:
    """Digests, each kept from a time: the latest given for it. Not thread-safe: its owner locks."""

    def __init__(self, freeze: int = FREEZE) -> None:
        self.freeze = freeze
        self.recent: dict[int, float] = {}  # never older than the arrays' time for a digest
        self.frozen: Frozen | None = None  # the rest, sorted by digest; None: none yet

    def __len__(self) -> int:
        """Keys held (one in both the dict and the arrays counts twice, until the next merge)."""
        return len(self.recent) + (0 if self.frozen is None else len(self.frozen[0]))

    def get(self, digest: int) -> float | None:
        """The time `digest` is kept from; None if it is not kept."""
        at = self.recent.get(digest)
        if at is not None or self.frozen is None:
            return at
        digests, ats = self.frozen
        i = int(digests.searchsorted(digest))
        if i < len(digests) and digests[i] == digest:
            return float(ats[i])
        return None

    def raise_to(self, digest: int, at: float) -> None:
        """Keep `digest` from `at`, unless it already is from then or later."""
        before = self.get(digest)
        if before is not None and before >= at:
            return
        self.recent[digest] = at
        if len(self.recent) >= self.freeze:
            self._merge()

    def forget(self, before: float, most: int) -> None:
        """Drop the digests kept from before `before`, then the oldest past `most` (of the same
        time, the lower digest first)."""
        self.recent = {d: at for d, at in self.recent.items() if at >= before}
        if self.frozen is None and len(self.recent) <= most:
            return  # (numpy not needed)
        import numpy as np

        self._merge()
        assert self.frozen is not None
        digests, ats = self.frozen
        keep = ats >= before
        if int(keep.sum()) > most:  # the oldest go: every one past its time among them
            keep[np.argsort(ats, kind="stable")[: len(ats) - most]] = False
        if not keep.all():
            self.frozen = digests[keep], ats[keep]

    def items(self) -> list[tuple[int, float]]:
        """Every digest with its time, by digest (for tests)."""
        self._merge()
        if self.frozen is None:
            return []
        digests, ats = self.frozen
        return list(zip(digests.tolist(), ats.tolist(), strict=True))

    def _merge(self) -> None:
        """Move the dict's digests into the arrays: a digest in both takes the dict's time (never
        older), the others go in at their places."""
        if not self.recent:
            return
        import numpy as np

        keys = np.fromiter(self.recent.keys(), np.int64, len(self.recent))
        ats = np.fromiter(self.recent.values(), np.float64, len(self.recent))
        self.recent = {}
        order = np.argsort(keys)
        keys, ats = keys[order], ats[order]
        if self.frozen is None:
            self.frozen = keys, ats
            return
        digests, times = self.frozen
        at = digests.searchsorted(keys)
        there = at < len(digests)
        there[there] = digests[at[there]] == keys[there]
        times[at[there]] = ats[there]
        new = ~there
        self.frozen = np.insert(digests, at[new], keys[new]), np.insert(times, at[new], ats[new])
