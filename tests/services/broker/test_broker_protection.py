"""Protection status per position (native at the venue, emulated by this service, missing) and the
paper book's emulated exits enforced on quotes."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from tt_broker.models import order_intent
from tt_broker.testing import broker_harness, broker_settings, place
from tt_contracts import broker as c
from tt_contracts.common import InstrumentRef
from tt_contracts.market_data import QuoteUpdated
from tt_runtime.testing import wait_until

SIM_SEED = 5


@pytest.fixture
def settings(nats_url, database_url, jetstream, sim):
    return broker_settings(nats_url, database_url, sim.urls.rest)


async def quote(h, epic: str, bid: str, ask: str) -> None:
    event = QuoteUpdated(
        instrument=InstrumentRef(symbol=epic), bid=Decimal(bid), ask=Decimal(ask), ts_event=datetime.now(UTC)
    )
    await h.nc.jetstream().publish(
        f"market-data.evt.quote.updated.v1.capitalcom.{epic}", event.model_dump_json().encode()
    )


async def positions(h, user, **kw):
    return (await h.ask(c.POSITIONS_LIST, c.ListPositions(user_id=user, **kw))).positions


async def test_status_is_native_at_capitalcom_emulated_on_paper_and_missing_without_a_stop(settings, sim):
    creds = sim.create_account(hedging=True)
    user = uuid.uuid4()
    async with broker_harness(settings) as h:
        account = await h.connect(user, creds)
        aid = account.account_id
        stop = c.Protection(stop_distance=Decimal("0.0050"))
        await h.send(c.ORDER_PLACE, place(user, aid, "EURUSD", "BUY", "1000", protection=stop))
        await h.send(c.ORDER_PLACE, place(user, aid, "EURUSD", "SELL", "2000"))
        await quote(h, "BTCUSD", "100", "100.5")
        await wait_until(lambda: "BTCUSD" in h.svc.ctx.quotes._quotes, timeout=10)
        paper_stop = c.Protection(stop_level=Decimal("90"))
        await h.send(c.ORDER_PLACE, place(user, None, "BTCUSD", "BUY", "1", protection=paper_stop))
        await h.send(c.ORDER_PLACE, place(user, None, "BTCUSD", "SELL", "2"))
        await wait_until(lambda: len(h.of("position.opened")) == 4, timeout=15)

        async def polled():  # the monitor has filled in current prices for every book
            return all(p.current_price is not None for p in await positions(h, user))

        await wait_until(polled, timeout=10)
        venue = {p.size: p for p in await positions(h, user, account_id=aid)}
        assert venue[Decimal("1000")].protection_status == "native"
        assert venue[Decimal("1000")].protection.stop_level is not None  # as the venue holds it
        assert venue[Decimal("2000")].protection_status == "missing"
        live = sim.market.quote("EURUSD")
        assert (
            venue[Decimal("1000")].current_price == live.bid
            and venue[Decimal("2000")].current_price == live.ask
        )
        paper = {p.size: p for p in await positions(h, user) if p.account_id is None}
        assert paper[Decimal("1")].protection_status == "emulated"
        assert paper[Decimal("2")].protection_status == "missing"
        assert paper[Decimal("1")].current_price == Decimal("100")
        assert all(p.opened_at is not None for p in await positions(h, user))


async def test_paper_stops_targets_and_trailing_stops_are_enforced_on_quotes(settings):
    user = uuid.uuid4()
    async with broker_harness(settings) as h:
        await quote(h, "ETHUSD", "100", "100.5")
        await wait_until(lambda: "ETHUSD" in h.svc.ctx.quotes._quotes, timeout=10)
        stop = place(user, None, "ETHUSD", "BUY", "1", protection=c.Protection(stop_level=Decimal("95")))
        target = place(user, None, "ETHUSD", "SELL", "1", protection=c.Protection(profit_level=Decimal("97")))
        trailing = place(
            user,
            None,
            "ETHUSD",
            "BUY",
            "3",
            protection=c.Protection(stop_distance=Decimal("4"), trailing_stop=True),
        )
        for cmd in (stop, target, trailing):
            await h.send(c.ORDER_PLACE, cmd)
        await wait_until(lambda: len(h.of("position.opened")) == 3, timeout=15)
        ids = {(e["side"], Decimal(e["size"])): e["position_id"] for e in h.of("position.opened")}
        long_stop, short_target, long_trailing = ids["BUY", 1], ids["SELL", 1], ids["BUY", 3]

        await quote(h, "ETHUSD", "110", "110.5")  # the trailing stop follows to 106
        await wait_until(lambda: trailing_level(h, user, long_trailing), timeout=10)
        assert await trailing_level(h, user, long_trailing) == Decimal("106")
        await quote(h, "ETHUSD", "96.5", "96.9")  # the target of the short and the trailing stop trigger
        await wait_until(lambda: len(h.of("position.closed")) == 2, timeout=15)
        await quote(h, "ETHUSD", "94", "94.5")  # now the long's fixed stop
        await wait_until(lambda: len(h.of("position.closed")) == 3, timeout=15)
        assert await positions(h, user) == []
        async with h.runtime.db.engine.connect() as conn:
            closes = (await conn.execute(select(order_intent).where(order_intent.c.kind == "CLOSE"))).all()
        assert {str(r.target_id): r.reconciliation["method"] for r in closes} == {
            long_stop: "emulated_stop",
            short_target: "emulated_target",
            long_trailing: "emulated_stop",
        }
        assert all(r.state == "ACCEPTED" and r.idempotency_key.startswith("protect:") for r in closes)


async def trailing_level(h, user, position_id):
    for p in await positions(h, user):
        if str(p.position_id) == position_id and p.protection.stop_level is not None:
            return p.protection.stop_level
    return None
