"""Market navigation, markets, market details, client sentiment, watchlists, historical prices."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request

from .accounts import Watchlist
from .deps import Caller, caller, json_body
from .errors import bad_request, not_found
from .formats import num, parse_input_time, utc_seconds
from .instruments import BY_EPIC, LEAF_NAMES, NAVIGATION, UNIVERSE, Instrument, leaf_epics
from .price_process import RESOLUTIONS, bar_start
from .views import market_details, market_summary

router = APIRouter()

MAX_EPICS_PER_REQUEST = 50
MAX_BARS = 1000


def _instrument(epic: str) -> Instrument:
    instrument = BY_EPIC.get(epic)
    if instrument is None:
        raise not_found("error.not-found.epic")
    return instrument


@router.get("/marketnavigation")
async def navigation_root(c: Caller = Depends(caller)) -> dict[str, Any]:
    return {"nodes": [{"id": node_id, "name": name} for node_id, (name, _) in NAVIGATION.items()]}


@router.get("/marketnavigation/{node_id}")
async def navigation_node(node_id: str, request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    limit_text = request.query_params.get("limit", "500")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 500:
        raise bad_request("error.invalid.limit")
    limit = int(limit_text)
    if node_id in NAVIGATION:
        children = NAVIGATION[node_id][1][:limit]
        return {"nodes": [{"id": child, "name": LEAF_NAMES[child]} for child in children]}
    epics = leaf_epics(node_id)
    if epics is None:
        raise not_found("error.not-found.nodeId")
    return {"nodes": [], "markets": [market_summary(c.sim.engine, BY_EPIC[e]) for e in epics[:limit]]}


@router.get("/markets")
async def markets(request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    params = request.query_params
    if "searchTerm" in params:  # searchTerm wins when both are sent
        term = params["searchTerm"].strip().lower()
        if not term:
            raise bad_request("error.null.searchTerm")
        found = [
            i
            for i in UNIVERSE
            if term in i.epic.lower() or term in i.name.lower() or term in i.display_symbol.lower()
        ]
        return {"markets": [market_summary(c.sim.engine, i) for i in found]}
    if "epics" in params:
        epics = [e.strip() for e in params["epics"].split(",") if e.strip()]
        if not epics:
            raise bad_request("error.null.epic")
        if len(epics) > MAX_EPICS_PER_REQUEST:
            raise bad_request("error.invalid.epics")
        return {"marketDetails": [market_details(c.sim.engine, BY_EPIC[e]) for e in epics if e in BY_EPIC]}
    return {"markets": [market_summary(c.sim.engine, i) for i in UNIVERSE]}


@router.get("/markets/{epic}")
async def market(epic: str, c: Caller = Depends(caller)) -> dict[str, Any]:
    return market_details(c.sim.engine, _instrument(epic))


def _sentiment(epic: str, now: datetime) -> dict[str, Any]:
    # Stable within a day, different across days and epics.
    long_pct = 30 + zlib.crc32(f"{epic}{now.date()}".encode()) % 6000 / 100
    return {
        "marketId": epic,
        "longPositionPercentage": long_pct,
        "shortPositionPercentage": round(100 - long_pct, 2),
    }


@router.get("/clientsentiment")
async def sentiments(request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    ids = [e for e in request.query_params.get("marketIds", "").split(",") if e]
    if not ids:
        raise bad_request("error.null.marketIds")
    for epic in ids:
        _instrument(epic)
    return {"clientSentiments": [_sentiment(e, c.sim.clock.now()) for e in ids]}


@router.get("/clientsentiment/{market_id}")
async def sentiment(market_id: str, c: Caller = Depends(caller)) -> dict[str, Any]:
    _instrument(market_id)
    return _sentiment(market_id, c.sim.clock.now())


# ---- watchlists ---------------------------------------------------------------------------------
@router.get("/watchlists")
async def watchlists(c: Caller = Depends(caller)) -> dict[str, Any]:
    return {
        "watchlists": [
            {
                "id": w.watchlist_id,
                "name": w.name,
                "editable": True,
                "deleteable": True,
                "defaultSystemWatchlist": False,
            }
            for w in c.client.watchlists.values()
        ]
    }


@router.get("/watchlists/{watchlist_id}")
async def watchlist(watchlist_id: str, c: Caller = Depends(caller)) -> dict[str, Any]:
    found = c.client.watchlists.get(watchlist_id)
    if found is None:
        raise not_found("error.invalid.watchlist")
    return {"markets": [market_summary(c.sim.engine, BY_EPIC[e]) for e in found.epics]}


@router.post("/watchlists")
async def create_watchlist(request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    body = await json_body(request)
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 20:
        raise bad_request("error.size.createwatchlistrequest.name")
    requested = body.get("epics") or []
    epics = [e for e in requested if e in BY_EPIC]
    watchlist_id = c.sim.registry.new_watchlist_id()
    c.client.watchlists[watchlist_id] = Watchlist(watchlist_id, name, epics)
    status = "SUCCESS" if len(epics) == len(requested) else "SUCCESS_NOT_ALL_INSTRUMENTS_ADDED"
    return {"watchlistId": watchlist_id, "status": status}


@router.put("/watchlists/{watchlist_id}")
async def add_to_watchlist(
    watchlist_id: str, request: Request, c: Caller = Depends(caller)
) -> dict[str, str]:
    found = c.client.watchlists.get(watchlist_id)
    if found is None:
        raise not_found("error.not-found.watchlist")
    epic = (await json_body(request)).get("epic")
    if epic not in BY_EPIC:
        raise not_found("error.not-found.epic")
    if epic not in found.epics:
        found.epics.append(epic)
    return {"status": "SUCCESS"}


@router.delete("/watchlists/{watchlist_id}/{epic}")
async def remove_from_watchlist(watchlist_id: str, epic: str, c: Caller = Depends(caller)) -> dict[str, str]:
    found = c.client.watchlists.get(watchlist_id)
    if found is None:
        raise not_found("error.not-found.watchlist")
    if epic not in found.epics:
        raise not_found("error.not-found.epic")
    found.epics.remove(epic)
    return {"status": "SUCCESS"}


@router.delete("/watchlists/{watchlist_id}")
async def delete_watchlist(watchlist_id: str, c: Caller = Depends(caller)) -> dict[str, str]:
    if c.client.watchlists.pop(watchlist_id, None) is None:
        raise not_found("error.not-found.watchlist")
    return {"status": "SUCCESS"}


# ---- historical prices ------------------------------------------------------------------------------
@router.get("/prices/{epic}")
async def prices(epic: str, request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    instrument = _instrument(epic)
    params = request.query_params
    resolution = params.get("resolution", "MINUTE")
    if resolution not in RESOLUTIONS:
        raise bad_request("error.invalid.resolution")
    start = parse_input_time(params["from"], "error.invalid.from") if "from" in params else None
    end = parse_input_time(params["to"], "error.invalid.to") if "to" in params else None
    # Without an explicit max a date range may be as wide as the largest page (an assumption: the
    # documented default of 10 would make most ranges fail the window rule below).
    default_max = MAX_BARS if start and end else 10
    max_text = params.get("max", str(default_max))
    if not max_text.isdigit() or not 1 <= int(max_text) <= MAX_BARS:
        raise bad_request("error.invalid.max")
    limit = int(max_text)

    sim = c.sim
    now = sim.clock.now()
    step = timedelta(seconds=RESOLUTIONS[resolution])
    if (end and end > now) or (start and start > now) or (start and end and start > end):
        raise bad_request("error.invalid.daterange")
    if start and end and end - start > step * (limit - 1):
        raise bad_request("error.invalid.max.daterange")  # bounds are inclusive, so (max - 1) steps fit

    earliest = bar_start(sim.process.history_start + timedelta(days=8), resolution)
    bars = []
    if start:
        cursor = max(bar_start(start, resolution), earliest)
        if cursor < start:
            cursor += step
        last = end or now
        while cursor <= last and len(bars) < limit:
            bar = sim.process.bar(epic, resolution, cursor, now)
            if bar:
                bars.append(bar)
            cursor += step
    else:
        cursor = bar_start(end or now, resolution)
        while cursor >= earliest and len(bars) < limit:
            bar = sim.process.bar(epic, resolution, cursor, now)
            if bar:
                bars.append(bar)
            cursor -= step
        bars.reverse()
    if not bars:
        raise not_found("error.prices.not-found")
    offset = timedelta(hours=sim.config.timezone_offset_hours)

    def side(value: float) -> dict[str, float | None]:
        bid, ask = sim.process.bid_ask(instrument, value)
        return {"bid": num(bid), "ask": num(ask)}

    return {
        "prices": [
            {
                "snapshotTime": utc_seconds(bar.start + offset),
                "snapshotTimeUTC": utc_seconds(bar.start),
                "openPrice": side(bar.open),
                "closePrice": side(bar.close),
                "highPrice": side(bar.high),
                "lowPrice": side(bar.low),
                "lastTradedVolume": bar.ticks,
            }
            for bar in bars
        ],
        "instrumentType": instrument.type,
    }
