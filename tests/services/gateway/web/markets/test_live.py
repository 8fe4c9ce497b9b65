"""Live streams: simulator ticks → market-data's live feed → the quote stream → the gateway's hub →
the browser's SSE; closed bars likewise."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx

from tt_runtime.testing import wait_until


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, dict]]:
    """(event name, JSON data) of each Server-Sent Event."""
    name = "message"
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            yield name, json.loads(line.split(":", 1)[1])
            name = "message"


@contextlib.asynccontextmanager
async def collecting(http: httpx.AsyncClient, path: str) -> AsyncIterator[list[tuple[str, dict]]]:
    """Read an SSE stream in the background into a list."""
    seen: list[tuple[str, dict]] = []
    connected = asyncio.Event()

    async def read() -> None:
        async with http.stream("GET", path) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith(
                "text/event-stream"
            )
            connected.set()
            async for event in events(response):
                seen.append(event)

    task = asyncio.create_task(read())
    try:
        await asyncio.wait_for(connected.wait(), 10)
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_quote_stream_delivers_live_quotes(markets_stack):
    async with markets_stack(live=True) as markets, markets.signed_in("ada@example.com") as http:
        await wait_until(lambda: markets.live.connected, timeout=15)
        async with collecting(
            http, "/events/markets/quotes?symbols=capitalcom:EURUSD,capitalcom:GOLD"
        ) as seen:

            def advanced_and_quoted() -> bool:
                markets.sim.clock.advance(1)  # the venue ticks once a second
                return any(name == "quote" for name, _ in seen)

            await wait_until(advanced_and_quoted, timeout=20, interval=0.2)
        quote = next(data for name, data in seen if name == "quote")
        assert quote["instrument"] == "capitalcom:EURUSD"
        assert float(quote["ask"]) > float(quote["bid"]) > 0 and "T" in quote["ts"]

        # The page lists the same instruments for the stream it opens.
        page = await http.get("/markets", params={"q": "eurusd"})
        assert 'data-live-quotes="capitalcom:EURUSD' in page.text


async def test_candle_stream_delivers_closed_bars(markets_stack):
    async with markets_stack(live=True) as markets, markets.signed_in("ada@example.com") as http:
        await wait_until(lambda: markets.live.connected, timeout=15)
        path = "/events/markets/candles?venue=capitalcom&symbol=EURUSD&timeframe=1m"
        async with collecting(http, path) as seen:

            def advanced_and_closed() -> bool:
                markets.sim.clock.advance(1)
                return any(name == "candle" for name, _ in seen)

            await wait_until(advanced_and_closed, timeout=60, interval=0.02)
        bar = next(data for name, data in seen if name == "candle")
        assert bar["time"] % 60 == 0
        assert float(bar["high"]) >= max(float(bar["open"]), float(bar["close"])) >= float(bar["low"])


async def test_streams_need_a_signed_in_user_and_instruments(markets_stack):
    async with markets_stack() as markets, markets.signed_in("ada@example.com") as http:
        async with markets.client() as anonymous:
            refused = await anonymous.get("/events/markets/quotes?symbols=capitalcom:EURUSD")
            assert refused.status_code == 401
        assert (await http.get("/events/markets/quotes")).status_code == 422
        assert (await http.get("/events/markets/quotes?symbols=capitalcom:bad%20name")).status_code == 422
        assert (
            await http.get("/events/markets/candles?venue=capitalcom&symbol=EURUSD&timeframe=2h")
        ).status_code == 422
