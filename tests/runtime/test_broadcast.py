"""Broadcast subscriptions: every replica of the following service sees every event, with no
durable consumer, inbox row or acknowledgement."""

import asyncio
import json
from decimal import Decimal

import nats
import pytest

from tt_contracts import registry
from tt_contracts.common import InstrumentRef
from tt_contracts.market_data import QuoteUpdated
from tt_runtime.bus import Handlers
from tt_runtime.service import ServiceRuntime
from tt_runtime.testing import running, service_settings, wait_until


def quote(i: int) -> QuoteUpdated:
    return QuoteUpdated(
        instrument=InstrumentRef(symbol="EURUSD"),
        bid=Decimal("1.1") + Decimal(i) / 10_000,
        ask=Decimal("1.1002") + Decimal(i) / 10_000,
        ts_event="2026-11-20T10:00:00Z",
    )


async def publish(producer: ServiceRuntime, quotes: list[QuoteUpdated]) -> None:
    async with producer.unit_of_work() as uow:
        for q in quotes:
            await uow.publish(registry.QUOTE_UPDATED, q, venue=q.instrument.venue, symbol=q.instrument.symbol)


def replica(nats_url, database_url, seen: list) -> ServiceRuntime:
    runtime = ServiceRuntime(service_settings("gateway", nats_url, database_url))
    handlers = Handlers("gateway")

    @handlers.broadcast(registry.QUOTE_UPDATED)
    async def follow(event: QuoteUpdated) -> None:
        seen.append(event.bid)

    runtime.include(handlers)
    return runtime


async def test_every_replica_sees_every_event_and_no_consumer_is_created(nats_url, database_url, jetstream):
    producer = ServiceRuntime(service_settings("market-data", nats_url, database_url))
    first, second = [], []
    replicas = [replica(nats_url, database_url, first), replica(nats_url, database_url, second)]
    async with running(producer, *replicas):
        await publish(producer, [quote(0)])
        await wait_until(lambda: len(first) == 1 and len(second) == 1, timeout=10)
        await publish(producer, [quote(i) for i in range(1, 21)])
        await wait_until(lambda: len(first) == 21 and len(second) == 21, timeout=10)
    assert first == second
    consumers = [info.name for info in await jetstream.consumers_info("MARKET_DATA_QUOTES")]
    assert not [name for name in consumers if name.startswith("gateway")]


def test_broadcast_is_for_events_the_service_is_registered_to_follow():
    handlers = Handlers("gateway")
    hold_created = next(r for r in registry.ROUTES if r.subject.base == "billing.evt.hold.created.v1")
    with pytest.raises(ValueError, match="not a registered consumer"):
        handlers.broadcast(hold_created)
    with pytest.raises(ValueError, match="not an event subject"):
        handlers.broadcast(registry.STATUS["gateway"])


async def test_a_broadcast_subscriber_never_answers_a_publishers_ack_request(
    nats_url, database_url, jetstream
):
    """A JetStream publish asks for its PubAck on a reply subject the core subscriber sees as well:
    only the stream may answer, or a publisher could take the subscriber's reply for the ack."""
    seen: list = []
    async with running(replica(nats_url, database_url, seen)):
        nc = await nats.connect(nats_url)
        try:
            answers: list[bytes] = []
            inbox = nc.new_inbox()

            async def collect(msg) -> None:
                answers.append(msg.data)

            await nc.subscribe(inbox, cb=collect)
            for i in range(20):
                subject = "market-data.evt.quote.updated.v1.capitalcom.EURUSD"
                await nc.publish(subject, quote(i).model_dump_json().encode(), reply=inbox)
            await wait_until(lambda: len(seen) == 20 and len(answers) >= 20, timeout=10)
            await asyncio.sleep(0.3)  # room for any late extra answer
        finally:
            await nc.close()
    assert len(answers) == 20
    assert all(json.loads(a)["stream"] == "MARKET_DATA_QUOTES" for a in answers)
