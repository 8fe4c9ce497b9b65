"""Fan-out of bus events to the browsers connected to this gateway replica.

The gateway follows broker, quote and chart events with broadcast subscriptions (every replica sees
every event) and publishes each into this hub under a topic; a Server-Sent Events stream subscribes to
the topics it shows. Topics:

- ``user:{user_id}``: the user's broker events (orders, positions, balance, accounts);
- ``quote:{venue}:{symbol}``: live quotes of one instrument;
- ``candle:{venue}:{symbol}:{timeframe}``: its closed bars;
- ``chart:{request_id}``: the outcome of a chart the gateway asked to render.

Subscribers hold a bounded queue: a browser that cannot keep up loses the oldest updates, never
slows the bus. Pages load their state by a query first, so a lost live update is only a late one.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


def user_topic(user_id: object) -> str:
    return f"user:{user_id}"


def quote_topic(venue: str, symbol: str) -> str:
    return f"quote:{venue}:{symbol}"


def candle_topic(venue: str, symbol: str, timeframe: str) -> str:
    return f"candle:{venue}:{symbol}:{timeframe}"


def chart_topic(request_id: object) -> str:
    return f"chart:{request_id}"


class Subscription:
    def __init__(self, topics: frozenset[str], maxsize: int) -> None:
        self.topics = topics
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize)
        self.dropped = 0

    def offer(self, topic: str, payload: Any) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait((topic, payload))

    async def get(self, timeout: float | None = None) -> tuple[str, Any]:
        """The next (topic, payload); raises TimeoutError after ``timeout`` seconds."""
        return await asyncio.wait_for(self._queue.get(), timeout)

    def __aiter__(self) -> AsyncIterator[tuple[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[tuple[str, Any]]:
        while True:
            yield await self._queue.get()


class LiveHub:
    def __init__(self, maxsize: int = 256) -> None:
        self._maxsize = maxsize
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    def publish(self, topic: str, payload: Any) -> int:
        """Hand ``payload`` to every subscriber of ``topic`` without waiting; returns how many."""
        subscribers = self._subscribers.get(topic, ())
        for subscription in subscribers:
            subscription.offer(topic, payload)
        return len(subscribers)

    @asynccontextmanager
    async def subscribe(self, *topics: str, maxsize: int | None = None) -> AsyncIterator[Subscription]:
        subscription = Subscription(frozenset(topics), maxsize or self._maxsize)
        for topic in subscription.topics:
            self._subscribers[topic].add(subscription)
        try:
            yield subscription
        finally:
            for topic in subscription.topics:
                subscribers = self._subscribers.get(topic)
                if subscribers is not None:
                    subscribers.discard(subscription)
                    if not subscribers:
                        del self._subscribers[topic]
