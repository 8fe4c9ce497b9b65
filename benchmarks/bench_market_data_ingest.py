"""Candle ingest: the market-data bulk writer against raw psycopg binary COPY.

The service path is ``repository.copy_candles`` (the function backfill and CSV import call): binary COPY
into a session temp table, then one ``INSERT … ON CONFLICT DO NOTHING`` into ``market_data.candle``.
Reference measured in the same run on the same rows: psycopg ``COPY … (FORMAT BINARY)`` with
``set_types`` + ``write_row`` straight into an identical empty table (same columns, same primary key).
Both commit once per load, both start from an empty table. Row tuples are built before timing.
Target: service rows/s ≥ 0.8× raw COPY (median of the repeats).

    .venv/bin/python benchmarks/bench_market_data_ingest.py [--rows 300000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import psycopg

from tt_market_data import repository as repo
from tt_market_data.testing import synthetic_rows as shared_rows
from tt_runtime.testing.bench import bench_infrastructure

TARGET = 0.8


def synthetic_rows(count: int, instruments: int = 4, seed: int = 42) -> list[tuple]:
    """``count`` 1-minute bars spread over ``instruments`` instruments (ids 1..n)."""
    per = count // instruments
    return [row for i in range(1, instruments + 1) for row in shared_rows(i, per, seed=seed + i)]


async def service_load(url: str, rows: list[tuple], preexisting: tuple | None = None) -> float:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute("TRUNCATE market_data.candle")
        if preexisting is not None:
            await repo.copy_candles(conn, [preexisting], update=False)
        await conn.commit()
        await conn.execute("CHECKPOINT")
        await conn.commit()
        started = time.perf_counter()
        written = await repo.copy_candles(conn, rows, update=False)
        await conn.commit()
        elapsed = time.perf_counter() - started
    assert written == len(rows) - (preexisting is not None), (written, len(rows))
    return len(rows) / elapsed


async def raw_copy(url: str, rows: list[tuple]) -> float:
    cols = ", ".join(repo.CANDLE_COLUMNS)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute("TRUNCATE bench_candle")
        await conn.commit()
        await conn.execute("CHECKPOINT")
        await conn.commit()
        started = time.perf_counter()
        async with (
            conn.cursor() as cur,
            cur.copy(f"COPY bench_candle ({cols}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(list(repo.CANDLE_TYPES))
            for row in rows:
                await copy.write_row(row)
        await conn.commit()
        elapsed = time.perf_counter() - started
        count = (await (await conn.execute("SELECT count(*) FROM bench_candle")).fetchone())[0]
    assert count == len(rows)
    return len(rows) / elapsed


async def main(rows_wanted: int, repeats: int) -> None:
    rows = synthetic_rows(rows_wanted)
    with bench_infrastructure() as infra:
        url = infra.database_url
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute("CREATE TABLE bench_candle (LIKE market_data.candle INCLUDING ALL)")
        service_rates, raw_rates = [], []
        for i in range(repeats):  # interleaved, so drift on a shared machine hits both alike
            raw_rates.append(await raw_copy(url, rows))
            service_rates.append(await service_load(url, rows))
            print(f"  repeat {i + 1}: raw COPY {raw_rates[-1]:,.0f} rows/s, service {service_rates[-1]:,.0f}")
        # The general path, for scale: one stored bar inside the batch's span forces temp table + upsert.
        upsert = await service_load(url, rows, preexisting=rows[len(rows) // 2])
    service, raw = statistics.median(service_rates), statistics.median(raw_rates)
    ratio = service / raw
    print(f"rows: {len(rows):,} (4 instruments, 1m, bid+ask numeric), repeats: {repeats}, medians")
    print(f"raw psycopg binary COPY (reference): {raw:,.0f} rows/s")
    print(f"service bulk writer (copy_candles):  {service:,.0f} rows/s  ({ratio:.2f}x reference)")
    print(
        f"service, batch overlapping a stored bar (temp table + INSERT ON CONFLICT, 1 run): {upsert:,.0f} "
        f"rows/s  ({upsert / raw:.2f}x reference)"
    )
    print(
        f"RESULT bench=market_data_ingest rows={len(rows)} service_rows_per_s={service:.0f} "
        f"raw_copy_rows_per_s={raw:.0f} ratio={ratio:.2f} upsert_path_ratio={upsert / raw:.2f} "
        f"target=>={TARGET} target_met={ratio >= TARGET}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.repeats))
