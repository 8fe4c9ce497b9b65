"""Credentials (envelope encryption, rotation), ownership isolation and the paper broker."""

import base64
import json
import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from tt_broker.crypto import CredentialDecryptError, KeyRing
from tt_broker.models import credential
from tt_broker.service.accounts import rotate
from tt_broker.settings import Settings
from tt_broker.testing import broker_harness, broker_settings, place
from tt_contracts import broker as c
from tt_contracts.common import InstrumentRef
from tt_contracts.market_data import QuoteUpdated
from tt_runtime.client import RemoteError
from tt_runtime.testing import wait_until

SIM_SEED = 5


@pytest.fixture
def settings(nats_url, database_url, jetstream, sim):
    return broker_settings(nats_url, database_url, sim.urls.rest, poll_seconds=60)


def test_settings_refuse_placeholder_keys_outside_development():
    with pytest.raises(ValidationError):
        Settings(environment="production", secret_key="a-real-secret-value")
    key = base64.b64encode(os.urandom(32)).decode()
    ok = Settings(
        environment="production",
        secret_key="a-real-secret-value",
        broker_keks=json.dumps({"k1": key}),
        broker_active_kek="k1",
    )
    assert "k1" in ok.keks() and key not in repr(ok)


async def test_credentials_round_trip_swap_and_rotation(settings, sim, capfd):
    a, b = sim.create_account(), sim.create_account()
    ua, ub = uuid.uuid4(), uuid.uuid4()
    async with broker_harness(settings) as h:
        ra = await h.connect(ua, a)
        rb = await h.connect(ub, b)
        secrets, _ = await h.svc.ctx.load_secrets(ra.account_id)
        assert (
            secrets.api_key.get_secret_value() == a.api_key
            and secrets.password.get_secret_value() == a.password
        )
        async with h.runtime.db.engine.begin() as conn:
            rows = {r.account_id: r for r in (await conn.execute(select(credential))).all()}
            assert a.api_key.encode() not in rows[ra.account_id].ct
            # a ciphertext moved onto another user's row does not decrypt
            src = rows[ra.account_id]
            await conn.execute(
                update(credential)
                .where(credential.c.account_id == rb.account_id)
                .values(wdek_nonce=src.wdek_nonce, wdek=src.wdek, ct_nonce=src.ct_nonce, ct=src.ct)
            )
        with pytest.raises(CredentialDecryptError):
            await h.svc.ctx.load_secrets(rb.account_id)
        await h.ask(c.ACCOUNT_DISCONNECT, c.DisconnectAccount(user_id=ub, account_id=rb.account_id))
        # rotation: a new KEK becomes active; every data key is re-wrapped
        keys = h.svc.ctx.settings.keks() | {"kek-2": os.urandom(32)}
        ring = KeyRing(keys, "kek-2")
        async with h.runtime.db.engine.begin() as conn:
            assert await rotate(conn, ring) == 1
        h.svc.ctx.keyring = ring
        async with h.runtime.db.engine.connect() as conn:
            kids = (await conn.execute(select(credential.c.kek_id))).scalars().all()
        assert set(kids) == {"kek-2"}
        h.svc.ctx.keyring = KeyRing({"kek-2": keys["kek-2"]}, "kek-2")  # the old key is retired
        again, _ = await h.svc.ctx.load_secrets(ra.account_id)
        assert again.api_key.get_secret_value() == a.api_key
        # disconnect deletes the secrets
        await h.ask(c.ACCOUNT_DISCONNECT, c.DisconnectAccount(user_id=ua, account_id=ra.account_id))
        await wait_until(lambda: h.of("account.disconnected"), timeout=5)
        async with h.runtime.db.engine.connect() as conn:
            assert (
                await conn.execute(select(credential).where(credential.c.account_id == ra.account_id))
            ).first() is None
        published = json.dumps(h.events)
    out, err = capfd.readouterr()
    for secret in (a.api_key, a.password, b.api_key, b.password):
        assert secret not in published and secret not in out and secret not in err


async def test_user_a_cannot_see_or_touch_user_b(settings, sim):
    creds = sim.create_account(hedging=True)
    ua, ub = uuid.uuid4(), uuid.uuid4()
    async with broker_harness(settings) as h:
        acct = await h.connect(ub, creds)
        await h.send(c.ORDER_PLACE, place(ub, acct.account_id, "EURUSD", "BUY", "1000"))
        await wait_until(lambda: h.of("position.opened"), timeout=10)
        pid = h.of("position.opened")[0]["position_id"]
        aid = acct.account_id
        assert (await h.ask(c.POSITIONS_LIST, c.ListPositions(user_id=ua))).positions == []
        assert (await h.ask(c.POSITIONS_LIST, c.ListPositions(user_id=ua, account_id=aid))).positions == []
        assert (await h.ask(c.ACCOUNTS_LIST, c.ListAccounts(user_id=ua))).accounts == []
        assert (await h.ask(c.INTENTS_LIST, c.ListIntents(user_id=ua, account_id=aid))).intents == []
        assert (await h.ask(c.ORDERS_LIST, c.ListOrders(user_id=ua))).orders == []
        for req in (
            c.GetAccountSummary(user_id=ua, account_id=aid),
            c.DisconnectAccount(user_id=ua, account_id=aid),
        ):
            with pytest.raises(RemoteError) as caught:
                await h.ask(
                    c.ACCOUNT_SUMMARY if isinstance(req, c.GetAccountSummary) else c.ACCOUNT_DISCONNECT, req
                )
            assert caught.value.code == "not_found"
        await h.send(c.ORDER_PLACE, place(ua, aid, "EURUSD", "BUY", "1000", idempotency_key="a-tries-b-1"))
        await h.send(
            c.POSITION_CLOSE,
            c.ClosePosition(user_id=ua, account_id=aid, idempotency_key="a-tries-b-2", position_id=pid),
        )
        await h.send(
            c.POSITION_CLOSE, c.ClosePosition(user_id=ua, idempotency_key="a-tries-b-3", position_id=pid)
        )
        await h.send(
            c.ORDER_CANCEL,
            c.CancelOrder(user_id=ua, account_id=aid, idempotency_key="a-tries-b-4", order_id=uuid.uuid4()),
        )
        await wait_until(lambda: len(h.of("order.rejected", user_id=ua)) == 4, timeout=10)
        assert len((await h.ask(c.POSITIONS_LIST, c.ListPositions(user_id=ub))).positions) == 1
        summary = await h.ask(c.ACCOUNT_SUMMARY, c.GetAccountSummary(user_id=ub, account_id=aid))
        assert summary.circuit_state == "closed"


async def test_paper_broker_fills_at_the_latest_quote(settings):
    user = uuid.uuid4()
    async with broker_harness(settings) as h:
        quote = QuoteUpdated(
            instrument=InstrumentRef(symbol="BTCUSD"),
            bid=Decimal("100.0"),
            ask=Decimal("100.5"),
            ts_event=datetime.now(UTC),
        )
        await h.nc.jetstream().publish(
            "market-data.evt.quote.updated.v1.capitalcom.BTCUSD", quote.model_dump_json().encode()
        )
        await wait_until(lambda: "BTCUSD" in h.svc.ctx.quotes._quotes, timeout=10)
        await h.send(c.ORDER_PLACE, place(user, None, "BTCUSD", "BUY", "2"))
        await wait_until(lambda: h.of("order.filled"), timeout=10)
        assert Decimal(h.of("order.filled")[0]["price"]) == Decimal("100.5")
        pid = h.of("position.opened")[0]["position_id"]
        # The next price arrives the way every price does (a quote put in by hand could be overtaken by
        # a late redelivery of the first one on a loaded machine).
        later = quote.model_copy(
            update={"bid": Decimal("110"), "ask": Decimal("110.5"), "message_id": uuid.uuid4()}
        )
        await h.nc.jetstream().publish(
            "market-data.evt.quote.updated.v1.capitalcom.BTCUSD", later.model_dump_json().encode()
        )
        await wait_until(
            lambda: h.svc.ctx.quotes._quotes["BTCUSD"][1:] == (Decimal("110"), Decimal("110.5")), timeout=10
        )
        await h.send(
            c.POSITION_CLOSE, c.ClosePosition(user_id=user, idempotency_key="paper-close-1", position_id=pid)
        )
        await wait_until(lambda: h.of("position.closed"), timeout=10)
        assert Decimal(h.of("position.closed")[0]["realized_pnl"]) == Decimal("19")


async def test_account_test_opens_a_fresh_session_and_reports_bad_credentials(settings, sim):
    creds = sim.create_account()
    user = uuid.uuid4()
    async with broker_harness(settings) as h:
        aid = (await h.connect(user, creds)).account_id
        [listed] = (await h.ask(c.ACCOUNTS_LIST, c.ListAccounts(user_id=user))).accounts
        assert listed.session_state == "active" and listed.connected_at is not None
        logins = []
        login = sim.sessions.login
        sim.sessions.login = lambda *a, **kw: logins.append(1) or login(*a, **kw)
        good = await h.ask(c.ACCOUNT_TEST, c.TestAccount(user_id=user, account_id=aid))
        assert good.ok and good.latency_ms > 0 and good.detail == "session opened"
        assert logins == [1]  # a fresh session, not the service's cached one

        sim.registry.by_api_key[creds.api_key].password = "changed-at-the-venue"
        bad = await h.ask(c.ACCOUNT_TEST, c.TestAccount(user_id=user, account_id=aid))
        assert not bad.ok and bad.detail == "the broker refused the stored credentials"
        [listed] = (await h.ask(c.ACCOUNTS_LIST, c.ListAccounts(user_id=user))).accounts
        assert listed.session_state == "failing" and listed.last_error == bad.detail
        for text in (bad.model_dump_json(), listed.model_dump_json()):
            assert creds.api_key not in text and creds.password not in text


async def test_new_routes_are_scoped_to_the_caller(settings, sim):
    creds = sim.create_account(hedging=True)
    owner, other = uuid.uuid4(), uuid.uuid4()
    async with broker_harness(settings) as h:
        aid = (await h.connect(owner, creds)).account_id
        quote = sim.market.quote("EURUSD")
        oco = c.OcoLeg(side="SELL", order_type=c.OrderType.STOP, level=quote.bid - Decimal("0.0100"))
        cmd = place(
            owner,
            aid,
            "EURUSD",
            "BUY",
            "1000",
            order_type=c.OrderType.STOP,
            level=quote.ask + Decimal("0.01"),
            oco=oco,
        )
        await h.send(c.ORDER_PLACE, cmd)
        await wait_until(lambda: len(h.of("order.accepted")) == 2, timeout=10)
        with pytest.raises(RemoteError) as caught:
            await h.ask(c.ACCOUNT_TEST, c.TestAccount(user_id=other, account_id=aid))
        assert caught.value.code == "not_found"
        assert (await h.ask(c.ORDERS_LIST, c.ListOrders(user_id=other, account_id=aid))).orders == []
        assert (await h.ask(c.ORDERS_LIST, c.ListOrders(user_id=other))).orders == []
        filtered = c.ListIntents(user_id=other, account_id=aid, epic="EURUSD", intent_kind="place")
        assert (await h.ask(c.INTENTS_LIST, filtered)).intents == []
        # another user cannot cancel a leg of the pair
        order_id = (await h.ask(c.ORDERS_LIST, c.ListOrders(user_id=owner))).orders[0].order_id
        await h.send(
            c.ORDER_CANCEL,
            c.CancelOrder(
                user_id=other, account_id=aid, idempotency_key="other-cancels-leg", order_id=order_id
            ),
        )
        await wait_until(lambda: h.of("order.rejected", user_id=other), timeout=10)
        assert h.of("order.rejected", user_id=other)[0]["reason_code"] == "account_not_found"
        assert len((await h.ask(c.ORDERS_LIST, c.ListOrders(user_id=owner))).orders) == 2
        assert len(sim.registry.by_api_key[creds.api_key].account(creds.account_id).orders) == 2
