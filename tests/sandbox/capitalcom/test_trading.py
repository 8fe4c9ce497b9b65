"""Positions, working orders, confirms, dealing rules, triggers on ticks, funding, history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tt_sandbox.capitalcom import RateLimits, SimulatorConfig


async def _position(api, deal_id):
    status, body = await api.get(f"positions/{deal_id}")
    return body["position"] if status == 200 else None


async def test_market_buy_fills_at_the_offer_and_links_order_and_position(sim, api):
    quote = sim.market.quote("EURUSD")
    confirm = await api.deal("positions", {"epic": "EURUSD", "direction": "BUY", "size": 1000})
    assert confirm["dealStatus"] == "ACCEPTED" and confirm["status"] == "OPEN"
    assert confirm["level"] == float(quote.ask)
    opened = confirm["affectedDeals"][0]
    assert opened["status"] == "OPENED" and opened["dealId"] != confirm["dealId"]
    position = await _position(api, opened["dealId"])
    assert position["workingOrderId"] == confirm["dealId"]
    assert position["dealReference"] == f"p_{opened['dealId']}"
    assert position["leverage"] == 30 and position["size"] == 1000.0
    assert position["upl"] == float((quote.bid - quote.ask) * 1000)  # the spread is the opening loss


async def test_size_and_stop_rules_answer_synchronously(api):
    assert await api.post("positions", {"epic": "GOLD", "direction": "BUY", "size": 0.001}) == (
        400,
        {"errorCode": "error.invalid.size.minvalue: 0.01"},
    )
    assert await api.post("positions", {"epic": "GOLD", "direction": "BUY", "size": 0.015}) == (
        400,
        {"errorCode": "error.invalid.size"},
    )
    status, body = await api.post(
        "positions", {"epic": "GOLD", "direction": "BUY", "size": 1, "stopDistance": 0.5}
    )
    assert status == 400 and body["errorCode"].startswith("error.invalid.stoploss.minvalue: ")
    status, body = await api.post(
        "positions", {"epic": "GOLD", "direction": "BUY", "size": 1, "profitLevel": 1}
    )
    assert status == 400 and body["errorCode"].startswith("error.invalid.takeprofit.minvalue: ")
    assert (await api.post("positions", {"epic": "NOPE", "direction": "BUY", "size": 1}))[0] == 404
    assert await api.post("positions", {"epic": "GOLD", "direction": "UP", "size": 1}) == (
        400,
        {"errorCode": "error.invalid.direction"},
    )


async def test_sloppy_clients_are_served(api):
    """Numbers as strings, booleans as strings, nulls and IG-style extra fields."""
    confirm = await api.deal(
        "positions",
        {
            "epic": "GOLD",
            "direction": "SELL",
            "size": "1",
            "guaranteedStop": "false",
            "stopLevel": None,
            "expiry": "-",
            "orderType": "MARKET",
            "forceOpen": True,
        },
    )
    assert confirm["dealStatus"] == "ACCEPTED"


async def test_netting_closes_the_opposite_position_and_hedging_keeps_both(sim, api, hedged_api):
    for caller in (api, hedged_api):
        await caller.deal("positions", {"epic": "GOLD", "direction": "BUY", "size": 2})
        confirm = await caller.deal("positions", {"epic": "GOLD", "direction": "SELL", "size": 1})
        positions = (await caller.get("positions"))[1]["positions"]
        if caller is api:
            assert confirm["status"] == "CLOSED"
            assert confirm["affectedDeals"][0]["status"] == "PARTIALLY_CLOSED"
            assert [(p["position"]["direction"], p["position"]["size"]) for p in positions] == [("BUY", 1.0)]
        else:
            assert sorted(p["position"]["direction"] for p in positions) == ["BUY", "SELL"]


async def test_guaranteed_stop_is_refused_in_hedging_mode(hedged_api):
    status, body = await hedged_api.post(
        "positions",
        {"epic": "GOLD", "direction": "BUY", "size": 1, "guaranteedStop": True, "stopDistance": 50},
    )
    assert status == 400 and "guaranteedstop" in body["errorCode"]


async def test_business_rejections_arrive_in_the_confirm(sim, api):
    big = await api.deal("positions", {"epic": "BTCUSD", "direction": "BUY", "size": 1})
    assert (big["dealStatus"], big["rejectReason"], big["affectedDeals"]) == (
        "REJECTED",
        "INSUFFICIENT_FUNDS",
        [],
    )
    sim.clock.advance(5 * 86400)  # Saturday: shares are closed
    await api.login()
    closed = await api.deal("positions", {"epic": "AAPL", "direction": "BUY", "size": 1})
    assert (closed["dealStatus"], closed["reason"]) == ("REJECTED", "MARKET_CLOSED")
    assert await api.get("confirms/o_unknown") == (404, {"errorCode": "error.not-found.dealReference"})


async def test_update_replaces_all_protection_and_close_realises_profit(sim, api):
    confirm = await api.deal(
        "positions",
        {"epic": "US500", "direction": "BUY", "size": 1, "stopDistance": 20, "profitDistance": 30},
    )
    deal_id = confirm["affectedDeals"][0]["dealId"]
    position = await _position(api, deal_id)
    assert position["stopLevel"] < position["level"] < position["profitLevel"]

    amended = await api.deal(f"positions/{deal_id}", {"_method": "PUT", "profitDistance": 40})
    assert amended["status"] == "AMENDED" and amended["dealReference"] == f"p_{deal_id}"
    position = await _position(api, deal_id)
    assert "stopLevel" not in position and "profitLevel" in position  # the omitted stop was cleared

    sim.clock.advance(60)
    bid = sim.market.quote("US500").bid
    _, reply = await api.delete(f"positions/{deal_id}")
    _, closed = await api.get(f"confirms/{reply['dealReference']}")
    assert closed["status"] == "CLOSED" and closed["affectedDeals"] == [
        {"dealId": deal_id, "status": "FULLY_CLOSED"}
    ]
    expected = (bid - Decimal(str(position["level"]))) * 1
    assert Decimal(str(closed["profit"])) == expected
    _status, accounts = await api.get("accounts")
    assert Decimal(str(accounts["accounts"][0]["balance"]["balance"])) == Decimal(10000) + expected
    assert await api.delete(f"positions/{deal_id}") == (404, {"errorCode": "error.not-found.dealId"})


async def _activities(api, **params):
    status, body = await api.get(
        "history/activity", params={"detailed": "true", "lastPeriod": 86400, **params}
    )
    assert status == 200, body
    return body["activities"]


async def test_stop_loss_and_take_profit_trigger_on_ticks(sim, hedged_api):
    """A BUY and a SELL bracket on one hedged account: whichever way BTC moves, one SL and one TP fire."""
    bracket = {"epic": "BTCUSD", "size": 0.01, "stopDistance": 400, "profitDistance": 400}
    for direction in ("BUY", "SELL"):
        await hedged_api.deal("positions", {**bracket, "direction": direction})
    opened = {
        p["position"]["dealId"]: p["position"] for p in (await hedged_api.get("positions"))[1]["positions"]
    }
    for _ in range(144):
        sim.clock.advance(600)
        await hedged_api.login()  # outlive the one-hour session cap
        if not (await hedged_api.get("positions"))[1]["positions"]:
            break
    closes = await _activities(hedged_api, filter="source==SL,TP")
    assert sorted(a["source"] for a in closes) == ["SL", "TP"]
    for activity in closes:
        position, fill = opened[activity["dealId"]], activity["details"]["level"]
        buy = position["direction"] == "BUY"
        if activity["source"] == "SL":
            assert fill <= position["stopLevel"] if buy else fill >= position["stopLevel"]
        else:
            assert fill >= position["profitLevel"] if buy else fill <= position["profitLevel"]


async def test_trailing_stop_follows_the_price(sim, api):
    confirm = await api.deal(
        "positions",
        {"epic": "BTCUSD", "direction": "BUY", "size": 0.01, "trailingStop": True, "stopDistance": 700},
    )
    deal_id = confirm["affectedDeals"][0]["dealId"]
    stops = [(await _position(api, deal_id))["stopLevel"]]
    for _ in range(24):
        sim.clock.advance(300)
        await api.login()  # outlive the one-hour session cap
        position = await _position(api, deal_id)
        if position is None:  # stopped out: the stop is then at most 700 below the best bid seen
            break
        assert position["trailingStop"] is True and position["stopDistance"] == 700.0
        stops.append(position["stopLevel"])
    assert stops == sorted(stops) and stops[-1] > stops[0]  # it only ever moves up, and it did move
    await api.login()
    assert await api.post(
        "positions", {"epic": "BTCUSD", "direction": "BUY", "size": 0.01, "trailingStop": True}
    ) == (400, {"errorCode": "error.invalid.trailingstop.stopdistance"})


def _weekend_gap(sim, epic: str) -> tuple[datetime, datetime]:
    """The first Friday close -> Sunday open in the stepped history where the price gapped down by > 1%."""
    friday = datetime(2024, 3, 8, 20, 59, tzinfo=UTC)
    for week in range(52):
        close_time = friday + timedelta(weeks=week)
        open_time = close_time + timedelta(days=2, hours=1, minutes=1)
        before, after = sim.process.quote(epic, close_time), sim.process.quote(epic, open_time)
        if after.mid < before.mid * 0.99:
            return close_time, open_time
    raise AssertionError("no gap found")


async def test_gap_fills_a_normal_stop_at_market_and_a_guaranteed_stop_at_its_level(sim, api):
    close_time, open_time = _weekend_gap(sim, "US500")
    sim.clock.set(close_time - timedelta(minutes=5))
    await api.login()
    bid = sim.market.quote("US500").bid
    stop = (bid * Decimal("0.994")).quantize(Decimal("0.1"))
    normal = await api.deal(
        "positions", {"epic": "US500", "direction": "BUY", "size": 1, "stopLevel": float(stop)}
    )
    guaranteed = await api.deal(
        "positions",
        {"epic": "US500", "direction": "BUY", "size": 1, "stopLevel": float(stop), "guaranteedStop": True},
    )
    assert normal["dealStatus"] == guaranteed["dealStatus"] == "ACCEPTED"
    sim.clock.set(open_time)
    await api.login()
    assert (await api.get("positions"))[1]["positions"] == []
    fills = {a["dealId"]: a["details"]["level"] for a in await _activities(api, filter="source==SL")}
    normal_fill = fills[normal["affectedDeals"][0]["dealId"]]
    assert fills[guaranteed["affectedDeals"][0]["dealId"]] == float(stop)
    assert normal_fill < float(stop)  # slipped through the gap


async def test_working_orders_fill_expire_and_validate(sim, api):
    quote = sim.market.quote("BTCUSD")
    limit_level = quote.ask - 150
    _status, reply = await api.post(
        "workingorders",
        {
            "epic": "BTCUSD",
            "direction": "BUY",
            "size": 0.01,
            "level": float(limit_level),
            "type": "LIMIT",
            "stopDistance": 500,
        },
    )
    confirm = (await api.get(f"confirms/{reply['dealReference']}"))[1]
    order_id = confirm["dealId"]
    orders = (await api.get("workingorders"))[1]["workingOrders"]
    data = orders[0]["workingOrderData"]
    assert (data["dealId"], data["orderType"], data["timeInForce"], data["stopDistance"]) == (
        order_id,
        "LIMIT",
        "GOOD_TILL_CANCELLED",
        500.0,
    )

    expiry = (sim.clock.now() + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
    far = await api.deal(
        "workingorders",
        {
            "epic": "BTCUSD",
            "direction": "BUY",
            "size": 0.01,
            "level": float(quote.ask * 2),
            "type": "STOP",
            "goodTillDate": expiry,
        },
    )
    wrong_side = await api.deal(
        "workingorders",
        {"epic": "BTCUSD", "direction": "BUY", "size": 0.01, "level": float(quote.ask * 2), "type": "LIMIT"},
    )
    assert wrong_side["dealStatus"] == "REJECTED"
    past = (sim.clock.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert await api.post(
        "workingorders",
        {
            "epic": "BTCUSD",
            "direction": "BUY",
            "size": 0.01,
            "level": 1,
            "type": "LIMIT",
            "goodTillDate": past,
        },
    ) == (400, {"errorCode": "error.not-in-future.goodTillDate"})

    for _ in range(36):
        sim.clock.advance(600)
        await api.login()  # outlive the one-hour session cap
        if not (await api.get("workingorders"))[1]["workingOrders"]:
            break
    positions = (await api.get("positions"))[1]["positions"]
    assert [p["position"]["workingOrderId"] for p in positions] == [order_id]
    filled = positions[0]["position"]
    assert filled["level"] <= float(limit_level)
    assert filled["stopLevel"] == round(filled["level"] - 500, 2)  # the distance re-applied at the fill
    statuses = {(a["dealId"], a["status"]) for a in await _activities(api, filter="type==WORKING_ORDER")}
    assert (order_id, "EXECUTED") in statuses and (far["dealId"], "EXPIRED") in statuses


async def test_working_order_update_and_delete(sim, api):
    quote = sim.market.quote("GOLD")
    confirm = await api.deal(
        "workingorders",
        {"epic": "GOLD", "direction": "SELL", "size": 1, "level": float(quote.bid + 20), "type": "LIMIT"},
    )
    order_id = confirm["dealId"]
    amended = await api.deal(
        f"workingorders/{order_id}", {"_method": "PUT", "level": float(quote.bid + 25), "profitDistance": 10}
    )
    assert amended["status"] == "AMENDED"
    data = (await api.get("workingorders"))[1]["workingOrders"][0]["workingOrderData"]
    assert data["orderLevel"] == float(quote.bid + 25) and data["profitDistance"] == 10.0
    _status, reply = await api.delete(f"workingorders/{order_id}")
    assert (await api.get(f"confirms/{reply['dealReference']}"))[1]["status"] == "DELETED"
    assert (await api.get("workingorders"))[1]["workingOrders"] == []
    assert await api.delete(f"workingorders/{order_id}") == (404, {"errorCode": "error.not-found.dealId"})


async def test_overnight_funding_is_charged_at_22_utc(sim, api):
    await api.deal("positions", {"epic": "US500", "direction": "BUY", "size": 1})
    sim.clock.set(datetime(2024, 3, 4, 22, 0, 30, tzinfo=UTC))
    await api.login()
    _status, body = await api.get("history/transactions", params={"type": "SWAP", "lastPeriod": 86400})
    assert len(body["transactions"]) == 1
    swap = body["transactions"][0]
    assert swap["instrumentName"] == "US500" and Decimal(swap["size"]) < 0 and "dateUtc" in swap


async def test_top_up_and_history_filters(sim, api):
    assert await api.post("accounts/topUp", {"amount": 500}) == (200, {"successful": True})
    assert (await api.post("accounts/topUp", {"amount": 100000}))[0] == 400  # demo balance cap
    deposits = (await api.get("history/transactions", params={"type": "DEPOSIT"}))[1]["transactions"]
    assert [t["size"] for t in deposits] == ["500"]
    await api.deal("positions", {"epic": "GOLD", "direction": "BUY", "size": 1})
    plain = (await api.get("history/activity"))[1]["activities"]
    assert plain and "details" not in plain[0]
    assert await _activities(api, filter="epic==SILVER") == []
    assert await api.get(
        "history/activity", params={"from": "2024-03-01T00:00:00", "to": "2024-03-04T00:00:00"}
    ) == (400, {"errorCode": "error.invalid.daterange"})
    assert (await api.get("history/activity", params={"from": "2024-03-04T10:00:00Z"}))[0] == 400


async def test_preferences_switch_hedging_and_leverage(sim, api):
    assert await api.put("accounts/preferences", {"hedgingMode": True, "leverages": {"INDICES": 10}}) == (
        200,
        {"status": "SUCCESS"},
    )
    prefs = (await api.get("accounts/preferences"))[1]
    assert prefs["hedgingMode"] is True and prefs["leverages"]["INDICES"]["current"] == 10
    assert await api.put("accounts/preferences", {"leverages": {"INDICES": 7}}) == (
        400,
        {"errorCode": "error.invalid.leverage.value"},
    )


async def test_trade_rate_limits_answer_429_or_a_rejected_confirm(api_for):
    _, api = await api_for(SimulatorConfig(clock="stepped", rate_limits=RateLimits(requests_per_second=None)))
    order = {"epic": "GOLD", "direction": "BUY", "size": 1}
    assert (await api.post("positions", dict(order)))[0] == 200
    assert await api.post("positions", dict(order)) == (429, {"errorCode": "error.too-many.requests"})

    capped = RateLimits(requests_per_second=None, trade_interval_seconds=None, demo_trades_per_hour=2)
    _sim, api = await api_for(
        SimulatorConfig(clock="stepped", rate_limits=capped, trade_rate_rejection="confirm")
    )
    confirms = [await api.deal("positions", dict(order)) for _ in range(3)]
    assert [c["dealStatus"] for c in confirms] == ["ACCEPTED", "ACCEPTED", "REJECTED"]
