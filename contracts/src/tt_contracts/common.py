"""Value types shared by several domains."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ._base import Money, Price, Reply, Request, UtcDatetime


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class Timeframe(StrEnum):
    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"
    W1 = "1w"

    @property
    def seconds(self) -> int:
        """The bar's length (a week bar opens on Monday 00:00 UTC, as Capital.com's WEEK bars)."""
        return _TIMEFRAME_SECONDS[self.value]

    @property
    def step(self) -> timedelta:
        return timedelta(seconds=self.seconds)


_TIMEFRAME_SECONDS = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14400,
    "1d": 86400,
    "1w": 604800,
}


class InstrumentRef(BaseModel):
    """Canonical instrument id: venue plus the venue's symbol (Capital.com calls it the epic)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    venue: str = Field(default="capitalcom", pattern=r"^[a-z0-9-]+$")
    symbol: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")


class IndicatorSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(description="Indicator name, e.g. RSI, MACD, BBANDS, SUPERTREND")
    params: dict[str, float | int | str] = Field(default_factory=dict)


class Quote(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    bid: Price
    ask: Price
    ts_event: UtcDatetime


class StatusRequest(Request):
    """Health and lag of one service (``<svc>.req.status.get.v1``)."""


class StreamLag(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    stream: str
    consumer: str
    pending: int
    ack_pending: int
    redelivered: int


class StatusReply(Reply):
    service: str
    version: str
    instance: str
    started_at: UtcDatetime
    uptime_seconds: float
    database: str = Field(description="'up' or 'down: <reason>'")
    outbox_pending: int = 0
    dead_letters: int = 0
    consumers: list[StreamLag] = Field(default_factory=list)


__all__ = [
    "IndicatorSpec",
    "InstrumentRef",
    "Money",
    "Quote",
    "Side",
    "StatusReply",
    "StatusRequest",
    "Timeframe",
]
