"""The per-account circuit breaker: repeated venue failures pause new entries, exits keep running,
and after the cool-down one trial closes it again; its state is visible to the user."""

import asyncio
import uuid

import pytest
from sqlalchemy import select

from tt_broker.models import order_intent
from tt_broker.testing import broker_harness, broker_settings, place
from tt_contracts import broker as c
from tt_runtime.testing import wait_until

SIM_SEED = 11


@pytest.fixture
def settings(nats_url, database_url, jetstream, sim):
    # No polling: every venue request in this test is one the test caused, so each fault hits its order.
    return broker_settings(
        nats_url,
        database_url,
        sim.urls.rest,
        poll_seconds=600,
        circuit_failure_threshold=2,
        circuit_open_seconds=2.0,
    )


async def states(h, user, aid) -> tuple[str, str]:
    summary = await h.ask(c.ACCOUNT_SUMMARY, c.GetAccountSummary(user_id=user, account_id=aid))
    [listed] = (await h.ask(c.ACCOUNTS_LIST, c.ListAccounts(user_id=user))).accounts
    return summary.circuit_state, listed.circuit_state


async def settled(h, key):
    async with h.runtime.db.engine.connect() as conn:
        row = (await conn.execute(select(order_intent).where(order_intent.c.idempotency_key == key))).first()
    return row is not None and row.state not in ("NEW", "SENDING")


def venue_positions(sim, creds):
    return len(sim.registry.by_api_key[creds.api_key].account(creds.account_id).positions)


async def test_breaker_opens_pauses_entries_not_exits_then_half_opens_and_closes(settings, sim):
    creds = sim.create_account(hedging=True)
    user = uuid.uuid4()
    async with broker_harness(settings) as h:
        aid = (await h.connect(user, creds)).account_id
        await h.send(c.ORDER_PLACE, place(user, aid, "EURUSD", "BUY", "1000"))
        await wait_until(lambda: h.of("position.opened"), timeout=10)
        assert await states(h, user, aid) == ("closed", "closed")

        for _ in range(settings.circuit_failure_threshold):  # the venue fails each trade request
            sim.faults.set(fail_next=1, fail_status=503, path_prefix="/api/v1/positions")
            cmd = place(user, aid, "EURUSD", "BUY", "1000")
            await h.send(c.ORDER_PLACE, cmd)
            await wait_until(lambda k=cmd.idempotency_key: settled(h, k), timeout=10)
            sim.faults.reset()
        assert await states(h, user, aid) == ("open", "open")
        summary = await h.ask(c.ACCOUNT_SUMMARY, c.GetAccountSummary(user_id=user, account_id=aid))
        assert summary.circuit_open_until is not None

        paused = place(user, aid, "EURUSD", "BUY", "1000")
        await h.send(c.ORDER_PLACE, paused)
        await wait_until(lambda: h.of("order.rejected", idempotency_key=paused.idempotency_key), timeout=10)
        [rejected] = h.of("order.rejected", idempotency_key=paused.idempotency_key)
        assert rejected["reason_code"] == "circuit_open" and "paused" in rejected["reason"]
        # protection keeps being managed: a close goes through while entries are paused
        pid = h.of("position.opened")[0]["position_id"]
        await h.send(
            c.POSITION_CLOSE,
            c.ClosePosition(user_id=user, account_id=aid, idempotency_key="breaker-close-1", position_id=pid),
        )
        await wait_until(lambda: h.of("position.closed"), timeout=10)
        assert venue_positions(sim, creds) == 0
        assert await states(h, user, aid) == ("open", "open")  # an exit's success does not end the pause

        await asyncio.sleep(settings.circuit_open_seconds)
        assert await states(h, user, aid) == ("half_open", "half_open")
        trial = place(user, aid, "EURUSD", "BUY", "1000")
        await h.send(c.ORDER_PLACE, trial)
        await wait_until(lambda: h.of("order.accepted", idempotency_key=trial.idempotency_key), timeout=10)
        assert await states(h, user, aid) == ("closed", "closed")
        assert venue_positions(sim, creds) == 1


async def test_a_failed_trial_opens_the_breaker_again(settings, sim):
    creds = sim.create_account(hedging=True)
    user = uuid.uuid4()
    async with broker_harness(settings.model_copy(update={"circuit_failure_threshold": 1})) as h:
        aid = (await h.connect(user, creds)).account_id
        for expected in ("open", "open"):  # the first failure opens it; the failed trial re-opens it
            sim.faults.set(fail_next=1, fail_status=503, path_prefix="/api/v1/positions")
            cmd = place(user, aid, "EURUSD", "BUY", "1000")
            await h.send(c.ORDER_PLACE, cmd)
            await wait_until(lambda k=cmd.idempotency_key: settled(h, k), timeout=10)
            sim.faults.reset()
            assert await states(h, user, aid) == (expected, expected)
            await asyncio.sleep(settings.circuit_open_seconds)
            assert await states(h, user, aid) == ("half_open", "half_open")
