"""Outbox → relay → JetStream → consumer with inbox dedupe: throughput and latency.

Reference measured in the same run on the same server: raw nats-py JetStream publish with 256
publishes in flight (the client-side ceiling of getting a PubAck per message).
Target: the relay path ≥ 5,000 events/s end to end with inbox dedupe on.

    .venv/bin/python benchmarks/bench_outbox_relay.py [--events 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from uuid import uuid4

import nats
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from _infra import bench_infrastructure, percentile

from tt_contracts import registry
from tt_contracts.identity import UserRegistered
from tt_runtime.bus import Handlers
from tt_runtime.service import ServiceRuntime
from tt_runtime.streams import apply_streams
from tt_runtime.testing import EffectProbe, running, service_settings, wait_until

TARGET = 5_000


async def raw_publish(nats_url: str, count: int, in_flight: int = 256) -> float:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name="BENCH_RAW", subjects=["bench.raw.>"])
    payload = UserRegistered(user_id=uuid4(), email="bench@example.com").model_dump_json().encode()
    sem = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with sem:
            await js.publish("bench.raw.x", payload, headers={"Nats-Msg-Id": f"raw-{i}"})

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = time.perf_counter() - started
    await js.delete_stream("BENCH_RAW")
    await nc.close()
    return count / elapsed


def _pair(infra, batch_size: int):
    identity = ServiceRuntime(
        service_settings(
            "identity", infra.nats_url, infra.database_url, log_level="ERROR", relay_batch_size=512
        )
    )
    billing = ServiceRuntime(
        service_settings(
            "billing", infra.nats_url, infra.database_url, log_level="ERROR", max_ack_pending=2048
        )
    )
    probe = EffectProbe(billing)
    handlers = Handlers("billing")
    handlers.consume(registry.USER_REGISTERED, batch_size=batch_size, batch=True)(probe.record)
    billing.include(handlers)
    return identity, billing, probe


async def write_events(runtime: ServiceRuntime, count: int, per_tx: int) -> None:
    for start in range(0, count, per_tx):
        async with runtime.unit_of_work() as uow:
            rows = [
                UserRegistered(user_id=uuid4(), email="bench@example.com")
                for _ in range(min(per_tx, count - start))
            ]
            for event in rows:
                await uow.publish(registry.USER_REGISTERED, event)


async def relay_throughput(infra, count: int) -> tuple[float, float, float]:
    """Events/s from the first commit to the last inbox row, plus (write/s, relay/s) of the stages."""
    identity, billing, probe = _pair(infra, batch_size=256)
    await probe.create()
    async with running(billing):
        # Stage the events first so the measurement is the pipeline, not the producer's transactions.
        started = time.perf_counter()
        await write_events(identity, count, per_tx=1000)
        write_rate = count / (time.perf_counter() - started)
        await identity.start()
        started = time.perf_counter()
        await wait_until(lambda: _relayed(identity), timeout=600, interval=0.01)
        relay_rate = count / (time.perf_counter() - started)
        await wait_until(lambda: probe.reached(count), timeout=600, interval=0.02)
        end_to_end = count / (time.perf_counter() - started)
        rows, distinct = await probe.counts()
        await identity.stop()
    assert rows == distinct == count, (rows, distinct)
    return end_to_end, write_rate, relay_rate


async def _relayed(runtime) -> bool:
    return await runtime.relay.pending_count() == 0


async def relay_latency(infra, count: int, rate: float) -> list[float]:
    """Commit → inbox latency (ms) at a steady producer rate, one event per transaction."""
    identity, billing, probe = _pair(infra, batch_size=64)
    async with running(identity, billing):
        await probe.create()
        interval = 1 / rate
        next_at = time.perf_counter()
        for _ in range(count):
            await write_events(identity, 1, per_tx=1)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await wait_until(lambda: probe.reached(count), timeout=120)
        async with billing.db.engine.connect() as conn:
            rows = (
                (
                    await conn.execute(
                        text(
                            "SELECT extract(epoch FROM (i.received_at - o.created_at)) * 1000 "
                            "FROM billing.inbox i JOIN identity.outbox o ON o.message_id = i.message_id "
                            "WHERE i.consumer = 'billing__identity_evt_user_registered_v1' "
                            "ORDER BY o.id DESC LIMIT :n"
                        ),
                        {"n": count},
                    )
                )
                .scalars()
                .all()
            )
    return [float(r) for r in rows]


async def main(events: int, latency_events: int, rate: float) -> int:
    with bench_infrastructure() as infra:
        nc = await nats.connect(infra.nats_url)
        await apply_streams(nc.jetstream())
        await nc.close()
        raw = await raw_publish(infra.nats_url, events)
        end_to_end, write_rate, relay_rate = await relay_throughput(infra, events)
        latencies = await relay_latency(infra, latency_events, rate)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(f"events: {events} (sync_interval: always, Postgres fsync on, 2 cores shared by everything)")
    print(f"reference  raw nats-py JetStream publish, 256 in flight : {raw:>9,.0f} msg/s")
    print(f"outbox write (1,000 events per transaction)             : {write_rate:>9,.0f} events/s")
    print(f"relay: outbox → JetStream (PubAck, marked)              : {relay_rate:>9,.0f} events/s")
    print(
        f"end to end: outbox → relay → JetStream → inbox + effect : {end_to_end:>9,.0f} events/s"
        f"  ({end_to_end / raw:.2f}× raw publish; target ≥ {TARGET:,})"
    )
    print(
        f"latency commit → consumer commit at {rate:.0f} events/s    : p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"({len(latencies)} events)"
    )
    print(
        f"RESULT relay_end_to_end_events_per_s={end_to_end:.0f} ratio_vs_raw={end_to_end / raw:.2f} "
        f"target_met={end_to_end >= TARGET}"
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--latency-events", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.events, args.latency_events, args.rate)))
