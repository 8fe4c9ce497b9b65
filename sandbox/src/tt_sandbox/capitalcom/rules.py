"""Dealing rules (size, stop/profit bounds) and the documented rate limits.

Bounds are reported the way the venue does: a level that is out of bounds gets the allowed price
boundary after the colon; a distance gets the allowed distance.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from .config import RateLimits
from .errors import bad_request, too_many_requests
from .instruments import Instrument


def validate_size(instrument: Instrument, size: Decimal | None) -> Decimal:
    if size is None:
        raise bad_request("error.invalid.size")
    if size < instrument.min_size:
        raise bad_request("error.invalid.size.minvalue", instrument.min_size)
    if size > instrument.max_size:
        raise bad_request("error.invalid.size.maxvalue", instrument.max_size)
    if size % instrument.size_step:
        raise bad_request("error.invalid.size")
    return size


@dataclass(frozen=True)
class Protection:
    """What a request asked for, before it is turned into levels."""

    stop_level: Decimal | None = None
    stop_distance: Decimal | None = None
    stop_amount: Decimal | None = None
    profit_level: Decimal | None = None
    profit_distance: Decimal | None = None
    profit_amount: Decimal | None = None
    trailing_stop: bool = False
    guaranteed_stop: bool = False

    @property
    def has_stop(self) -> bool:
        return any(v is not None for v in (self.stop_level, self.stop_distance, self.stop_amount))


@dataclass(frozen=True)
class Levels:
    stop_level: Decimal | None
    profit_level: Decimal | None
    stop_distance: Decimal | None
    profit_distance: Decimal | None


def check_protection_flags(instrument: Instrument, p: Protection, hedging: bool) -> None:
    if p.guaranteed_stop:
        if hedging:
            raise bad_request("error.invalid.guaranteedstop.hedging-mode")
        if not instrument.guaranteed_stop_allowed:
            raise bad_request("error.invalid.guaranteedstop.not-allowed")
        if p.trailing_stop:
            raise bad_request("error.invalid.guaranteedstop.trailingstop")
        if not p.has_stop:
            raise bad_request("error.invalid.guaranteedstop.stop-required")
    if p.trailing_stop:
        if not instrument.trailing_stops:
            raise bad_request("error.invalid.trailingstop.not-available")
        if p.stop_distance is None:
            raise bad_request("error.invalid.trailingstop.stopdistance")


def resolve_levels(
    instrument: Instrument,
    direction: str,
    reference: Decimal,
    size: Decimal,
    p: Protection,
    amount_to_price: Callable[[Decimal, Decimal], Decimal],
) -> Levels:
    """Turn level/distance/amount into price levels around `reference` and check the distance bounds.

    `amount_to_price(amount, size)` converts a money amount in the account currency into a price
    distance for this size.
    """
    check_positive = [
        v for v in (p.stop_distance, p.profit_distance, p.stop_amount, p.profit_amount) if v is not None
    ]
    if any(v <= 0 for v in check_positive):
        raise bad_request("error.invalid.distance")
    sign = 1 if direction == "BUY" else -1
    min_stop = (instrument.min_guaranteed_stop if p.guaranteed_stop else instrument.min_stop).to_price(
        reference
    )
    min_profit = instrument.min_stop.to_price(reference)
    max_distance = instrument.max_stop.to_price(reference)

    stop_level = stop_distance = None
    if p.stop_level is not None or p.stop_distance is not None or p.stop_amount is not None:
        if p.stop_level is not None:
            stop_level = p.stop_level
        else:
            stop_distance = (
                p.stop_distance if p.stop_distance is not None else amount_to_price(p.stop_amount, size)
            )
            if p.stop_distance is not None and stop_distance < min_stop:
                raise bad_request("error.invalid.stoploss.minvalue", _q(instrument, min_stop))
            if p.stop_distance is not None and stop_distance > max_distance:
                raise bad_request("error.invalid.stoploss.maxvalue", _q(instrument, max_distance))
            stop_level = reference - sign * stop_distance
        stop_level = instrument.quantize(stop_level)
        nearest, farthest = reference - sign * min_stop, reference - sign * max_distance
        low, high = sorted((nearest, farthest))
        if stop_level < low:
            raise bad_request("error.invalid.stoploss.minvalue", _q(instrument, low))
        if stop_level > high:
            raise bad_request("error.invalid.stoploss.maxvalue", _q(instrument, high))
        stop_distance = abs(reference - stop_level) if stop_distance is None else stop_distance

    profit_level = profit_distance = None
    if p.profit_level is not None or p.profit_distance is not None or p.profit_amount is not None:
        if p.profit_level is not None:
            profit_level = p.profit_level
        else:
            profit_distance = (
                p.profit_distance if p.profit_distance is not None else amount_to_price(p.profit_amount, size)
            )
            if p.profit_distance is not None and profit_distance < min_profit:
                raise bad_request("error.invalid.takeprofit.minvalue", _q(instrument, min_profit))
            if p.profit_distance is not None and profit_distance > max_distance:
                raise bad_request("error.invalid.takeprofit.maxvalue", _q(instrument, max_distance))
            profit_level = reference + sign * profit_distance
        profit_level = instrument.quantize(profit_level)
        nearest, farthest = reference + sign * min_profit, reference + sign * max_distance
        low, high = sorted((nearest, farthest))
        if profit_level < low:
            raise bad_request("error.invalid.takeprofit.minvalue", _q(instrument, low))
        if profit_level > high:
            raise bad_request("error.invalid.takeprofit.maxvalue", _q(instrument, high))
        profit_distance = abs(profit_level - reference) if profit_distance is None else profit_distance

    return Levels(stop_level, profit_level, stop_distance, profit_distance)


def _q(instrument: Instrument, value: Decimal) -> Decimal:
    return instrument.quantize(value)


class RateLimiter:
    """Sliding windows on wall time (the limits are about how fast a client talks, whatever the sim clock)."""

    def __init__(self, limits: RateLimits, time_source: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._now = time_source
        self._windows: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def _hit(self, key: tuple[str, str], limit: int | None, window: float) -> None:
        if limit is None:
            return
        now = self._now()
        hits = self._windows[key]
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            raise too_many_requests()
        hits.append(now)

    def request(self, client_id: str) -> None:
        self._hit(("req", client_id), self.limits.requests_per_second, 1.0)

    def session_create(self, api_key: str) -> None:
        interval = self.limits.session_interval_seconds
        if interval is not None:
            self._hit(("session", api_key), 1, interval)

    def trade(self, client_id: str, demo: bool = True) -> None:
        """One creation per interval and, on demo, the hourly cap; raises 429 when exceeded."""
        interval = self.limits.trade_interval_seconds
        if interval is not None:
            self._hit(("trade", client_id), 1, interval)
        if demo:
            self._hit(("trade-hour", client_id), self.limits.demo_trades_per_hour, 3600.0)

    def topup(self, account_id: str) -> None:
        self._hit(("topup-s", account_id), self.limits.topups_per_second, 1.0)
        self._hit(("topup-day", account_id), self.limits.topups_per_day, 86400.0)
