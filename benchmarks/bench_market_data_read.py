"""Candle range read: 1,000 bars into the columnar reply, against a bare psycopg fetchall.

Service path: ``MarketData.candles(request)``, exactly what the ``market-data.req.candles.get.v1`` handler
runs (instrument from memory, the series revision lookup, ``repository.read_candles`` on a read
connection, ``MarketData.columnar`` with gap detection, building the ``CandlesReply``), without NATS and
JSON. The reply cache is emptied before each call: this measures a read, not a cache hit. Also printed,
for the breakdown: the read + columnar part alone on one psycopg connection (no revision, no instrument).
Reference measured in the same run on the same windows: psycopg ``execute`` + ``fetchall`` of the same
SELECT the service runs (tuples, autocommit, one round trip). Printed for context, not the target: the
same fetch of every stored column (what the service read before it selected the reply's columns).
Target: service p50 ≤ 1.5× reference p50 (performance goal 13; also p99 ≤ 3×).

    .venv/bin/python benchmarks/bench_market_data_read.py [--windows 300] [--bars 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import datetime, timedelta

import psycopg

from tt_contracts import market_data as md
from tt_contracts.common import InstrumentRef
from tt_market_data import repository as repo
from tt_market_data.adapters.capitalcom import CapitalComProvider
from tt_market_data.service import VENUE, MarketData
from tt_market_data.settings import Settings
from tt_market_data.testing import START, seed_eurusd
from tt_runtime.service import ServiceRuntime
from tt_runtime.testing import service_settings
from tt_runtime.testing.bench import bench_infrastructure, percentile

TARGET_P50 = 1.5
TARGET_P99 = 3.0
LIMIT = 1000
EUR = InstrumentRef(venue=VENUE, symbol="EURUSD")


def report(name: str, samples: list[float], ref: list[float] | None = None) -> tuple[float, float]:
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    ratio = f"  ({p50 / percentile(ref, 50):.2f}x p50, {p99 / percentile(ref, 99):.2f}x p99)" if ref else ""
    print(f"{name:<58} p50 {p50 * 1000:6.2f} ms  p99 {p99 * 1000:6.2f} ms{ratio}")
    return p50, p99


async def main(windows: int, bars: int) -> None:
    with bench_infrastructure() as infra:
        url = infra.database_url
        instrument_id = await seed_eurusd(url, bars)
        settings = service_settings("market-data", infra.nats_url, url, cls=Settings, log_level="ERROR")
        runtime = ServiceRuntime(settings)
        service = MarketData(runtime, settings, CapitalComProvider(settings))
        sql = repo.range_sql("bid", start=True, end=False)
        every_column = (
            "SELECT open_time, bid_open, bid_high, bid_low, bid_close, ask_open, ask_high, ask_low, "
            "ask_close, volume FROM market_data.candle WHERE instrument_id = %s AND timeframe = %s "
            "AND open_time >= %s ORDER BY open_time ASC LIMIT %s"
        )
        rng = random.Random(7)
        starts = [START + timedelta(minutes=rng.randrange(0, bars - LIMIT)) for _ in range(windows)]
        ref_t, part_t, svc_t, all_t = [], [], [], []
        try:
            async with (
                await psycopg.AsyncConnection.connect(url, autocommit=True) as bare,
                await psycopg.AsyncConnection.connect(url, autocommit=True) as part_conn,
            ):
                async with service.reads.connection() as conn:
                    row = await service._read_instrument(conn, EUR)

                async def reference(start: datetime, query: str = sql) -> int:
                    cur = await bare.execute(query, (instrument_id, "1m", start, LIMIT))
                    return len(await cur.fetchall())

                async def part(start: datetime, request: md.GetCandles) -> int:
                    rows = await repo.read_candles(part_conn, instrument_id, "1m", start, None, LIMIT)
                    return len(service.columnar(row, request, rows, 0).open_time)

                async def full(request: md.GetCandles) -> int:
                    service.replies.clear()
                    return len((await service.candles(request)).open_time)

                for i, start in enumerate(starts[:20] + starts):  # the first 20 are warm-up
                    request = md.GetCandles(instrument=EUR, timeframe="1m", start=start, limit=LIMIT)
                    order = [0, 1, 2, 3]
                    rng.shuffle(order)  # no path always runs first (cache, scheduler) on a shared machine
                    for which in order:
                        t0 = time.perf_counter()
                        if which == 0:
                            n = await reference(start)
                        elif which == 1:
                            n = await part(start, request)
                        elif which == 2:
                            n = await full(request)
                        else:
                            n = await reference(start, every_column)
                        elapsed = time.perf_counter() - t0
                        assert n == LIMIT, n
                        if i >= 20:
                            (ref_t, part_t, svc_t, all_t)[which].append(elapsed)
        finally:
            await service.reads.close()
            await runtime.db.dispose()
    print(f"{windows} random windows of {LIMIT} 1m bars out of {bars:,} stored (bid side, no indicators)")
    ref50, ref99 = report("reference: psycopg execute + fetchall (tuples)", ref_t)
    report("context: the same fetch of every stored column", all_t, ref_t)
    report("read_candles + columnar (one connection)", part_t, ref_t)
    p50, p99 = report("service: MarketData.candles (reply cache emptied)", svc_t, ref_t)
    r50, r99 = p50 / ref50, p99 / ref99
    met = r50 <= TARGET_P50 and r99 <= TARGET_P99
    print(
        f"RESULT bench=market_data_read bars={LIMIT} windows={windows} service_p50_ms={p50 * 1000:.2f} "
        f"service_p99_ms={p99 * 1000:.2f} ref_p50_ms={ref50 * 1000:.2f} ref_p99_ms={ref99 * 1000:.2f} "
        f"ratio_p50={r50:.2f} ratio_p99={r99:.2f} target=p50<={TARGET_P50}x,p99<={TARGET_P99}x "
        f"target_met={met}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", type=int, default=300)
    parser.add_argument("--bars", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(main(args.windows, args.bars))
