"""Venue payloads turned into neutral typed values: Decimal prices, tz-aware UTC times."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .constants import VENUE_TIME_FORMAT, Resolution
from .schemas import BidAsk, OhlcPayload, PricesResponse, QuotePayload


class PriceSide(StrEnum):
    BID = "bid"
    ASK = "ask"
    MID = "mid"


@dataclass(frozen=True, slots=True)
class Tick:
    """A top-of-book quote. `bid`/`ask` are None when the venue sends a one-sided quote."""

    epic: str
    time: datetime
    bid: Decimal | None
    ask: Decimal | None
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Bar:
    """A closed OHLC bar; `open_time` is the start of the bar's interval."""

    epic: str
    resolution: Resolution
    side: PriceSide
    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    tick_count: int | None = None

    @property
    def close_time(self) -> datetime:
        return self.open_time + self.resolution.duration


def decode_json(raw: bytes | str) -> Any:
    """Parse venue JSON with floats as Decimal, so `93.87` stays `93.87`."""
    return json.loads(raw, parse_float=Decimal)


def encode_json(value: Any) -> str:
    """Serialise a request body with Decimals as exact JSON numbers (never via float)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{encode_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode_json(v) for v in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send a non-finite number: {value}")
        return format(value, "f")
    return json.dumps(value)


def format_venue_time(moment: datetime) -> str:
    """UTC, second precision, no zone suffix: the only form the venue accepts in queries."""
    if moment.tzinfo is None:
        raise ValueError("pass a timezone-aware datetime; the venue's query times are UTC")
    return moment.astimezone(UTC).strftime(VENUE_TIME_FORMAT)


def tick_from_quote(quote: QuotePayload, *, received_at: datetime) -> Tick:
    # Rare frames lack a timestamp; the receive time is the best stand-in we have.
    return Tick(
        epic=quote.epic,
        time=quote.timestamp or received_at,
        bid=quote.bid,
        ask=quote.ofr,
        bid_size=quote.bid_qty,
        ask_size=quote.ofr_qty,
    )


def bar_from_ohlc(event: OhlcPayload) -> Bar:
    return Bar(
        epic=event.epic,
        resolution=Resolution(event.resolution),
        side=PriceSide(event.price_type or PriceSide.BID),
        open_time=event.t,
        open=event.o,
        high=event.h,
        low=event.l,
        close=event.c,
    )


def _side_value(prices: BidAsk, side: PriceSide) -> Decimal | None:
    if side is PriceSide.BID:
        return prices.bid
    if side is PriceSide.ASK:
        return prices.ask
    if prices.bid is None or prices.ask is None:
        return None
    return (prices.bid + prices.ask) / 2


def bars_from_prices(
    epic: str, resolution: Resolution, response: PricesResponse, side: PriceSide = PriceSide.BID
) -> list[Bar]:
    """`/prices` bars for one side. Bars lacking that side's prices are left out, not invented."""
    bars: list[Bar] = []
    for raw in response.prices:
        values = [
            _side_value(p, side) for p in (raw.open_price, raw.high_price, raw.low_price, raw.close_price)
        ]
        if any(v is None for v in values):
            continue
        open_, high, low, close = values
        bars.append(
            Bar(
                epic=epic,
                resolution=resolution,
                side=side,
                open_time=raw.snapshot_time_utc,
                open=open_,
                high=high,
                low=low,
                close=close,
                tick_count=int(raw.last_traded_volume) if raw.last_traded_volume is not None else None,
            )
        )
    return bars
