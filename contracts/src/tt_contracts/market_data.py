"""market-data: instruments, quotes, candles."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ._base import Event, Money, Price, Reply, Request, UserScoped, UtcDatetime
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
    price: Literal["bid", "ask", "mid"] = Field(
        default="bid", description="Which side's OHLC to return (Capital.com charts use bid)"
    )
    user_id: UUID | None = Field(
        default=None, description="Needed to read the caller's own uploaded data set"
    )


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
    spread: list[Price] = Field(default_factory=list, description="Close ask - close bid, when known")
    gaps: list[UtcDatetime] = Field(
        default_factory=list, description="Open times of missing bars inside trading hours"
    )


class SearchInstruments(Request):
    text: str = Field(default="", max_length=80)
    instrument_type: str | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class DealingRulesView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    min_deal_size: Money | None = None
    max_deal_size: Money | None = None
    min_size_increment: Money | None = None
    min_step_distance: Money | None = None
    min_stop_distance: Money | None = None


class InstrumentView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    instrument: InstrumentRef
    name: str
    instrument_type: str
    currency: str
    status: str | None = None
    dealing_rules: DealingRulesView | None = None
    trading_hours: dict[str, list[str]] | None = Field(
        default=None, description="Weekday ('mon'..'sun') -> 'HH:MM - HH:MM' segments in trading_hours_zone"
    )
    trading_hours_zone: str | None = None


class InstrumentsReply(Reply):
    instruments: list[InstrumentView]


class GetLatestQuote(Request):
    instrument: InstrumentRef


class LatestQuoteReply(Reply):
    instrument: InstrumentRef
    bid: Price
    ask: Price
    ts_event: UtcDatetime


class SyncInstruments(Request):
    """Refresh the catalogue from the venue (operators, the scheduler)."""


class SyncReply(Reply):
    instruments: int
    types: dict[str, int] = Field(default_factory=dict)


class WatchlistGet(Request, UserScoped):
    name: str = Field(default="default", min_length=1, max_length=64)


class WatchlistChange(Request, UserScoped):
    name: str = Field(default="default", min_length=1, max_length=64)
    instrument: InstrumentRef


class WatchlistReply(Reply):
    name: str
    instruments: list[InstrumentView]


class BackfillRequest(Request):
    instrument: InstrumentRef
    timeframe: Timeframe
    start: UtcDatetime
    end: UtcDatetime | None = None


class BackfillReply(Reply):
    instrument: InstrumentRef
    timeframe: Timeframe
    inserted: int
    fetched: int
    resumed_from: UtcDatetime | None = None
    complete_until: UtcDatetime | None = None
    gaps: list[UtcDatetime] = Field(default_factory=list, description="Missing bars inside trading hours")


class GetCoverage(Request):
    """What is stored for one instrument: per timeframe, the range, bar count, gaps and sources."""

    instrument: InstrumentRef
    user_id: UUID | None = Field(default=None, description="Needed for the caller's own uploaded data set")


class CoverageView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    timeframe: Timeframe
    first: UtcDatetime | None
    last: UtcDatetime | None
    bars: int
    gaps: int = Field(description="Missing bars inside trading hours between first and last")
    sources: dict[str, int] = Field(default_factory=dict, description="Bars per provenance source")


class CoverageReply(Reply):
    instrument: InstrumentRef
    timeframes: list[CoverageView]


UPLOAD_MAX_BYTES = 5 * 1024 * 1024


class UploadCsv(Request, UserScoped):
    """A user's data set: CSV with a header row (time, open, high, low, close[, volume][, spread]).

    ``validate`` requests only report; ``import`` requests validate again and import all-or-nothing.
    """

    symbol: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Name the data set is stored under")
    timeframe: Timeframe
    content: bytes = Field(max_length=UPLOAD_MAX_BYTES, description="The file, UTF-8 text, at most 5 MB")
    filename: str = Field(default="upload.csv", max_length=255)


class UploadIssue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    code: str = Field(description="columns|timestamp|duplicate|order|gap|ohlc|outlier|value|empty|size")
    severity: Literal["error", "warning"]
    message: str
    rows: list[int] = Field(default_factory=list, description="1-based data row numbers (first few)")
    count: int = 1


class UploadReport(Reply):
    ok: bool = Field(description="No errors: the file can be imported")
    rows: int
    first: UtcDatetime | None = None
    last: UtcDatetime | None = None
    issues: list[UploadIssue] = Field(default_factory=list)
    imported: int = 0
    instrument: InstrumentRef | None = None


class ListIndicators(Request):
    """The indicator catalogue with typed parameter specs (for the bot wizard's forms)."""


class IndicatorParamSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    type: Literal["int", "float", "matype"]
    default: float | int
    min: float | int
    max: float | int
    help: str = ""
    choices: dict[int, str] | None = None


class IndicatorInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    group: str
    display_name: str
    inputs: list[str]
    outputs: list[str]
    params: list[IndicatorParamSpec]


class IndicatorsReply(Reply):
    indicators: list[IndicatorInfo]


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
INSTRUMENTS_SYNC = req(
    "market-data", "instruments", "sync", SyncInstruments, SyncReply, ["gateway"], "Refresh the catalogue"
)
WATCHLIST_GET = req("market-data", "watchlist", "get", WatchlistGet, WatchlistReply, ["gateway", "strategy"])
WATCHLIST_ADD = req("market-data", "watchlist", "add", WatchlistChange, WatchlistReply, ["gateway"])
WATCHLIST_REMOVE = req("market-data", "watchlist", "remove", WatchlistChange, WatchlistReply, ["gateway"])
HISTORY_BACKFILL = req(
    "market-data",
    "history",
    "backfill",
    BackfillRequest,
    BackfillReply,
    ["gateway", "strategy"],
    "Resumable backfill from the venue; reports gaps",
)
UPLOAD_VALIDATE = req(
    "market-data", "upload", "validate", UploadCsv, UploadReport, ["gateway"], "CSV report, nothing stored"
)
UPLOAD_IMPORT = req(
    "market-data", "upload", "import", UploadCsv, UploadReport, ["gateway"], "CSV import, all or nothing"
)
INDICATORS_LIST = req(
    "market-data", "indicators", "list", ListIndicators, IndicatorsReply, ["gateway", "strategy"]
)
COVERAGE_GET = req(
    "market-data",
    "coverage",
    "get",
    GetCoverage,
    CoverageReply,
    ["gateway", "strategy"],
    "Stored bars per timeframe",
)
