"""Fault tests against real servers: the outbox → JetStream → inbox path loses nothing and applies
nothing twice when the relay dies at its worst moment or nats-server is killed mid-flow."""

import asyncio
import os
from uuid import uuid4

import nats
import pytest

from tt_contracts import registry
from tt_contracts.identity import UserRegistered
from tt_runtime.bus import Handlers
from tt_runtime.outbox import OutboxRelay
from tt_runtime.service import ServiceRuntime
from tt_runtime.streams import apply_streams
from tt_runtime.testing import EffectProbe, publish_many, running, service_settings, wait_until

pytestmark = pytest.mark.fault
EVENTS = int(os.environ.get("TT_FAULT_EVENTS", "2000"))


def registration() -> UserRegistered:
    return UserRegistered(user_id=uuid4(), email="trader@example.com")


def _pair(nats_url, database_url):
    identity = ServiceRuntime(
        service_settings("identity", nats_url, database_url, relay_publish_timeout_seconds=2.0)
    )
    billing = ServiceRuntime(service_settings("billing", nats_url, database_url))
    probe = EffectProbe(billing)
    handlers = Handlers("billing")
    handlers.consume(registry.USER_REGISTERED, batch_size=64)(probe.record)
    billing.include(handlers)
    return identity, billing, probe


class RelayCrash(Exception):
    pass


async def test_relay_killed_after_puback_before_marking(nats_url, database_url, jetstream):
    identity, billing, probe = _pair(nats_url, database_url)
    await probe.create()
    crashes = []

    async def crash_once(published_ids):
        if not crashes:
            crashes.append(len(published_ids))
            raise RelayCrash("process died after the PubAcks, before the UPDATE")

    crashing = OutboxRelay(identity.db, lambda: jetstream, batch_size=256)
    crashing.after_publish = crash_once
    count = 500
    async with running(billing):
        await publish_many(identity, registry.USER_REGISTERED, registration, count)
        with pytest.raises(RelayCrash):
            await crashing.publish_pending()
        # The crashed pass published rows that are still unmarked in the database.
        assert crashes and crashes[0] > 0
        assert await crashing.pending_count() == count
        # A new relay (the restarted process) publishes everything again.
        successor = OutboxRelay(identity.db, lambda: jetstream, batch_size=256)
        while await successor.publish_pending():
            pass
        assert await successor.pending_count() == 0
        await wait_until(lambda: probe.reached(count), timeout=30)
        await asyncio.sleep(0.5)
    stream = await jetstream.stream_info("IDENTITY_EVT")
    assert stream.state.messages == count, "the duplicate window absorbed the republished rows"
    assert await probe.counts() == (count, count), "every event applied exactly once"
    await identity.db.dispose()


async def test_nats_server_killed_and_restarted_mid_flow(own_nats_server, database_url):
    server = own_nats_server
    nc = await nats.connect(server.url)
    await apply_streams(nc.jetstream())
    await nc.close()
    identity, billing, probe = _pair(server.url, database_url)
    await probe.create()

    async with running(identity, billing):
        producer = asyncio.create_task(
            publish_many(identity, registry.USER_REGISTERED, registration, EVENTS, per_transaction=20)
        )
        for fraction in (0.3, 0.7):
            await wait_until(lambda f=fraction: probe.reached(int(EVENTS * f)), timeout=120)
            server.kill()
            await asyncio.sleep(1.0)
            server.start()
        ids = await producer
        await wait_until(lambda: probe.reached(EVENTS), timeout=180, interval=0.2)
        await wait_until(lambda: _no_pending(identity), timeout=60)
        await asyncio.sleep(1.0)  # late redeliveries, if any, would land now
        rows, distinct = await probe.counts()

    assert len(ids) == EVENTS
    assert distinct == EVENTS, f"lost {EVENTS - distinct} events"
    assert rows == EVENTS, f"{rows - distinct} duplicate effects"


async def _no_pending(runtime):
    return await runtime.relay.pending_count() == 0
