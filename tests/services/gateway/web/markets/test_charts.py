"""The server-rendered chart: gateway → chart.render → chart-render (candles from market-data) →
chart.rendered → the bytes by key, only for the user who asked; cache headers by content hash."""

from __future__ import annotations

import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a valid PNG has first."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", data[:16]
    return struct.unpack(">II", data[16:24])


async def test_chart_png_for_its_owner_only(markets_stack):
    """The other user's refusal needs chart-render's ownership check on chart.get (GetChart.user_id)."""
    async with markets_stack(charts=True) as markets:
        await markets.backfill("EURUSD", "1h", days=21)
        async with markets.signed_in("ada@example.com") as ada, markets.signed_in("bob@example.com") as bob:
            url = "/markets/capitalcom/EURUSD/chart.png"
            params = {"timeframe": "1h", "indicators": "SMA:timeperiod=20,RSI", "width": 640, "height": 400}
            chart = await ada.get(url, params=params)
            assert chart.status_code == 200, chart.text
            assert chart.headers["content-type"] == "image/png"
            assert png_size(chart.content) == (640, 400)
            content_hash = chart.headers["etag"].strip('"')
            assert len(content_hash) == 64 and "private" in chart.headers["cache-control"]
            by_key = chart.headers["content-location"]
            assert by_key == f"/markets/charts/{content_hash}.png"

            again = await ada.get(url, params=params, headers={"If-None-Match": chart.headers["etag"]})
            assert again.status_code == 304, "the same window and choices draw the same bytes"

            mine = await ada.get(by_key)
            assert mine.status_code == 200 and mine.content == chart.content
            assert "immutable" in mine.headers["cache-control"]
            async with markets.client() as anonymous:
                assert (await anonymous.get(by_key)).status_code == 401

            failed = await ada.get(url, params={"indicators": "NOPE"})
            assert failed.status_code == 422 and "could not be drawn" in failed.text
            unreadable = await ada.get(url, params={"indicators": "SMA:x"})
            assert unreadable.status_code == 422 and "name=number" in unreadable.text
            assert (await bob.get(by_key)).status_code == 404, "a chart key is not a capability"


async def test_chart_png_without_a_renderer_times_out_clearly(markets_stack, monkeypatch):
    from tt_gateway.web.markets import charts

    monkeypatch.setattr(charts, "RENDER_TIMEOUT", 1.0)
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        chart = await http.get("/markets/capitalcom/EURUSD/chart.png")
        assert chart.status_code == 504 and "did not answer within 1 seconds" in chart.text
        assert chart.headers["cache-control"] == "no-store"
