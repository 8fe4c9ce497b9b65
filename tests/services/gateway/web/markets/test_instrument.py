"""``/markets/{venue}/{symbol}``: the chart container wired to the candles API and the vendored
lightweight-charts, the indicator picker without JavaScript, dealing rules, hours and coverage."""

from __future__ import annotations

import html
import json
import re


async def test_instrument_page_has_the_chart_and_the_vendored_script(markets_stack, page_rules):
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        page = await http.get("/markets/capitalcom/EURUSD", params={"timeframe": "15m"})
        assert page.status_code == 200
        page_rules(page)
        assert 'id="price-chart"' in page.text
        assert 'data-candles-url="/api/v1/markets/capitalcom/EURUSD/candles"' in page.text
        assert 'data-timeframe="15m"' in page.text
        for timeframe in ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"):
            assert f'data-timeframe="{timeframe}"' in page.text, "a switcher link per contract timeframe"

        script = re.search(r'<script[^>]+src="(/static/vendor/lightweight-charts/[^"]+)"', page.text).group(1)
        served = await http.get(script)
        assert served.status_code == 200 and "javascript" in served.headers["content-type"]
        assert "window.LightweightCharts" in served.text and "createChart" in served.text
        own = await http.get("/static/js/markets.js")
        assert own.status_code == 200 and "attributionLogo: false" in own.text
        assert (await http.get("/static/css/markets.css")).headers["content-type"].startswith("text/css")
        assert (await http.get("/static/vendor/lightweight-charts/../../package.json")).status_code == 404

        # The picker is built from market-data's catalogue, with its typed parameters.
        catalogue = json.loads(
            html.unescape(
                re.search(r'id="indicator-catalogue"[^>]*>(.*?)</script>', page.text, re.S).group(1)
            )
        )
        by_name = {i["name"]: i for i in catalogue}
        assert by_name["SMA"]["overlay"] and by_name["SUPERTREND"]["overlay"] and by_name["BBANDS"]["overlay"]
        assert not by_name["RSI"]["overlay"] and not by_name["MACD"]["overlay"]
        assert [p["name"] for p in by_name["MACD"]["params"]] == ["fastperiod", "slowperiod", "signalperiod"]
        assert "CDLDOJI" not in by_name, "candlestick patterns are not lines on a chart"
        assert '<option value="RSI">' in page.text

        # Dealing rules, trading hours and status from the catalogue.
        assert "Minimum deal size" in page.text and "Monday" in page.text
        assert re.search(r'data-quote="capitalcom:EURUSD" data-side="bid"', page.text)


async def test_indicator_picker_works_without_javascript(markets_stack):
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        added = await http.get(
            "/markets/capitalcom/EURUSD",
            params={"timeframe": "1h", "indicators": "SMA:timeperiod=20", "add": "rsi"},
        )
        assert added.status_code == 200
        assert 'name="indicators" value="SMA:timeperiod=20,RSI"' in added.text
        assert "chart.png?timeframe=1h&amp;indicators=SMA%3Atimeperiod%3D20%2CRSI" in added.text
        removed = await http.get(
            "/markets/capitalcom/EURUSD", params={"indicators": "SMA:timeperiod=20,RSI", "remove": "0"}
        )
        assert 'name="indicators" value="RSI"' in removed.text
        broken = await http.get("/markets/capitalcom/EURUSD", params={"indicators": "SMA:period"})
        assert broken.status_code == 200 and "write parameters as name=number" in broken.text

        missing = await http.get("/markets/capitalcom/NOSUCH")
        assert missing.status_code == 404 and "Instrument not found" in missing.text
        assert (await http.get("/markets/capitalcom/bad%20name")).status_code == 404


async def test_coverage_per_timeframe_is_shown(markets_stack):
    """Needs market-data's coverage responder (GetCoverage → CoverageReply)."""
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        filled = await markets.backfill("EURUSD", "1h", days=7)
        page = await http.get("/markets/capitalcom/EURUSD")
        section = page.text.split(">Stored data")[1].split("</section>")[0]
        row = re.search(r'<th scope="row">1h</th>(.*?)</tr>', section, re.S)
        assert row, section[:500]
        assert f'<td class="num">{filled.inserted}</td>' in row.group(1) and "broker=" in row.group(1)
        api = (await http.get("/api/v1/markets/capitalcom/EURUSD/coverage")).json()
        [hourly] = [t for t in api["timeframes"] if t["timeframe"] == "1h"]
        assert hourly["bars"] == filled.inserted and sum(hourly["sources"].values()) == filled.inserted
