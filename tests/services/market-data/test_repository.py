"""The bulk candle writer: direct binary COPY for new bars, the upsert path when it must be taken."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

from tt_market_data import repository as repo
from tt_market_data.domain import Candle

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
STORED = "instrument_id, timeframe, open_time, bid_open, bid_high, bid_low, bid_close, ask_open, ask_high, "
STORED += "ask_low, ask_close, volume, source"


def _pg(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _rows(minutes: range, price: str = "1.08", source: str = "broker", ask: bool = True) -> list[tuple]:
    out = []
    for m in minutes:
        bid = Decimal(price) + Decimal(m) / 100_000
        a = bid + Decimal("0.00006") if ask else None
        out.append(
            Candle(T0 + timedelta(minutes=m), bid, bid, bid, bid, a, a, a, a, Decimal(m), source).row(1, "1m")
        )
    return out


async def _write(database_url: str, rows: list[tuple], *, update: bool) -> tuple[int, bool]:
    """Rows written, and whether the upsert path ran (it loads through the session's temp table)."""
    async with await psycopg.AsyncConnection.connect(_pg(database_url)) as conn:
        written = await repo.copy_candles(conn, rows, update=update)
        cur = await conn.execute("SELECT to_regclass('pg_temp.candle_load') IS NOT NULL")
        upserted = (await cur.fetchone())[0]
        await conn.commit()
    return written, upserted


async def _stored(database_url: str) -> tuple[list[tuple], int]:
    async with await psycopg.AsyncConnection.connect(_pg(database_url)) as conn:
        rows = await (
            await conn.execute(f"SELECT {STORED} FROM market_data.candle ORDER BY open_time")
        ).fetchall()
        revision = await repo.series_revision(conn, 1, "1m")
    return rows, revision


async def test_new_bars_go_straight_in_and_overlapping_batches_take_the_upsert(database_url):
    broker = _rows(range(0, 100))
    assert await _write(database_url, broker, update=False) == (100, False)
    stored, revision = await _stored(database_url)
    assert stored == broker and revision == 1  # every column as given: bid, ask, volume, provenance

    # Bars without an ask (an uploaded file) that do not touch the stored span: direct again.
    later = _rows(range(200, 250), price="1.2", source="upload", ask=False)
    assert await _write(database_url, later, update=False) == (50, False)

    # A batch overlapping stored bars keeps them (update=False) and adds only the new ones.
    overlap = _rows(range(90, 120), price="9", source="provider")
    assert await _write(database_url, overlap, update=False) == (20, True)
    stored, revision = await _stored(database_url)
    assert stored == broker + overlap[10:] + later and revision == 3
    assert len({r[2] for r in stored}) == len(stored) == 170

    # Nothing new: written 0, and the series revision stays (cached replies remain current).
    assert await _write(database_url, broker[:5], update=False) == (0, True)
    assert (await _stored(database_url))[1] == 3


async def test_update_replaces_bars_except_announced_ones(database_url):
    await _write(database_url, _rows(range(0, 10)), update=False)
    async with await psycopg.AsyncConnection.connect(_pg(database_url)) as conn:
        await conn.execute("UPDATE market_data.candle SET announced = true WHERE open_time = %s", (T0,))
        await conn.commit()
    replacement = _rows(range(0, 12), price="2", source="upload", ask=False)
    assert await _write(database_url, replacement, update=True) == (11, True)
    stored, revision = await _stored(database_url)
    assert stored[0] == _rows(range(0, 1))[0]  # an announced bar is final
    assert stored[1:] == replacement[1:] and revision == 2


async def test_a_duplicate_inside_a_new_batch_falls_back_to_the_upsert(database_url):
    batch = _rows(range(0, 20))
    batch.insert(7, _rows(range(5, 6), price="3")[0])  # the same bar twice; nothing stored yet
    written, upserted = await _write(database_url, batch, update=False)
    stored, revision = await _stored(database_url)
    assert upserted and written == 20 and revision == 1
    assert [r[2] for r in stored] == [T0 + timedelta(minutes=m) for m in range(20)]  # once each
