"""Build outgoing events from intent and position rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tt_contracts import broker as c
from tt_contracts.common import InstrumentRef, Side


def instrument(row: Any) -> InstrumentRef:
    return InstrumentRef(venue=row.venue or "capitalcom", symbol=row.epic)


def protection(data: dict[str, Any] | None) -> c.Protection:
    return c.Protection.model_validate(data or {})


def causality(intent: Any) -> dict[str, Any]:
    return {"correlation_id": intent.correlation_id, "causation_id": intent.command_id}


def rejected(intent: Any, reason_code: str, reason: str) -> c.OrderRejected:
    return c.OrderRejected(
        user_id=intent.user_id,
        idempotency_key=intent.idempotency_key,
        account_id=intent.account_id,
        reason_code=reason_code,
        reason=reason[:500],
        bot_id=intent.bot_id,
        decision_id=intent.decision_id,
        **causality(intent),
    )


def accepted(intent: Any, deal_reference: str | None) -> c.OrderAccepted:
    return c.OrderAccepted(
        user_id=intent.user_id,
        order_id=intent.id,
        idempotency_key=intent.idempotency_key,
        account_id=intent.account_id,
        instrument=instrument(intent),
        side=Side(intent.side),
        size=intent.size,
        order_type=c.OrderType(intent.order_type),
        deal_reference=deal_reference,
        bot_id=intent.bot_id,
        decision_id=intent.decision_id,
        **causality(intent),
    )


def filled(intent: Any, position_id: Any, price: Decimal, size: Decimal) -> c.OrderFilled:
    return c.OrderFilled(
        user_id=intent.user_id,
        order_id=intent.id,
        idempotency_key=intent.idempotency_key,
        account_id=intent.account_id,
        position_id=position_id,
        instrument=instrument(intent),
        side=Side(intent.side),
        size=size,
        price=price,
        bot_id=intent.bot_id,
        decision_id=intent.decision_id,
        **causality(intent),
    )


def opened(pos: dict[str, Any], cause: dict[str, Any] | None = None) -> c.PositionOpened:
    return c.PositionOpened(
        user_id=pos["user_id"],
        position_id=pos["id"],
        account_id=pos["account_id"],
        instrument=InstrumentRef(venue=pos.get("venue") or "capitalcom", symbol=pos["epic"]),
        side=Side(pos["side"]),
        size=pos["size"],
        open_price=pos["open_price"],
        protection=protection(pos.get("protection")),
        **(cause or {}),
    )


def closed(pos: Any, close_price: Decimal, pnl: Decimal, currency: str, cause: dict[str, Any] | None = None):
    return c.PositionClosed(
        user_id=pos.user_id,
        position_id=pos.id,
        account_id=pos.account_id,
        instrument=instrument(pos),
        close_price=close_price,
        realized_pnl=pnl,
        currency=currency,
        **(cause or {}),
    )
