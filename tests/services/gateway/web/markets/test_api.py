"""``/api/v1/markets``: the candles the chart draws (shape, indicators and where each is drawn),
search, errors as JSON, sign-in required, documented in OpenAPI."""

from __future__ import annotations

from decimal import Decimal


async def test_candles_with_indicators_in_their_panes(markets_stack):
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        filled = await markets.backfill("EURUSD", "1h", days=21)
        assert filled.inserted > 300
        plain = await http.get(
            "/api/v1/markets/capitalcom/EURUSD/candles", params={"timeframe": "1h", "bars": 120}
        )
        assert plain.status_code == 200, plain.text
        body = plain.json()
        assert body["instrument"] == {"venue": "capitalcom", "symbol": "EURUSD"} and body["timeframe"] == "1h"
        assert len(body["time"]) == 120 and body["indicators"] == []
        assert body["time"] == sorted(body["time"]) and {
            b - a for a, b in zip(body["time"], body["time"][1:], strict=False)
        } >= {3600}
        for field in ("open", "high", "low", "close", "volume"):
            assert len(body[field]) == 120 and isinstance(body[field][0], str), "prices stay decimal strings"
        assert all(
            Decimal(h) >= max(Decimal(o), Decimal(c))
            for h, o, c in zip(body["high"], body["open"], body["close"], strict=True)
        )

        chosen = "SMA:timeperiod=20,BBANDS,SUPERTREND,RSI:timeperiod=14,MACD"
        with_lines = await http.get(
            "/api/v1/markets/capitalcom/EURUSD/candles",
            params={"timeframe": "1h", "bars": 120, "indicators": chosen},
        )
        assert with_lines.status_code == 200, with_lines.text
        lines = {line["key"]: line for line in with_lines.json()["indicators"]}
        assert with_lines.json()["time"] == body["time"], "the same bars, the warm-up cut off"
        assert {k for k, v in lines.items() if v["placement"] == "price"} == {
            "SMA:real",
            "BBANDS:upperband",
            "BBANDS:middleband",
            "BBANDS:lowerband",
            "SUPERTREND:supertrend",
        }, "SuperTrend's direction flag is not a price line"
        assert lines["RSI:real"]["pane"] == 1 and {
            lines[f"MACD:{o}"]["pane"] for o in ("macd", "macdsignal", "macdhist")
        } == {2}
        assert all(len(line["values"]) == 120 for line in lines.values())
        assert None not in lines["SMA:real"]["values"], "indicators start drawn: the warm-up was fetched"
        assert min(lines["RSI:real"]["values"]) >= 0 and max(lines["RSI:real"]["values"]) <= 100

        twice = await http.get(
            "/api/v1/markets/capitalcom/EURUSD/candles",
            params={"bars": 50, "indicators": "SMA:timeperiod=10,SMA:timeperiod=30"},
        )
        assert [line["label"] for line in twice.json()["indicators"]] == ["SMA", "SMA(timeperiod=30)"]

        unknown = await http.get("/api/v1/markets/capitalcom/EURUSD/candles", params={"indicators": "NOPE"})
        assert unknown.status_code == 422 and "unknown indicator" in unknown.json()["error"]["message"]
        unreadable = await http.get(
            "/api/v1/markets/capitalcom/EURUSD/candles", params={"indicators": "SMA:x"}
        )
        assert unreadable.status_code == 422 and "name=number" in unreadable.json()["error"]["message"]
        missing = await http.get("/api/v1/markets/capitalcom/NOSUCH/candles")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        assert (
            await http.get("/api/v1/markets/capitalcom/EURUSD/candles", params={"timeframe": "2h"})
        ).status_code == 422


async def test_search_and_sign_in_required(markets_stack):
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        found = await http.get("/api/v1/markets/instruments", params={"q": "gold"})
        assert found.status_code == 200 and found.json()["instruments"][0]["instrument"]["symbol"] == "GOLD"
        fx = await http.get("/api/v1/markets/instruments", params={"type": "CURRENCIES", "limit": 500})
        assert {i["instrument_type"] for i in fx.json()["instruments"]} == {"CURRENCIES"}
        catalogue = await http.get("/api/v1/markets/indicators")
        assert any(i["name"] == "RSI" for i in catalogue.json()["indicators"])

        async with markets.client() as anonymous:
            for path in (
                "/api/v1/markets/instruments",
                "/api/v1/markets/watchlist",
                "/api/v1/markets/capitalcom/EURUSD/candles",
                "/api/v1/markets/capitalcom/EURUSD/quote",
                "/api/v1/markets/capitalcom/EURUSD/coverage",
            ):
                refused = await anonymous.get(path)
                assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated", (
                    path
                )
            spec = (await anonymous.get("/api/v1/openapi.json")).json()
        paths = spec["paths"]
        assert "/api/v1/markets/{venue}/{symbol}/candles" in paths and "/api/v1/markets/watchlist" in paths
        assert paths["/api/v1/markets/{venue}/{symbol}/candles"]["get"]["tags"] == ["markets"]
        assert "Candles" in spec["components"]["schemas"]
