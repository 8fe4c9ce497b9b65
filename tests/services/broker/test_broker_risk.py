"""Risk limits per account: read and set over the bus, enforced by the pre-trade checks."""

import json
import uuid
from decimal import Decimal

import pytest

from tt_broker.testing import broker_harness, broker_settings, place
from tt_contracts import broker as c
from tt_runtime.client import RemoteError
from tt_runtime.testing import wait_until

SIM_SEED = 5


@pytest.fixture
def settings(nats_url, database_url, jetstream, sim):
    return broker_settings(nats_url, database_url, sim.urls.rest, poll_seconds=60)


async def test_limits_default_set_reset_and_reject_an_order(settings, sim):
    creds = sim.create_account(hedging=True)
    user = uuid.uuid4()
    s = settings
    async with broker_harness(settings) as h:
        aid = (await h.connect(user, creds)).account_id
        got = await h.ask(c.RISK_LIMITS_GET, c.GetRiskLimits(user_id=user, account_id=aid))
        assert got.account_id == aid and got.limits == c.RiskLimits(
            max_position_size=s.default_max_position_size,
            max_open_positions=s.default_max_open_positions,
            daily_loss_limit=s.default_daily_loss_limit,
        )
        mine = c.RiskLimits(max_position_size=Decimal("1500"), max_open_positions=1)
        set_reply = await h.ask(c.RISK_LIMITS_SET, c.SetRiskLimits(user_id=user, account_id=aid, limits=mine))
        assert set_reply.limits.max_position_size == Decimal("1500")
        assert set_reply.limits.max_open_positions == 1
        assert set_reply.limits.daily_loss_limit == s.default_daily_loss_limit  # None keeps the default
        assert (await h.ask(c.RISK_LIMITS_GET, c.GetRiskLimits(user_id=user, account_id=aid))) == set_reply
        # the paper book has its own limits, untouched
        paper = await h.ask(c.RISK_LIMITS_GET, c.GetRiskLimits(user_id=user))
        assert paper.account_id is None and paper.limits.max_open_positions == s.default_max_open_positions

        too_big = place(user, aid, "EURUSD", "BUY", "2000")
        first = place(user, aid, "EURUSD", "BUY", "1000")
        await h.send(c.ORDER_PLACE, too_big)
        await h.send(c.ORDER_PLACE, first)
        await wait_until(lambda: h.of("position.opened") and h.of("order.rejected"), timeout=15)
        second = place(user, aid, "EURUSD", "SELL", "1000")
        await h.send(c.ORDER_PLACE, second)
        await wait_until(lambda: len(h.of("order.rejected")) == 2, timeout=10)
        codes = {e["idempotency_key"]: e["reason_code"] for e in h.of("order.rejected")}
        assert codes == {
            too_big.idempotency_key: "risk_max_position_size",
            second.idempotency_key: "risk_max_open_positions",
        }

        # an explicit 0 is a limit, not "use the default"; clearing a field restores the default
        zero = c.RiskLimits(max_position_size=Decimal("1500"), max_open_positions=0)
        reply = await h.ask(c.RISK_LIMITS_SET, c.SetRiskLimits(user_id=user, account_id=aid, limits=zero))
        assert reply.limits.max_open_positions == 0
        reply = await h.ask(
            c.RISK_LIMITS_SET, c.SetRiskLimits(user_id=user, account_id=aid, limits=c.RiskLimits())
        )
        assert reply.limits.max_position_size == s.default_max_position_size
        assert reply.limits.max_open_positions == s.default_max_open_positions


async def test_invalid_limits_and_other_users_accounts_are_refused(settings, sim):
    creds = sim.create_account()
    owner, other = uuid.uuid4(), uuid.uuid4()
    async with broker_harness(settings) as h:
        aid = (await h.connect(owner, creds)).account_id
        body = json.loads(
            c.SetRiskLimits(user_id=owner, account_id=aid, limits=c.RiskLimits()).model_dump_json()
        )
        body["limits"] = {"max_position_size": "-5"}
        raw = await h.nc.request(c.RISK_LIMITS_SET.subject.base, json.dumps(body).encode(), timeout=10)
        error = json.loads(raw.data)["error"]
        assert error["code"] == "invalid" and "max_position_size" in error["message"]

        limits = c.RiskLimits(max_open_positions=3)
        for route, request in (
            (c.RISK_LIMITS_GET, c.GetRiskLimits(user_id=other, account_id=aid)),
            (c.RISK_LIMITS_SET, c.SetRiskLimits(user_id=other, account_id=aid, limits=limits)),
        ):
            with pytest.raises(RemoteError) as caught:
                await h.ask(route, request)
            assert caught.value.code == "not_found"
        # the owner's limits were not touched by the refused attempt
        mine = await h.ask(c.RISK_LIMITS_GET, c.GetRiskLimits(user_id=owner, account_id=aid))
        assert mine.limits.max_open_positions == settings.default_max_open_positions
