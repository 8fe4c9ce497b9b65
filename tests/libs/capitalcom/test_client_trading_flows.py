"""Trading flows through `CapitalComClient` over real HTTP against the simulator (stepped clock).

Every order type, working orders that fill or expire as the clock moves, a stop-loss across a
weekend gap, amends, closes, confirms polled to their final outcome, and the client's own pacing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from tt_capitalcom import (
    AmbiguousOutcomeError,
    CapitalComClient,
    CapitalComConfig,
    DealRejectedError,
    Direction,
    PermanentError,
    Protection,
    RateLimit,
    WorkingOrderType,
)
from tt_sandbox.capitalcom import RateLimits, Simulator, SimulatorConfig

NO_LIMITS = RateLimits(None, None, None, None, None, None)
FAST = RateLimit(rate=200, burst=50)
# Seed 7's first weekend: GBPUSD closes Friday near 1.2240 and re-opens on Sunday ~110 pips higher.
FRIDAY_BEFORE_CLOSE = datetime(2024, 3, 8, 20, 55, tzinfo=UTC)
SUNDAY_REOPEN = datetime(2024, 3, 10, 21, 5, tzinfo=UTC)


class RecordingTransport(httpx.AsyncHTTPTransport):
    """A real HTTP transport that remembers every status code the venue answered."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        self.statuses.append(response.status_code)
        return response


@pytest.fixture
async def sim():
    simulator = Simulator(
        SimulatorConfig(seed=7, clock="stepped", seed_demo_users=False, rate_limits=NO_LIMITS)
    )
    async with simulator.serve() as urls:
        simulator.urls = urls
        yield simulator


def client_for(sim, credentials, transport=None, **overrides) -> CapitalComClient:
    settings = {
        "api_key": credentials.api_key,
        "identifier": credentials.identifier,
        "password": credentials.password,
        "rest_url": sim.urls.rest,
        "encrypted_password": False,
        "request_timeout": 5.0,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
        "confirm_poll_interval": 0.05,
        "request_limit": FAST,
        "trade_limit": FAST,
        "session_limit": FAST,
    }
    return CapitalComClient(CapitalComConfig(**(settings | overrides)), transport=transport)


@pytest.fixture
async def netting(sim):
    credentials = sim.create_account(currency="USD", balance=Decimal("50000"), hedging=False)
    async with client_for(sim, credentials) as venue_client:
        yield venue_client


@pytest.fixture
async def hedging(sim):
    credentials = sim.create_account(currency="USD", balance=Decimal("50000"), hedging=True)
    async with client_for(sim, credentials) as venue_client:
        yield venue_client


async def open_position(client, epic, direction, size, protection=None):
    """Send, confirm, and return (confirm, position) of the one position the deal opened."""
    confirm = await client.await_confirm(
        await client.create_position(epic, direction, Decimal(size), protection=protection)
    )
    assert confirm.accepted and confirm.status == "OPEN"
    [opened] = [d.deal_id for d in confirm.affected_deals if d.status == "OPENED"]
    return confirm, (await client.get_position(opened)).position


async def test_market_positions_with_levels_distances_trailing_and_guaranteed_stops(netting, hedging, sim):
    quote = (await netting.get_market("EURUSD")).snapshot
    stop, target = quote.bid - Decimal("0.0050"), quote.bid + Decimal("0.0050")
    confirm, position = await open_position(
        netting, "EURUSD", Direction.BUY, "1000", Protection(stop_level=stop, profit_level=target)
    )
    assert confirm.level == quote.offer == position.level
    assert (position.stop_level, position.profit_level) == (stop, target)
    assert (confirm.stop_level, confirm.profit_level) == (stop, target)

    # Distances are measured from the closing side: the ask for a SELL.
    gold = (await netting.get_market("GOLD")).snapshot
    _, position = await open_position(
        netting,
        "GOLD",
        Direction.SELL,
        "1",
        Protection(stop_distance=Decimal("20"), profit_distance=Decimal("25")),
    )
    assert position.level == gold.bid
    assert position.stop_level == gold.offer + 20
    assert position.profit_level == gold.offer - 25

    # A trailing stop only ever moves in the position's favour, and follows the best bid.
    btc = (await netting.get_market("BTCUSD")).snapshot
    _, trailing = await open_position(
        netting,
        "BTCUSD",
        Direction.BUY,
        "0.01",
        Protection(stop_distance=Decimal("1000"), trailing_stop=True),
    )
    assert trailing.trailing_stop is True
    assert trailing.stop_level == btc.bid - 1000
    sim.clock.advance(3600)
    moved = (await netting.get_position(trailing.deal_id)).position
    now = (await netting.get_market("BTCUSD")).snapshot
    assert moved.stop_level >= max(trailing.stop_level, now.bid - 1000)
    assert moved.stop_level > trailing.stop_level  # this hour's path rises at some point

    # A guaranteed stop on a netting account; refused on a hedging one.
    us500 = (await netting.get_market("US500")).snapshot
    _, guaranteed = await open_position(
        netting,
        "US500",
        Direction.BUY,
        "0.5",
        Protection(stop_distance=Decimal("60"), guaranteed_stop=True),
    )
    assert guaranteed.guaranteed_stop is True
    assert guaranteed.stop_level == us500.bid - 60
    with pytest.raises(PermanentError) as refused:
        await hedging.create_position(
            "US500",
            Direction.BUY,
            Decimal("0.5"),
            protection=Protection(stop_distance=Decimal("60"), guaranteed_stop=True),
        )
    assert refused.value.base_code == "error.invalid.guaranteedstop.hedging-mode"
    with pytest.raises(PermanentError) as too_close:
        await netting.create_position(
            "US500",
            Direction.BUY,
            Decimal("0.5"),
            protection=Protection(stop_distance=Decimal("5"), guaranteed_stop=True),
        )
    assert too_close.value.base_code == "error.invalid.stoploss.minvalue"
    assert len(await netting.get_positions()) == 4


async def fill_or_give_up(client, sim, order_ids, step=600, limit=48 * 3600):
    """Move the clock until none of `order_ids` is still working; returns the seconds it took."""
    waited = 0
    while waited < limit:
        working = {o.working_order_data.deal_id for o in await client.get_working_orders()}
        if not working & set(order_ids):
            return waited
        sim.clock.advance(step)
        waited += step
    raise AssertionError(f"orders {order_ids} never filled")


async def test_limit_and_stop_orders_fill_when_the_price_crosses(hedging, sim):
    quote = (await hedging.get_market("BTCUSD")).snapshot
    limit_level = quote.offer - 300  # BUY LIMIT: below the ask
    stop_level = quote.bid - 300  # SELL STOP: a breakout below the bid
    references = [
        await hedging.create_working_order(
            "BTCUSD",
            Direction.BUY,
            Decimal("0.01"),
            limit_level,
            WorkingOrderType.LIMIT,
            protection=Protection(stop_distance=Decimal("800"), profit_distance=Decimal("900")),
        ),
        await hedging.create_working_order(
            "BTCUSD", Direction.SELL, Decimal("0.02"), stop_level, WorkingOrderType.STOP
        ),
    ]
    confirms = [await hedging.await_confirm(r) for r in references]
    assert [c.status for c in confirms] == ["OPEN", "OPEN"]
    order_ids = [c.deal_id for c in confirms]
    assert len(await hedging.get_working_orders()) == 2
    assert await hedging.get_positions() == []

    await fill_or_give_up(hedging, sim, order_ids)
    positions = {p.position.working_order_id: p.position for p in await hedging.get_positions()}
    bought, sold = positions[order_ids[0]], positions[order_ids[1]]
    assert (bought.direction, bought.size) == ("BUY", Decimal("0.01"))
    assert bought.level <= limit_level  # a limit fills at its level or better
    # The bracket was kept as distances and re-applied around the actual fill.
    assert bought.stop_level == bought.level - 800
    assert bought.profit_level == bought.level + 900
    assert (sold.direction, sold.size) == ("SELL", Decimal("0.02"))
    assert sold.level <= stop_level  # a sell stop fills at the first bid at or below its level
    activity = await hedging.get_activity(start=sim.clock.now() - timedelta(days=2), end=sim.clock.now())
    executed = {a.deal_id for a in activity if a.status == "EXECUTED" and a.type == "WORKING_ORDER"}
    assert executed == set(order_ids)


async def test_a_good_till_date_order_expires_at_its_time(netting, sim):
    quote = (await netting.get_market("BTCUSD")).snapshot
    expiry = sim.clock.now() + timedelta(minutes=30)
    reference = await netting.create_working_order(
        "BTCUSD",
        Direction.BUY,
        Decimal("0.01"),
        quote.offer - 20000,  # far below: never fills
        WorkingOrderType.LIMIT,
        good_till=expiry,
    )
    order_id = (await netting.await_confirm(reference)).deal_id
    [entry] = await netting.get_working_orders()
    assert entry.working_order_data.good_till_date_utc == expiry
    sim.clock.advance(29 * 60)
    assert len(await netting.get_working_orders()) == 1
    sim.clock.advance(45 * 60)  # one step far past the expiry
    assert await netting.get_working_orders() == []
    activity = await netting.get_activity(start=expiry - timedelta(hours=1), end=sim.clock.now())
    [expired] = [a for a in activity if a.deal_id == order_id and a.status == "EXPIRED"]
    assert expired.source == "SYSTEM"
    assert expired.date_utc == expiry  # stamped when it expired, not when the clock step ended
    with pytest.raises(PermanentError) as past:
        await netting.create_working_order(
            "BTCUSD",
            Direction.BUY,
            Decimal("0.01"),
            quote.offer - 20000,
            WorkingOrderType.LIMIT,
            good_till=sim.clock.now() - timedelta(minutes=1),
        )
    assert past.value.base_code == "error.not-in-future.goodTillDate"


async def test_stop_losses_across_a_weekend_gap(netting, sim):
    sim.clock.set(FRIDAY_BEFORE_CLOSE)
    friday = (await netting.get_market("GBPUSD")).snapshot
    sunday_open = sim.market.quote("GBPUSD", SUNDAY_REOPEN)
    stop = friday.offer + Decimal("0.0030")
    assert sunday_open.ask > stop + Decimal("0.0050"), "the seed no longer gaps through the stop"
    _, normal = await open_position(netting, "GBPUSD", Direction.SELL, "1000", Protection(stop_level=stop))
    _, guaranteed = await open_position(
        netting, "GBPUSD", Direction.SELL, "1000", Protection(stop_level=stop, guaranteed_stop=True)
    )
    balance_before = (await netting.get_accounts())[0].balance.balance

    sim.clock.set(SUNDAY_REOPEN - timedelta(seconds=1))  # closed all weekend: nothing fires
    assert len(await netting.get_positions()) == 2
    sim.clock.set(SUNDAY_REOPEN)  # the first tick after the re-open is far above the stops
    assert await netting.get_positions() == []

    activity = await netting.get_activity(
        start=SUNDAY_REOPEN - timedelta(hours=1), end=sim.clock.now(), detailed=True
    )
    fills = {a.deal_id: a for a in activity if a.source == "SL"}
    assert fills[normal.deal_id].details.level == sunday_open.ask  # a normal stop fills at the gap
    assert fills[guaranteed.deal_id].details.level == stop  # a guaranteed stop fills at its level
    assert fills[normal.deal_id].date_utc == SUNDAY_REOPEN
    normal_loss = (normal.level - sunday_open.ask) * 1000
    guaranteed_loss = (guaranteed.level - stop) * 1000
    transactions = await netting.get_transactions(start=FRIDAY_BEFORE_CLOSE, end=sim.clock.now())
    assert sorted(t.size for t in transactions if t.transaction_type == "TRADE") == sorted(
        [normal_loss.quantize(Decimal("0.01")), guaranteed_loss.quantize(Decimal("0.01"))]
    )
    assert normal_loss < guaranteed_loss < 0
    balance_after = (await netting.get_accounts())[0].balance.balance
    assert balance_after - balance_before == sum(
        t.size for t in transactions if t.transaction_type == "TRADE"
    )


async def test_amend_protection_then_close(netting):
    _, position = await open_position(netting, "EURUSD", Direction.BUY, "2000")
    assert position.stop_level is None and position.profit_level is None
    amended = await netting.await_confirm(
        await netting.update_position(
            position.deal_id, Protection(stop_distance=Decimal("0.0020"), profit_distance=Decimal("0.0030"))
        )
    )
    assert amended.status == "AMENDED"
    bid = (await netting.get_market("EURUSD")).snapshot.bid
    current = (await netting.get_position(position.deal_id)).position
    assert (current.stop_level, current.profit_level) == (bid - Decimal("0.0020"), bid + Decimal("0.0030"))
    # An amend is a full replacement: sending only the target clears the stop.
    await netting.await_confirm(
        await netting.update_position(position.deal_id, Protection(profit_level=bid + Decimal("0.0040")))
    )
    current = (await netting.get_position(position.deal_id)).position
    assert current.stop_level is None and current.profit_level == bid + Decimal("0.0040")

    balance_before = (await netting.get_accounts())[0].balance.balance
    closed = await netting.await_confirm(await netting.close_position(position.deal_id))
    assert closed.status == "CLOSED"
    assert [(d.deal_id, d.status) for d in closed.affected_deals] == [(position.deal_id, "FULLY_CLOSED")]
    assert closed.level == bid
    expected = ((bid - position.level) * 2000).quantize(Decimal("0.01"))
    assert (await netting.get_accounts())[0].balance.balance - balance_before == expected
    assert await netting.get_positions() == []


async def test_confirms_are_polled_to_their_final_outcome(netting, sim):
    sim.faults.set(confirm_delay=0.4)  # fresh confirms answer 404 for a while (wall time)
    started = asyncio.get_running_loop().time()
    accepted = await netting.await_confirm(
        await netting.create_position("EURUSD", Direction.SELL, Decimal("500"))
    )
    assert accepted.accepted and accepted.status == "OPEN"
    assert asyncio.get_running_loop().time() - started >= 0.4

    sim.faults.reject_next_deals(1, "RISK_CHECK")
    with pytest.raises(DealRejectedError) as rejected:
        await netting.await_confirm(await netting.create_position("EURUSD", Direction.SELL, Decimal("500")))
    assert rejected.value.reason == "RISK_CHECK"
    assert rejected.value.confirmation.deal_status == "REJECTED"
    sim.faults.reset()

    # A business rejection: FX does not trade on Saturdays.
    sim.clock.set(datetime(2024, 3, 9, 12, 0, tzinfo=UTC))
    with pytest.raises(DealRejectedError) as closed:
        await netting.await_confirm(await netting.create_position("EURUSD", Direction.BUY, Decimal("500")))
    assert closed.value.reason == "MARKET_CLOSED"
    assert len(await netting.get_positions()) == 1

    # A reference the venue never decides on is ambiguous: reconcile, never re-send.
    with pytest.raises(AmbiguousOutcomeError):
        await netting.await_confirm("o_00000000-0000-0000-0000-000000000000", max_wait=0.2)


async def test_the_client_limiter_keeps_a_burst_of_reads_free_of_429s():
    sim = Simulator(SimulatorConfig(seed=7, clock="stepped", seed_demo_users=False))  # venue limits on
    async with sim.serve() as urls:
        sim.urls = urls
        paced, loose = RecordingTransport(), RecordingTransport()
        async with client_for(
            sim,
            sim.create_account(),
            transport=paced,
            request_limit=RateLimit(rate=7, burst=2),
            session_limit=RateLimit(rate=0.9, burst=1),
        ) as client:
            await client.login()
            results = await asyncio.gather(*(client.get_positions() for _ in range(30)))
        assert results == [[]] * 30
        assert 429 not in paced.statuses
        assert paced.statuses.count(200) == 31

        # The control: the same burst without client pacing runs into the venue's limit.
        async with client_for(sim, sim.create_account(), transport=loose, max_retries=0) as unpaced:
            await unpaced.login()
            outcomes = await asyncio.gather(
                *(unpaced.get_positions() for _ in range(30)), return_exceptions=True
            )
        assert 429 in loose.statuses
        assert any(isinstance(o, Exception) for o in outcomes)
