"""Simulation time: real, accelerated, or stepped by tests.

The clock only tells time; whoever owns the engine registers a listener so that stepping the clock
also runs the market (ticks, bar closes, order triggers) up to the new time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """Base clock. `now()` is timezone-aware UTC, truncated to milliseconds like the venue's stamps."""

    kind = "real"

    def __init__(self) -> None:
        self._listeners: list[Callable[[datetime], None]] = []

    def now(self) -> datetime:
        raise NotImplementedError

    def on_advance(self, listener: Callable[[datetime], None]) -> None:
        self._listeners.append(listener)

    def advance(self, seconds: float) -> datetime:
        raise TypeError(f"a {self.kind} clock cannot be stepped; use clock='stepped'")

    def _notify(self, now: datetime) -> None:
        for listener in self._listeners:
            listener(now)


def _ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


class RealClock(Clock):
    kind = "real"

    def now(self) -> datetime:
        return _ms(datetime.now(UTC))


class AcceleratedClock(Clock):
    """Runs `speed` times faster than wall time from `start` (wall now if not given)."""

    kind = "accelerated"

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        super().__init__()
        self.speed = speed
        self._start = start or datetime.now(UTC)
        self._wall_start = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._wall_start) * self.speed
        return _ms(self._start + timedelta(seconds=elapsed))


class SteppedClock(Clock):
    """Stands still until a test moves it; every move runs the engine synchronously."""

    kind = "stepped"

    def __init__(self, start: datetime) -> None:
        super().__init__()
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._now = _ms(start.astimezone(UTC))

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._now = _ms(self._now + timedelta(seconds=seconds))
        self._notify(self._now)
        return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to an absolute time (forward only)."""
        return self.advance((when - self._now).total_seconds())
