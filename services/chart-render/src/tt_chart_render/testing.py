"""Test and benchmark helpers: deterministic synthetic candles and a stand-in market-data responder.

The responder is registered on a real ``ServiceRuntime`` named ``market-data``, so requests travel
the same NATS request-reply path as in production.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from tt_contracts import registry
from tt_contracts.market_data import CandlesReply, GetCandles


def synthetic_columns(n: int, seed: int = 7, start_price: float = 1.1) -> dict[str, np.ndarray]:
    """A seeded random walk: open/high/low/close/volume float64 arrays (5 decimals)."""
    rng = np.random.default_rng(seed)
    close = start_price * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate([[start_price], close[:-1]]) * (1 + rng.normal(0, 0.0003, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.0012, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.0012, n)))
    volume = rng.integers(100, 5000, n).astype(np.float64)
    return {
        "open": open_.round(5),
        "high": high.round(5),
        "low": low.round(5),
        "close": close.round(5),
        "volume": volume,
    }


def synthetic_reply(request: GetCandles, *, available: int | None = None, seed: int = 7) -> CandlesReply:
    """The last ``limit`` bars ending at ``request.end`` (or ``available`` bars if fewer exist)."""
    n = min(request.limit, available if available is not None else request.limit)
    step = request.timeframe.step
    end = request.end or datetime(2026, 1, 1, tzinfo=UTC)
    times = [end - step * (n - k) for k in range(n)]
    cols = synthetic_columns(max(n, 1), seed)
    dec = {k: [Decimal(f"{x:.5f}") for x in v[:n]] for k, v in cols.items()}
    return CandlesReply(
        instrument=request.instrument,
        timeframe=request.timeframe,
        open_time=times,
        open=dec["open"],
        high=dec["high"],
        low=dec["low"],
        close=dec["close"],
        volume=dec["volume"],
    )


class FakeMarketData:
    """Deterministic candles; ``available`` per symbol limits history (for 'too few candles')."""

    def __init__(self, seed: int = 7) -> None:
        self.seed = seed
        self.available: dict[str, int] = {}
        self.requests: list[GetCandles] = []
        self._replies: dict[tuple, CandlesReply] = {}

    async def candles(self, request: GetCandles, _uow: object) -> CandlesReply:
        """Answers are memoised, as market-data's own candle cache would: the stand-in's cost must not
        count against chart-render in benchmarks."""
        self.requests.append(request)
        available = self.available.get(request.instrument.symbol)
        key = (request.instrument, request.timeframe, request.end, request.limit, available)
        if key not in self._replies:
            self._replies[key] = synthetic_reply(request, available=available, seed=self.seed)
        return self._replies[key]

    def handlers(self):  # -> Handlers
        from tt_runtime.bus import Handlers

        handlers = Handlers("market-data")
        handlers.respond(registry.CANDLES_GET, transactional=False)(self.candles)
        return handlers
