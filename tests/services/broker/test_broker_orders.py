"""Orders end to end: real NATS, Postgres and the Capital.com simulator over HTTP."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tt_broker.models import order_intent, position
from tt_broker.testing import broker_harness, broker_settings, place
from tt_contracts import broker as c
from tt_runtime.testing import wait_until

SIM_SEED = 11


@pytest.fixture
def settings(nats_url, database_url, jetstream, sim):
    return broker_settings(nats_url, database_url, sim.urls.rest)


async def intents(h, **where):
    q = select(order_intent)
    for k, v in where.items():
        q = q.where(order_intent.c[k] == v)
    async with h.runtime.db.engine.connect() as conn:
        return (await conn.execute(q)).all()


async def settled(h, n):
    rows = await intents(h)
    return len(rows) >= n and all(
        r.state in ("ACCEPTED", "REJECTED", "RECONCILED_FILLED", "RECONCILED_NOT_PLACED") for r in rows
    )


async def test_redelivered_and_duplicate_commands_open_one_position(settings, sim):
    creds = sim.create_account(hedging=True)
    user = uuid.uuid4()
    async with broker_harness(settings) as h:
        account = await h.connect(user, creds)
        cmd = place(user, account.account_id, "EURUSD", "BUY", "1000")
        for i in range(5):  # the same message delivered 5 times (distinct JetStream ids defeat dedupe)
            await h.send(c.ORDER_PLACE, cmd, msg_id=f"{cmd.message_id}-{i}")
        for _ in range(3):  # and new messages carrying the same idempotency key
            await h.send(c.ORDER_PLACE, cmd.model_copy(update={"message_id": uuid.uuid4()}))
        await wait_until(lambda: h.of("position.opened"), timeout=15)
        await asyncio.sleep(0.5)
        rows = await intents(h)
        assert len(rows) == 1 and rows[0].state == "ACCEPTED" and rows[0].attempts == 1
        venue = await h.svc.ctx._adapters[str(account.account_id)].positions()
        assert len(venue) == 1
        assert len(h.of("order.accepted")) == 1 and len(h.of("order.filled")) == 1
        assert len(h.of("position.opened")) == 1


async def test_the_same_key_from_another_user_is_that_users_own_order(settings, sim):
    """Keys are unique per user: user B reusing A's key places B's order, it is not swallowed as A's."""
    a_creds, b_creds = sim.create_account(hedging=True), sim.create_account(hedging=True)
    a, b = uuid.uuid4(), uuid.uuid4()
    async with broker_harness(settings) as h:
        a_account, b_account = await h.connect(a, a_creds), await h.connect(b, b_creds)
        a_cmd = place(a, a_account.account_id, "EURUSD", "BUY", "1000")
        b_cmd = place(b, b_account.account_id, "EURUSD", "SELL", "1000").model_copy(
            update={"idempotency_key": a_cmd.idempotency_key}
        )
        await h.send(c.ORDER_PLACE, a_cmd)
        await h.send(c.ORDER_PLACE, b_cmd)
        await wait_until(lambda: len(h.of("position.opened")) == 2, timeout=15)
        rows = await intents(h, idempotency_key=a_cmd.idempotency_key)
        assert sorted((r.user_id, r.side) for r in rows) == sorted([(a, "BUY"), (b, "SELL")])
        assert {str(e["user_id"]) for e in h.of("order.accepted")} == {str(a), str(b)}


class Crash(BaseException):
    """Kills the executor task like a process crash: no state is written after the venue call."""


async def test_crash_after_the_trade_request_is_reconciled_not_resent(settings, sim):
    creds = sim.create_account(hedging=True)
    user = uuid.uuid4()
    async with broker_harness(settings) as h:
        account = await h.connect(user, creds)

        async def crash(intent):
            raise Crash

        h.svc.executor.after_send = crash
        cmd = place(user, account.account_id, "GBPUSD", "SELL", "2000")
        await h.send(c.ORDER_PLACE, cmd)
        await wait_until(lambda: sim_positions(sim, creds) == 1, timeout=10)
        await asyncio.sleep(0.3)
        assert (await intents(h))[0].state == "SENDING"
    # a new process: the SENDING intent is UNKNOWN, reconciled by matching, never re-sent
    async with broker_harness(settings) as h:
        await h.send(c.ORDER_PLACE, cmd)  # the redelivered command
        await wait_until(lambda: h.of("position.opened"), timeout=15)
        row = (await intents(h))[0]
        assert row.state == "RECONCILED_FILLED" and row.attempts == 1
        assert sim_positions(sim, creds) == 1
        async with h.runtime.db.engine.connect() as conn:
            assert len((await conn.execute(select(position))).all()) == 1


def sim_positions(sim, creds):
    return len(sim.registry.by_api_key[creds.api_key].account(creds.account_id).positions)


async def test_ambiguous_outcomes_are_reconciled_without_resending(settings, sim):
    creds = sim.create_account(hedging=True, balance=Decimal("1000000"))
    user = uuid.uuid4()
    # the breaker is tested alone; reconciliation runs by hand so no poll read consumes an injected 5xx
    settings = settings.model_copy(update={"circuit_failure_threshold": 100, "poll_seconds": 600})
    async with broker_harness(settings) as h:
        account = await h.connect(user, creds)
        plan = ["ok", "exec_timeout", "5xx", "exec_timeout", "ok", "5xx"]
        for i, fault in enumerate(plan):
            if fault == "exec_timeout":
                sim.faults.set(execute_then_timeout=1, timeout_mode="drop")
            elif fault == "5xx":
                sim.faults.set(fail_next=1, fail_status=503, path_prefix="/api/v1/positions")
            size = str(1000 * (i + 1))  # distinct sizes make every link checkable
            await h.send(c.ORDER_PLACE, place(user, account.account_id, "EURUSD", "BUY", size))
            await wait_until(lambda n=i + 1: intents_past_sending(h, n), timeout=10)
            sim.faults.reset()
        await asyncio.sleep(settings.reconcile_settle_seconds)
        await h.svc.monitor.reconcile(str(account.account_id), user, account.account_id, reason="test")
        await wait_until(lambda: settled(h, len(plan)), timeout=20)
        rows = {str(r.size.normalize()): r for r in await intents(h)}
        venue = await h.svc.ctx._adapters[str(account.account_id)].positions()
        assert sorted(int(p.size) for p in venue) == [
            1000,
            2000,
            4000,
            5000,
        ]  # executed deals only, once each
        for size, fault in zip([1000 * (i + 1) for i in range(6)], plan, strict=True):
            row = rows[str(Decimal(size).normalize())]
            assert row.attempts == 1
            expected = {"ok": "ACCEPTED", "exec_timeout": "RECONCILED_FILLED", "5xx": "RECONCILED_NOT_PLACED"}
            assert row.state == expected[fault], (size, row.state)
            if fault == "exec_timeout":
                assert row.deal_id in {p.deal_id for p in venue}
        assert {e["reason_code"] for e in h.of("order.rejected")} == {"not_placed"}
        logs = await h.ask(c.INTENTS_LIST, c.ListIntents(user_id=user))
        assert any(i.reconciliation for i in logs.intents)


async def intents_past_sending(h, n):
    rows = await intents(h)
    return len(rows) >= n and all(r.state not in ("NEW", "SENDING") for r in rows)


async def test_stale_and_rule_breaking_orders_are_rejected_events(settings, sim):
    creds = sim.create_account(hedging=True, balance=Decimal("100"))
    user = uuid.uuid4()
    async with broker_harness(settings) as h:
        account = await h.connect(user, creds)
        aid = account.account_id
        cases = {
            "stale_command": place(
                user, aid, "EURUSD", "BUY", "1000", expires_at=datetime.now(UTC) - timedelta(seconds=1)
            ),
            "size_below_minimum": place(user, aid, "EURUSD", "BUY", "1"),
            "size_step": place(user, aid, "EURUSD", "BUY", "1000.5"),
            "insufficient_margin": place(user, aid, "EURUSD", "BUY", "900000"),
            "stop_too_close": place(
                user, aid, "EURUSD", "BUY", "1000", protection=c.Protection(stop_distance=Decimal("0.00001"))
            ),
            "account_not_found": place(user, uuid.uuid4(), "EURUSD", "BUY", "1000"),
        }
        for cmd in cases.values():
            await h.send(c.ORDER_PLACE, cmd)
        await wait_until(lambda: len(h.of("order.rejected")) >= len(cases), timeout=15)
        got = {e["idempotency_key"]: e["reason_code"] for e in h.of("order.rejected")}
        assert got == {cmd.idempotency_key: code for code, cmd in cases.items()}
        assert sim_positions(sim, creds) == 0
        # the user's own risk limit
        from tt_broker.models import risk_limit

        async with h.runtime.db.engine.begin() as conn:
            await conn.execute(
                risk_limit.insert().values(
                    user_id=user, account_key=str(aid), max_position_size=Decimal("500")
                )
            )
        cmd = place(user, aid, "EURUSD", "BUY", "1000")
        await h.send(c.ORDER_PLACE, cmd)
        await wait_until(lambda: h.of("order.rejected", idempotency_key=cmd.idempotency_key), timeout=10)
        assert (
            h.of("order.rejected", idempotency_key=cmd.idempotency_key)[0]["reason_code"]
            == "risk_max_position_size"
        )


async def test_close_position_is_idempotent_and_exits_first(settings, sim):
    creds = sim.create_account(hedging=True)
    user = uuid.uuid4()
    async with broker_harness(settings) as h:
        account = await h.connect(user, creds)
        await h.send(c.ORDER_PLACE, place(user, account.account_id, "EURUSD", "BUY", "1000"))
        await wait_until(lambda: h.of("position.opened"), timeout=10)
        pid = h.of("position.opened")[0]["position_id"]
        close = c.ClosePosition(
            user_id=user, account_id=account.account_id, idempotency_key="close-0001", position_id=pid
        )
        for _ in range(3):
            await h.send(c.POSITION_CLOSE, close.model_copy(update={"message_id": uuid.uuid4()}))
        await wait_until(lambda: h.of("position.closed"), timeout=10)
        await asyncio.sleep(0.3)
        assert len(h.of("position.closed")) == 1
        assert sim_positions(sim, creds) == 0
        listed = await h.ask(c.POSITIONS_LIST, c.ListPositions(user_id=user))
        assert listed.positions == []


async def test_a_stale_balance_is_refreshed_inside_the_order_transaction(settings, sim):
    """The executor holds the account row (its lease) while checking; refreshing a stale balance on a
    second connection used to wait on that lock forever."""
    from sqlalchemy import update

    from tt_broker.models import account as account_table

    creds = sim.create_account(hedging=True)
    user = uuid.uuid4()
    async with broker_harness(settings.model_copy(update={"poll_seconds": 600})) as h:
        acct = await h.connect(user, creds)
        stale = datetime.now(UTC) - timedelta(hours=1)
        async with h.runtime.db.engine.begin() as conn:
            await conn.execute(
                update(account_table).where(account_table.c.id == acct.account_id).values(summary_at=stale)
            )
        cmd = place(user, acct.account_id, "EURUSD", "BUY", "1000")
        await h.send(c.ORDER_PLACE, cmd)
        await wait_until(lambda: h.of("order.accepted", idempotency_key=cmd.idempotency_key), timeout=15)
        async with h.runtime.db.engine.connect() as conn:
            row = (
                await conn.execute(select(account_table).where(account_table.c.id == acct.account_id))
            ).one()
        assert row.summary_at > stale + timedelta(minutes=59)
