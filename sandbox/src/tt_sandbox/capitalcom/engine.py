"""The dealing engine: positions, working orders, confirms, triggers on ticks, funding, P&L.

Synchronous validation problems raise ApiError (the venue answers 400); business outcomes such as
a closed market or missing funds become REJECTED confirms, as on the real API.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .accounts import Account, Activity, Position, Registry, Transaction, WorkingOrder
from .config import SimulatorConfig
from .errors import bad_request, not_found
from .formats import local_millis, num
from .instruments import BY_EPIC, DEFAULT_LEVERAGES, Instrument
from .market import Market
from .price_process import minute_index, minute_start
from .rules import Protection, check_protection_flags, resolve_levels, validate_size

CENT = Decimal("0.01")
FUNDING_HOUR_UTC = 22
CLOSE_OUT_MARGIN_LEVEL = Decimal("0.5")  # equity below half the used margin closes positions


@dataclass(frozen=True)
class OrderRequest:
    epic: str
    direction: str
    size: Decimal
    protection: Protection
    level: Decimal | None = None  # working orders only
    order_type: str | None = None  # LIMIT | STOP, working orders only
    good_till: datetime | None = None


@dataclass(frozen=True)
class AccountFigures:
    balance: Decimal
    deposit: Decimal  # margin in use
    profit_loss: Decimal
    available: Decimal


class Engine:
    def __init__(self, config: SimulatorConfig, registry: Registry, market: Market) -> None:
        self.config = config
        self.registry = registry
        self.market = market
        self.last_run = market.clock.now()
        # Set by faults: the next N deal requests are rejected with this reason.
        self.reject_next: list[str] = []
        self._confirm_wall_time: dict[str, float] = {}
        # While a clock step replays ticks, events are stamped with the tick's time, not the step's end.
        self._event_time: datetime | None = None

    @property
    def now(self) -> datetime:
        return self._event_time or self.market.clock.now()

    def default_leverage(self, instrument: Instrument) -> int:
        return DEFAULT_LEVERAGES[instrument.type]

    def next_funding_time(self) -> datetime:
        now = self.now
        charge = now.replace(hour=FUNDING_HOUR_UTC, minute=0, second=0, microsecond=0)
        return charge if charge > now else charge + timedelta(days=1)

    # ---- money -----------------------------------------------------------------------------------
    def leverage(self, account: Account, instrument: Instrument) -> int:
        return account.leverages[instrument.type]

    def margin(self, account: Account, epic: str, size: Decimal, price: Decimal) -> Decimal:
        instrument = BY_EPIC[epic]
        notional = self.market.convert(size * price, instrument.currency, account.currency)
        return notional / self.leverage(account, instrument)

    def upl(self, account: Account, position: Position) -> Decimal:
        quote = self.market.quote(position.epic)
        exit_price = quote.bid if position.direction == "BUY" else quote.ask
        return self._pnl(account, position, exit_price, position.size)

    def _pnl(self, account: Account, position: Position, exit_price: Decimal, size: Decimal) -> Decimal:
        sign = 1 if position.direction == "BUY" else -1
        raw = (exit_price - position.level) * size * sign
        converted = self.market.convert(raw, BY_EPIC[position.epic].currency, account.currency)
        return converted.quantize(CENT, ROUND_HALF_UP)

    def figures(self, account: Account) -> AccountFigures:
        margin = sum(
            (self.margin(account, p.epic, p.size, p.level) for p in account.positions.values()), Decimal(0)
        ).quantize(CENT, ROUND_HALF_UP)
        pnl = sum((self.upl(account, p) for p in account.positions.values()), Decimal(0))
        available = account.balance + pnl - margin
        return AccountFigures(account.balance, margin, pnl, available.quantize(CENT, ROUND_HALF_UP))

    def amount_to_price(
        self, account: Account, instrument: Instrument
    ) -> Callable[[Decimal, Decimal], Decimal]:
        def convert(amount: Decimal, size: Decimal) -> Decimal:
            in_instrument_ccy = self.market.convert(amount, account.currency, instrument.currency)
            return instrument.quantize(in_instrument_ccy / size)

        return convert

    # ---- confirms ----------------------------------------------------------------------------------
    def _confirm(self, account: Account, reference: str, **fields: Any) -> None:
        body = {"date": local_millis(self.now, self.config.timezone_offset_hours), "dealReference": reference}
        body.update(fields)
        account.confirms[reference] = body
        self._confirm_wall_time[reference] = time.monotonic()

    def _reject(self, account: Account, reference: str, request: OrderRequest, reason: str) -> str:
        self._confirm(
            account,
            reference,
            status=None,
            reason=reason,
            rejectReason=reason,
            dealStatus="REJECTED",
            epic=request.epic,
            dealId=self.registry.new_deal_id(),
            affectedDeals=[],
            level=0,
            size=num(request.size),
            direction=request.direction,
            guaranteedStop=request.protection.guaranteed_stop,
            trailingStop=request.protection.trailing_stop,
        )
        self._activity(
            account,
            request.epic,
            account.confirms[reference]["dealId"],
            "USER",
            "WORKING_ORDER" if request.order_type else "POSITION",
            "REJECTED",
            {
                "dealReference": reference,
                "size": num(request.size),
                "direction": request.direction,
                "rejectReason": reason,
            },
        )
        return reference

    def reject(self, account: Account, request: OrderRequest, reason: str) -> str:
        """Answer a deal request with a REJECTED confirm only (e.g. the trade rate limit, injected faults)."""
        return self._reject(account, f"o_{uuid.uuid4()}", request, reason)

    def confirm(self, account: Account, reference: str, hidden_for: float = 0.0) -> dict[str, Any]:
        body = account.confirms.get(reference)
        if body is None or time.monotonic() - self._confirm_wall_time.get(reference, 0.0) < hidden_for:
            raise not_found("error.not-found.dealReference")
        return body

    def _activity(
        self,
        account: Account,
        epic: str,
        deal_id: str,
        source: str,
        kind: str,
        status: str,
        details: dict[str, Any],
    ) -> None:
        instrument = BY_EPIC[epic]
        details = {"marketName": instrument.name, "currency": instrument.currency, **details}
        account.activities.append(Activity(self.now, epic, deal_id, source, kind, status, details))

    # ---- positions ----------------------------------------------------------------------------------
    def _business_rejection(self, request: OrderRequest) -> str | None:
        if self.reject_next:
            return self.reject_next.pop(0)
        if not self.market.is_open(request.epic):
            return "MARKET_CLOSED"
        return None

    def open_position(self, account: Account, request: OrderRequest) -> str:
        instrument = self._instrument(request.epic)
        validate_size(instrument, request.size)
        check_protection_flags(instrument, request.protection, account.hedging)
        quote = self.market.quote(request.epic)
        entry = quote.ask if request.direction == "BUY" else quote.bid
        close_side = quote.bid if request.direction == "BUY" else quote.ask
        levels = resolve_levels(
            instrument,
            request.direction,
            close_side,
            request.size,
            request.protection,
            self.amount_to_price(account, instrument),
        )
        reference = f"o_{uuid.uuid4()}"
        reason = self._business_rejection(request)
        if not reason and not account.hedging and self._leaves_a_stub(account, request):
            reason = "MINIMUM_ORDER_SIZE_ERROR"
        if reason:
            return self._reject(account, reference, request, reason)

        order_id = self.registry.new_deal_id()
        affected: list[dict[str, str]] = []
        remaining = request.size
        if not account.hedging:
            remaining = self._net_against(account, request, entry, affected)
        if remaining > 0:
            figures = self.figures(account)
            if self.margin(account, request.epic, remaining, entry) > figures.available:
                return self._reject(account, reference, request, "INSUFFICIENT_FUNDS")
            position = self._new_position(account, request, order_id, remaining, entry, levels)
            affected.append({"dealId": position.deal_id, "status": "OPENED"})
        self._confirm(
            account,
            reference,
            status="OPEN" if remaining > 0 else "CLOSED",
            reason="SUCCESS",
            dealStatus="ACCEPTED",
            epic=request.epic,
            dealId=order_id,
            affectedDeals=affected,
            level=num(entry),
            size=num(request.size),
            direction=request.direction,
            guaranteedStop=request.protection.guaranteed_stop,
            trailingStop=request.protection.trailing_stop,
            stopLevel=num(levels.stop_level),
            profitLevel=num(levels.profit_level),
        )
        return reference

    def _new_position(
        self,
        account: Account,
        request: OrderRequest,
        order_id: str,
        size: Decimal,
        entry: Decimal,
        levels: Any,
        source: str = "USER",
    ) -> Position:
        instrument = BY_EPIC[request.epic]
        position = Position(
            deal_id=self.registry.new_deal_id(),
            order_deal_id=order_id,
            epic=request.epic,
            direction=request.direction,
            size=size,
            level=entry,
            created=self.now,
            leverage=self.leverage(account, instrument),
            currency=instrument.currency,
            stop_level=levels.stop_level,
            profit_level=levels.profit_level,
            trailing_stop=request.protection.trailing_stop,
            stop_distance=levels.stop_distance if request.protection.trailing_stop else None,
            guaranteed_stop=request.protection.guaranteed_stop,
        )
        account.positions[position.deal_id] = position
        details = {
            "dealReference": f"p_{position.deal_id}",
            "size": num(size),
            "direction": request.direction,
            "level": num(entry),
            "guaranteedStop": position.guaranteed_stop,
            "stopLevel": num(position.stop_level),
            "profitLevel": num(position.profit_level),
        }
        if request.order_type:
            details["workingOrderId"] = order_id
        self._activity(account, request.epic, position.deal_id, source, "POSITION", "ACCEPTED", details)
        return position

    def _leaves_a_stub(self, account: Account, request: OrderRequest) -> bool:
        """Netting would leave a reduced position, or open a remainder, below the minimum deal size."""
        remaining = request.size
        opposite = [
            p
            for p in account.positions.values()
            if p.epic == request.epic and p.direction != request.direction
        ]
        for position in sorted(opposite, key=lambda p: p.created):
            if remaining <= 0:
                break
            take = min(remaining, position.size)
            if 0 < position.size - take < BY_EPIC[request.epic].min_size:
                return True
            remaining -= take
        return 0 < remaining < BY_EPIC[request.epic].min_size

    def _net_against(
        self, account: Account, request: OrderRequest, price: Decimal, affected: list[dict[str, str]]
    ) -> Decimal:
        """Netting mode: an opposite order reduces open positions (oldest first); returns what is left."""
        remaining = request.size
        opposite = [
            p
            for p in account.positions.values()
            if p.epic == request.epic and p.direction != request.direction
        ]
        for position in sorted(opposite, key=lambda p: p.created):
            if remaining <= 0:
                break
            take = min(remaining, position.size)
            self._realise(account, position, take, price, "USER")
            affected.append(
                {
                    "dealId": position.deal_id,
                    "status": "FULLY_CLOSED" if position.size == 0 else "PARTIALLY_CLOSED",
                }
            )
            remaining -= take
        return remaining

    def _realise(
        self, account: Account, position: Position, size: Decimal, price: Decimal, source: str
    ) -> Decimal:
        profit = self._pnl(account, position, price, size)
        account.balance += profit
        position.size -= size
        if position.size == 0:
            del account.positions[position.deal_id]
        closing = "SELL" if position.direction == "BUY" else "BUY"
        self._activity(
            account,
            position.epic,
            position.deal_id,
            source,
            "POSITION",
            "ACCEPTED",
            {
                "dealReference": f"p_{position.deal_id}",
                "size": num(size),
                "direction": closing,
                "level": num(price),
                "guaranteedStop": position.guaranteed_stop,
            },
        )
        account.transactions.append(
            Transaction(
                self.now,
                "TRADE",
                "Trade closed",
                position.deal_id[-8:],
                profit,
                account.currency,
                position.epic,
            )
        )
        return profit

    def position(self, account: Account, deal_id: str) -> Position:
        position = account.positions.get(deal_id)
        if position is None:
            raise not_found("error.not-found.dealId")
        return position

    def amend_position(self, account: Account, deal_id: str, protection: Protection) -> str:
        """PUT replaces the whole bracket set: anything not sent is cleared."""
        position = self.position(account, deal_id)
        instrument = BY_EPIC[position.epic]
        quote = self.market.quote(position.epic)
        close_side = quote.bid if position.direction == "BUY" else quote.ask
        check_protection_flags(instrument, protection, account.hedging)
        levels = resolve_levels(
            instrument,
            position.direction,
            close_side,
            position.size,
            protection,
            self.amount_to_price(account, instrument),
        )
        reference = f"p_{deal_id}"
        position.stop_level, position.profit_level = levels.stop_level, levels.profit_level
        position.trailing_stop = protection.trailing_stop
        position.stop_distance = levels.stop_distance if protection.trailing_stop else None
        position.guaranteed_stop = protection.guaranteed_stop
        self._activity(
            account,
            position.epic,
            deal_id,
            "USER",
            "EDIT_STOP_AND_LIMIT",
            "ACCEPTED",
            {
                "dealReference": reference,
                "stopLevel": num(position.stop_level),
                "profitLevel": num(position.profit_level),
                "guaranteedStop": position.guaranteed_stop,
            },
        )
        self._confirm(
            account,
            reference,
            status="AMENDED",
            reason="SUCCESS",
            dealStatus="ACCEPTED",
            epic=position.epic,
            dealId=deal_id,
            affectedDeals=[{"dealId": deal_id, "status": "AMENDED"}],
            level=num(position.level),
            size=num(position.size),
            direction=position.direction,
            guaranteedStop=position.guaranteed_stop,
            trailingStop=position.trailing_stop,
            stopLevel=num(position.stop_level),
            profitLevel=num(position.profit_level),
        )
        return reference

    def close_position(
        self, account: Account, deal_id: str, source: str = "USER", price: Decimal | None = None
    ) -> str:
        position = self.position(account, deal_id)
        reference = f"p_{deal_id}"
        closing = "SELL" if position.direction == "BUY" else "BUY"
        if price is None and not self.market.is_open(position.epic):
            request = OrderRequest(position.epic, closing, position.size, Protection())
            self._reject(account, reference, request, "MARKET_CLOSED")
            return reference
        if price is None:
            quote = self.market.quote(position.epic)
            price = quote.bid if position.direction == "BUY" else quote.ask
        size = position.size
        profit = self._realise(account, position, size, price, source)
        self._confirm(
            account,
            reference,
            status="CLOSED",
            reason="SUCCESS",
            dealStatus="ACCEPTED",
            epic=position.epic,
            dealId=deal_id,
            affectedDeals=[{"dealId": deal_id, "status": "FULLY_CLOSED"}],
            level=num(price),
            size=num(size),
            direction=closing,
            guaranteedStop=position.guaranteed_stop,
            trailingStop=position.trailing_stop,
            profit=num(profit),
            profitCurrency=account.currency,
        )
        return reference

    # ---- working orders --------------------------------------------------------------------------
    def create_order(self, account: Account, request: OrderRequest) -> str:
        instrument = self._instrument(request.epic)
        validate_size(instrument, request.size)
        check_protection_flags(instrument, request.protection, account.hedging)
        if request.level is None or request.level <= 0:
            raise bad_request("error.invalid.level")
        if request.good_till is not None and request.good_till <= self.now:
            raise bad_request("error.not-in-future.goodTillDate")
        levels = resolve_levels(
            instrument,
            request.direction,
            request.level,
            request.size,
            request.protection,
            self.amount_to_price(account, instrument),
        )
        reference = f"o_{uuid.uuid4()}"
        reason = self._business_rejection(request) or self._wrong_side(request)
        if reason:
            return self._reject(account, reference, request, reason)
        order = WorkingOrder(
            deal_id=self.registry.new_deal_id(),
            epic=request.epic,
            direction=request.direction,
            size=request.size,
            level=instrument.quantize(request.level),
            order_type=request.order_type or "LIMIT",
            created=self.now,
            good_till=request.good_till,
            leverage=self.leverage(account, instrument),
            currency=instrument.currency,
            stop_level=levels.stop_level,
            profit_level=levels.profit_level,
            stop_distance=levels.stop_distance,
            profit_distance=levels.profit_distance,
            trailing_stop=request.protection.trailing_stop,
            guaranteed_stop=request.protection.guaranteed_stop,
        )
        account.orders[order.deal_id] = order
        self._activity(
            account,
            order.epic,
            order.deal_id,
            "USER",
            "WORKING_ORDER",
            "ACCEPTED",
            {
                "dealReference": reference,
                "size": num(order.size),
                "direction": order.direction,
                "level": num(order.level),
                "guaranteedStop": order.guaranteed_stop,
            },
        )
        self._order_confirm(account, reference, order, "OPEN", "OPENED")
        return reference

    def _wrong_side(self, request: OrderRequest) -> str | None:
        """BUY LIMIT below / BUY STOP above the market (mirrored for SELL), like IG-style venues."""
        quote = self.market.quote(request.epic)
        price = quote.ask if request.direction == "BUY" else quote.bid
        below = request.level < price
        wants_below = (request.order_type == "LIMIT") == (request.direction == "BUY")
        return None if below == wants_below else "WRONG_SIDE_OF_MARKET"

    def _order_confirm(
        self, account: Account, reference: str, order: WorkingOrder, status: str, deal_status: str
    ) -> None:
        self._confirm(
            account,
            reference,
            status=status,
            reason="SUCCESS",
            dealStatus="ACCEPTED",
            epic=order.epic,
            dealId=order.deal_id,
            affectedDeals=[{"dealId": order.deal_id, "status": deal_status}],
            level=num(order.level),
            size=num(order.size),
            direction=order.direction,
            guaranteedStop=order.guaranteed_stop,
            trailingStop=order.trailing_stop,
            stopLevel=num(order.stop_level),
            profitLevel=num(order.profit_level),
        )

    def order(self, account: Account, deal_id: str) -> WorkingOrder:
        order = account.orders.get(deal_id)
        if order is None:
            raise not_found("error.not-found.dealId")
        return order

    def amend_order(
        self,
        account: Account,
        deal_id: str,
        level: Decimal | None,
        good_till: datetime | None,
        protection: Protection,
    ) -> str:
        order = self.order(account, deal_id)
        instrument = BY_EPIC[order.epic]
        new_level = instrument.quantize(level) if level is not None else order.level
        if good_till is not None and good_till <= self.now:
            raise bad_request("error.not-in-future.goodTillDate")
        levels = resolve_levels(
            instrument,
            order.direction,
            new_level,
            order.size,
            protection,
            self.amount_to_price(account, instrument),
        )
        order.level, order.good_till = new_level, good_till
        order.stop_level, order.profit_level = levels.stop_level, levels.profit_level
        order.stop_distance, order.profit_distance = levels.stop_distance, levels.profit_distance
        order.trailing_stop, order.guaranteed_stop = protection.trailing_stop, protection.guaranteed_stop
        reference = f"o_{uuid.uuid4()}"
        self._activity(
            account,
            order.epic,
            deal_id,
            "USER",
            "WORKING_ORDER",
            "MODIFIED",
            {"dealReference": reference, "level": num(order.level)},
        )
        self._order_confirm(account, reference, order, "AMENDED", "AMENDED")
        return reference

    def delete_order(
        self, account: Account, deal_id: str, source: str = "USER", status: str = "CANCELLED"
    ) -> str:
        order = self.order(account, deal_id)
        del account.orders[deal_id]
        reference = f"o_{uuid.uuid4()}"
        self._activity(
            account,
            order.epic,
            deal_id,
            source,
            "WORKING_ORDER",
            status,
            {
                "dealReference": reference,
                "size": num(order.size),
                "direction": order.direction,
                "level": num(order.level),
            },
        )
        self._order_confirm(account, reference, order, "DELETED", "DELETED")
        return reference

    def _instrument(self, epic: str) -> Instrument:
        instrument = BY_EPIC.get(epic)
        if instrument is None:
            raise not_found("error.not-found.epic")
        return instrument

    # ---- the clock moved ----------------------------------------------------------------------------
    def run_until(self, now: datetime) -> None:
        previous = self.last_run
        if now <= previous:
            return
        self.last_run = now
        accounts = [
            a for c in self.registry.by_api_key.values() for a in c.accounts if a.positions or a.orders
        ]
        if not accounts:
            return
        # Funding falls between ticks: replay the window in segments that end at each 22:00 charge, so
        # one long step books the same fills, closes and charges as many short ones.
        start = previous
        while start < now:
            charge = start.replace(hour=FUNDING_HOUR_UTC, minute=0, second=0, microsecond=0)
            if charge <= start:
                charge += timedelta(days=1)
            end = min(now, charge)
            epics = sorted(
                {p.epic for a in accounts for p in a.positions.values()}
                | {o.epic for a in accounts for o in a.orders.values()}
            )
            for epic in epics:
                self._run_epic(accounts, epic, start, end)
            self._charge_funding(accounts, start, end)
            start = end
        self._expire_orders(accounts, now)
        for account in accounts:
            self._close_out_if_needed(account)

    def _run_epic(self, accounts: list[Account], epic: str, after: datetime, until: datetime) -> None:
        process = self.market.process
        instrument = BY_EPIC[epic]
        spread = instrument.spread
        for minute in range(minute_index(after), minute_index(until) + 1):
            band = process.minute_range(epic, minute)
            if band is None:
                continue
            low, high = Decimal(repr(band[0])) - spread, Decimal(repr(band[1])) + spread
            if not self._may_trigger(accounts, epic, low, high):
                continue
            start = max(after, minute_start(minute) - timedelta(microseconds=1))
            stop = min(until, minute_start(minute + 1) - timedelta(microseconds=1))
            try:
                for stamp, mid in process.ticks_between(epic, start, stop):
                    bid, ask = process.bid_ask(instrument, mid)
                    self._event_time = stamp
                    self._on_tick(accounts, epic, stamp, bid, ask)
            finally:
                self._event_time = None

    def _may_trigger(self, accounts: list[Account], epic: str, low: Decimal, high: Decimal) -> bool:
        """Could any tick in a minute whose prices span [low, high] fire something on this epic?"""
        for account in accounts:
            for p in account.positions.values():
                if p.epic != epic:
                    continue
                if p.trailing_stop:
                    return True  # the stop moves with every tick
                buy = p.direction == "BUY"
                if p.stop_level is not None and (low <= p.stop_level if buy else high >= p.stop_level):
                    return True
                if p.profit_level is not None and (high >= p.profit_level if buy else low <= p.profit_level):
                    return True
            for o in account.orders.values():
                if o.epic != epic:
                    continue
                fires_below = (o.order_type == "LIMIT") == (o.direction == "BUY")
                if low <= o.level if fires_below else high >= o.level:
                    return True
        return False

    def _on_tick(
        self, accounts: list[Account], epic: str, stamp: datetime, bid: Decimal, ask: Decimal
    ) -> None:
        for account in accounts:
            for order in sorted(
                (o for o in account.orders.values() if o.epic == epic), key=lambda o: o.created
            ):
                if order.good_till is not None and order.good_till <= stamp:
                    continue  # expired before this tick; removed at the end of the step
                if _order_triggered(order, bid, ask):
                    self._fill_order(account, order, ask if order.direction == "BUY" else bid)
            for position in [p for p in account.positions.values() if p.epic == epic]:
                self._check_position(account, position, bid, ask)

    def _check_position(self, account: Account, position: Position, bid: Decimal, ask: Decimal) -> None:
        buy = position.direction == "BUY"
        price = bid if buy else ask
        stop, target = position.stop_level, position.profit_level
        if stop is not None and (price <= stop if buy else price >= stop):
            # A gap through a normal stop fills at the market; a guaranteed stop fills at its level.
            self._close_triggered(account, position, stop if position.guaranteed_stop else price, "SL")
            return
        if target is not None and (price >= target if buy else price <= target):
            self._close_triggered(account, position, price, "TP")
            return
        if position.trailing_stop and position.stop_distance is not None:
            instrument = BY_EPIC[position.epic]
            trailed = instrument.quantize(
                price - position.stop_distance if buy else price + position.stop_distance
            )
            if stop is None or (trailed > stop if buy else trailed < stop):
                position.stop_level = trailed

    def _close_triggered(self, account: Account, position: Position, price: Decimal, source: str) -> None:
        self.close_position(account, position.deal_id, source=source, price=price)

    def _fill_order(self, account: Account, order: WorkingOrder, price: Decimal) -> None:
        del account.orders[order.deal_id]
        instrument = BY_EPIC[order.epic]
        self._activity(
            account,
            order.epic,
            order.deal_id,
            "SYSTEM",
            "WORKING_ORDER",
            "EXECUTED",
            {
                "dealReference": f"o_{order.deal_id}",
                "size": num(order.size),
                "direction": order.direction,
                "level": num(price),
            },
        )
        stub = not account.hedging and self._leaves_a_stub(account, _as_request(order))
        if stub or self.margin(account, order.epic, order.size, price) > self.figures(account).available:
            self._activity(
                account,
                order.epic,
                order.deal_id,
                "SYSTEM",
                "POSITION",
                "REJECTED",
                {
                    "rejectReason": "MINIMUM_ORDER_SIZE_ERROR" if stub else "INSUFFICIENT_FUNDS",
                    "workingOrderId": order.deal_id,
                },
            )
            return
        sign = 1 if order.direction == "BUY" else -1
        # Brackets of a working order are distances, re-applied around the actual fill.
        stop = (
            instrument.quantize(price - sign * order.stop_distance)
            if order.stop_distance is not None
            else None
        )
        target = instrument.quantize(price + sign * order.profit_distance) if order.profit_distance else None
        protection = Protection(trailing_stop=order.trailing_stop, guaranteed_stop=order.guaranteed_stop)
        request = OrderRequest(
            order.epic, order.direction, order.size, protection, order.level, order.order_type
        )
        levels = _FillLevels(stop, target, order.stop_distance)
        remaining = order.size
        if not account.hedging:
            remaining = self._net_against(account, request, price, [])
        if remaining > 0:
            self._new_position(account, request, order.deal_id, remaining, price, levels, source="SYSTEM")

    def _expire_orders(self, accounts: list[Account], now: datetime) -> None:
        for account in accounts:
            for order in list(account.orders.values()):
                if order.good_till is not None and order.good_till <= now:
                    self._event_time = order.good_till
                    try:
                        self.delete_order(account, order.deal_id, source="SYSTEM", status="EXPIRED")
                    finally:
                        self._event_time = None

    def _charge_funding(self, accounts: list[Account], after: datetime, until: datetime) -> None:
        """Overnight funding at 22:00 UTC on each trading day a position is held over."""
        charge_time = after.replace(hour=FUNDING_HOUR_UTC, minute=0, second=0, microsecond=0)
        if charge_time <= after:
            charge_time += timedelta(days=1)
        while charge_time <= until:
            for account in accounts:
                for position in list(account.positions.values()):
                    instrument = BY_EPIC[position.epic]
                    if position.created >= charge_time or not instrument.open_segments(charge_time.weekday()):
                        continue
                    rate = instrument.long_rate if position.direction == "BUY" else instrument.short_rate
                    quote = self.market.process.quote(position.epic, charge_time)
                    notional = self.market.convert(
                        position.size * Decimal(repr(quote.mid)), instrument.currency, account.currency
                    )
                    fee = (notional * rate / 100).quantize(CENT, ROUND_HALF_UP)
                    if fee:
                        account.balance += fee
                        account.transactions.append(
                            Transaction(
                                charge_time,
                                "SWAP",
                                "Overnight fee",
                                position.deal_id[-8:],
                                fee,
                                account.currency,
                                position.epic,
                            )
                        )
            charge_time += timedelta(days=1)

    def _close_out_if_needed(self, account: Account) -> None:
        while account.positions:
            figures = self.figures(account)
            if figures.balance + figures.profit_loss >= figures.deposit * CLOSE_OUT_MARGIN_LEVEL:
                return
            worst = min(account.positions.values(), key=lambda p: self.upl(account, p))
            if not self.market.is_open(worst.epic):
                return
            self.close_position(account, worst.deal_id, source="CLOSE_OUT")


@dataclass(frozen=True)
class _FillLevels:
    stop_level: Decimal | None
    profit_level: Decimal | None
    stop_distance: Decimal | None


def _as_request(order: WorkingOrder) -> OrderRequest:
    return OrderRequest(order.epic, order.direction, order.size, Protection(), order.level, order.order_type)


def _order_triggered(order: WorkingOrder, bid: Decimal, ask: Decimal) -> bool:
    """BUY orders trade at the ask, SELL orders at the bid; LIMIT wants better, STOP wants a breakout."""
    if order.direction == "BUY":
        return ask <= order.level if order.order_type == "LIMIT" else ask >= order.level
    return bid >= order.level if order.order_type == "LIMIT" else bid <= order.level
