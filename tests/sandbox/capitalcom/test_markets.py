"""Universe, market details, navigation, watchlists, and the /prices rules."""

from __future__ import annotations

from datetime import timedelta

from tt_sandbox.capitalcom import Simulator, SimulatorConfig
from tt_sandbox.capitalcom.instruments import UNIVERSE
from tt_sandbox.capitalcom.price_process import RESOLUTIONS


async def test_universe_covers_every_instrument_type_with_real_epics(api):
    status, body = await api.get("markets")
    assert status == 200
    epics = {m["epic"] for m in body["markets"]}
    assert len(epics) >= 30
    assert {"EURUSD", "US500", "GOLD", "OIL_CRUDE", "BTCUSD", "AAPL"} <= epics
    assert {m["instrumentType"] for m in body["markets"]} == {
        "CURRENCIES",
        "INDICES",
        "COMMODITIES",
        "CRYPTOCURRENCIES",
        "SHARES",
    }


async def test_market_details_carry_dealing_rules_and_a_live_snapshot(api):
    status, body = await api.get("markets/GOLD")
    assert status == 200
    rules = body["dealingRules"]
    assert rules["minDealSize"] == {"unit": "POINTS", "value": 0.01}
    assert rules["minSizeIncrement"]["value"] == 0.01
    assert rules["minStopOrProfitDistance"]["unit"] == "PERCENTAGE"
    snapshot = body["snapshot"]
    assert snapshot["marketStatus"] == "TRADEABLE"
    assert round(snapshot["offer"] - snapshot["bid"], 2) == 0.30  # the instrument's spread
    assert body["instrument"]["openingHours"]["zone"] == "UTC"
    assert await api.get("markets/NOPE") == (404, {"errorCode": "error.not-found.epic"})


async def test_markets_search_epics_and_errors(api):
    assert [
        m["epic"] for m in (await api.get("markets", params={"searchTerm": "bitcoin"}))[1]["markets"]
    ] == ["BTCUSD"]
    _status, body = await api.get("markets", params={"epics": "SILVER,EURUSD"})
    assert [d["instrument"]["epic"] for d in body["marketDetails"]] == ["SILVER", "EURUSD"]
    assert await api.get("markets", params={"searchTerm": ""}) == (
        400,
        {"errorCode": "error.null.searchTerm"},
    )
    too_many = ",".join(["EURUSD"] * 51)
    assert (await api.get("markets", params={"epics": too_many}))[0] == 400


async def test_closed_share_market_reports_closed_without_daily_figures(sim, api):
    sim.clock.advance(5 * 86400)  # Monday noon -> Saturday noon
    await api.login()  # the old session idled out
    _, body = await api.get("markets", params={"epics": "AAPL"})
    snapshot = body["marketDetails"][0]["snapshot"]
    assert snapshot["marketStatus"] == "CLOSED" and "high" not in snapshot
    _status, crypto = await api.get("markets/BTCUSD")
    assert crypto["snapshot"]["marketStatus"] == "TRADEABLE"  # crypto trades at weekends


async def test_navigation_tree_and_limit(api):
    _, root = await api.get("marketnavigation")
    assert "hierarchy_v1.commodities_group" in {n["id"] for n in root["nodes"]}
    _, group = await api.get("marketnavigation/hierarchy_v1.commodities_group")
    leaf = group["nodes"][0]["id"]
    _status, body = await api.get(f"marketnavigation/{leaf}", params={"limit": 2})
    assert body["nodes"] == [] and len(body["markets"]) == 2
    assert await api.get(f"marketnavigation/{leaf}", params={"limit": 0}) == (
        400,
        {"errorCode": "error.invalid.limit"},
    )


async def test_watchlist_lifecycle(api):
    _status, created = await api.post("watchlists", {"name": "Metals", "epics": ["GOLD", "NOPE"]})
    assert created["status"] == "SUCCESS_NOT_ALL_INSTRUMENTS_ADDED"
    watchlist_id = created["watchlistId"]
    assert await api.put(f"watchlists/{watchlist_id}", {"epic": "SILVER"}) == (200, {"status": "SUCCESS"})
    assert [m["epic"] for m in (await api.get(f"watchlists/{watchlist_id}"))[1]["markets"]] == [
        "GOLD",
        "SILVER",
    ]
    assert (await api.delete(f"watchlists/{watchlist_id}/GOLD"))[0] == 200
    assert (await api.delete(f"watchlists/{watchlist_id}"))[0] == 200
    assert await api.get(f"watchlists/{watchlist_id}") == (404, {"errorCode": "error.invalid.watchlist"})
    assert (await api.post("watchlists", {"name": "x" * 21}))[1] == {
        "errorCode": "error.size.createwatchlistrequest.name"
    }


async def test_prices_every_resolution_returns_ordered_bid_ask_bars(api):
    for resolution, _seconds in RESOLUTIONS.items():
        status, body = await api.get("prices/BTCUSD", params={"resolution": resolution, "max": 5})
        assert status == 200, (resolution, body)
        bars = body["prices"]
        assert len(bars) == 5 and body["instrumentType"] == "CRYPTOCURRENCIES"
        stamps = [b["snapshotTimeUTC"] for b in bars]
        assert stamps == sorted(stamps)
        for bar in bars:
            assert bar["lowPrice"]["bid"] <= bar["openPrice"]["bid"] <= bar["highPrice"]["bid"]
            assert bar["lowPrice"]["bid"] <= bar["closePrice"]["bid"] <= bar["highPrice"]["bid"]
            assert round(bar["closePrice"]["ask"] - bar["closePrice"]["bid"], 2) == 60.0


async def test_prices_default_is_ten_minute_bars_up_to_now(sim, api):
    _status, body = await api.get("prices/EURUSD")
    assert len(body["prices"]) == 10
    assert body["prices"][-1]["snapshotTimeUTC"] == "2024-03-04T12:00:00"  # the forming bar


async def test_prices_window_rules(api):
    minute = {"resolution": "MINUTE"}
    ok = await api.get(
        "prices/EURUSD",
        params={**minute, "from": "2024-03-04T10:00:00", "to": "2024-03-04T10:09:00", "max": 10},
    )
    assert ok[0] == 200 and len(ok[1]["prices"]) == 10  # bounds inclusive: (max-1) steps fit
    too_wide = await api.get(
        "prices/EURUSD",
        params={**minute, "from": "2024-03-04T10:00:00", "to": "2024-03-04T10:10:00", "max": 10},
    )
    assert too_wide == (400, {"errorCode": "error.invalid.max.daterange"})
    forward = await api.get("prices/EURUSD", params={**minute, "from": "2024-03-04T10:00:00", "max": 3})
    assert [b["snapshotTimeUTC"] for b in forward[1]["prices"]] == [
        "2024-03-04T10:00:00",
        "2024-03-04T10:01:00",
        "2024-03-04T10:02:00",
    ]
    assert await api.get("prices/EURUSD", params={"to": "2024-03-05T00:00:00"}) == (
        400,
        {"errorCode": "error.invalid.daterange"},
    )
    assert await api.get("prices/EURUSD", params={"resolution": "MINUTE_3"}) == (
        400,
        {"errorCode": "error.invalid.resolution"},
    )
    assert await api.get("prices/EURUSD", params={"max": 1001}) == (400, {"errorCode": "error.invalid.max"})
    assert await api.get("prices/EURUSD", params={"from": "2024-03-04T10:00:00Z"}) == (
        400,
        {"errorCode": "error.invalid.from"},
    )
    weekend = await api.get(
        "prices/AAPL", params={"from": "2024-03-02T10:00:00", "to": "2024-03-02T10:05:00"}
    )
    assert weekend == (404, {"errorCode": "error.prices.not-found"})


async def test_history_is_deterministic_per_seed_and_aggregates_consistently():
    first, second, other = (Simulator(SimulatorConfig(seed=s, clock="stepped")) for s in (7, 7, 8))
    now = first.clock.now()
    start = now - timedelta(hours=4)
    bars = [sim.process.bar("US500", "HOUR_4", start, now) for sim in (first, second, other)]
    assert bars[0] == bars[1] and bars[0] != bars[2]
    # A 4-hour bar is exactly its 48 five-minute bars put together.
    parts = [first.process.bar("US500", "MINUTE_5", start + timedelta(minutes=5 * i), now) for i in range(48)]
    assert bars[0].open == parts[0].open and bars[0].close == parts[-1].close
    assert bars[0].high == max(p.high for p in parts) and bars[0].low == min(p.low for p in parts)


def test_every_instrument_quotes_inside_its_rules():
    sim = Simulator(SimulatorConfig(clock="stepped"))
    for instrument in UNIVERSE:
        quote = sim.market.quote(instrument.epic)
        assert quote.ask - quote.bid == instrument.spread
        assert quote.bid.as_tuple().exponent >= -instrument.decimals
