"""Client-side token buckets, so we stay under the venue's limits instead of collecting 429s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from .config import RateLimit

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_TOLERANCE = 1e-9


class TokenBucket:
    """`rate` tokens per second, holding at most `burst`. `acquire` waits for a token.

    Waiters are served in arrival order (the lock), so a burst of callers is spread evenly.
    """

    def __init__(self, limit: RateLimit, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep):
        self._rate = limit.rate
        self._burst = limit.burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = limit.burst
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    async def acquire(self) -> None:
        async with self._lock:
            self._refill()
            # The tolerance stops float rounding from turning the last wait into an endless crawl.
            while self._tokens < 1 - _TOLERANCE:
                await self._sleep((1 - self._tokens) / self._rate)
                self._refill()
            self._tokens = max(0.0, self._tokens - 1)
