import asyncio
import random
from uuid import uuid4

import pytest
from sqlalchemy import func, select, text

from tt_contracts import registry
from tt_contracts.identity import UserRegistered
from tt_runtime.bus import Handlers
from tt_runtime.errors import PermanentError
from tt_runtime.outbox import OutboxRelay
from tt_runtime.service import ServiceRuntime
from tt_runtime.testing import EffectProbe, publish_many, running, service_settings, wait_until


def registration() -> UserRegistered:
    return UserRegistered(user_id=uuid4(), email="trader@example.com")


def _runtimes(nats_url, database_url):
    """identity publishes user.registered through its outbox; billing applies it through a probe."""
    identity = ServiceRuntime(service_settings("identity", nats_url, database_url))
    billing = ServiceRuntime(service_settings("billing", nats_url, database_url))
    probe = EffectProbe(billing)
    handlers = Handlers("billing")
    handlers.consume(registry.USER_REGISTERED)(probe.record)
    billing.include(handlers)
    return identity, billing, probe


async def _unpublished(runtime: ServiceRuntime) -> int:
    outbox = runtime.db.tables.outbox
    async with runtime.db.engine.connect() as conn:
        return (
            await conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        ).scalar_one()


async def test_events_reach_the_consumer_once_and_rows_are_marked(nats_url, database_url, jetstream):
    identity, billing, probe = _runtimes(nats_url, database_url)
    await probe.create()
    async with running(identity, billing):
        ids = await publish_many(identity, registry.USER_REGISTERED, registration, 300)
        await wait_until(lambda: probe.reached(300), timeout=20)
        assert await probe.counts() == (300, 300)
        assert await _unpublished(identity) == 0
    info = await jetstream.stream_info("IDENTITY_EVT")
    assert info.state.messages == len(ids)


async def test_rolled_back_transaction_publishes_nothing(nats_url, database_url, jetstream):
    identity, _, _ = _runtimes(nats_url, database_url)
    async with running(identity):
        try:
            async with identity.unit_of_work() as uow:
                await uow.publish(
                    registry.USER_REGISTERED, UserRegistered(user_id=uuid4(), email="x@example.com")
                )
                raise RuntimeError("business rule failed after the event was written")
        except RuntimeError:
            pass
        await asyncio.sleep(0.5)
        assert await identity.relay.pending_count() == 0
    info = await jetstream.stream_info("IDENTITY_EVT")
    assert info.state.messages == 0


async def test_only_registered_producers_may_publish(nats_url, database_url, jetstream):
    billing = ServiceRuntime(service_settings("billing", nats_url, database_url))
    async with billing.unit_of_work() as uow:
        try:
            await uow.publish(
                registry.USER_REGISTERED, UserRegistered(user_id=uuid4(), email="x@example.com")
            )
        except PermanentError as exc:
            assert "not a registered producer" in str(exc)
        else:
            raise AssertionError("billing published an identity event")
    await billing.db.dispose()


async def test_redelivered_duplicate_is_skipped_by_the_inbox(nats_url, database_url, jetstream):
    """The same message id arriving twice (outside the stream's duplicate window, simulated with a fresh
    Nats-Msg-Id) is applied once."""
    _, billing, probe = _runtimes(nats_url, database_url)
    await probe.create()
    payload = registration().model_dump_json().encode()
    async with running(billing):
        for attempt in range(3):
            await jetstream.publish(
                registry.USER_REGISTERED.subject.render(), payload, headers={"Nats-Msg-Id": f"copy-{attempt}"}
            )
        await wait_until(lambda: _consumer_drained(jetstream), timeout=10)
        assert await probe.counts() == (1, 1)


async def _consumer_drained(js) -> bool:
    info = await js.consumer_info("IDENTITY_EVT", "billing__identity_evt_user_registered_v1")
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_duplicate_msg_id_inside_window_is_stored_once(jetstream):
    registered_event = registration()
    subject = registry.USER_REGISTERED.subject.render()
    acks = [
        await jetstream.publish(
            subject,
            registered_event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(registered_event.message_id)},
        )
        for _ in range(5)
    ]
    assert [a.duplicate for a in acks] == [None, True, True, True, True]
    assert (await jetstream.stream_info("IDENTITY_EVT")).state.messages == 1


async def test_relay_sees_rows_committed_out_of_id_order(nats_url, database_url, jetstream):
    """20 producers with random commit delays: ids are taken at insert, rows become visible at commit.
    A watermark poller would skip some; the relay publishes every one."""
    identity, _, _ = _runtimes(nats_url, database_url)
    relay = identity.relay

    async def producer() -> None:
        for _ in range(10):
            async with identity.unit_of_work() as uow:
                await uow.publish(
                    registry.USER_REGISTERED, UserRegistered(user_id=uuid4(), email="p@example.com")
                )
                await asyncio.sleep(random.uniform(0, 0.3))

    async with running(identity):
        await asyncio.gather(*(producer() for _ in range(20)))
        await wait_until(lambda: _no_pending(relay), timeout=20)
    assert (await jetstream.stream_info("IDENTITY_EVT")).state.messages == 200


async def _no_pending(relay: OutboxRelay) -> bool:
    return await relay.pending_count() == 0


async def test_relay_retries_rows_when_nats_rejects_them(nats_url, database_url, jetstream):
    """A row whose stream does not exist fails, backs off, and is published once the stream appears."""
    identity, _, _ = _runtimes(nats_url, database_url)
    await jetstream.delete_stream("IDENTITY_EVT")
    async with running(identity):
        await publish_many(identity, registry.USER_REGISTERED, registration, 3)
        await asyncio.sleep(0.6)
        async with identity.db.engine.connect() as conn:
            attempts = (await conn.execute(text("SELECT min(attempts) FROM identity.outbox"))).scalar_one()
        assert attempts >= 1
        assert await identity.relay.pending_count() == 3
        from tt_runtime.streams import apply_streams

        await apply_streams(jetstream)
        await wait_until(lambda: _no_pending(identity.relay), timeout=15)
    assert (await jetstream.stream_info("IDENTITY_EVT")).state.messages == 3


async def test_only_registered_callers_may_ask(nats_url, database_url, jetstream):
    from tt_contracts.common import StatusRequest

    billing = ServiceRuntime(service_settings("billing", nats_url, database_url))
    with pytest.raises(PermanentError, match="not a registered caller"):
        await billing.ask(registry.STATUS["identity"], StatusRequest())
    await billing.db.dispose()
