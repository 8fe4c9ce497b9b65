"""The market as the engine and the routes see it now: quotes, status, daily change, FX conversion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .clock import Clock
from .instruments import BY_EPIC
from .price_process import PriceProcess, Quote, bar_start

# Currencies no pair in the universe converts; units per USD.
_FALLBACK_PER_USD = {"USD": Decimal(1), "HKD": Decimal("7.82")}


@dataclass(frozen=True)
class DailyStats:
    high: Decimal
    low: Decimal
    net_change: Decimal
    percentage_change: Decimal


class Market:
    def __init__(self, process: PriceProcess, clock: Clock) -> None:
        self.process = process
        self.clock = clock

    def quote(self, epic: str, when: datetime | None = None) -> Quote:
        return self.process.quote(epic, when or self.clock.now())

    def is_open(self, epic: str, when: datetime | None = None) -> bool:
        return BY_EPIC[epic].is_open(when or self.clock.now())

    def daily_stats(self, epic: str) -> DailyStats | None:
        """Today's bid high/low and the change against the previous trading day's close."""
        now = self.clock.now()
        instrument = BY_EPIC[epic]
        day = bar_start(now, "DAY")
        today = self.process.aggregate(epic, day, day + timedelta(days=1), now)
        if today is None:
            return None
        previous = None
        for back in range(1, 8):
            start = day - timedelta(days=back)
            previous = self.process.aggregate(epic, start, start + timedelta(days=1), now)
            if previous:
                break
        bid_high, _ = self.process.bid_ask(instrument, today.high)
        bid_low, _ = self.process.bid_ask(instrument, today.low)
        current, _ = self.process.bid_ask(instrument, today.close)
        reference = self.process.bid_ask(instrument, previous.close)[0] if previous else current
        change = current - reference
        pct = (change / reference * 100).quantize(Decimal("0.0001")) if reference else Decimal(0)
        return DailyStats(bid_high, bid_low, change, pct)

    def convert(self, amount: Decimal, from_ccy: str, to_ccy: str) -> Decimal:
        return amount * self.fx_rate(from_ccy, to_ccy)

    def fx_rate(self, from_ccy: str, to_ccy: str) -> Decimal:
        """Units of `to_ccy` per unit of `from_ccy`, from current mids (via USD when no direct pair)."""
        if from_ccy == to_ccy:
            return Decimal(1)
        direct = self._pair_mid(from_ccy, to_ccy)
        if direct is not None:
            return direct
        return self._per_usd(to_ccy) / self._per_usd(from_ccy)

    def _pair_mid(self, base: str, quote: str) -> Decimal | None:
        if base + quote in BY_EPIC:
            return Decimal(repr(self.quote(base + quote).mid))
        if quote + base in BY_EPIC:
            return 1 / Decimal(repr(self.quote(quote + base).mid))
        return None

    def _per_usd(self, ccy: str) -> Decimal:
        pair = self._pair_mid("USD", ccy)
        if pair is not None:
            return pair
        if ccy in _FALLBACK_PER_USD:
            return _FALLBACK_PER_USD[ccy]
        raise ValueError(f"no conversion for {ccy}")
