"""What the markets pages and the markets API ask market-data, in one place.

Each function is one question over the bus; failures propagate as the runtime's ``RemoteError`` /
``ServiceUnavailable`` so each caller maps them to its medium (an inline message or a JSON error).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Literal
from uuid import UUID

from tt_contracts import registry
from tt_contracts.common import IndicatorSpec, InstrumentRef, Timeframe
from tt_contracts.market_data import (
    CandlesReply,
    CoverageReply,
    GetCandles,
    GetCoverage,
    GetLatestQuote,
    IndicatorInfo,
    IndicatorsReply,
    InstrumentsReply,
    InstrumentView,
    LatestQuoteReply,
    ListIndicators,
    SearchInstruments,
    WatchlistChange,
    WatchlistGet,
    WatchlistReply,
)
from tt_runtime.client import RemoteError, ServiceUnavailable
from tt_runtime.service import ServiceRuntime

PRODUCER = "gateway"
# Capital.com's instrument types (the venue's own names, shown with friendlier labels).
INSTRUMENT_TYPES = {
    "CURRENCIES": "Currencies",
    "INDICES": "Indices",
    "COMMODITIES": "Commodities",
    "SHARES": "Shares",
    "CRYPTOCURRENCIES": "Crypto",
}
QUOTE_TIMEOUT = 1.5  # a missing quote shows a dash; it must not hold the page
QUOTE_CONCURRENCY = 16


async def search(
    runtime: ServiceRuntime, text: str, instrument_type: str | None, limit: int = 50, offset: int = 0
) -> list[InstrumentView]:
    reply = await runtime.ask(
        registry.INSTRUMENTS_SEARCH,
        SearchInstruments(
            producer=PRODUCER, text=text, instrument_type=instrument_type or None, limit=limit, offset=offset
        ),
    )
    assert isinstance(reply, InstrumentsReply)
    return reply.instruments


async def find_instrument(runtime: ServiceRuntime, ref: InstrumentRef) -> InstrumentView | None:
    """The catalogue entry of ``ref`` (search ranks the exact symbol first), or None."""
    for view in await search(runtime, ref.symbol, None, limit=10):
        if view.instrument == ref:
            return view
    return None


async def watchlist(runtime: ServiceRuntime, user_id: UUID) -> list[InstrumentView]:
    reply = await runtime.ask(registry.WATCHLIST_GET, WatchlistGet(producer=PRODUCER, user_id=user_id))
    assert isinstance(reply, WatchlistReply)
    return reply.instruments


async def change_watchlist(
    runtime: ServiceRuntime, user_id: UUID, ref: InstrumentRef, *, add: bool
) -> list[InstrumentView]:
    route = registry.WATCHLIST_ADD if add else registry.WATCHLIST_REMOVE
    reply = await runtime.ask(route, WatchlistChange(producer=PRODUCER, user_id=user_id, instrument=ref))
    assert isinstance(reply, WatchlistReply)
    return reply.instruments


async def latest_quote(runtime: ServiceRuntime, ref: InstrumentRef) -> LatestQuoteReply:
    reply = await runtime.ask(
        registry.QUOTE_LATEST, GetLatestQuote(producer=PRODUCER, instrument=ref), timeout=QUOTE_TIMEOUT
    )
    assert isinstance(reply, LatestQuoteReply)
    return reply


async def latest_quotes(
    runtime: ServiceRuntime, refs: Iterable[InstrumentRef]
) -> dict[InstrumentRef, LatestQuoteReply]:
    """The last quote of each instrument that has one; the others are left out."""
    slots = asyncio.Semaphore(QUOTE_CONCURRENCY)

    async def one(ref: InstrumentRef) -> tuple[InstrumentRef, LatestQuoteReply | None]:
        async with slots:
            try:
                return ref, await latest_quote(runtime, ref)
            except (RemoteError, ServiceUnavailable):
                return ref, None

    found = await asyncio.gather(*(one(ref) for ref in dict.fromkeys(refs)))
    return {ref: quote for ref, quote in found if quote is not None}


async def candles(
    runtime: ServiceRuntime,
    ref: InstrumentRef,
    timeframe: Timeframe,
    limit: int,
    indicators: list[IndicatorSpec],
    user_id: UUID,
    price: Literal["bid", "ask", "mid"] = "bid",
) -> CandlesReply:
    reply = await runtime.ask(
        registry.CANDLES_GET,
        GetCandles(
            producer=PRODUCER,
            instrument=ref,
            timeframe=timeframe,
            limit=limit,
            indicators=indicators,
            price=price,
            user_id=user_id,
        ),
        timeout=10.0,
    )
    assert isinstance(reply, CandlesReply)
    return reply


async def coverage(runtime: ServiceRuntime, ref: InstrumentRef, user_id: UUID) -> CoverageReply:
    reply = await runtime.ask(
        registry.COVERAGE_GET, GetCoverage(producer=PRODUCER, instrument=ref, user_id=user_id)
    )
    assert isinstance(reply, CoverageReply)
    return reply


_catalogue: list[IndicatorInfo] = []


async def indicator_catalogue(runtime: ServiceRuntime) -> list[IndicatorInfo]:
    """market-data's indicator catalogue; it only changes with a deployment, so it is asked once."""
    if not _catalogue:
        reply = await runtime.ask(registry.INDICATORS_LIST, ListIndicators(producer=PRODUCER))
        assert isinstance(reply, IndicatorsReply)
        _catalogue[:] = reply.indicators
    return list(_catalogue)
