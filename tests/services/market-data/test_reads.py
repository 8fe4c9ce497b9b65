"""Pure reads over the bus: coverage per timeframe, and cached candle replies that follow every write."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from tt_contracts import market_data as md
from tt_contracts.common import IndicatorSpec, InstrumentRef
from tt_market_data import repository as repo
from tt_market_data.domain import Candle
from tt_runtime.client import RemoteError, ask

EUR = InstrumentRef(symbol="EURUSD")
FRI_20 = datetime(2024, 3, 1, 20, 0, tzinfo=UTC)  # the last open hour before the FX weekend
SUN_2105 = datetime(2024, 3, 3, 21, 5, tzinfo=UTC)  # the FX week opens
MON = datetime(2024, 3, 4, tzinfo=UTC)


def _pg(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _bar(at: datetime, price: str, source: str = "broker") -> Candle:
    p = Decimal(price)
    ask = p + Decimal("0.00006")
    return Candle(at, p, p, p, p, ask, ask, ask, ask, Decimal(3), source)


async def _store(database_url: str, timeframe: str, bars: list[Candle]) -> None:
    async with await psycopg.AsyncConnection.connect(_pg(database_url)) as conn:
        cur = await conn.execute("SELECT id FROM market_data.instrument WHERE symbol = 'EURUSD'")
        instrument_id = (await cur.fetchone())[0]
        await repo.copy_candles(conn, [b.row(instrument_id, timeframe) for b in bars], update=True)
        await conn.commit()


async def test_coverage_per_timeframe_counts_sources_and_gaps(market_data, client, database_url, monkeypatch):
    passes = []
    count_rows = repo.coverage_counts

    async def counted(*args):
        passes.append(args[1])
        return await count_rows(*args)

    monkeypatch.setattr(repo, "coverage_counts", counted)
    friday = [FRI_20 + timedelta(minutes=i) for i in range(60)]  # 20:00-20:59, then closed
    sunday = [SUN_2105 + timedelta(minutes=i) for i in range(25)]  # 21:05-21:29
    missing = {friday[10], friday[11], sunday[15]}
    hours = [MON + timedelta(hours=i) for i in range(5)]
    async with market_data():
        await ask(client, md.INSTRUMENTS_SYNC, md.SyncInstruments(), timeout=30)
        await _store(database_url, "1m", [_bar(t, "1.08") for t in friday if t not in missing])
        await _store(database_url, "1m", [_bar(t, "1.09", "provider") for t in sunday if t not in missing])
        await _store(database_url, "1h", [_bar(t, "1.1", "provider") for t in hours if t != hours[2]])

        reply = await ask(client, md.COVERAGE_GET, md.GetCoverage(instrument=EUR))
        minute, hour = reply.timeframes
        assert (minute.timeframe, minute.first, minute.last) == ("1m", friday[0], sunday[-1])
        assert minute.bars == 85 - len(missing)
        assert minute.sources == {"broker": 58, "provider": 24}
        # The three removed bars are gaps; the weekend and the 21:00-21:05 break are closed hours.
        assert minute.gaps == len(missing)
        assert (hour.timeframe, hour.first, hour.last, hour.bars, hour.gaps) == ("1h", MON, hours[-1], 4, 1)
        assert hour.sources == {"provider": 4}

        # Counted once per series revision: asked again, no pass over the rows; a write of the series (the
        # missing 1h bar) shows at once.
        assert (
            await ask(client, md.COVERAGE_GET, md.GetCoverage(instrument=EUR))
        ).timeframes == reply.timeframes
        assert len(passes) == 1
        await _store(database_url, "1h", [_bar(hours[2], "1.1", "provider")])
        refreshed = await ask(client, md.COVERAGE_GET, md.GetCoverage(instrument=EUR))
        assert (refreshed.timeframes[1].bars, refreshed.timeframes[1].gaps) == (5, 0)
        assert refreshed.timeframes[0] == minute and len(passes) == 2

        empty = await ask(client, md.COVERAGE_GET, md.GetCoverage(instrument=InstrumentRef(symbol="GOLD")))
        assert empty.timeframes == []
        with pytest.raises(RemoteError) as err:
            await ask(client, md.COVERAGE_GET, md.GetCoverage(instrument=InstrumentRef(symbol="NOPE")))
        assert err.value.code == "not_found"


async def test_cached_reply_follows_every_write_of_its_series(market_data, client, database_url):
    minutes = [MON + timedelta(minutes=i) for i in range(60)]
    request = md.GetCandles(
        instrument=EUR, timeframe="1m", start=MON, limit=60, indicators=[IndicatorSpec(name="SMA")]
    )
    async with market_data() as (_, service, _):
        await ask(client, md.INSTRUMENTS_SYNC, md.SyncInstruments(), timeout=30)
        await _store(database_url, "1m", [_bar(t, "1.08") for t in minutes])
        first = await ask(client, md.CANDLES_GET, request)
        again = await ask(client, md.CANDLES_GET, request)
        assert again == first and service.replies.hits == 1

        # A bar replaced (by any writer: the revision lives in the database) is served at once.
        await _store(database_url, "1m", [_bar(minutes[-1], "1.2")])
        fresh = await ask(client, md.CANDLES_GET, request)
        assert fresh.close[-1] == Decimal("1.2") and fresh.close[:-1] == first.close[:-1]
        assert fresh.indicators["SMA:real"][-1] != first.indicators["SMA:real"][-1]
        # Another timeframe's write leaves this reply current.
        await _store(database_url, "1h", [_bar(MON, "1.3")])
        assert await ask(client, md.CANDLES_GET, request) == fresh and service.replies.hits == 2
