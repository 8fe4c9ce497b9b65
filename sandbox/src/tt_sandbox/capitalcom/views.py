"""JSON shapes of the venue's objects (field names exactly as the real API spells them)."""

from __future__ import annotations

from typing import Any

from .accounts import Account, Position, WorkingOrder
from .engine import Engine
from .formats import local_millis, num, utc_millis
from .instruments import BY_EPIC, Instrument


def balance(engine: Engine, account: Account) -> dict[str, float | None]:
    figures = engine.figures(account)
    return {
        "balance": num(figures.balance),
        "deposit": num(figures.deposit),
        "profitLoss": num(figures.profit_loss),
        "available": num(figures.available),
    }


def market_summary(engine: Engine, instrument: Instrument) -> dict[str, Any]:
    market = engine.market
    quote = market.quote(instrument.epic)
    offset = engine.config.timezone_offset_hours
    body: dict[str, Any] = {
        "instrumentName": instrument.name,
        "instrumentId": instrument.instrument_id,
        "expiry": "-",
        "epic": instrument.epic,
        "symbol": instrument.display_symbol,
        "instrumentType": instrument.type,
        "marketStatus": "TRADEABLE" if quote.open else "CLOSED",
        "lotSize": 1,
    }
    stats = market.daily_stats(instrument.epic) if quote.open else None
    if stats:  # absent for closed markets, like the venue
        body |= {
            "high": num(stats.high),
            "low": num(stats.low),
            "percentageChange": num(stats.percentage_change),
            "netChange": num(stats.net_change),
        }
    body |= {
        "bid": num(quote.bid),
        "offer": num(quote.ask),
        "updateTime": local_millis(quote.time, offset),
        "updateTimeUTC": utc_millis(quote.time),
        "delayTime": 0,
        "streamingPricesAvailable": True,
        "scalingFactor": 1,
        "marketModes": ["REGULAR"] if quote.open else [],
    }
    return body


def _rule(unit: str, value: Any) -> dict[str, Any]:
    return {"unit": unit, "value": num(value)}


def market_details(engine: Engine, instrument: Instrument) -> dict[str, Any]:
    summary = market_summary(engine, instrument)
    leverage = engine.default_leverage(instrument)
    next_swap = engine.next_funding_time()
    return {
        "instrument": {
            "epic": instrument.epic,
            "symbol": instrument.display_symbol,
            "expiry": "-",
            "name": instrument.name,
            "lotSize": 1,
            "type": instrument.type,
            "guaranteedStopAllowed": instrument.guaranteed_stop_allowed,
            "streamingPricesAvailable": True,
            "currency": instrument.currency,
            "marginFactor": round(100 / leverage, 2),
            "marginFactorUnit": "PERCENTAGE",
            "openingHours": {**instrument.hours, "zone": "UTC"},
            **({"country": instrument.country} if instrument.country else {}),
            "overnightFee": {
                "longRate": num(instrument.long_rate),
                "shortRate": num(instrument.short_rate),
                "swapChargeTimestamp": int(next_swap.timestamp() * 1000),
                "swapChargeInterval": 1440,
            },
        },
        "dealingRules": {
            "minStepDistance": _rule("POINTS", instrument.tick),
            "minDealSize": _rule("POINTS", instrument.min_size),
            "maxDealSize": _rule("POINTS", instrument.max_size),
            "minSizeIncrement": _rule("POINTS", instrument.size_step),
            "minGuaranteedStopDistance": _rule(
                instrument.min_guaranteed_stop.unit, instrument.min_guaranteed_stop.value
            ),
            "minStopOrProfitDistance": _rule(instrument.min_stop.unit, instrument.min_stop.value),
            "maxStopOrProfitDistance": _rule(instrument.max_stop.unit, instrument.max_stop.value),
            "marketOrderPreference": "AVAILABLE_DEFAULT_ON",
            "trailingStopsPreference": "AVAILABLE" if instrument.trailing_stops else "NOT_AVAILABLE",
        },
        "snapshot": {
            "marketStatus": summary["marketStatus"],
            **{k: summary[k] for k in ("netChange", "percentageChange") if k in summary},
            "updateTime": summary["updateTime"],
            "delayTime": 0,
            "bid": summary["bid"],
            "offer": summary["offer"],
            **{k: summary[k] for k in ("high", "low") if k in summary},
            "decimalPlacesFactor": instrument.decimals,
            "scalingFactor": 1,
            "marketModes": summary["marketModes"],
        },
    }


def position(engine: Engine, account: Account, p: Position) -> dict[str, Any]:
    offset = engine.config.timezone_offset_hours
    body: dict[str, Any] = {
        "contractSize": 1,
        "createdDate": local_millis(p.created, offset),
        "createdDateUTC": utc_millis(p.created),
        "dealId": p.deal_id,
        "dealReference": f"p_{p.deal_id}",
        "workingOrderId": p.order_deal_id,
        "size": num(p.size),
        "leverage": p.leverage,
        "upl": num(engine.upl(account, p)),
        "direction": p.direction,
        "level": num(p.level),
        "currency": p.currency,
        "guaranteedStop": p.guaranteed_stop,
        "trailingStop": p.trailing_stop,
    }
    if p.stop_level is not None:
        body["stopLevel"] = num(p.stop_level)
    if p.profit_level is not None:
        body["profitLevel"] = num(p.profit_level)
    if p.trailing_stop and p.stop_distance is not None:
        body["stopDistance"] = num(p.stop_distance)
    return {"position": body, "market": market_summary(engine, BY_EPIC[p.epic])}


def working_order(engine: Engine, o: WorkingOrder) -> dict[str, Any]:
    offset = engine.config.timezone_offset_hours
    data: dict[str, Any] = {
        "dealId": o.deal_id,
        "direction": o.direction,
        "epic": o.epic,
        "orderSize": num(o.size),
        "leverage": o.leverage,
        "orderLevel": num(o.level),
        "timeInForce": "GOOD_TILL_DATE" if o.good_till else "GOOD_TILL_CANCELLED",
    }
    if o.good_till:
        data["goodTillDate"] = local_millis(o.good_till, offset)
        data["goodTillDateUTC"] = utc_millis(o.good_till)
    data |= {
        "createdDate": local_millis(o.created, offset),
        "createdDateUTC": utc_millis(o.created),
        "guaranteedStop": o.guaranteed_stop,
        "trailingStop": o.trailing_stop,
        "orderType": o.order_type,
        "currencyCode": o.currency,
    }
    # The venue reports a working order's brackets as distances, whatever was submitted.
    if o.stop_distance is not None:
        data["stopDistance"] = num(o.stop_distance)
    if o.profit_distance is not None:
        data["profitDistance"] = num(o.profit_distance)
    return {"workingOrderData": data, "marketData": market_summary(engine, BY_EPIC[o.epic])}
