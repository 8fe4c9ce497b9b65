"""Synthetic market data for benchmarks and tests: bars shaped like the venue's, stored by the real
bulk writer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import psycopg

from . import repository as repo
from .service import VENUE

START = datetime(2020, 1, 6, tzinfo=UTC)
SPREAD = 0.00012


def synthetic_rows(instrument_id: int, count: int, seed: int = 42, start: datetime = START) -> list[tuple]:
    """1-minute bid/ask bars on a log-normal walk, 5 decimals, in the bulk writer's row layout."""
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.001, count)))
    rows = []
    for i in range(count):
        c = close[i]
        o = close[i - 1] if i else c
        hi, lo = max(o, c) * 1.0003, min(o, c) * 0.9997
        bid = [Decimal(f"{v:.5f}") for v in (o, hi, lo, c)]
        ask = [Decimal(f"{v + SPREAD:.5f}") for v in (o, hi, lo, c)]
        rows.append(
            (instrument_id, "1m", start + timedelta(minutes=i), *bid, *ask, Decimal(100 + i % 50), "broker")
        )
    return rows


async def seed_eurusd(database_url: str, bars: int) -> int:
    """Create the EURUSD instrument with ``bars`` 1-minute candles from START; returns its id."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "INSERT INTO market_data.instrument (venue, symbol, name, instrument_type, search_text) "
            "VALUES (%s, 'EURUSD', 'EUR/USD', 'CURRENCIES', 'eurusd') RETURNING id",
            (VENUE,),
        )
        instrument_id = (await cur.fetchone())[0]
        await repo.copy_candles(conn, synthetic_rows(instrument_id, bars), update=False)
        await conn.commit()
        await conn.execute("ANALYZE market_data.candle")
        await conn.commit()
    return instrument_id
