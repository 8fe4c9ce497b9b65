"""Property tests of the simulator's bookkeeping: random trading sessions, invariants after every step.

The engine is driven in-process on a stepped clock (no HTTP): open positions (a few liquid epics incl.
BTCUSD and a JPY-quoted pair, both directions, sizes on the dealing-rule grid, optional stop/profit,
trailing or guaranteed stops), close whole positions, reduce them with an opposite order (netting),
place working orders, and move the clock by random amounts so that ticks trigger stops, limits and
orders, funding is charged and weekends gap. After every step the account is re-derived from first
principles and compared with what the engine reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tt_sandbox.capitalcom import RateLimits, Simulator, SimulatorConfig
from tt_sandbox.capitalcom.accounts import Account, Position
from tt_sandbox.capitalcom.engine import CLOSE_OUT_MARGIN_LEVEL, OrderRequest
from tt_sandbox.capitalcom.errors import ApiError
from tt_sandbox.capitalcom.instruments import BY_EPIC
from tt_sandbox.capitalcom.rules import Protection

CENT = Decimal("0.01")
NO_LIMITS = RateLimits(None, None, None, None, None, None)
START_BALANCE = Decimal("10000")
EPICS = ("EURUSD", "USDJPY", "BTCUSD", "GOLD", "US500")
# Largest size, in dealing-rule steps above the minimum, so that a few positions fit the margin.
MAX_EXTRA_STEPS = {"EURUSD": 4900, "USDJPY": 4900, "BTCUSD": 300, "GOLD": 200, "US500": 20}


# ---- actions ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Open:
    epic: str
    direction: str
    extra_steps: int  # size = min_size + extra_steps * size_step
    stop: float | None  # distance as a multiple of the minimum stop distance
    profit: float | None
    kind: str  # "plain" | "trailing" | "guaranteed"


@dataclass(frozen=True)
class Close:
    index: int


@dataclass(frozen=True)
class Reduce:
    """An opposite order smaller than the position: a partial close on a netting account."""

    index: int
    fraction: float


@dataclass(frozen=True)
class PlaceOrder:
    epic: str
    direction: str
    order_type: str
    extra_steps: int
    away: float  # distance from the market as a multiple of the minimum stop distance
    stop: float | None


@dataclass(frozen=True)
class Advance:
    seconds: int


@dataclass(frozen=True)
class Amend:
    index: int
    stop: float | None
    profit: float | None


multiples = st.sampled_from([1.0, 1.5, 2.0, 4.0, 10.0])
opens = st.builds(
    Open,
    epic=st.sampled_from(EPICS),
    direction=st.sampled_from(["BUY", "SELL"]),
    extra_steps=st.integers(0, 4900),
    stop=st.none() | multiples,
    profit=st.none() | multiples,
    kind=st.sampled_from(["plain", "plain", "plain", "trailing", "guaranteed"]),
)
actions = st.one_of(
    opens,
    opens,
    st.builds(Close, index=st.integers(0, 9)),
    st.builds(Reduce, index=st.integers(0, 9), fraction=st.sampled_from([0.1, 0.5, 0.9])),
    st.builds(
        PlaceOrder,
        epic=st.sampled_from(EPICS),
        direction=st.sampled_from(["BUY", "SELL"]),
        order_type=st.sampled_from(["LIMIT", "STOP"]),
        extra_steps=st.integers(0, 4900),
        away=st.sampled_from([0.5, 1.0, 3.0]),
        stop=st.none() | multiples,
    ),
    st.builds(Amend, index=st.integers(0, 9), stop=st.none() | multiples, profit=st.none() | multiples),
    # Mostly seconds to minutes (stops fire within the minute), sometimes hours, a day or a weekend.
    st.builds(Advance, seconds=st.sampled_from([1, 7, 30, 61, 300, 900, 3600, 4 * 3600, 86400, 2 * 86400])),
    st.builds(Advance, seconds=st.integers(1, 1800)),
)


# ---- an independent model of the books ------------------------------------------------------------
@dataclass(frozen=True)
class Known:
    """What a position looked like when first seen; entry, side and epic never change afterwards."""

    epic: str
    direction: str
    level: Decimal
    guaranteed: bool


class Books:
    def __init__(self, sim: Simulator, hedging: bool) -> None:
        self.sim = sim
        creds = sim.create_account(currency="USD", balance=START_BALANCE, hedging=hedging)
        self.account: Account = sim.registry.by_api_key[creds.api_key].accounts[0]
        self.known: dict[str, Known] = {}
        self.sizes: dict[str, Decimal] = {}
        self.stops_before: dict[str, tuple[Decimal | None, Decimal | None, bool]] = {}
        self.seen_activities = 0
        self.seen_transactions = 0
        self.triggers = 0
        self.realisations = 0

    @property
    def engine(self):
        return self.sim.engine

    def positions(self) -> list[Position]:
        return sorted(self.account.positions.values(), key=lambda p: (p.created, p.deal_id))

    def reference_price(self, epic: str) -> Decimal:
        return Decimal(repr(self.sim.market.quote(epic).mid))

    def min_stop(self, epic: str, guaranteed: bool = False) -> Decimal:
        instrument = BY_EPIC[epic]
        rule = instrument.min_guaranteed_stop if guaranteed else instrument.min_stop
        return rule.to_price(self.reference_price(epic) * Decimal("1.01"))

    def distance(self, epic: str, multiple: float, guaranteed: bool = False) -> Decimal:
        """`multiple` times the minimum distance, rounded up to the tick, plus a tick of headroom."""
        instrument = BY_EPIC[epic]
        raw = self.min_stop(epic, guaranteed) * Decimal(repr(multiple))
        return raw.quantize(instrument.tick, ROUND_UP) + instrument.tick

    def size(self, epic: str, extra_steps: int) -> Decimal:
        instrument = BY_EPIC[epic]
        return instrument.min_size + (extra_steps % (MAX_EXTRA_STEPS[epic] + 1)) * instrument.size_step

    def fx(self, epic: str) -> Decimal:
        return self.sim.market.fx_rate(BY_EPIC[epic].currency, self.account.currency)

    def pnl(self, known: Known, exit_price: Decimal, size: Decimal) -> Decimal:
        sign = 1 if known.direction == "BUY" else -1
        raw = (exit_price - known.level) * size * sign * self.fx(known.epic)
        return raw.quantize(CENT, ROUND_HALF_UP)

    def closing_price(self, position: Position) -> Decimal:
        quote = self.sim.market.quote(position.epic)
        return quote.bid if position.direction == "BUY" else quote.ask

    # ---- snapshots around a step -------------------------------------------------------------------
    def before_step(self) -> None:
        self.stops_before = {
            p.deal_id: (p.stop_level, p.profit_level, p.trailing_stop)
            for p in self.account.positions.values()
        }

    def check(self) -> None:
        account, engine = self.account, self.engine
        figures = engine.figures(account)

        # Every position known so far: entry, side and epic fixed, size only shrinks, all on the grid.
        for p in account.positions.values():
            instrument = BY_EPIC[p.epic]
            assert p.size > 0
            assert p.size >= instrument.min_size, (p.epic, p.size)
            assert p.size % instrument.size_step == 0, (p.epic, p.size)
            assert p.size <= instrument.max_size
            assert p.level == instrument.quantize(p.level)
        for o in account.orders.values():
            instrument = BY_EPIC[o.epic]
            assert o.size >= instrument.min_size and o.size % instrument.size_step == 0

        # Realisations since the last step: each closing activity has one TRADE transaction whose
        # amount is the P&L of that size between the entry and the recorded exit level.
        new_activities = account.activities[self.seen_activities :]
        new_transactions = account.transactions[self.seen_transactions :]
        closings = []
        for a in new_activities:
            if a.type != "POSITION" or a.status != "ACCEPTED":
                continue
            if a.deal_id not in self.known:  # an opening (possibly already closed again in this step)
                level = Decimal(str(a.details["level"]))
                self.known[a.deal_id] = Known(
                    a.epic, a.details["direction"], level, a.details["guaranteedStop"]
                )
                self.sizes.setdefault(a.deal_id, Decimal(str(a.details["size"])))
            elif a.details["direction"] != self.known[a.deal_id].direction:
                closings.append(a)
        trades = [t for t in new_transactions if t.type == "TRADE"]
        assert len(closings) == len(trades)
        closed_sizes: dict[str, Decimal] = {}
        for activity, trade in zip(closings, trades, strict=True):
            known = self.known[activity.deal_id]
            exit_price, size = Decimal(str(activity.details["level"])), Decimal(str(activity.details["size"]))
            assert trade.reference == activity.deal_id[-8:]
            assert trade.amount == self.pnl(known, exit_price, size), (activity, trade)
            closed_sizes[activity.deal_id] = closed_sizes.get(activity.deal_id, Decimal(0)) + size
            self.realisations += 1
            self._check_trigger_price(activity, known, exit_price)
        # ... and the sizes add up: what disappeared from a position was closed, nothing else.
        for deal_id, previous in self.sizes.items():
            now = account.positions[deal_id].size if deal_id in account.positions else Decimal(0)
            assert previous - now == closed_sizes.get(deal_id, Decimal(0)), deal_id
        self.sizes = {p.deal_id: p.size for p in account.positions.values()}

        for p in account.positions.values():  # every open position was announced by an activity
            known = self.known[p.deal_id]
            assert (known.epic, known.direction, known.level) == (p.epic, p.direction, p.level)

        # The balance is the starting balance plus every realised P&L and funding charge, in cents.
        assert account.balance == START_BALANCE + sum((t.amount for t in account.transactions), Decimal(0))
        assert account.balance == account.balance.quantize(CENT)
        swaps = [t for t in new_transactions if t.type == "SWAP"]
        assert all(t.amount == t.amount.quantize(CENT) for t in swaps)
        assert {t.type for t in new_transactions} <= {"TRADE", "SWAP"}

        # Equity = balance + open P&L (each position's P&L rounded to cents, as the venue shows it).
        upl = sum(
            (
                self.pnl(self.known[p.deal_id], self.closing_price(p), p.size)
                for p in account.positions.values()
            ),
            Decimal(0),
        )
        assert figures.balance == account.balance
        assert figures.profit_loss == upl
        margin = sum(
            (
                p.size * p.level * self.fx(p.epic) / account.leverages[BY_EPIC[p.epic].type]
                for p in account.positions.values()
            ),
            Decimal(0),
        ).quantize(CENT, ROUND_HALF_UP)
        assert figures.deposit == margin
        # Available funds = equity - margin in use (exact: every term is already in cents).
        assert figures.available == account.balance + upl - margin

        # Nothing that should have fired is still there: the current quote is the last tick the
        # engine saw, so no open position is beyond its stop or target and no order beyond its level.
        for p in account.positions.values():
            quote = self.sim.market.quote(p.epic)
            price = quote.bid if p.direction == "BUY" else quote.ask
            beyond = (lambda a, b: a <= b) if p.direction == "BUY" else (lambda a, b: a >= b)
            assert p.stop_level is None or not beyond(price, p.stop_level), (p, quote)
            assert p.profit_level is None or not beyond(p.profit_level, price), (p, quote)
        for o in account.orders.values():
            quote = self.sim.market.quote(o.epic)
            price = quote.ask if o.direction == "BUY" else quote.bid
            if (o.order_type == "LIMIT") == (o.direction == "BUY"):
                assert price > o.level, (o, quote)
            else:
                assert price < o.level, (o, quote)
            assert o.good_till is None or o.good_till > self.sim.clock.now()

        # Close-out: equity never stays below half the margin while the market could close positions.
        if account.positions and all(self.sim.market.is_open(p.epic) for p in account.positions.values()):
            assert account.balance + upl >= figures.deposit * CLOSE_OUT_MARGIN_LEVEL

        self.seen_activities = len(account.activities)
        self.seen_transactions = len(account.transactions)

    def _check_trigger_price(self, activity, known: Known, exit_price: Decimal) -> None:
        """A stop fills at or beyond its level (gap), a guaranteed one exactly at it; a target at or better"""
        if activity.source not in ("SL", "TP") or activity.deal_id not in self.stops_before:
            return
        stop, target, trailing = self.stops_before[activity.deal_id]
        buy = known.direction == "BUY"
        self.triggers += 1
        if activity.source == "SL" and not trailing:
            assert stop is not None
            if known.guaranteed:
                assert exit_price == stop
            else:
                assert exit_price <= stop if buy else exit_price >= stop
        if activity.source == "TP":
            assert target is not None
            assert exit_price >= target if buy else exit_price <= target

    # ---- actions -------------------------------------------------------------------------------------
    def run(self, action) -> None:
        self.before_step()
        balance_before = self.account.balance
        positions_before = dict(self.account.positions)
        try:
            self._apply(action, balance_before, positions_before)
        except ApiError as error:
            # A synchronous validation error (400) changes nothing at all.
            assert error.status == 400, error
            assert self.account.balance == balance_before
            assert self.account.positions.keys() == positions_before.keys()
        self.check()

    def _protection(self, epic: str, stop: float | None, profit: float | None, kind: str) -> Protection:
        guaranteed = kind == "guaranteed"
        if (kind != "plain") and stop is None:
            stop = 2.0
        return Protection(
            stop_distance=None if stop is None else self.distance(epic, stop, guaranteed),
            profit_distance=None if profit is None else self.distance(epic, profit),
            trailing_stop=kind == "trailing",
            guaranteed_stop=guaranteed,
        )

    def _apply(self, action, balance_before: Decimal, positions_before: dict[str, Position]) -> None:
        account, engine = self.account, self.engine
        if isinstance(action, Advance):
            self.sim.clock.advance(action.seconds)
            return
        if isinstance(action, Open):
            kind = action.kind
            if kind == "guaranteed" and (account.hedging or not BY_EPIC[action.epic].guaranteed_stop_allowed):
                kind = "plain"
            if kind == "trailing" and action.epic == "BTCUSD":
                kind = "plain"  # a 24/7 trailing stop re-evaluates every tick: keep the run fast
            protection = self._protection(action.epic, action.stop, action.profit, kind)
            request = OrderRequest(
                action.epic, action.direction, self.size(action.epic, action.extra_steps), protection
            )
            self._deal(engine.open_position(account, request), request, balance_before, positions_before)
            return
        positions = self.positions()
        if isinstance(action, Close):
            if not positions:
                return
            position = positions[action.index % len(positions)]
            expected = self.pnl(self.known[position.deal_id], self.closing_price(position), position.size)
            confirm = account.confirms[engine.close_position(account, position.deal_id)]
            if self.sim.market.is_open(position.epic):
                assert confirm["dealStatus"] == "ACCEPTED"
                assert Decimal(str(confirm["profit"])) == expected
                assert account.balance - balance_before == expected
                assert position.deal_id not in account.positions
            else:
                assert confirm["dealStatus"] == "REJECTED" and confirm["reason"] == "MARKET_CLOSED"
                assert account.balance == balance_before
            return
        if isinstance(action, Reduce):
            if account.hedging or not positions:
                return
            position = positions[action.index % len(positions)]
            instrument = BY_EPIC[position.epic]
            steps = int(
                (position.size - instrument.min_size) / instrument.size_step * Decimal(action.fraction)
            )
            size = instrument.min_size + steps * instrument.size_step
            if size >= position.size:
                return
            closing = "SELL" if position.direction == "BUY" else "BUY"
            request = OrderRequest(position.epic, closing, size, Protection())
            self._deal(engine.open_position(account, request), request, balance_before, positions_before)
            return
        if isinstance(action, PlaceOrder):
            quote = self.sim.market.quote(action.epic)
            price = quote.ask if action.direction == "BUY" else quote.bid
            away = self.distance(action.epic, action.away)
            below = (action.order_type == "LIMIT") == (action.direction == "BUY")
            level = price - away if below else price + away
            protection = self._protection(action.epic, action.stop, None, "plain")
            good_till = self.sim.clock.now() + timedelta(hours=6)
            request = OrderRequest(
                action.epic,
                action.direction,
                self.size(action.epic, action.extra_steps),
                protection,
                level,
                action.order_type,
                good_till,
            )
            confirm = account.confirms[engine.create_order(account, request)]
            assert confirm["dealStatus"] == (
                "ACCEPTED" if self.sim.market.is_open(action.epic) else "REJECTED"
            )
            assert account.balance == balance_before
            return
        if isinstance(action, Amend):
            if not positions:
                return
            position = positions[action.index % len(positions)]
            protection = self._protection(position.epic, action.stop, action.profit, "plain")
            engine.amend_position(account, position.deal_id, protection)
            assert account.balance == balance_before
            return
        raise AssertionError(action)

    def _deal(
        self,
        reference: str,
        request: OrderRequest,
        balance_before: Decimal,
        positions_before: dict[str, Position],
    ) -> None:
        """An order on the market: accepted (netting realises against opposite positions) or rejected."""
        account = self.account
        confirm = account.confirms[reference]
        if confirm["dealStatus"] == "REJECTED":
            assert confirm["reason"] in ("MARKET_CLOSED", "INSUFFICIENT_FUNDS", "MINIMUM_ORDER_SIZE_ERROR"), (
                confirm
            )
            if (
                confirm["reason"] == "MINIMUM_ORDER_SIZE_ERROR"
            ):  # netting would have left a stub below min size
                assert not account.hedging
                assert any(
                    p.epic == request.epic and p.direction != request.direction
                    for p in positions_before.values()
                )
            assert confirm["reason"] != "MARKET_CLOSED" or not self.sim.market.is_open(request.epic)
            assert account.balance == balance_before
            assert account.positions.keys() == positions_before.keys()
            return
        quote = self.sim.market.quote(request.epic)
        assert Decimal(str(confirm["level"])) == (quote.ask if request.direction == "BUY" else quote.bid)
        opened = [d["dealId"] for d in confirm["affectedDeals"] if d["status"] == "OPENED"]
        reduced = [d["dealId"] for d in confirm["affectedDeals"] if d["status"] != "OPENED"]
        if account.hedging:
            assert not reduced
        # Netting: opposite positions on the epic are reduced oldest first before anything opens.
        opposite = sorted(
            (
                p
                for p in positions_before.values()
                if p.epic == request.epic and p.direction != request.direction
            ),
            key=lambda p: p.created,
        )
        if not account.hedging:
            assert reduced == [p.deal_id for p in opposite][: len(reduced)]
            if opened:
                assert all(p.deal_id not in account.positions for p in opposite)
        for deal_id in opened:
            position = account.positions[deal_id]
            assert position.level == Decimal(str(confirm["level"]))
            assert position.direction == request.direction


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(hedging=st.booleans(), steps=st.lists(actions, min_size=20, max_size=40))
def test_books_balance_after_every_step(hedging: bool, steps: list) -> None:
    sim = Simulator(SimulatorConfig(seed=11, clock="stepped", rate_limits=NO_LIMITS, seed_demo_users=False))
    books = Books(sim, hedging)
    books.check()
    for action in steps:
        books.run(action)


def test_a_scripted_session_exercises_triggers_gaps_and_funding() -> None:
    """A fixed script that must hit what a random one may miss: stops, targets, fills, a weekend, funding."""
    sim = Simulator(SimulatorConfig(seed=11, clock="stepped", rate_limits=NO_LIMITS, seed_demo_users=False))
    books = Books(sim, hedging=False)
    books.run(Open("EURUSD", "BUY", 900, 1.0, None, "guaranteed"))
    books.run(Open("USDJPY", "SELL", 0, 1.0, 1.0, "plain"))
    books.run(Open("BTCUSD", "BUY", 10, 1.0, 1.0, "plain"))
    books.run(Open("GOLD", "SELL", 10, 3.0, None, "trailing"))
    books.run(Open("US500", "BUY", 3, 1.0, 1.0, "plain"))
    books.run(PlaceOrder("EURUSD", "SELL", "LIMIT", 100, 0.5, 2.0))
    books.run(PlaceOrder("BTCUSD", "SELL", "STOP", 3, 0.5, None))
    books.run(Open("BTCUSD", "SELL", 3, None, None, "plain"))  # nets against the BUY: a partial close
    for _ in range(6):
        books.run(Advance(1800))
    books.run(Open("EURUSD", "SELL", 400, 10.0, None, "guaranteed"))
    books.run(Open("USDJPY", "BUY", 400, 10.0, None, "plain"))
    friday = sim.clock.now().replace(hour=21, minute=30) + timedelta(days=4 - sim.clock.now().weekday())
    books.run(Advance(int((friday - sim.clock.now()).total_seconds())))
    books.run(Close(0))  # FX is closed now: the close is rejected and nothing moves
    books.run(Advance(3 * 86400))  # over the weekend into the next week (EURUSD gaps 110 pips down)
    for _ in range(4):
        books.run(Advance(3600))
    sources = {a.source for a in books.account.activities}
    assert {"SL", "TP", "SYSTEM"} <= sources, sources
    assert books.realisations >= 6
    assert books.triggers >= 4
    assert any(t.type == "SWAP" for t in books.account.transactions)


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    opens=st.lists(
        opens.filter(lambda o: o.epic != "USDJPY" and o.kind != "trailing"), min_size=1, max_size=6
    ),
    orders=st.lists(
        st.builds(
            PlaceOrder,
            epic=st.sampled_from(["EURUSD", "BTCUSD", "GOLD"]),
            direction=st.sampled_from(["BUY", "SELL"]),
            order_type=st.sampled_from(["LIMIT", "STOP"]),
            extra_steps=st.integers(0, 20),
            away=st.sampled_from([0.5, 1.0, 3.0]),
            stop=st.none() | multiples,
        ),
        max_size=3,
    ),
    chunk=st.sampled_from([61, 600, 3600, 5 * 3600 + 7]),
)
def test_one_long_clock_step_books_the_same_as_many_short_ones(opens, orders, chunk) -> None:
    """Stepping the clock is an implementation detail: fills, closes, their times and funding must agree.

    (USD-quoted epics only: converting a JPY P&L uses the rate at the end of the step, by design.)
    """
    span = 2 * 86400 + 3 * 3600  # crosses two funding times

    def play(steps: list[int]) -> tuple:
        sim = Simulator(
            SimulatorConfig(seed=5, clock="stepped", rate_limits=NO_LIMITS, seed_demo_users=False)
        )
        books = Books(sim, hedging=True)
        for action in [*opens, *orders]:
            books.run(action)
        for seconds in steps:
            sim.clock.advance(seconds)
        books.check()
        account = books.account
        return (
            account.balance,
            sorted(
                (p.epic, p.direction, p.size, p.level, p.stop_level, p.created)
                for p in account.positions.values()
            ),
            sorted((t.type, t.amount, t.date) for t in account.transactions),
            sorted((a.date, a.epic, a.source, a.type, a.status) for a in account.activities),
        )

    steps = [chunk] * (span // chunk) + ([span % chunk] if span % chunk else [])
    assert play([span]) == play(steps)
