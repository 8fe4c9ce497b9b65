"""market-data: instruments, quotes, candles."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ._base import Event, Money, Price, Reply, Request, UtcDatetime
from .common import IndicatorSpec, InstrumentRef, Timeframe
from .routing import cmd, evt, req  # noqa: F401


class QuoteUpdated(Event):
    """Latest bid/ask. Subject keys: venue, symbol. Kept as last value per instrument."""

    instrument: InstrumentRef
    bid: Price
    ask: Price
    ts_event: UtcDatetime = Field(description="Venue time of the quote")


class CandleClosed(Event):
    """A bar that will not change any more. Subject keys: venue, symbol, timeframe. Once per bar."""

    instrument: InstrumentRef
    timeframe: Timeframe
    open_time: UtcDatetime
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Money = Field(default=0)
    spread: Price | None = None


class GetCandles(Request):
    instrument: InstrumentRef
    timeframe: Timeframe
    start: UtcDatetime | None = None
    end: UtcDatetime | None = None
    limit: int = Field(default=500, ge=1, le=5000)
    indicators: list[IndicatorSpec] = Field(default_factory=list)


class CandlesReply(Reply):
    """Columnar: one list per field, aligned by index; indicator outputs keyed by '<NAME>:<output>'."""

    instrument: InstrumentRef
    timeframe: Timeframe
    open_time: list[UtcDatetime]
    open: list[Price]
    high: list[Price]
    low: list[Price]
    close: list[Price]
    volume: list[Money]
    indicators: dict[str, list[float | None]] = Field(default_factory=dict)


class SearchInstruments(Request):
    text: str = Field(default="", max_length=80)
    instrument_type: str | None = None
    limit: int = Field(default=50, ge=1, le=500)


class InstrumentView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    instrument: InstrumentRef
    name: str
    instrument_type: str
    currency: str


class InstrumentsReply(Reply):
    instruments: list[InstrumentView]


class GetLatestQuote(Request):
    instrument: InstrumentRef


class LatestQuoteReply(Reply):
    instrument: InstrumentRef
    bid: Price
    ask: Price
    ts_event: UtcDatetime


# --- routes ------------------------------------------------------------------------------------------

QUOTE_UPDATED = evt(
    "market-data",
    "quote",
    "updated",
    QuoteUpdated,
    ["gateway", "broker"],
    keys=("venue", "symbol"),
    summary="Last value per instrument (memory stream)",
)
CANDLE_CLOSED = evt(
    "market-data",
    "candle",
    "closed",
    CandleClosed,
    ["strategy", "gateway"],
    keys=("venue", "symbol", "timeframe"),
    summary="Exactly once per bar",
)
CANDLES_GET = req(
    "market-data",
    "candles",
    "get",
    GetCandles,
    CandlesReply,
    ["gateway", "strategy", "chart-render"],
    "Columnar candles with optional indicators",
)
INSTRUMENTS_SEARCH = req(
    "market-data", "instruments", "search", SearchInstruments, InstrumentsReply, ["gateway", "strategy"]
)
QUOTE_LATEST = req(
    "market-data",
    "quote",
    "latest",
    GetLatestQuote,
    LatestQuoteReply,
    ["gateway", "strategy", "broker"],
)
