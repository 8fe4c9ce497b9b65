"""The warm-up: once the live feed holds its lease, recent history of each streamed instrument is
backfilled, and the live feed still announces the bars it closes (a backfilled bar is not final)."""

from datetime import UTC, datetime, timedelta

import psycopg

from tt_runtime.testing import wait_until

NOW = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)  # the simulator's stepped clock starts here


def _bars(database_url, timeframe):
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        return conn.execute(
            "SELECT open_time, source FROM market_data.candle WHERE timeframe = %s ORDER BY open_time",
            (timeframe,),
        ).fetchall()


async def test_streamed_instruments_get_recent_history_once_the_feed_starts(market_data, sim, database_url):
    settings = dict(
        live_enabled=True,
        live_epics=["EURUSD"],
        live_lease=False,
        live_include_watchlists=False,
        warmup_enabled=True,
        warmup_backfill_days={"1m": 0.02, "1h": 1},
    )
    async with market_data(**settings) as (_, _, live):
        await wait_until(lambda: live._warmup is not None and live._warmup.done(), timeout=30)
        assert live._warmup.result() > 0
    minutes = _bars(database_url, "1m")
    hours = _bars(database_url, "1h")
    # 28.8 minutes back from 12:00 starts inside the 11:31 bar: 11:31 .. 11:59, all closed at the venue.
    assert [t for t, _ in minutes] == [NOW - timedelta(minutes=i) for i in range(29, 0, -1)]
    assert hours and hours[-1][0] == NOW - timedelta(hours=1) and hours[0][0] >= NOW - timedelta(days=1)
    assert {source for _, source in minutes + hours} == {"broker"}


async def test_the_warm_up_is_off_in_tests_unless_asked(market_data):
    async with market_data(live_enabled=True, live_epics=["EURUSD"], live_lease=False) as (_, service, live):
        await wait_until(lambda: live.connected, timeout=15)
        assert not service.settings.warmup_on and live._warmup is None
