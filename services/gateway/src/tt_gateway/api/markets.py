"""``/api/v1/markets``: instruments, quotes, candles with indicators, stored coverage and the caller's
watchlist, answered by market-data over the bus. The instrument page's chart reads its candles here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field, ValidationError

from tt_contracts.common import InstrumentRef, Money, Timeframe
from tt_contracts.market_data import (
    CandlesReply,
    CoverageReply,
    IndicatorsReply,
    InstrumentsReply,
    LatestQuoteReply,
    WatchlistReply,
)

from ..deps import CurrentUser, RuntimeDep
from ..web.markets import queries
from ..web.markets.indicators import IndicatorChoiceError, parse, place, warm_up
from ..web.markets.refs import instrument_ref
from .errors import http_error

router = APIRouter(prefix="/markets", tags=["markets"])
MAX_FETCH = 5000  # market-data's limit per candles request


class IndicatorSeries(BaseModel):
    """One output line of one indicator, aligned with the bars (null while it warms up)."""

    key: str = Field(description="market-data's key: '<label>:<output>'")
    label: str = Field(description="The indicator's name, with its parameters when the name repeats")
    output: str
    placement: Literal["price", "pane"] = Field(description="Over the candles, or in a pane below")
    pane: int = Field(description="0 is the price pane; oscillators get 1, 2, ... in order")
    values: list[float | None]


class Candles(BaseModel):
    """Bars oldest first, one list per field, aligned by index (``time`` is the bar's open, UNIX
    seconds UTC); prices are decimal strings."""

    instrument: InstrumentRef
    timeframe: Timeframe
    price: Literal["bid", "ask", "mid"]
    time: list[int]
    open: list[Money]
    high: list[Money]
    low: list[Money]
    close: list[Money]
    volume: list[Money]
    indicators: list[IndicatorSeries]
    gaps: list[datetime] = Field(description="Open times of missing bars inside trading hours")


def _ref(venue: str, symbol: str) -> InstrumentRef:
    try:
        return instrument_ref(venue, symbol)
    except ValidationError as exc:
        raise HTTPException(404, f"unknown instrument {venue}:{symbol}") from exc


async def _call(call):
    try:
        return await call
    except Exception as exc:
        raise http_error(exc) from exc


@router.get("/instruments", response_model=InstrumentsReply, summary="Search instruments by text and type")
async def instruments(
    runtime: RuntimeDep,
    _user: CurrentUser,
    q: Annotated[str, Query(max_length=80, description="Words in the name or symbol")] = "",
    type: Annotated[str | None, Query(description="Instrument type, e.g. CURRENCIES, SHARES")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> InstrumentsReply:
    found = await _call(queries.search(runtime, q, type, limit=limit, offset=offset))
    return InstrumentsReply(instruments=found)


@router.get("/indicators", response_model=IndicatorsReply, summary="The indicator catalogue")
async def indicators(runtime: RuntimeDep, _user: CurrentUser) -> IndicatorsReply:
    return IndicatorsReply(indicators=await _call(queries.indicator_catalogue(runtime)))


@router.get("/watchlist", response_model=WatchlistReply, summary="The caller's watchlist")
async def get_watchlist(runtime: RuntimeDep, user: CurrentUser) -> WatchlistReply:
    return WatchlistReply(name="default", instruments=await _call(queries.watchlist(runtime, user.user_id)))


@router.put("/watchlist/{venue}/{symbol}", response_model=WatchlistReply, summary="Add to the watchlist")
async def watch(venue: str, symbol: str, runtime: RuntimeDep, user: CurrentUser) -> WatchlistReply:
    changed = await _call(queries.change_watchlist(runtime, user.user_id, _ref(venue, symbol), add=True))
    return WatchlistReply(name="default", instruments=changed)


@router.delete(
    "/watchlist/{venue}/{symbol}", response_model=WatchlistReply, summary="Remove from the watchlist"
)
async def unwatch(venue: str, symbol: str, runtime: RuntimeDep, user: CurrentUser) -> WatchlistReply:
    changed = await _call(queries.change_watchlist(runtime, user.user_id, _ref(venue, symbol), add=False))
    return WatchlistReply(name="default", instruments=changed)


@router.get("/{venue}/{symbol}/quote", response_model=LatestQuoteReply, summary="The latest bid and ask")
async def quote(venue: str, symbol: str, runtime: RuntimeDep, _user: CurrentUser) -> LatestQuoteReply:
    return await _call(queries.latest_quote(runtime, _ref(venue, symbol)))


@router.get(
    "/{venue}/{symbol}/coverage",
    response_model=CoverageReply,
    summary="Stored bars per timeframe: range, count, gaps and sources",
)
async def coverage(venue: str, symbol: str, runtime: RuntimeDep, user: CurrentUser) -> CoverageReply:
    return await _call(queries.coverage(runtime, _ref(venue, symbol), user.user_id))


@router.get("/{venue}/{symbol}/candles", response_model=Candles, summary="Candles with optional indicators")
async def candles(
    venue: str,
    symbol: str,
    runtime: RuntimeDep,
    user: CurrentUser,
    timeframe: Timeframe = Timeframe.H1,
    bars: Annotated[int, Query(ge=1, le=2000, description="How many of the newest bars")] = 300,
    indicators: Annotated[
        str,
        Query(
            description="Comma-separated indicators, parameters after colons: "
            "'SMA:timeperiod=20,BBANDS:timeperiod=20:nbdevup=2,RSI'"
        ),
    ] = "",
    price: Literal["bid", "ask", "mid"] = "bid",
) -> Candles:
    ref = _ref(venue, symbol)
    try:
        specs = parse(indicators)
    except IndicatorChoiceError as exc:
        raise HTTPException(422, f"indicators: {exc}") from exc
    # Fetch the indicators' warm-up too, then show only the bars asked for: lines start drawn.
    limit = min(bars + warm_up(specs), MAX_FETCH)
    reply: CandlesReply = await _call(
        queries.candles(runtime, ref, timeframe, limit, specs, user.user_id, price=price)
    )
    groups = {i.name: i.group for i in await _call(queries.indicator_catalogue(runtime))} if specs else {}
    keep = slice(max(len(reply.open_time) - bars, 0), None)
    series = [
        IndicatorSeries(
            key=f"{p.label}:{p.output}",
            label=p.label,
            output=p.output,
            placement=p.where,
            pane=p.pane,
            values=reply.indicators[f"{p.label}:{p.output}"][keep],
        )
        for p in place(list(reply.indicators), groups)
    ]
    return Candles(
        instrument=ref,
        timeframe=timeframe,
        price=price,
        time=[int(t.timestamp()) for t in reply.open_time[keep]],
        open=reply.open[keep],
        high=reply.high[keep],
        low=reply.low[keep],
        close=reply.close[keep],
        volume=reply.volume[keep],
        indicators=series,
        gaps=reply.gaps,
    )
