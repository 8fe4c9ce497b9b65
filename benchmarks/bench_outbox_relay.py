"""Outbox → relay → JetStream → consumer with inbox dedupe: throughput and latency.

Reference measured in the same run on the same server: raw nats-py JetStream publish with 256
publishes in flight (the client-side ceiling of getting a PubAck per message).
Target: the relay path ≥ 5,000 events/s end to end with inbox dedupe on.

    .venv/bin/python benchmarks/bench_outbox_relay.py [--events 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from uuid import uuid4

import nats
from sqlalchemy import text

from tt_contracts import registry
from tt_contracts.identity import UserRegistered
from tt_runtime.bus import Handlers
from tt_runtime.service import ServiceRuntime
from tt_runtime.streams import apply_streams
from tt_runtime.testing import EffectProbe, running, service_settings, wait_until
from tt_runtime.testing.bench import bench_infrastructure, percentile

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


def _identity(infra) -> ServiceRuntime:
    return ServiceRuntime(
        service_settings(
            "identity", infra.nats_url, infra.database_url, log_level="ERROR", relay_batch_size=256
        )
    )


async def run_consumer(nats_url: str, database_url: str, batch_size: int, batch: bool) -> None:
    """The consuming service, in its own process as in production: billing applies user.registered."""
    billing = ServiceRuntime(
        service_settings("billing", nats_url, database_url, log_level="ERROR", max_ack_pending=4096)
    )
    probe = await EffectProbe(billing).create()
    handlers = Handlers("billing")
    handlers.consume(registry.USER_REGISTERED, batch_size=batch_size, batch=batch, max_wait=0.05)(
        probe.record
    )
    billing.include(handlers)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with running(billing):
        print("ready", flush=True)
        await stop.wait()


@contextlib.asynccontextmanager
async def consumer_process(infra, batch_size: int, batch: bool = True):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--consumer",
        *(["--batch"] if batch else []),
        "--batch-size",
        str(batch_size),
        env={**os.environ, "NATS_URL": infra.nats_url, "DATABASE_URL": infra.database_url},
        stdout=asyncio.subprocess.PIPE,
    )
    assert (await asyncio.wait_for(proc.stdout.readline(), 60)).strip() == b"ready"
    try:
        yield
    finally:
        proc.terminate()
        await proc.wait()


async def write_events(runtime: ServiceRuntime, count: int, per_tx: int) -> None:
    for start in range(0, count, per_tx):
        async with runtime.unit_of_work() as uow:
            for _ in range(min(per_tx, count - start)):
                await uow.publish(
                    registry.USER_REGISTERED, UserRegistered(user_id=uuid4(), email="b@example.com")
                )


async def _relayed(runtime) -> bool:
    return await runtime.relay.pending_count() == 0


async def _applied(runtime: ServiceRuntime) -> int:
    async with runtime.db.engine.connect() as conn:
        return (
            await conn.execute(text("SELECT count(DISTINCT message_id) FROM billing.test_effect"))
        ).scalar_one()


async def relay_throughput(infra, count: int) -> tuple[float, float, float, int]:
    """Events/s from relay start to the last effect committed by the consumer process."""
    identity = _identity(infra)
    started = time.perf_counter()
    await write_events(identity, count, per_tx=1000)
    write_rate = count / (time.perf_counter() - started)
    async with consumer_process(infra, batch_size=256):
        await identity.start()
        started = time.perf_counter()
        await wait_until(lambda: _relayed(identity), timeout=600, interval=0.01)
        relay_rate = count / (time.perf_counter() - started)
        await wait_until(lambda: _reached(identity, count), timeout=600, interval=0.02)
        end_to_end = count / (time.perf_counter() - started)
        async with identity.db.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM billing.test_effect"))).scalar_one()
        await identity.stop()
    return end_to_end, write_rate, relay_rate, rows


async def _reached(runtime, count) -> bool:
    return await _applied(runtime) >= count


async def relay_latency(infra, count: int, rate: float, offset: int, batch: bool) -> list[float]:
    """Commit → consumer-commit latency (ms) at a steady producer rate, one event per transaction."""
    identity = _identity(infra)
    async with consumer_process(infra, batch_size=64, batch=batch), running(identity):
        interval = 1 / rate
        next_at = time.perf_counter()
        for _ in range(count):
            await write_events(identity, 1, per_tx=1)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await wait_until(lambda: _reached(identity, offset + count), timeout=120)
        async with identity.db.engine.connect() as conn:
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
        end_to_end, write_rate, relay_rate, effect_rows = await relay_throughput(infra, events)
        per_message = await relay_latency(infra, latency_events, rate, offset=events, batch=False)
        batched = await relay_latency(infra, latency_events, rate, offset=events + latency_events, batch=True)
    assert effect_rows == events, f"{effect_rows} effects for {events} events"
    ratio = end_to_end / raw
    lines = [
        f"events: {events} (sync_interval: always, Postgres fsync on, 2 cores shared by every process)",
        f"reference  raw nats-py JetStream publish, 256 in flight : {raw:>9,.0f} msg/s",
        f"outbox write (1,000 events per transaction)             : {write_rate:>9,.0f} events/s",
        f"relay: outbox -> JetStream (PubAck, row marked)         : {relay_rate:>9,.0f} events/s",
        f"end to end: outbox -> relay -> JetStream -> inbox+effect: {end_to_end:>9,.0f} events/s "
        f"({ratio:.2f}x raw publish; target >= {TARGET:,})",
    ]
    for label, values in (("per-message consumer", per_message), ("batch consumer, 50 ms wait", batched)):
        lines.append(
            f"latency commit -> consumer commit at {rate:.0f}/s, {label:26}: "
            f"p50 {percentile(values, 50):.1f} ms, p99 {percentile(values, 99):.1f} ms ({len(values)} events)"
        )
    lines.append(
        f"RESULT relay_end_to_end_events_per_s={end_to_end:.0f} ratio_vs_raw={ratio:.2f} "
        f"target_met={end_to_end >= TARGET}"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--latency-events", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--consumer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=256, help=argparse.SUPPRESS)
    parser.add_argument("--batch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.consumer:
        asyncio.run(
            run_consumer(os.environ["NATS_URL"], os.environ["DATABASE_URL"], args.batch_size, args.batch)
        )
        sys.exit(0)
    sys.exit(asyncio.run(main(args.events, args.latency_events, args.rate)))
