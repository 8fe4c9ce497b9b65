"""Trading commands, published through the gateway's outbox. Each carries the idempotency key the
caller chose (the web ticket puts one in the form when it is rendered) and expires a minute later, so
a command stuck on the way never executes late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

from tt_contracts import Command, Route, registry
from tt_contracts import broker as c
from tt_runtime.service import ServiceRuntime

from ...deps import Principal
from .ticket import CheckedOrder

COMMAND_LIFETIME = timedelta(seconds=60)
C = TypeVar("C", bound=Command)


def _expiry() -> datetime:
    return datetime.now(UTC) + COMMAND_LIFETIME


async def place(
    runtime: ServiceRuntime, user: Principal, account_id: UUID | None, key: str, order: CheckedOrder
) -> c.PlaceOrder:
    command = c.PlaceOrder(
        producer="gateway",
        user_id=user.user_id,
        account_id=account_id,
        idempotency_key=key,
        instrument=order.instrument,
        side=order.side,
        size=order.size,
        order_type=order.order_type,
        level=order.level,
        protection=order.protection,
        oco=order.oco,
        expires_at=_expiry(),
    )
    return await _send(runtime, registry.ORDER_PLACE, command)


async def close(
    runtime: ServiceRuntime,
    user: Principal,
    account_id: UUID | None,
    key: str,
    position_id: UUID,
    size: Decimal | None,
) -> c.ClosePosition:
    command = c.ClosePosition(
        producer="gateway",
        user_id=user.user_id,
        account_id=account_id,
        idempotency_key=key,
        position_id=position_id,
        size=size,
        expires_at=_expiry(),
    )
    return await _send(runtime, registry.POSITION_CLOSE, command)


async def cancel(
    runtime: ServiceRuntime, user: Principal, account_id: UUID | None, key: str, order_id: UUID
) -> c.CancelOrder:
    command = c.CancelOrder(
        producer="gateway",
        user_id=user.user_id,
        account_id=account_id,
        idempotency_key=key,
        order_id=order_id,
        expires_at=_expiry(),
    )
    return await _send(runtime, registry.ORDER_CANCEL, command)


async def _send(runtime: ServiceRuntime, route: Route, command: C) -> C:
    """Through the gateway's outbox: the command leaves once its transaction commits."""
    async with runtime.unit_of_work() as uow:
        await uow.publish(route, command)
    return command
