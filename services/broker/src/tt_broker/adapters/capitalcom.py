"""Capital.com through ``tt_capitalcom``: one client (one login) per connected account.

Maps the client's error taxonomy onto the adapter's: a trade request that may have reached the venue
is ``VenueAmbiguous`` (reconcile, never re-send); a 429 or a connection that never opened is
``VenueTransient`` (nothing happened); validation and dealing-rule errors are ``VenuePermanent``; a
REJECTED confirm is ``VenueRejected``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import SecretStr

from tt_capitalcom import (
    AmbiguousOutcomeError,
    AuthenticationError,
    CapitalComClient,
    CapitalComConfig,
    CapitalComError,
    DealRejectedError,
    Direction,
    NotFoundError,
    PermanentError,
    Protection,
    TransientError,
    WorkingOrderType,
)

from ..domain import DealingRules
from .base import (
    AccountSnapshot,
    Fill,
    MarketInfo,
    OrderSpec,
    ProtectionSpec,
    VenueActivity,
    VenueAmbiguous,
    VenueAuthError,
    VenueError,
    VenuePermanent,
    VenuePosition,
    VenueRejected,
    VenueTransient,
    VenueWorkingOrder,
)

T = TypeVar("T")
MARKET_CACHE_SECONDS = 30.0


def _map(exc: CapitalComError) -> VenueError:
    detail = {"status": exc.status_code, "error_code": exc.error_code}
    if isinstance(exc, AmbiguousOutcomeError):
        return VenueAmbiguous(str(exc), detail=detail)
    if isinstance(exc, AuthenticationError):
        return VenueAuthError("the venue refused the credentials", detail=detail)
    if isinstance(exc, DealRejectedError):
        return VenueRejected(
            f"deal rejected: {exc.reason}", code=(exc.reason or "venue_rejected"), detail=detail
        )
    if isinstance(exc, TransientError):
        return VenueTransient(str(exc), retry_after=exc.retry_after, detail=detail)
    if isinstance(exc, PermanentError):
        code = exc.base_code or ("not_found" if isinstance(exc, NotFoundError) else "venue_invalid")
        return VenuePermanent(str(exc), code=code, detail=detail)
    return VenueTransient(str(exc), detail=detail)


def _protection(spec: ProtectionSpec) -> Protection | None:
    if spec == ProtectionSpec():
        return None
    return Protection(
        stop_level=spec.stop_level,
        stop_distance=spec.stop_distance,
        profit_level=spec.profit_level,
        profit_distance=spec.profit_distance,
        trailing_stop=spec.trailing_stop,
        guaranteed_stop=spec.guaranteed_stop,
    )


def _rule(value: Any) -> Decimal | None:
    return None if value is None else value.value


class CapitalComAdapter:
    def __init__(
        self,
        *,
        identifier: str,
        api_key: SecretStr,
        password: SecretStr,
        environment: str = "demo",
        rest_url: str | None = None,
        request_timeout: float = 10.0,
        confirm_timeout: float = 15.0,
        encrypted_password: bool = True,
    ) -> None:
        self.client = CapitalComClient(
            CapitalComConfig(
                api_key=api_key,
                identifier=identifier,
                password=password,
                environment=environment,
                rest_url=rest_url,
                request_timeout=request_timeout,
                confirm_timeout=confirm_timeout,
                encrypted_password=encrypted_password,
                backoff_initial=0.1,
                backoff_max=1.0,
            )
        )
        self._markets: dict[str, tuple[float, MarketInfo]] = {}

    def __repr__(self) -> str:
        return "CapitalComAdapter()"

    async def _call(self, func: Callable[[], Awaitable[T]]) -> T:
        try:
            return await func()
        except CapitalComError as exc:
            raise _map(exc) from None

    # --- account ------------------------------------------------------------------------------
    async def validate(self) -> AccountSnapshot:
        await self._call(self.client.login)
        return await self.account_summary()

    async def account_summary(self) -> AccountSnapshot:
        accounts = await self._call(self.client.get_accounts)
        session = self.client.session
        current = session.current_account_id if session else None
        account = next((a for a in accounts if a.account_id == current), None) or next(
            (a for a in accounts if a.preferred), accounts[0]
        )
        bal = account.balance
        balance = (bal.balance if bal else None) or Decimal(0)
        available = (bal.available if bal else None) or Decimal(0)
        pnl = (bal.profit_loss if bal else None) or Decimal(0)
        return AccountSnapshot(
            currency=account.currency or "USD",
            balance=balance,
            available=available,
            margin=max(Decimal(0), balance + pnl - available),
            profit_loss=pnl,
            venue_account_id=account.account_id,
        )

    async def market_info(self, epic: str) -> MarketInfo:
        cached = self._markets.get(epic)
        if cached and time.monotonic() - cached[0] < MARKET_CACHE_SECONDS:
            return cached[1]
        details = await self._call(lambda: self.client.get_market(epic))
        rules = details.dealing_rules
        snap = details.snapshot
        price = (snap.offer if snap else None) or (snap.bid if snap else None)
        min_stop = rules.min_stop_or_profit_distance if rules else None
        min_stop_value = _rule(min_stop)
        if min_stop_value is not None and min_stop and min_stop.unit == "PERCENTAGE":
            min_stop_value = (price * min_stop_value / 100) if price else None
        factor = details.instrument.margin_factor
        if factor is not None and details.instrument.margin_factor_unit == "PERCENTAGE":
            factor = factor / 100
        info = MarketInfo(
            epic=epic,
            rules=DealingRules(
                min_size=_rule(rules.min_deal_size) if rules else None,
                max_size=_rule(rules.max_deal_size) if rules else None,
                size_step=_rule(rules.min_size_increment) if rules else None,
                min_stop_distance=min_stop_value,
                margin_factor=factor,
                market_open=(snap.market_status == "TRADEABLE") if snap else True,
            ),
            bid=snap.bid if snap else None,
            offer=snap.offer if snap else None,
        )
        self._markets[epic] = (time.monotonic(), info)
        return info

    async def venue_time(self) -> datetime:
        return await self._call(self.client.server_time)

    # --- trades: each sends at most one request -------------------------------------------------
    async def place(self, order: OrderSpec) -> Fill:
        direction = Direction(order.side)
        protection = _protection(order.protection)
        if order.order_type == "MARKET":
            reference = await self._call(
                lambda: self.client.create_position(order.epic, direction, order.size, protection=protection)
            )
        else:
            assert order.level is not None
            reference = await self._call(
                lambda: self.client.create_working_order(
                    order.epic,
                    direction,
                    order.size,
                    order.level,
                    WorkingOrderType(order.order_type),
                    protection=protection,
                )
            )
        return await self.confirm(reference, opened=order.order_type == "MARKET")

    async def confirm(self, deal_reference: str, *, opened: bool = True) -> Fill:
        try:
            confirmation = await self.client.await_confirm(deal_reference)
        except AmbiguousOutcomeError as exc:
            raise VenueAmbiguous(str(exc), deal_reference=deal_reference) from None
        except CapitalComError as exc:
            raise _map(exc) from None
        deal_id = confirmation.deal_id or ""
        if opened:
            affected = [d.deal_id for d in confirmation.affected_deals if d.status == "OPENED"]
            deal_id = affected[0] if affected else deal_id
        return Fill(
            deal_reference=deal_reference,
            deal_id=deal_id,
            level=confirmation.level,
            size=confirmation.size,
            raw=confirmation.model_dump(mode="json", exclude_none=True),
            profit=confirmation.profit,
        )

    async def close(self, deal_id: str, size: Decimal | None = None) -> Fill:
        reference = await self._call(lambda: self.client.close_position(deal_id))
        return await self.confirm(reference, opened=False)

    async def amend(self, deal_id: str, protection: ProtectionSpec) -> Fill:
        full = _protection(protection) or Protection()
        reference = await self._call(lambda: self.client.update_position(deal_id, full))
        return await self.confirm(reference, opened=False)

    async def cancel(self, deal_id: str) -> Fill:
        reference = await self._call(lambda: self.client.delete_working_order(deal_id))
        return await self.confirm(reference, opened=False)

    # --- state --------------------------------------------------------------------------------
    async def positions(self) -> list[VenuePosition]:
        entries = await self._call(self.client.get_positions)
        out = []
        for entry in entries:
            p, m = entry.position, entry.market
            out.append(
                VenuePosition(
                    deal_id=p.deal_id,
                    epic=m.epic if m else "",
                    side=p.direction,
                    size=p.size,
                    level=p.level or Decimal(0),
                    created_at=p.created_date_utc,
                    upl=p.upl,
                    currency=p.currency,
                    bid=m.bid if m else None,
                    offer=m.offer if m else None,
                    protection=ProtectionSpec(
                        stop_level=p.stop_level,
                        stop_distance=p.stop_distance,
                        profit_level=p.profit_level,
                        trailing_stop=bool(p.trailing_stop),
                        guaranteed_stop=bool(p.guaranteed_stop),
                    ),
                    working_order_id=p.working_order_id,
                )
            )
        return out

    async def working_orders(self) -> list[VenueWorkingOrder]:
        entries = await self._call(self.client.get_working_orders)
        return [
            VenueWorkingOrder(
                deal_id=w.deal_id,
                epic=w.epic,
                side=w.direction,
                size=w.order_size or Decimal(0),
                level=w.order_level or Decimal(0),
                order_type=w.order_type or "LIMIT",
                created_at=w.created_date_utc,
            )
            for w in (e.working_order_data for e in entries)
        ]

    async def activity(self, start: datetime, end: datetime) -> list[VenueActivity]:
        items = await self._call(lambda: self.client.get_activity(start=start, end=end, detailed=True))
        return [
            VenueActivity(
                deal_id=a.deal_id or "",
                epic=a.epic or "",
                side=a.details.direction if a.details else None,
                size=a.details.size if a.details else None,
                level=a.details.level if a.details else None,
                at=a.date_utc,
                kind=a.type or "",
                status=a.status or "",
                source=a.source,
            )
            for a in items
        ]

    async def aclose(self) -> None:
        await self.client.aclose()
