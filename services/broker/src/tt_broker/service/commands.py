"""Commands become intents: one row per idempotency key, written before any venue call.

The command handler only validates, records the intent (or its refusal) and wakes the account's
executor; the intent row is the durable queue from there on.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select

from tt_contracts import broker as c
from tt_runtime.db import UnitOfWork

from ..domain import IntentKind, IntentState, priority
from ..models import order_intent, position
from ..repository import account_key, insert_intent, owned_account
from . import events
from .context import Context


class Commands:
    def __init__(self, ctx: Context, wake: Any) -> None:
        self.ctx = ctx
        self.wake = wake

    async def _base(self, cmd: Any, kind: IntentKind, uow: UnitOfWork) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "idempotency_key": cmd.idempotency_key,
            "kind": kind.value,
            "priority": priority(kind),
            "user_id": cmd.user_id,
            "account_id": cmd.account_id,
            "account_key": account_key(cmd.user_id, cmd.account_id),
            "state": IntentState.NEW.value,
            "command_id": cmd.message_id,
            "correlation_id": cmd.correlation_id or cmd.message_id,
            "expires_at": cmd.expires_at,
        }

    async def _refusal(self, cmd: Any, uow: UnitOfWork) -> tuple[str, str] | None:
        if cmd.expired():
            return "stale_command", "the command expired before it could be executed"
        if (
            cmd.account_id is not None
            and await owned_account(uow.session, cmd.user_id, cmd.account_id) is None
        ):
            return "account_not_found", "no such active account"
        return None

    async def _record(self, cmd: Any, rows: list[dict[str, Any]], uow: UnitOfWork) -> None:
        """Record the command's intents (one, or the two legs of an OCO pair) or their refusal."""
        first = rows[0]
        refusal = await self._refusal(cmd, uow)
        if refusal is None and first["kind"] == IntentKind.CLOSE.value:
            refusal = await self._close_target(cmd, first, uow)
        if refusal is None and first["kind"] == IntentKind.CANCEL.value:
            refusal = await self._cancel_target(cmd, first, uow)
        if refusal is None and first["kind"] == IntentKind.OPEN.value:
            refusal = _missing_level(rows)
        if refusal is not None:
            for values in rows:
                values.update(state=IntentState.REJECTED.value, reason_code=refusal[0], reason=refusal[1])
        if not await insert_intent(uow.session, first):
            return  # this idempotency key already has an intent: it runs (or ran) once, on its own path
        for values in rows[1:]:
            await insert_intent(uow.session, values)
        if refusal is not None:
            for values in rows:
                row = (await uow.execute(select(order_intent).where(order_intent.c.id == values["id"]))).one()
                await uow.publish(c.ORDER_REJECTED, events.rejected(row, *refusal))
        # Commit now (inbox + intents + outbox together) so the executor can see the intents at once.
        await uow.flush_outbox()
        await uow.session.commit()
        if refusal is None:
            self.wake(first["account_key"], first["user_id"], first["account_id"])

    async def place(self, cmd: c.PlaceOrder, uow: UnitOfWork) -> None:
        values = await self._base(cmd, IntentKind.OPEN, uow)
        values.update(
            venue=cmd.instrument.venue,
            epic=cmd.instrument.symbol,
            side=cmd.side.value,
            size=cmd.size,
            order_type=cmd.order_type.value,
            level=cmd.level,
            protection=cmd.protection.model_dump(mode="json", exclude_defaults=True),
            bot_id=cmd.bot_id,
            decision_id=cmd.decision_id,
        )
        rows = [values]
        if cmd.oco is not None:
            # The second leg is its own intent (own key, at most one venue request), linked by the group.
            group = uuid.uuid5(uuid.NAMESPACE_URL, f"oco:{cmd.user_id}:{cmd.idempotency_key}")
            leg = dict(
                values,
                id=uuid.uuid4(),
                idempotency_key=f"{cmd.idempotency_key}:oco",
                side=cmd.oco.side.value,
                order_type=cmd.oco.order_type.value,
                level=cmd.oco.level,
                protection=cmd.oco.protection.model_dump(mode="json", exclude_defaults=True),
            )
            values.update(oco_group=group, oco_leg=1)
            leg.update(oco_group=group, oco_leg=2)
            rows.append(leg)
        await self._record(cmd, rows, uow)

    async def close(self, cmd: c.ClosePosition, uow: UnitOfWork) -> None:
        values = await self._base(cmd, IntentKind.CLOSE, uow)
        values.update(target_id=cmd.position_id, size=cmd.size)
        await self._record(cmd, [values], uow)

    async def cancel(self, cmd: c.CancelOrder, uow: UnitOfWork) -> None:
        values = await self._base(cmd, IntentKind.CANCEL, uow)
        values.update(target_id=cmd.order_id)
        await self._record(cmd, [values], uow)

    async def _close_target(self, cmd: c.ClosePosition, values: dict[str, Any], uow: UnitOfWork):
        pos = (
            await uow.execute(
                select(position).where(
                    position.c.id == cmd.position_id,
                    position.c.user_id == cmd.user_id,
                    position.c.account_key == values["account_key"],
                    position.c.status == "open",
                )
            )
        ).first()
        if pos is None:
            return "position_not_found", "no such open position"
        if cmd.size is not None and cmd.size != pos.size:
            return "partial_close_unsupported", "the venue closes whole positions only"
        values.update(venue=pos.venue, epic=pos.epic, side=pos.side, size=pos.size, deal_id=pos.deal_id)
        return None

    async def _cancel_target(self, cmd: c.CancelOrder, values: dict[str, Any], uow: UnitOfWork):
        target = (
            await uow.execute(
                select(order_intent).where(
                    order_intent.c.id == cmd.order_id,
                    order_intent.c.user_id == cmd.user_id,
                    order_intent.c.account_key == values["account_key"],
                    order_intent.c.kind == IntentKind.OPEN.value,
                    order_intent.c.order_type != "MARKET",
                    order_intent.c.state.in_(
                        [IntentState.ACCEPTED.value, IntentState.RECONCILED_FILLED.value]
                    ),
                    or_(order_intent.c.order_status.is_(None), order_intent.c.order_status == "working"),
                )
            )
        ).first()
        if target is None:
            return "order_not_found", "no such working order"
        values.update(
            venue=target.venue, epic=target.epic, side=target.side, size=target.size, deal_id=target.deal_id
        )
        return None


def _missing_level(rows: list[dict[str, Any]]) -> tuple[str, str] | None:
    if any(r["order_type"] != c.OrderType.MARKET.value and r["level"] is None for r in rows):
        return "invalid_order", "level required"
    return None


def derived_intent(kind: IntentKind, source: Any, idempotency_key: str, **values: Any) -> dict[str, Any]:
    """An intent the service decides on its own (cancel the other OCO leg, close an unwanted fill,
    an emulated stop): a deterministic key makes deciding twice harmless, and it runs through the
    same executor, queue priority and intent log as a user's command."""
    return {
        "id": uuid.uuid4(),
        "idempotency_key": idempotency_key,
        "kind": kind.value,
        "priority": priority(kind),
        "user_id": source.user_id,
        "account_id": source.account_id,
        "account_key": source.account_key,
        "venue": source.venue,
        "epic": source.epic,
        "side": source.side,
        "size": source.size,
        "state": IntentState.NEW.value,
        "correlation_id": getattr(source, "correlation_id", None),
        **values,
    }
