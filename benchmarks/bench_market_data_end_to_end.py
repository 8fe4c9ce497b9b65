"""Closed-bar latency a bot sees: venue bar close → ``candle.closed`` observed on the bus.

Service path: the Capital.com simulator (in process, stepped clock) streams EURUSD quotes over its
WebSocket to market-data (a real runtime with its live feed on: aggregation into all eight timeframes,
the closed bars upserted with their outbox rows in one transaction, the relay publishing to JetStream);
a plain NATS subscriber on ``market-data.evt.candle.closed.v1.capitalcom.EURUSD.1m`` takes the time the
event arrives.
Reference measured in the same run on the same bars: the simulator's own OHLC bar frame for that minute
(bid side) arriving over its WebSocket to a plain ``tt_capitalcom`` stream client, i.e. what a bot
reading the venue directly would get, with no storage and no bus.
Both are timed from the clock step that closes the bar (the first tick of the next minute). The
minute's other ticks are pushed and consumed before that step, so only the close is measured. Printed:
p50/p99 of both, their ratio and the overhead per bar (service − reference, paired by bar).

    .venv/bin/python benchmarks/bench_market_data_end_to_end.py [--bars 120] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from datetime import datetime, timedelta
from decimal import Decimal

import nats

import tt_capitalcom as cc
from tt_contracts import market_data as md
from tt_market_data.app import build
from tt_market_data.domain import bar_open
from tt_market_data.settings import Settings
from tt_runtime.streams import apply_streams
from tt_runtime.testing import running, service_settings, wait_until
from tt_runtime.testing.bench import bench_infrastructure, percentile
from tt_sandbox.capitalcom import RateLimits, Simulator, SimulatorConfig

EPIC = "EURUSD"
SUBJECT = md.CANDLE_CLOSED.subject.render(venue="capitalcom", symbol=EPIC, timeframe="1m")
WARM_UP = 3  # the first bar after connecting is partial (completed from REST); a few more warm the paths


def simulator() -> Simulator:
    return Simulator(
        SimulatorConfig(
            seed=7,
            clock="stepped",
            rate_limits=RateLimits(*(None,) * 6),
            seed_demo_users=False,
            session_idle_timeout=1e12,
            session_hard_cap=None,
            ws_ping_timeout=1e12,
        )
    )


def venue_config(sim: Simulator, rest_url: str) -> cc.CapitalComConfig:
    creds = sim.create_account(currency="USD", balance=Decimal(10_000))
    return cc.CapitalComConfig(
        api_key=creds.api_key,
        identifier=creds.identifier,
        password=creds.password,
        rest_url=rest_url,
        encrypted_password=False,
    )


async def run(nats_url: str, database_url: str, bars: int) -> tuple[list[float], list[float]]:
    nc = await nats.connect(nats_url)
    await apply_streams(nc.jetstream())
    sim = simulator()
    on_bus: dict[datetime, float] = {}
    at_client: dict[datetime, float] = {}

    async def bus_event(msg) -> None:
        on_bus.setdefault(md.CandleClosed.model_validate_json(msg.data).open_time, time.perf_counter())

    async def reference_client(stream: cc.CapitalComStream) -> None:
        async for event in stream:
            if isinstance(event, cc.Bar) and event.side == cc.PriceSide.BID:
                at_client.setdefault(event.open_time, time.perf_counter())

    service_times, reference_times = [], []
    async with sim.serve() as urls:
        market = venue_config(sim, urls.rest)
        settings = service_settings(
            "market-data",
            nats_url,
            database_url,
            cls=Settings,
            log_level="ERROR",
            capitalcom_base_url=urls.rest,
            capitalcom_ws_url=urls.ws,
            capitalcom_api_key=market.api_key,
            capitalcom_identifier=market.identifier,
            capitalcom_password=market.password,
            capitalcom_request_rate=50.0,
            live_enabled=True,
            live_epics=[EPIC],
            live_include_watchlists=False,
            live_lease=False,
            sync_instruments_on_start=False,
        )
        runtime, _, live = build(settings)
        sub = await nc.subscribe(SUBJECT, cb=bus_event)
        reference = venue_config(sim, urls.rest)
        async with cc.CapitalComClient(reference) as client:
            await client.login()  # before the stream: the venue binds the session's tokens into it
            async with cc.CapitalComStream(reference, client) as stream, running(runtime):
                await stream.subscribe_bars([EPIC], [cc.Resolution.MINUTE])
                consumer = asyncio.create_task(reference_client(stream))
                try:
                    await wait_until(lambda: live.connected and stream.connected, timeout=30)
                    for i in range(bars + WARM_UP):
                        closing = bar_open(sim.clock.now(), "1m")
                        # The minute's ticks, in two steps; the live feed takes them all before the close.
                        for target in (closing + timedelta(seconds=30), closing + timedelta(seconds=59)):
                            sim.clock.advance((target - sim.clock.now()).total_seconds())
                            await wait_until(
                                lambda t=target: (
                                    live.aggregator.clock is not None and live.aggregator.clock >= t
                                ),
                                timeout=10,
                            )
                        await asyncio.sleep(0.05)
                        started = time.perf_counter()
                        sim.clock.advance(1)  # the first tick of the next minute: both sides see the close
                        await wait_until(
                            lambda c=closing: c in on_bus and c in at_client, timeout=30, interval=0.001
                        )
                        if i >= WARM_UP:
                            service_times.append(on_bus[closing] - started)
                            reference_times.append(at_client[closing] - started)
                finally:
                    consumer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await consumer
        await sub.unsubscribe()
    await nc.close()
    return service_times, reference_times


def main(bars: int) -> None:
    with bench_infrastructure() as infra:
        service, reference = asyncio.run(run(infra.nats_url, infra.database_url, bars))

    def line(name: str, samples: list[float]) -> tuple[float, float]:
        p50, p99 = percentile(samples, 50), percentile(samples, 99)
        print(f"{name:<66} p50 {p50 * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms")
        return p50, p99

    print(f"{len(service)} closed 1m bars of {EPIC}, timed from the clock step that closes each bar")
    ref50, ref99 = line("reference: venue OHLC frame at a plain tt_capitalcom stream client", reference)
    svc50, svc99 = line("service: quotes → market-data → candle.closed observed on NATS", service)
    over50, over99 = line(
        "overhead per bar (service − reference, same bar)",
        [s - r for s, r in zip(service, reference, strict=True)],
    )
    print(
        f"RESULT bench=market_data_end_to_end bars={len(service)} service_p50_ms={svc50 * 1000:.2f} "
        f"service_p99_ms={svc99 * 1000:.2f} ref_p50_ms={ref50 * 1000:.2f} ref_p99_ms={ref99 * 1000:.2f} "
        f"ratio_p50={svc50 / ref50:.2f} ratio_p99={svc99 / ref99:.2f} overhead_p50_ms={over50 * 1000:.2f} "
        f"overhead_p99_ms={over99 * 1000:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=120)
    parser.add_argument("--quick", action="store_true", help="20 bars: a smoke run of the whole path")
    args = parser.parse_args()
    main(20 if args.quick else args.bars)
