"""The consumer error policy against a real JetStream: nothing is dropped silently."""

import asyncio
import os
import subprocess
import sys
import time
from collections import defaultdict
from uuid import uuid4

import pytest
from sqlalchemy import text

from tt_contracts import registry
from tt_contracts.identity import UserRegistered
from tt_runtime.bus import Handlers
from tt_runtime.errors import PermanentError, TransientError
from tt_runtime.service import ServiceRuntime
from tt_runtime.testing import running, service_settings, wait_until

SUBJECT = registry.USER_REGISTERED.subject.render()
DURABLE = "billing__identity_evt_user_registered_v1"
MAX_DELIVER = 4


class Behaviour:
    """What the handler does per user id: succeed, fail transiently N times, fail permanently, always fail.

    Calls are counted in memory; applied effects are written through the unit of work, so an effect
    rolled back with its transaction does not count.
    """

    def __init__(self) -> None:
        self.plan: dict = {}
        self.deliveries: dict = defaultdict(list)
        self.runtime: ServiceRuntime | None = None

    async def applied(self) -> list:
        async with self.runtime.db.engine.connect() as conn:
            return list((await conn.execute(text("SELECT user_id FROM billing.test_applied"))).scalars())

    async def has_applied(self, user) -> bool:
        return user in await self.applied()

    async def applied_count_is(self, n: int) -> bool:
        return len(await self.applied()) == n

    async def handle(self, event: UserRegistered, uow) -> None:
        self.deliveries[event.user_id].append(time.monotonic())
        kind, arg = self.plan.get(event.user_id, ("ok", 0))
        if kind == "transient" and len(self.deliveries[event.user_id]) <= arg:
            raise TransientError("dependency briefly down")
        if kind == "permanent":
            raise PermanentError("business rule says no")
        if kind == "always":
            raise ConnectionError("never recovers")
        await uow.execute(text("INSERT INTO billing.test_applied VALUES (:u)"), {"u": event.user_id})


@pytest.fixture(params=[False, True], ids=["per-message", "batch"])
def batch(request) -> bool:
    """Every policy test runs for both consumer modes."""
    return request.param


def _billing(nats_url, database_url, behaviour: Behaviour, batch: bool) -> ServiceRuntime:
    runtime = ServiceRuntime(
        service_settings(
            "billing",
            nats_url,
            database_url,
            max_deliver=MAX_DELIVER,
            nack_base_delay_seconds=0.4,
            nack_max_delay_seconds=2.0,
        )
    )
    handlers = Handlers("billing")
    handlers.consume(registry.USER_REGISTERED, batch=batch, batch_size=32)(behaviour.handle)
    runtime.include(handlers)
    behaviour.runtime = runtime
    return runtime


@pytest.fixture(autouse=True)
async def applied_table(database_url):
    import psycopg

    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("CREATE TABLE billing.test_applied (user_id uuid NOT NULL)")


async def _publish(js, user_id=None, payload: bytes | None = None):
    event = UserRegistered(user_id=user_id or uuid4(), email="t@example.com")
    await js.publish(
        SUBJECT,
        payload if payload is not None else event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": str(uuid4())},
    )
    return event


async def _drained(js) -> bool:
    info = await js.consumer_info("IDENTITY_EVT", DURABLE)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_transient_error_is_redelivered_with_growing_delay_then_succeeds(
    nats_url, database_url, jetstream, batch
):
    behaviour = Behaviour()
    billing = _billing(nats_url, database_url, behaviour, batch)
    user = uuid4()
    behaviour.plan[user] = ("transient", 2)
    async with running(billing):
        await _publish(jetstream, user)
        await wait_until(lambda: behaviour.has_applied(user), timeout=15)
        await wait_until(lambda: _drained(jetstream), timeout=10)
    times = behaviour.deliveries[user]
    assert len(times) == 3
    first_gap, second_gap = times[1] - times[0], times[2] - times[1]
    assert first_gap >= 0.3, "a transient failure must not be redelivered at once"
    assert second_gap > first_gap, "the delay grows with the delivery count"


async def test_permanent_error_is_dead_lettered_after_one_delivery(nats_url, database_url, jetstream, batch):
    behaviour = Behaviour()
    billing = _billing(nats_url, database_url, behaviour, batch)
    user = uuid4()
    behaviour.plan[user] = ("permanent", 0)
    async with running(billing):
        event = await _publish(jetstream, user)
        await wait_until(lambda: billing.dead_letters.count_open(), timeout=10)
        await wait_until(lambda: _drained(jetstream), timeout=10)
        letters = await billing.dead_letters.list()
    assert len(behaviour.deliveries[user]) == 1
    assert len(letters) == 1
    letter = letters[0]
    assert letter.subject == SUBJECT and letter.stream == "IDENTITY_EVT" and letter.deliveries == 1
    assert letter.error_type.endswith("PermanentError") and "business rule" in letter.error
    assert UserRegistered.model_validate_json(letter.payload).message_id == event.message_id


async def test_poisoned_payload_is_dead_lettered_not_retried(nats_url, database_url, jetstream, batch):
    behaviour = Behaviour()
    billing = _billing(nats_url, database_url, behaviour, batch)
    async with running(billing):
        await _publish(jetstream, payload=b'{"user_id": "not-a-uuid"}')
        await _publish(jetstream, payload=b"\xff\xfe not json")
        await wait_until(lambda: _count_is(billing, 2), timeout=10)
        await wait_until(lambda: _drained(jetstream), timeout=10)
        letters = await billing.dead_letters.list()
        assert await behaviour.applied() == []
    assert [letter.deliveries for letter in letters] == [1, 1]


async def _count_is(runtime, n):
    return await runtime.dead_letters.count_open() == n


async def test_always_failing_handler_is_dead_lettered_after_max_deliver(
    nats_url, database_url, jetstream, batch
):
    behaviour = Behaviour()
    billing = _billing(nats_url, database_url, behaviour, batch)
    user = uuid4()
    behaviour.plan[user] = ("always", 0)
    async with running(billing):
        await _publish(jetstream, user)
        await wait_until(lambda: _count_is(billing, 1), timeout=20)
        await wait_until(lambda: _drained(jetstream), timeout=10)
        letters = await billing.dead_letters.list()
    assert len(behaviour.deliveries[user]) == MAX_DELIVER
    # The server's count can run ahead of what the handler saw: on a starved machine a batch pull may
    # expire with messages in flight, which the server counts as delivered and redelivers later.
    assert letters[0].deliveries >= MAX_DELIVER
    assert letters[0].error_type.endswith("ConnectionError")


async def test_delivered_equals_acked_plus_dead_lettered(nats_url, database_url, jetstream, batch):
    behaviour = Behaviour()
    billing = _billing(nats_url, database_url, behaviour, batch)
    plan = (
        [("ok", 0)] * 30
        + [("transient", 1)] * 10
        + [("transient", 2)] * 5
        + [("permanent", 0)] * 5
        + [("always", 0)] * 3
    )
    users = []
    for kind in plan:
        user = uuid4()
        behaviour.plan[user] = kind
        users.append(user)
    async with running(billing):
        for user in users:
            await _publish(jetstream, user)
        # Generous: transient retries back off, and a starved batch pull waits out ack_wait.
        await wait_until(lambda: behaviour.applied_count_is(45), timeout=60)
        await wait_until(lambda: _count_is(billing, 8), timeout=60)
        await wait_until(lambda: _drained(jetstream), timeout=10)
        await asyncio.sleep(0.5)  # nothing more may arrive
        dead = await billing.dead_letters.count_open()
        applied = await behaviour.applied()
    assert len(set(applied)) == len(applied) == 45
    assert dead == 8
    assert len(applied) + dead == len(users)


async def test_replayed_dead_letter_is_applied_once_fixed(nats_url, database_url, jetstream, batch):
    behaviour = Behaviour()
    billing = _billing(nats_url, database_url, behaviour, batch)
    user = uuid4()
    behaviour.plan[user] = ("permanent", 0)
    async with running(billing):
        await _publish(jetstream, user)
        await wait_until(lambda: _count_is(billing, 1), timeout=10)
        behaviour.plan[user] = ("ok", 0)  # the bug is fixed
        replayed = await billing.dead_letters.replay(jetstream)
        await wait_until(lambda: behaviour.has_applied(user), timeout=10)
        assert len(replayed) == 1
        assert await billing.dead_letters.count_open() == 0
        # replaying again is a no-op: nothing is open any more
        assert await billing.dead_letters.replay(jetstream) == []


async def test_dead_letter_cli_lists_letters(nats_url, database_url, jetstream, batch):
    behaviour = Behaviour()
    billing = _billing(nats_url, database_url, behaviour, batch)
    user = uuid4()
    behaviour.plan[user] = ("permanent", 0)
    async with running(billing):
        await _publish(jetstream, user)
        await wait_until(lambda: _count_is(billing, 1), timeout=10)
    env = {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "test"}
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tt_runtime.dead_letters", "list", "--service", "billing"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "PermanentError: business rule says no" in out.stdout
    assert DURABLE in out.stdout


async def test_dead_letter_write_failure_keeps_the_message(nats_url, database_url, jetstream):
    """If the dead letter cannot be stored on the last delivery, the message is not let go: it comes back
    and is recorded once the write succeeds."""
    behaviour = Behaviour()
    billing = ServiceRuntime(
        service_settings(
            "billing",
            nats_url,
            database_url,
            max_deliver=2,
            dead_letter_retries=5,
            nack_base_delay_seconds=0.1,
            nack_max_delay_seconds=0.2,
        )
    )
    handlers = Handlers("billing")
    handlers.consume(registry.USER_REGISTERED)(behaviour.handle)
    billing.include(handlers)
    behaviour.runtime = billing
    real_add, failures = billing.dead_letters.add, []

    async def flaky_add(**kwargs):
        if len(failures) < 2:
            failures.append(kwargs["deliveries"])
            raise ConnectionError("database unavailable")
        return await real_add(**kwargs)

    billing.dead_letters.add = flaky_add
    user = uuid4()
    behaviour.plan[user] = ("always", 0)
    async with running(billing):
        await _publish(jetstream, user)
        await wait_until(lambda: _count_is(billing, 1), timeout=20)
        await wait_until(lambda: _drained(jetstream), timeout=10)
        letters = await billing.dead_letters.list()
    assert failures == [2, 3], "the write failed on the last allowed delivery and on the retry after it"
    assert letters[0].deliveries == 4
