"""Read requests. Every query filters by the requesting user's id in our own data."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import or_, select

from tt_contracts import broker as c
from tt_runtime.errors import NotFoundError, PermanentError

from ..adapters.base import VenueError
from ..domain import IntentKind, IntentState, circuit_state, protection_status
from ..models import account, order_intent, position
from ..repository import account_key, owned_account
from . import events
from .context import Context


def _circuit(row) -> str:
    return circuit_state(row.circuit_open_until, datetime.now(UTC))


def _session(row) -> str:
    return row.session_state or "unknown"


# ListIntents.intent_kind speaks the user's words; the log stores the executor's.
INTENT_KINDS = {"place": IntentKind.OPEN, "close": IntentKind.CLOSE, "cancel": IntentKind.CANCEL}
LIVE_ORDER_STATES = (
    IntentState.NEW.value,
    IntentState.SENDING.value,
    IntentState.ACCEPTED.value,
    IntentState.UNKNOWN.value,
    IntentState.RECONCILED_FILLED.value,
)


class Queries:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def positions(self, r: c.ListPositions) -> c.PositionsReply:
        q = select(position).where(position.c.user_id == r.user_id, position.c.status == "open")
        if r.account_id is not None:
            q = q.where(position.c.account_id == r.account_id)
        async with self.ctx.runtime.db.engine.connect() as conn:
            rows = (await conn.execute(q.order_by(position.c.opened_at))).all()
        return c.PositionsReply(
            positions=[
                c.PositionView(
                    position_id=p.id,
                    account_id=p.account_id,
                    instrument=events.instrument(p),
                    side=p.side,
                    size=p.size,
                    open_price=p.open_price,
                    unrealized_pnl=p.upl or Decimal(0),
                    protection=events.protection(p.protection),
                    protection_status=protection_status(p.protection, emulated=p.account_id is None),
                    current_price=p.current_price,
                    opened_at=p.opened_at,
                )
                for p in rows
            ]
        )

    async def summary(self, r: c.GetAccountSummary) -> c.AccountSummaryReply:
        async with self.ctx.runtime.db.engine.connect() as conn:
            row = await owned_account(conn, r.user_id, r.account_id)
        if row is None:
            raise NotFoundError("no such account")
        balance, available, margin, pnl, as_of = (
            row.balance,
            row.available,
            row.margin,
            row.profit_loss,
            row.summary_at,
        )
        try:
            adapter = await self.ctx.adapter(str(row.id), row.user_id, row.id)
            snap = await adapter.account_summary()
            balance, available, margin, pnl, as_of = (
                snap.balance,
                snap.available,
                snap.margin,
                snap.profit_loss,
                datetime.now(UTC),
            )
        except VenueError:
            pass  # the last polled figures, with their as_of
        zero = Decimal(0)
        return c.AccountSummaryReply(
            account_id=row.id,
            currency=row.currency,
            balance=balance or zero,
            available=available or zero,
            margin=margin or zero,
            profit_loss=pnl or zero,
            circuit_state=_circuit(row),
            circuit_open_until=row.circuit_open_until,
            as_of=as_of,
        )

    async def accounts(self, r: c.ListAccounts) -> c.AccountsReply:
        async with self.ctx.runtime.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(account).where(account.c.user_id == r.user_id).order_by(account.c.created_at)
                )
            ).all()
        return c.AccountsReply(
            accounts=[
                c.AccountView(
                    account_id=a.id,
                    broker=a.broker,
                    environment=a.environment,
                    label=a.label,
                    currency=a.currency,
                    status=a.status,
                    circuit_state=_circuit(a),
                    session_state=_session(a),
                    last_error=a.last_error,
                    connected_at=a.created_at,
                )
                for a in rows
            ]
        )

    def _intents(self, user_id, account_id):
        q = select(order_intent).where(order_intent.c.user_id == user_id)
        if account_id is not None:
            q = q.where(order_intent.c.account_key == account_key(user_id, account_id))
        return q

    async def orders(self, r: c.ListOrders) -> c.OrdersReply:
        q = self._intents(r.user_id, r.account_id).where(
            order_intent.c.kind == IntentKind.OPEN.value,
            order_intent.c.order_type != "MARKET",
            order_intent.c.state.in_(LIVE_ORDER_STATES),
            or_(order_intent.c.order_status.is_(None), order_intent.c.order_status == "working"),
        )
        async with self.ctx.runtime.db.engine.connect() as conn:
            rows = (await conn.execute(q.order_by(order_intent.c.created_at))).all()
        return c.OrdersReply(
            orders=[
                c.OrderView(
                    order_id=i.id,
                    account_id=i.account_id,
                    instrument=events.instrument(i),
                    side=i.side,
                    size=i.size,
                    order_type=i.order_type,
                    level=i.level,
                    state=i.state,
                    deal_id=i.deal_id,
                    oco_group=i.oco_group,
                    protection=events.protection(i.protection),
                    created_at=i.created_at,
                )
                for i in rows
            ]
        )

    async def intents(self, r: c.ListIntents) -> c.IntentsReply:
        q = self._intents(r.user_id, r.account_id)
        if r.intent_kind is not None:
            kind = INTENT_KINDS.get(r.intent_kind.lower())
            if kind is None:
                raise PermanentError("intent_kind must be one of: place, close, cancel")
            q = q.where(order_intent.c.kind == kind.value)
        if r.epic is not None:
            q = q.where(order_intent.c.epic == r.epic)
        if r.side is not None:
            q = q.where(order_intent.c.side == r.side.value)
        if r.state is not None:
            q = q.where(order_intent.c.state == r.state.upper())
        if r.since is not None:
            q = q.where(order_intent.c.created_at >= r.since)
        if r.until is not None:
            q = q.where(order_intent.c.created_at < r.until)
        q = q.order_by(order_intent.c.created_at.desc(), order_intent.c.id).limit(r.limit)
        async with self.ctx.runtime.db.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return c.IntentsReply(
            intents=[
                c.IntentView(
                    intent_id=i.id,
                    idempotency_key=i.idempotency_key,
                    kind=i.kind,
                    account_id=i.account_id,
                    instrument=events.instrument(i) if i.epic else None,
                    side=i.side,
                    size=i.size,
                    state=i.state,
                    reason_code=i.reason_code,
                    reason=i.reason,
                    attempts=i.attempts,
                    deal_reference=i.deal_reference,
                    deal_id=i.deal_id,
                    venue_replies=i.venue_replies or [],
                    reconciliation=i.reconciliation,
                    created_at=i.created_at,
                    sent_at=i.sent_at,
                )
                for i in rows
            ]
        )
