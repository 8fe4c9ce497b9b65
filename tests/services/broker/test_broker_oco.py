"""OCO emulation end to end: two working orders at the simulator, the fill of one cancels the other."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from tt_broker.models import order_intent, position, reconciliation_log
from tt_broker.testing import broker_harness, broker_settings, place
from tt_contracts import broker as c
from tt_contracts.common import Side
from tt_runtime.testing import wait_until

SIM_SEED = 11  # GBPUSD swings through ±2 pips of the start price within the first five minutes
EPIC = "GBPUSD"


@pytest.fixture
def settings(nats_url, database_url, jetstream, sim):
    return broker_settings(nats_url, database_url, sim.urls.rest)


def venue_account(sim, creds):
    return sim.registry.by_api_key[creds.api_key].account(creds.account_id)


def bracket(user, account_id, sim, below: Decimal, above: Decimal):
    """A breakout pair: BUY STOP ``above`` the ask, SELL STOP ``below`` the bid."""
    quote = sim.market.quote(EPIC)
    return place(
        user,
        account_id,
        EPIC,
        "BUY",
        "1000",
        order_type=c.OrderType.STOP,
        level=quote.ask + above,
        protection=c.Protection(stop_distance=Decimal("0.0050")),
        oco=c.OcoLeg(side=Side.SELL, order_type=c.OrderType.STOP, level=quote.bid - below),
    )


async def rows(h, table, **where):
    q = select(table)
    for k, v in where.items():
        q = q.where(table.c[k] == v)
    async with h.runtime.db.engine.connect() as conn:
        return (await conn.execute(q)).all()


async def test_a_fill_cancels_the_other_leg(settings, sim):
    creds = sim.create_account(hedging=True)
    user = uuid.uuid4()
    async with broker_harness(settings) as h:
        account = await h.connect(user, creds)
        cmd = bracket(user, account.account_id, sim, below=Decimal("0.0100"), above=Decimal("0.0002"))
        for _ in range(2):  # a redelivered command still places each leg once
            await h.send(c.ORDER_PLACE, cmd.model_copy(update={"message_id": uuid.uuid4()}))
        await wait_until(lambda: len(h.of("order.accepted")) == 2, timeout=15)
        assert len(venue_account(sim, creds).orders) == 2
        listed = (await h.ask(c.ORDERS_LIST, c.ListOrders(user_id=user))).orders
        assert len(listed) == 2 and len({o.oco_group for o in listed}) == 1 and listed[0].oco_group
        assert all(o.created_at is not None for o in listed)
        assert {o.protection.stop_distance for o in listed} == {Decimal("0.0050"), None}

        for _ in range(20):  # step the market until one leg triggers
            sim.clock.advance(30)
            if venue_account(sim, creds).positions:
                break
        assert len(venue_account(sim, creds).positions) == 1

        await wait_until(lambda: h.of("order.cancelled") and h.of("order.filled"), timeout=15)
        filled = h.of("order.filled")[0]["order_id"]
        cancelled = h.of("order.cancelled")[0]["order_id"]
        assert {filled, cancelled} == {str(o.order_id) for o in listed}
        await wait_until(lambda: not venue_account(sim, creds).orders, timeout=10)
        assert len(venue_account(sim, creds).positions) == 1
        assert (await h.ask(c.ORDERS_LIST, c.ListOrders(user_id=user))).orders == []
        [pos] = (await h.ask(c.POSITIONS_LIST, c.ListPositions(user_id=user))).positions
        assert pos.protection_status == "native" and pos.protection.stop_level is not None
        [cancel] = await rows(h, order_intent, kind="CANCEL")
        assert cancel.state == "ACCEPTED" and cancel.attempts == 1 and str(cancel.target_id) == cancelled
        assert cancel.reconciliation["why"] == "the other leg filled"
        assert len(await rows(h, order_intent, kind="OPEN")) == 2  # no leg was sent twice


async def test_both_legs_filling_in_one_step_leave_one_position(settings, sim):
    creds = sim.create_account(hedging=True)
    user = uuid.uuid4()
    async with broker_harness(settings) as h:
        account = await h.connect(user, creds)
        cmd = bracket(user, account.account_id, sim, below=Decimal("0.0002"), above=Decimal("0.0002"))
        await h.send(c.ORDER_PLACE, cmd)
        await wait_until(lambda: len(h.of("order.accepted")) == 2, timeout=15)
        sim.clock.advance(300)  # one step in which the market runs through both levels
        assert len(venue_account(sim, creds).positions) == 2, "the seed no longer triggers both legs"

        await wait_until(lambda: h.of("position.closed"), timeout=15)
        await wait_until(lambda: len(venue_account(sim, creds).positions) == 1, timeout=10)
        legs = {r.oco_leg: r for r in await rows(h, order_intent, kind="OPEN")}
        assert {r.order_status for r in legs.values()} == {"filled"}
        kept, extra = sorted(legs.values(), key=lambda r: (r.filled_at, r.oco_leg))
        [close] = await rows(h, order_intent, kind="CLOSE")
        assert close.state == "ACCEPTED" and close.idempotency_key.startswith("oco-close:")
        assert close.reconciliation["kept"] == str(kept.id)
        closed = (await rows(h, position, id=close.target_id))[0]
        assert closed.intent_id == extra.id and closed.status == "closed"
        [open_pos] = (await h.ask(c.POSITIONS_LIST, c.ListPositions(user_id=user))).positions
        assert open_pos.side.value == kept.side
        logs = [r for r in await rows(h, reconciliation_log) if r.differences]
        assert any(d.get("kind") == "oco_both_filled" for r in logs for d in r.differences)
        assert len(h.of("order.filled")) == 2 and len(h.of("position.opened")) == 2
