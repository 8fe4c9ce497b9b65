"""A cached chart: a repeated render command answered from the object store, over real NATS.

Two cached paths are measured, each ending with ``chart.rendered`` published to JetStream (PubAck
awaited, server with ``sync_interval: always``):
- memo hit: the same request over a closed window (its candles never change) was rendered before;
  no market-data request at all;
- store hit: the memo is empty (e.g. another replica rendered it): ask market-data for the candles
  (a real runtime playing market-data answers over NATS request-reply), build and hash the canonical
  input, find the object by its content key.
Reference in the same run: the same command's first, uncached render (drawn in the worker pool).
Target: a cached hit < 5 ms (median).

    .venv/bin/python benchmarks/bench_chart_render_cache.py [--hits 300] [--bars 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from uuid import uuid4

import nats

from tt_chart_render.adapters.storage import LocalObjectStore
from tt_chart_render.app import build
from tt_chart_render.settings import Settings
from tt_chart_render.testing import FakeMarketData
from tt_contracts.chart_render import RenderChart
from tt_contracts.common import IndicatorSpec, InstrumentRef, Timeframe
from tt_runtime.service import ServiceRuntime
from tt_runtime.streams import apply_streams
from tt_runtime.testing import running, service_settings
from tt_runtime.testing.bench import bench_infrastructure, percentile

TARGET_MS = 5.0


async def run(nats_url: str, database_url: str, hits: int, bars: int) -> None:
    nc = await nats.connect(nats_url)
    await apply_streams(nc.jetstream())
    await nc.close()
    market = FakeMarketData()
    md = ServiceRuntime(service_settings("market-data", nats_url, database_url))
    md.include(market.handlers())
    with tempfile.TemporaryDirectory() as root:
        chart = build(
            service_settings("chart-render", nats_url, database_url, cls=Settings, render_workers=1),
            store=LocalObjectStore(root),
        )
        command = RenderChart(
            request_id=uuid4(),
            user_id=uuid4(),  # as bots' commands do: the requester is recorded (once per user and chart)
            instrument=InstrumentRef(symbol="EURUSD"),
            timeframe=Timeframe.H1,
            end=datetime(2026, 3, 2, tzinfo=UTC),
            bars=bars,
            indicators=[IndicatorSpec(name="SMA", params={"timeperiod": 20}), IndicatorSpec(name="RSI")],
            width=1200,
            height=800,
        )
        try:
            async with running(md, chart.runtime):
                t0 = time.perf_counter()
                first = await chart.charts.handle(command)
                cold = time.perf_counter() - t0
                t0 = time.perf_counter()
                await chart.charts.handle(
                    RenderChart(**{**command.model_dump(), "message_id": uuid4(), "bars": bars + 1})
                )
                uncached = time.perf_counter() - t0  # warm pool, new content: a real render
                times, store_times = [], []
                for _ in range(hits):
                    again = RenderChart(**{**command.model_dump(), "message_id": uuid4()})
                    t0 = time.perf_counter()
                    event = await chart.charts.handle(again)
                    times.append(time.perf_counter() - t0)
                    assert event.object_key == first.object_key
                for _ in range(hits):
                    chart.charts._memo.clear()
                    again = RenderChart(**{**command.model_dump(), "message_id": uuid4()})
                    t0 = time.perf_counter()
                    event = await chart.charts.handle(again)
                    store_times.append(time.perf_counter() - t0)
                    assert event.object_key == first.object_key
                assert chart.charts.renders == 2
        finally:
            await chart.pool.stop()
    median = statistics.median(times) * 1000
    p95 = percentile(times, 95) * 1000
    print(
        f"first render (cold worker): {cold * 1000:.0f} ms; uncached render (warm): {uncached * 1000:.0f} ms"
    )
    store_median = statistics.median(store_times) * 1000
    print(f"memo hit over {hits}: median {median:.2f} ms, p95 {p95:.2f} ms")
    print(
        f"store hit over {hits}: median {store_median:.2f} ms, "
        f"p95 {percentile(store_times, 95) * 1000:.2f} ms "
        f"({bars} candles + warm-up asked over NATS, parsed and hashed)"
    )
    print(
        f"RESULT chart_render cached_hit_median={median:.2f}ms p95={p95:.2f}ms "
        f"store_hit_median={store_median:.2f}ms "
        f"({uncached * 1000 / median:.0f}x faster than an uncached render; target < {TARGET_MS} ms) -> "
        f"{'PASS' if median < TARGET_MS and store_median < TARGET_MS else 'FAIL'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hits", type=int, default=300)
    parser.add_argument("--bars", type=int, default=200)
    args = parser.parse_args()
    with bench_infrastructure() as infra:
        asyncio.run(run(infra.nats_url, infra.database_url, args.hits, args.bars))


if __name__ == "__main__":
    main()
