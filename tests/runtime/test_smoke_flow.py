import asyncio
from uuid import uuid4

from sqlalchemy import text
from tt_contracts import registry
from tt_contracts.identity import UserRegistered
from tt_runtime.bus import Handlers
from tt_runtime.service import ServiceRuntime
from tt_runtime.settings import RuntimeSettings


def settings(service, nats_url, database_url, **kw):
    return RuntimeSettings(service_name=service, nats_url=nats_url, database_url=database_url,
                           environment="test", log_json=True, log_level="WARNING", **kw)


async def test_event_flows_from_outbox_to_consumer(nats_url, database_url, jetstream):
    seen = []
    billing_handlers = Handlers("billing")

    @billing_handlers.consume(registry.USER_REGISTERED)
    async def on_registered(event: UserRegistered, uow) -> None:
        seen.append(event.user_id)

    identity = ServiceRuntime(settings("identity", nats_url, database_url))
    billing = ServiceRuntime(settings("billing", nats_url, database_url))
    billing.include(billing_handlers)
    await identity.start()
    await billing.start()
    try:
        user = uuid4()
        async with identity.unit_of_work() as uow:
            await uow.execute(text("SELECT 1"))
            await uow.publish(registry.USER_REGISTERED, UserRegistered(user_id=user, email="a@example.com"))
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.05)
        assert seen == [user]
    finally:
        await billing.stop()
        await identity.stop()
