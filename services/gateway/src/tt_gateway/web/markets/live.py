"""Live market streams over Server-Sent Events, fed by the gateway's live hub.

Messages are small JSON objects that ``static/js/markets.js`` writes into the page (many rows change
independently, so an HTML fragment per message would not fit). Prices stay decimal strings.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException
from sse_starlette import EventSourceResponse, ServerSentEvent

from tt_contracts.common import InstrumentRef, Timeframe
from tt_contracts.market_data import CandleClosed, LatestQuoteReply, QuoteUpdated

from ...deps import HubDep, OptionalUser, RuntimeDep
from ...live import candle_topic, quote_topic
from .queries import latest_quotes
from .refs import instrument_ref, parse_ref_list, ref_key

router = APIRouter(include_in_schema=False)
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def quote_data(quote: QuoteUpdated | LatestQuoteReply) -> str:
    return json.dumps(
        {
            "instrument": ref_key(quote.instrument),
            "bid": format(quote.bid, "f"),
            "ask": format(quote.ask, "f"),
            "ts": quote.ts_event.isoformat(),
        }
    )


def candle_data(bar: CandleClosed) -> str:
    values: dict[str, Any] = {
        "time": int(bar.open_time.timestamp()),
        **{k: format(getattr(bar, k), "f") for k in ("open", "high", "low", "close", "volume")},
    }
    return json.dumps(values)


def _signed_in(user) -> None:
    if user is None:
        raise HTTPException(401, "sign in to receive live prices")


@router.get("/events/markets/quotes")
async def quote_events(runtime: RuntimeDep, hub: HubDep, user: OptionalUser, symbols: str = "") -> Any:
    """Quotes of the listed instruments (``venue:symbol,...``): the latest of each first (a
    reconnecting page catches up), then every update."""
    _signed_in(user)
    try:
        refs = parse_ref_list(symbols)
    except ValueError as exc:
        raise HTTPException(422, f"symbols: {exc}") from exc
    if not refs:
        raise HTTPException(422, "symbols: name at least one instrument, as venue:SYMBOL")
    topics = [quote_topic(r.venue, r.symbol) for r in refs]

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async with hub.subscribe(*topics) as updates:
            for quote in (await latest_quotes(runtime, refs)).values():
                yield ServerSentEvent(data=quote_data(quote), event="quote")
            async for _topic, event in updates:
                yield ServerSentEvent(data=quote_data(event), event="quote")

    return EventSourceResponse(stream(), ping=15, headers=HEADERS)


@router.get("/events/markets/candles")
async def candle_events(
    hub: HubDep, user: OptionalUser, venue: str, symbol: str, timeframe: Timeframe
) -> Any:
    """Each closed bar of one instrument and timeframe."""
    _signed_in(user)
    try:
        ref: InstrumentRef = instrument_ref(venue, symbol)
    except ValueError as exc:
        raise HTTPException(422, "unknown instrument") from exc

    async def stream() -> AsyncIterator[ServerSentEvent]:
        async with hub.subscribe(candle_topic(ref.venue, ref.symbol, timeframe.value)) as bars:
            async for _topic, event in bars:
                yield ServerSentEvent(data=candle_data(event), event="candle")

    return EventSourceResponse(stream(), ping=15, headers=HEADERS)
