"""The intent log's filters, applied in SQL and always scoped to the caller."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tt_broker.testing import broker_harness, broker_settings, place
from tt_contracts import broker as c
from tt_contracts.common import Side
from tt_runtime.client import RemoteError
from tt_runtime.testing import wait_until

SIM_SEED = 5


@pytest.fixture
def settings(nats_url, database_url, jetstream, sim):
    return broker_settings(nats_url, database_url, sim.urls.rest, poll_seconds=60)


async def test_intent_filters(settings, sim):
    creds = sim.create_account(hedging=True)
    user, stranger = uuid.uuid4(), uuid.uuid4()
    async with broker_harness(settings) as h:
        aid = (await h.connect(user, creds)).account_id
        buy = place(user, aid, "EURUSD", "BUY", "1000")
        await h.send(c.ORDER_PLACE, buy)
        await wait_until(lambda: h.of("position.opened"), timeout=10)
        middle = datetime.now(UTC)
        await asyncio.sleep(0.05)
        sell = place(user, aid, "GBPUSD", "SELL", "1000")
        small = place(user, aid, "EURUSD", "SELL", "1")  # below the venue's minimum: rejected
        await h.send(c.ORDER_PLACE, sell)
        await h.send(c.ORDER_PLACE, small)
        await wait_until(lambda: len(h.of("position.opened")) == 2 and h.of("order.rejected"), timeout=10)
        pid = h.of("position.opened")[0]["position_id"]
        close = c.ClosePosition(
            user_id=user, account_id=aid, idempotency_key="filter-close-1", position_id=pid
        )
        await h.send(c.POSITION_CLOSE, close)
        await wait_until(lambda: h.of("position.closed"), timeout=10)
        await h.send(c.ORDER_PLACE, place(stranger, None, "EURUSD", "BUY", "1000"))  # someone else's log

        async def keys(**filters) -> set[str]:
            reply = await h.ask(c.INTENTS_LIST, c.ListIntents(user_id=user, **filters))
            return {i.idempotency_key for i in reply.intents}

        every = {buy.idempotency_key, sell.idempotency_key, small.idempotency_key, "filter-close-1"}
        assert await keys() == every
        assert await keys(intent_kind="place") == every - {"filter-close-1"}
        assert await keys(intent_kind="close") == {"filter-close-1"}
        assert await keys(intent_kind="cancel") == set()
        assert await keys(epic="GBPUSD") == {sell.idempotency_key}
        assert await keys(side=Side.SELL, intent_kind="place") == {
            sell.idempotency_key,
            small.idempotency_key,
        }
        assert await keys(state="rejected") == {small.idempotency_key}
        assert await keys(since=middle) == every - {buy.idempotency_key}
        assert await keys(until=middle) == {buy.idempotency_key}
        assert await keys(since=middle + timedelta(hours=1)) == set()
        assert await keys(account_id=aid, epic="EURUSD", state="ACCEPTED", intent_kind="place") == {
            buy.idempotency_key
        }
        assert len(await keys(limit=1)) == 1
        stranger_view = await h.ask(c.INTENTS_LIST, c.ListIntents(user_id=stranger, account_id=aid))
        assert stranger_view.intents == []
        with pytest.raises(RemoteError) as caught:
            await h.ask(c.INTENTS_LIST, c.ListIntents(user_id=user, intent_kind="modify"))
        assert caught.value.code == "invalid"
