"""Live ticks → quotes and candles: bars equal the venue's own, each announced exactly once across two
replicas (no lease: correctness must not depend on it) and a restart."""

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg

import tt_capitalcom as cc
from tt_runtime.testing import wait_until

START = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)
SUBJECT = "market-data.evt.candle.closed.v1.capitalcom.EURUSD.1m"


async def _advance(sim, minutes, lives):
    """Second by second, as the venue streams in real time (the client conflates quotes a slow consumer
    has not taken yet, so a minute pushed at once would reach us as its last quote only)."""
    for _ in range(minutes * 60):
        sim.clock.advance(1)
        target = sim.clock.now()
        await wait_until(
            lambda target=target: all(
                live.aggregator.clock is not None and live.aggregator.clock >= target for live in lives
            ),
            timeout=10,
            interval=0.002,
        )
    await asyncio.sleep(0.3)


async def _announced(js, subject):
    info = await js.stream_info("MARKET_DATA_EVT", subjects_filter=subject)
    return info.state.subjects.get(subject, 0) if info.state.subjects else 0


async def _venue_bars(sim, start, end):
    config = cc.CapitalComConfig(
        api_key=sim.creds.api_key,
        identifier=sim.creds.identifier,
        password=sim.creds.password,
        rest_url=sim.urls.rest,
    )
    async with cc.CapitalComClient(config) as venue:
        return await venue.get_price_history("EURUSD", cc.Resolution.MINUTE, start, end)


async def test_live_bars_equal_venue_bars_and_are_announced_once(market_data, sim, jetstream, database_url):
    live_settings = dict(
        live_enabled=True, live_epics=["EURUSD"], live_lease=False, sync_instruments_on_start=False
    )
    async with market_data(**live_settings) as (_, _, a), market_data(**live_settings) as (_, _, b):
        await wait_until(lambda: a.connected and b.connected, timeout=15)
        await _advance(sim, 4, [a, b])
        async with market_data(**live_settings) as (_, _, c):  # a third replica joins mid-way
            await wait_until(lambda: c.connected, timeout=15)
        # b restarts: a new process, same database
    async with market_data(**live_settings) as (_, _, b2):
        await wait_until(lambda: b2.connected, timeout=15)
        await _advance(sim, 3, [b2])
        await wait_until(lambda: b2.announced > 0, timeout=10)

    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        rows = conn.execute(
            "SELECT open_time, bid_open, bid_high, bid_low, bid_close, ask_close, announced "
            "FROM market_data.candle WHERE timeframe = '1m' ORDER BY open_time"
        ).fetchall()
        outbox = conn.execute(
            "SELECT count(*), count(DISTINCT message_id) FROM market_data.outbox WHERE subject = %s",
            (SUBJECT,),
        ).fetchone()
    times = [r[0] for r in rows]
    # 12:00 .. 12:06 closed (the 12:00 bar was seen partly and completed from REST; 12:07 is in progress).
    assert times == [START + timedelta(minutes=i) for i in range(7)]
    assert all(r[6] for r in rows)
    venue = await _venue_bars(sim, START, START + timedelta(minutes=6))
    assert [
        (
            b.snapshot_time_utc,
            b.open_price.bid,
            b.high_price.bid,
            b.low_price.bid,
            b.close_price.bid,
            b.close_price.ask,
        )
        for b in venue
    ] == [r[:6] for r in rows]
    assert outbox == (7, 7)
    await wait_until(lambda: _announced(jetstream, SUBJECT), timeout=10)
    await asyncio.sleep(0.3)
    assert await _announced(jetstream, SUBJECT) == 7  # once per bar on the stream too
    quotes = await jetstream.stream_info("MARKET_DATA_QUOTES", subjects_filter=">")
    assert quotes.state.subjects == {"market-data.evt.quote.updated.v1.capitalcom.EURUSD": 1}
