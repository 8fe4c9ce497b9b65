"""The client against the sandbox's Capital.com simulator, over real HTTP and WebSocket on localhost."""

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from tt_capitalcom import (
    AmbiguousOutcomeError,
    AuthenticationError,
    Bar,
    CapitalComClient,
    CapitalComConfig,
    CapitalComStream,
    DealRejectedError,
    Direction,
    NotFoundError,
    PermanentError,
    Protection,
    Resolution,
    StreamConnected,
    StreamDisconnected,
    Tick,
)
from tt_sandbox.capitalcom import Simulator, SimulatorConfig


@pytest.fixture
async def sim():
    simulator = Simulator(SimulatorConfig(seed=7, clock="stepped", seed_demo_users=False))
    async with simulator.serve() as urls:
        simulator.urls = urls
        yield simulator


def client_for(sim, credentials, **overrides) -> CapitalComClient:
    settings = {
        "api_key": credentials.api_key,
        "identifier": credentials.identifier,
        "password": credentials.password,
        "rest_url": sim.urls.rest,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
        "request_timeout": 2.0,
        "ws_reconnect_initial": 0.05,
        "ws_reconnect_max": 0.2,
    }
    return CapitalComClient(CapitalComConfig(**(settings | overrides)))


@pytest.fixture
async def client(sim):
    credentials = sim.create_account(currency="USD", balance=Decimal("10000"), hedging=False)
    async with client_for(sim, credentials) as venue_client:
        venue_client.credentials = credentials
        yield venue_client


async def test_login_with_encrypted_and_plain_passwords(sim):
    for encrypted in (True, False):
        credentials = sim.create_account(currency="EUR", balance=Decimal("500"))
        async with client_for(sim, credentials, encrypted_password=encrypted) as venue_client:
            session = await venue_client.login()
            assert session.current_account_id == credentials.account_id
            accounts = await venue_client.get_accounts()
            assert [a.account_id for a in accounts] == [credentials.account_id]
            assert accounts[0].balance.balance == Decimal("500")
            details = await venue_client.get_session()
            assert details.account_id == credentials.account_id
            # The streaming host comes from the login response: the simulator's own socket.
            assert venue_client.streaming_url == sim.urls.ws


async def test_wrong_password_is_an_authentication_error(sim):
    credentials = sim.create_account()
    wrong = credentials.__class__(**{**credentials.__dict__, "password": "not-the-password"})
    async with client_for(sim, wrong) as venue_client:
        with pytest.raises(AuthenticationError) as caught:
            await venue_client.get_accounts()
    assert caught.value.error_code == "error.invalid.details"
    assert "not-the-password" not in str(caught.value)


async def test_markets_and_prices(client, sim):
    found = await client.search_markets("EURUSD")
    assert "EURUSD" in [m.epic for m in found]
    details = await client.get_market("EURUSD")
    assert details.dealing_rules.min_size_increment.value > 0
    assert details.snapshot.offer > details.snapshot.bid
    many = await client.get_markets(["EURUSD", "GOLD", "US500"])
    assert [d.instrument.epic for d in many] == ["EURUSD", "GOLD", "US500"]
    navigation = await client.get_market_navigation()
    assert navigation.nodes
    recent = await client.get_prices("EURUSD", Resolution.MINUTE, max_bars=10)
    assert len(recent.prices) == 10
    server_now = await client.server_time()
    history = await client.get_price_history("BTCUSD", Resolution.MINUTE, server_now - timedelta(hours=40))
    times = [bar.snapshot_time_utc for bar in history]
    assert times == sorted(set(times))
    assert len(times) > 1000  # more than one venue window was stitched together
    assert times[-1] <= server_now
    with pytest.raises(NotFoundError) as caught:
        await client.get_market("NO_SUCH_EPIC")
    assert caught.value.error_code == "error.not-found.epic"


async def test_open_and_close_a_position_with_confirms(client):
    reference = await client.create_position("EURUSD", Direction.BUY, Decimal("1000"))
    opened = await client.await_confirm(reference)
    assert opened.accepted
    position_id = next(d.deal_id for d in opened.affected_deals if d.status == "OPENED")
    entry = await client.get_position(position_id)
    assert entry.position.size == Decimal("1000")
    assert entry.position.direction == "BUY"
    await client.await_confirm(
        await client.update_position(position_id, Protection(stop_distance=Decimal("0.01")))
    )
    assert (await client.get_position(position_id)).position.stop_level is not None
    closed = await client.await_confirm(await client.close_position(position_id))
    assert closed.accepted
    assert await client.get_positions() == []
    activity = await client.get_activity(last_period=timedelta(minutes=10))
    assert any(a.deal_id == position_id for a in activity)


async def test_venue_error_codes_are_mapped(client, sim):
    with pytest.raises(PermanentError) as too_small:
        await client.create_position("EURUSD", Direction.BUY, Decimal("0.001"))
    assert too_small.value.base_code.startswith("error.invalid.size")
    quote = (await client.get_market("EURUSD")).snapshot
    with pytest.raises(PermanentError) as stop_too_close:
        await client.create_position(
            "EURUSD", Direction.BUY, Decimal("1000"), protection=Protection(stop_level=quote.bid)
        )
    assert stop_too_close.value.base_code == "error.invalid.stoploss.maxvalue"
    assert stop_too_close.value.bound_value is not None
    sim.faults.reject_next_deals(1, "INSUFFICIENT_FUNDS")
    reference = await client.create_position("EURUSD", Direction.BUY, Decimal("1000"))
    with pytest.raises(DealRejectedError) as rejected:
        await client.await_confirm(reference)
    assert rejected.value.reason == "INSUFFICIENT_FUNDS"
    assert await client.get_positions() == []


async def test_invalidated_and_idle_expired_sessions_are_renewed(client, sim):
    logins = []
    client.add_session_listener(lambda: logins.append(True))
    await client.get_accounts()
    assert sim.faults.invalidate_sessions(client.credentials.api_key) == 1
    assert len(await client.get_accounts()) == 1
    sim.clock.advance(11 * 60)  # past the venue's 10-minute idle timeout (sim time)
    assert len(await client.get_accounts()) == 1
    assert len(logins) == 3


async def test_execute_then_timeout_is_ambiguous_and_sent_exactly_once(client, sim):
    await client.login()
    sim.faults.set(execute_then_timeout=1, timeout_mode="drop")
    with pytest.raises(AmbiguousOutcomeError):
        await client.create_position("EURUSD", Direction.SELL, Decimal("1000"))
    positions = await client.get_positions()
    assert len(positions) == 1
    assert positions[0].position.direction == "SELL"


async def test_execute_then_slow_reply_is_ambiguous_and_sent_exactly_once(sim):
    credentials = sim.create_account()
    async with client_for(sim, credentials, request_timeout=0.3) as impatient:
        await impatient.login()
        sim.faults.set(execute_then_timeout=1, timeout_mode="delay", timeout_delay=0.6)
        with pytest.raises(AmbiguousOutcomeError):
            await impatient.create_position("GBPUSD", Direction.BUY, Decimal("1000"))
        assert len(await impatient.get_positions()) == 1


async def test_5xx_on_a_trade_is_ambiguous_while_reads_retry(client, sim):
    await client.login()
    sim.faults.set(fail_next=1, fail_status=503)
    assert await client.get_positions() == []  # retried transparently
    sim.faults.set(fail_next=1, fail_status=502)
    with pytest.raises(AmbiguousOutcomeError):
        await client.create_position("EURUSD", Direction.BUY, Decimal("1000"))


async def next_event(stream, kind, timeout=5.0):
    async with asyncio.timeout(timeout):
        async for event in stream:
            if isinstance(event, kind):
                return event
    raise AssertionError("stream ended")


async def test_stream_quotes_bars_and_reconnect_after_a_dropped_socket(client, sim):
    async with CapitalComStream(client.config, client) as stream:
        await stream.subscribe_quotes(["EURUSD", "BTCUSD"])
        await stream.subscribe_bars(["EURUSD"], [Resolution.MINUTE])
        assert (await next_event(stream, StreamConnected)).reconnected is False
        sim.clock.advance(61)
        tick = await next_event(stream, Tick)
        assert tick.epic in ("EURUSD", "BTCUSD") and tick.ask > tick.bid
        bar = await next_event(stream, Bar)
        assert (bar.epic, bar.resolution) == ("EURUSD", Resolution.MINUTE)

        assert sim.faults.drop_websockets() == 1
        await next_event(stream, StreamDisconnected)
        assert (await next_event(stream, StreamConnected)).reconnected is True
        sim.clock.advance(5)
        assert (await next_event(stream, Tick)).epic in ("EURUSD", "BTCUSD")
        assert stream.stats.reconnects == 1


async def test_stream_recovers_when_the_session_is_invalidated(client, sim):
    async with CapitalComStream(client.config, client) as stream:
        await stream.subscribe_quotes(["EURUSD"])
        await next_event(stream, StreamConnected)
        sim.faults.invalidate_sessions(client.credentials.api_key)
        await client.get_accounts()  # REST notices, logs in again, and the stream follows
        assert (await next_event(stream, StreamConnected)).reconnected is True
        sim.clock.advance(5)
        assert (await next_event(stream, Tick)).epic == "EURUSD"
