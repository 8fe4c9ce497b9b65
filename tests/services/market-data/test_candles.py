"""History backfill across windows, closed hours and gaps; columnar reads; latest quote."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tt_contracts import market_data as md
from tt_contracts.common import IndicatorSpec, InstrumentRef
from tt_runtime.client import RemoteError, ask

EUR = InstrumentRef(symbol="EURUSD")
FRI = datetime(2024, 3, 1, 18, 0, tzinfo=UTC)
SAT = datetime(2024, 3, 2, 12, 0, tzinfo=UTC)
MON_NOON = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)


def _pg(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


async def test_backfill_across_windows_resumes_and_reports_gaps(market_data, client, sim, database_url):
    async with market_data():
        await ask(client, md.INSTRUMENTS_SYNC, md.SyncInstruments(), timeout=30)
        first = await ask(
            client,
            md.HISTORY_BACKFILL,
            md.BackfillRequest(instrument=EUR, timeframe="1m", start=FRI, end=SAT),
            timeout=60,
        )
        # Friday 18:00-21:00 open, then the weekend: 180 bars, no gap reported for closed hours.
        assert first.inserted == first.fetched == 180 and first.gaps == []
        assert first.complete_until == datetime(2024, 3, 1, 20, 59, tzinfo=UTC)

        second = await ask(
            client,
            md.HISTORY_BACKFILL,
            md.BackfillRequest(instrument=EUR, timeframe="1m", start=FRI),
            timeout=60,
        )
        assert second.resumed_from == first.complete_until + timedelta(minutes=1)  # resumed, not refetched
        # Sunday 21:05-24:00 and Monday to noon (the daily 21:00-21:05 FX break is closed, not a gap).
        assert second.inserted == 175 + 720 and second.gaps == []
        assert second.complete_until == MON_NOON - timedelta(minutes=1)

        # The stored bars are the venue's bars, bid and ask.
        venue = [
            bar
            async for page in _venue_pages(sim, "EURUSD", datetime(2024, 3, 4, 9, 0, tzinfo=UTC))
            for bar in page
        ]
        reply = await ask(
            client,
            md.CANDLES_GET,
            md.GetCandles(
                instrument=EUR, timeframe="1m", start=datetime(2024, 3, 4, 9, 0, tzinfo=UTC), limit=1000
            ),
        )
        assert len(reply.open_time) == len(venue) == 180
        assert reply.open_time == [b.snapshot_time_utc for b in venue]
        assert reply.close == [b.close_price.bid for b in venue] and reply.high == [
            b.high_price.bid for b in venue
        ]
        assert reply.spread == [b.close_price.ask - b.close_price.bid for b in venue]
        ask_reply = await ask(
            client, md.CANDLES_GET, md.GetCandles(instrument=EUR, timeframe="1m", price="ask", limit=3)
        )
        assert ask_reply.low == [b.low_price.ask for b in venue[-3:]]  # without start: the newest bars

        # A hole in the stored data is reported as a gap, by reads and by the next backfill.
        holes = [datetime(2024, 3, 4, 10, m, tzinfo=UTC) for m in (7, 8, 30)]
        with psycopg.connect(_pg(database_url)) as conn:
            conn.execute("DELETE FROM market_data.candle WHERE open_time = ANY(%s)", (holes,))
        reply = await ask(
            client,
            md.CANDLES_GET,
            md.GetCandles(
                instrument=EUR,
                timeframe="1m",
                start=datetime(2024, 3, 4, 10, tzinfo=UTC),
                end=datetime(2024, 3, 4, 11, tzinfo=UTC),
            ),
        )
        assert reply.gaps == holes and len(reply.open_time) == 57
        third = await ask(
            client,
            md.HISTORY_BACKFILL,
            md.BackfillRequest(instrument=EUR, timeframe="1m", start=datetime(2024, 3, 4, 10, tzinfo=UTC)),
            timeout=60,
        )
        assert third.gaps == holes  # resumed past them: reported, not silently refilled

        # Indicators ride along with the columns.
        with_ind = await ask(
            client,
            md.CANDLES_GET,
            md.GetCandles(instrument=EUR, timeframe="1m", limit=100, indicators=[IndicatorSpec(name="RSI")]),
        )
        rsi = with_ind.indicators["RSI:real"]
        assert len(rsi) == 100 and rsi[:14] == [None] * 14 and all(0 <= v <= 100 for v in rsi[14:])
        with pytest.raises(RemoteError) as err:
            await ask(
                client,
                md.CANDLES_GET,
                md.GetCandles(
                    instrument=EUR,
                    timeframe="1m",
                    indicators=[IndicatorSpec(name="RSI", params={"timeperiod": 0})],
                ),
            )
        assert err.value.code == "invalid"

        latest = await ask(client, md.QUOTE_LATEST, md.GetLatestQuote(instrument=EUR))
        assert latest.bid == venue[-1].close_price.bid and latest.ts_event == MON_NOON


async def _venue_pages(sim, epic, start):
    import tt_capitalcom as cc

    config = cc.CapitalComConfig(
        api_key=sim.creds.api_key,
        identifier=sim.creds.identifier,
        password=sim.creds.password,
        rest_url=sim.urls.rest,
    )
    async with cc.CapitalComClient(config) as venue:
        async for page in venue.iter_price_pages(
            epic, cc.Resolution.MINUTE, start, MON_NOON - timedelta(minutes=1)
        ):
            yield page
