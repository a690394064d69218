"""The bot's clock: real time, or real time running on from an injected start (APEC_NOW, --now)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """Now, as an aware datetime. Started at `start`, it runs on in real time from there."""

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("the clock's start must be aware")
        self._start = start
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        if self._start is None:
            return datetime.now(UTC)
        return self._start + timedelta(seconds=time.monotonic() - self._t0)
