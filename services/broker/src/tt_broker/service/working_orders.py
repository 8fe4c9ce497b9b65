"""Working orders after acceptance: fills, cancels and expiries seen at the venue, and OCO emulation.

Capital.com reports no order events and has no native OCO, so each monitor pass (under the account's
executor lock) compares our live working orders with the venue's: an order that left the book became
a position (linked through the position's ``workingOrderId``) or was cancelled / expired (the activity
history says which). Then every OCO pair with something to do is resolved (``domain.resolve_oco``):
the survivor of a fill is cancelled and an unwanted second fill is closed, each as an intent with a
deterministic key, so deciding twice is harmless and the executor sends each request at most once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update

from tt_contracts import broker as c

from ..adapters.base import BrokerAdapter, VenuePosition, protection_json
from ..domain import IntentKind, IntentState, LegStatus, OcoLegState, resolve_oco
from ..models import order_intent, position
from ..repository import insert_intent, new_position_row
from . import events
from .commands import derived_intent
from .context import Context
from .executor import Executor

ACCEPTED = (IntentState.ACCEPTED.value, IntentState.RECONCILED_FILLED.value)
PENDING = (IntentState.NEW.value, IntentState.SENDING.value, IntentState.UNKNOWN.value)
ENDED = (IntentState.REJECTED.value, IntentState.RECONCILED_NOT_PLACED.value)
ACTIVITY_WINDOW = timedelta(hours=23)  # the venue answers at most one day of activity per request


def _working():
    """Accepted working orders not yet known to have left the book."""
    return and_(
        order_intent.c.kind == IntentKind.OPEN.value,
        order_intent.c.order_type != "MARKET",
        order_intent.c.state.in_(ACCEPTED),
        or_(order_intent.c.order_status.is_(None), order_intent.c.order_status == "working"),
    )


def leg_status(row: Any) -> LegStatus:
    if row.state in PENDING:
        return LegStatus.PENDING
    if row.state in ENDED or row.order_status in ("cancelled", "expired"):
        return LegStatus.ENDED
    return LegStatus.FILLED if row.order_status == "filled" else LegStatus.WORKING


class WorkingOrders:
    def __init__(self, ctx: Context, executor: Executor) -> None:
        self.ctx = ctx
        self.executor = executor

    async def reconcile(
        self, key: str, adapter: BrokerAdapter, venue_positions: list[VenuePosition], diff: list, fixes: list
    ) -> None:
        await self._outcomes(key, adapter, venue_positions, diff, fixes)
        await self._resolve_pairs(key, diff, fixes)

    # --- what became of each working order ------------------------------------------------------------
    async def _outcomes(
        self, key: str, adapter: BrokerAdapter, venue_positions: list[VenuePosition], diff: list, fixes: list
    ) -> None:
        async with self.ctx.runtime.db.engine.connect() as conn:
            live = (
                await conn.execute(select(order_intent).where(order_intent.c.account_key == key, _working()))
            ).all()
            cancelling = set(
                (
                    await conn.execute(
                        select(order_intent.c.target_id).where(
                            order_intent.c.account_key == key,
                            order_intent.c.kind == IntentKind.CANCEL.value,
                            order_intent.c.state.in_(PENDING),
                        )
                    )
                ).scalars()
            )
        if not live:
            return
        on_book = {w.deal_id for w in await adapter.working_orders()}
        by_order = {p.working_order_id: p for p in venue_positions if p.working_order_id}
        history: dict[str, tuple[str, Any]] | None = None
        for intent in live:
            if intent.deal_id in on_book:
                continue
            filled = by_order.get(intent.deal_id)
            if filled is not None:
                if await self._filled(intent, filled):
                    diff.append(
                        {"order": str(intent.id), "kind": "working_order_filled", "deal_id": filled.deal_id}
                    )
                    fixes.append({"order": str(intent.id), "fix": "linked the fill's position"})
                continue
            if intent.id in cancelling:
                continue  # our own cancel is in flight: its outcome records the order's end
            if history is None:
                history = await self._history(adapter)
            outcome, at = history.get(intent.deal_id, ("cancelled", None))
            await self._ended(intent, outcome, at)
            diff.append({"order": str(intent.id), "kind": f"working_order_{outcome}"})
            fixes.append({"order": str(intent.id), "fix": f"marked {outcome}"})

    async def _history(self, adapter: BrokerAdapter) -> dict[str, tuple[str, Any]]:
        """Working-order outcomes from the venue's recent activity: deal id -> (outcome, venue time)."""
        now = await adapter.venue_time()
        outcomes: dict[str, tuple[str, Any]] = {}
        for a in await adapter.activity(now - ACTIVITY_WINDOW, now):
            if a.kind != "WORKING_ORDER":
                continue
            outcome = {"EXECUTED": "filled", "EXPIRED": "expired"}.get(a.status, "cancelled")
            if a.status in ("EXECUTED", "EXPIRED", "CANCELLED", "DELETED"):
                outcomes[a.deal_id] = (outcome, a.at)
        return outcomes

    async def _filled(self, intent: Any, p: VenuePosition) -> bool:
        """The order became venue position ``p``: link (or record) the position and announce the fill."""
        async with self.ctx.runtime.unit_of_work() as uow:
            done = await uow.execute(
                update(order_intent)
                .where(order_intent.c.id == intent.id, _working())
                .values(order_status="filled", filled_at=p.created_at, fill_price=p.level)
            )
            if done.rowcount != 1:
                return False
            cause = events.causality(intent)
            existing = (
                await uow.execute(
                    select(position).where(
                        position.c.account_key == intent.account_key, position.c.deal_id == p.deal_id
                    )
                )
            ).first()
            if existing is not None:  # adopted earlier as an unknown venue position: it is ours
                position_id = existing.id
                await uow.execute(
                    update(position)
                    .where(position.c.id == existing.id)
                    .values(intent_id=intent.id, origin="intent")
                )
            else:
                pos = new_position_row(
                    intent,
                    deal_id=p.deal_id,
                    side=p.side,
                    size=p.size,
                    open_price=p.level,
                    protection=protection_json(p.protection),
                    currency=p.currency,
                    upl=p.upl,
                    current_price=p.close_price,
                )
                if p.created_at is not None:
                    pos["opened_at"] = p.created_at
                position_id = pos["id"]
                await uow.execute(position.insert().values(**pos))
                await uow.publish(c.POSITION_OPENED, events.opened(pos, cause))
            await uow.publish(c.ORDER_FILLED, events.filled(intent, position_id, p.level, p.size))
        return True

    async def _ended(self, intent: Any, outcome: str, at: Any) -> None:
        async with self.ctx.runtime.unit_of_work() as uow:
            done = await uow.execute(
                update(order_intent)
                .where(order_intent.c.id == intent.id, _working())
                .values(order_status=outcome, **({"filled_at": at} if outcome == "filled" else {}))
            )
            if done.rowcount == 1 and outcome != "filled":
                await uow.publish(
                    c.ORDER_CANCELLED,
                    c.OrderCancelled(
                        user_id=intent.user_id,
                        order_id=intent.id,
                        account_id=intent.account_id,
                        reason=f"{outcome} at the venue",
                        **events.causality(intent),
                    ),
                )

    # --- OCO pairs ----------------------------------------------------------------------------------------
    async def _resolve_pairs(self, key: str, diff: list, fixes: list) -> None:
        open_fills = select(position.c.intent_id).where(
            position.c.account_key == key, position.c.status == "open", position.c.intent_id.is_not(None)
        )
        unsettled = (
            select(order_intent.c.oco_group)
            .where(
                order_intent.c.account_key == key,
                order_intent.c.oco_group.is_not(None),
                or_(order_intent.c.state.in_(PENDING), _working(), order_intent.c.id.in_(open_fills)),
            )
            .distinct()
        )
        woke = False
        async with self.ctx.runtime.unit_of_work() as uow:
            legs = (
                await uow.execute(select(order_intent).where(order_intent.c.oco_group.in_(unsettled)))
            ).all()
            if not legs:
                return
            positions = {
                p.intent_id: p
                for p in (
                    await uow.execute(
                        select(position).where(
                            position.c.intent_id.in_([leg.id for leg in legs]), position.c.status == "open"
                        )
                    )
                ).all()
            }
            groups: dict[Any, list[Any]] = {}
            for leg in legs:
                groups.setdefault(leg.oco_group, []).append(leg)
            for group, rows in groups.items():
                by_id = {str(r.id): r for r in rows}
                decision = resolve_oco(
                    [
                        OcoLegState(
                            str(r.id),
                            r.oco_leg or 1,
                            leg_status(r),
                            r.filled_at,
                            str(positions[r.id].id) if r.id in positions else None,
                        )
                        for r in rows
                    ]
                )
                for intent_id in decision.cancel:
                    leg = by_id[intent_id]
                    why = (
                        "the other leg filled"
                        if any(leg_status(r) is LegStatus.FILLED for r in rows)
                        else ("the other leg ended without a fill")
                    )
                    values = derived_intent(
                        IntentKind.CANCEL,
                        leg,
                        f"oco-cancel:{leg.id}",
                        target_id=leg.id,
                        deal_id=leg.deal_id,
                        reconciliation={"method": "oco", "group": str(group), "why": why},
                    )
                    if await insert_intent(uow.session, values):
                        woke = True
                        fixes.append({"order": intent_id, "fix": "oco cancel recorded", "why": why})
                closing = [p for p in positions.values() if str(p.id) in decision.close]
                if closing:
                    diff.append(
                        {
                            "kind": "oco_both_filled",
                            "group": str(group),
                            "kept": decision.kept,
                            "closing": [str(p.id) for p in closing],
                        }
                    )
                for pos in closing:
                    leg = next(r for r in rows if r.id == pos.intent_id)
                    values = derived_intent(
                        IntentKind.CLOSE,
                        pos,
                        f"oco-close:{pos.id}",
                        target_id=pos.id,
                        deal_id=pos.deal_id,
                        correlation_id=leg.correlation_id,
                        reconciliation={
                            "method": "oco",
                            "group": str(group),
                            "why": "both legs filled before the survivor could be cancelled; "
                            "closing the later fill so one position remains",
                            "kept": decision.kept,
                        },
                    )
                    if await insert_intent(uow.session, values):
                        woke = True
                        fixes.append({"position": str(pos.id), "fix": "oco close recorded"})
        if woke:
            first = legs[0]
            self.executor.wake(key, first.user_id, first.account_id)
