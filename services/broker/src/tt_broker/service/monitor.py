"""Polling and reconciliation per account (Capital.com has no order event stream).

Each pass, under the account's executor lock: resolve UNKNOWN intents (confirm by deal reference, else
match venue deals by epic/direction/size after ``sent_at``; never re-send), follow working orders to
their fill or end and resolve OCO pairs (``working_orders.py``), then compare the venue's positions
with ours (opened / changed / closed, current price and the venue's protection), enforce emulated
exits on paper books, refresh the balance and session health, and log what differed and what was
fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import insert, select, update

from tt_contracts import broker as c
from tt_contracts.common import InstrumentRef

from ..adapters.base import BrokerAdapter, Fill, VenueError, VenueRejected, describe, protection_json
from ..domain import IntentKind, IntentState, PendingIntent, VenueDeal, match_deals
from ..models import account, order_intent, position, reconciliation_log
from ..repository import PAPER, intents_in, linked_deal_ids, move_intent, note_session, open_positions
from . import events
from .context import Context
from .executor import Executor
from .protection import EmulatedProtection
from .working_orders import WorkingOrders

log = structlog.get_logger(__name__)
PENDING = (IntentState.NEW, IntentState.SENDING, IntentState.UNKNOWN)


class Monitor:
    def __init__(self, ctx: Context, executor: Executor, guard: EmulatedProtection) -> None:
        self.ctx = ctx
        self.executor = executor
        self.guard = guard
        self.working = WorkingOrders(ctx, executor)
        self._task: asyncio.Task[None] | None = None

    async def recover(self) -> None:
        """At start: SENDING intents whose worker is gone become UNKNOWN; NEW intents are resumed."""
        now = datetime.now(UTC)
        async with self.ctx.runtime.unit_of_work() as uow:
            rows = (
                await uow.execute(
                    select(order_intent, account.c.lease_owner, account.c.lease_until)
                    .outerjoin(account, account.c.id == order_intent.c.account_id)
                    .where(order_intent.c.state.in_([IntentState.SENDING.value, IntentState.NEW.value]))
                )
            ).all()
            for row in rows:
                lease_held = (
                    row.lease_until is not None
                    and row.lease_until > now
                    and row.lease_owner != self.ctx.instance
                )
                if row.state == IntentState.SENDING.value and not lease_held:
                    await move_intent(
                        uow.session,
                        row.id,
                        IntentState.SENDING,
                        IntentState.UNKNOWN,
                        venue_reply={"error": "worker_lost", "detail": "sent, outcome not recorded"},
                    )
        for row in rows:
            if row.state == IntentState.NEW.value:
                self.executor.wake(row.account_key, row.user_id, row.account_id)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="broker-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        s = self.ctx.settings
        last_full = 0.0
        loop = asyncio.get_running_loop()
        while True:
            full = loop.time() - last_full >= s.reconcile_seconds
            reason = "startup" if last_full == 0.0 else ("periodic" if full else "poll")
            for key, user_id, account_id in await self.keys():
                try:
                    await self.reconcile(key, user_id, account_id, reason=reason)
                except Exception as exc:
                    log.warning("reconciliation pass failed", account_key=key, error=type(exc).__name__)
                    if account_id is not None:
                        with contextlib.suppress(Exception):
                            async with self.ctx.runtime.db.engine.begin() as conn:
                                await note_session(conn, account_id, describe(exc))
            if full:
                last_full = loop.time()
            await asyncio.sleep(s.poll_seconds)

    async def keys(self) -> list[tuple[str, Any, Any]]:
        """Every active account, plus paper books with open positions or pending intents."""
        paper_books = (
            select(order_intent.c.account_key, order_intent.c.user_id)
            .where(
                order_intent.c.account_key.like(f"{PAPER}:%"),
                order_intent.c.state.in_([s.value for s in PENDING]),
            )
            .union(
                select(position.c.account_key, position.c.user_id).where(
                    position.c.account_key.like(f"{PAPER}:%"), position.c.status == "open"
                )
            )
        )
        async with self.ctx.runtime.db.engine.connect() as conn:
            accounts = (
                await conn.execute(
                    select(account.c.id, account.c.user_id).where(account.c.status == "active")
                )
            ).all()
            paper = (await conn.execute(paper_books)).all()
        return [(str(a.id), a.user_id, a.id) for a in accounts] + [
            (p.account_key, p.user_id, None) for p in paper
        ]

    async def reconcile(
        self, key: str, user_id: Any, account_id: Any, *, reason: str = "poll"
    ) -> dict[str, Any]:
        async with self.executor.lock(key):
            result = await self._reconcile(key, user_id, account_id, reason)
        if account_id is not None:  # the balance needs no lock: orders need not wait for this read
            await self._balance(await self.ctx.adapter(key, user_id, account_id), account_id, user_id)
        return result

    async def _reconcile(self, key: str, user_id: Any, account_id: Any, reason: str) -> dict[str, Any]:
        started = datetime.now(UTC)
        adapter = await self.ctx.adapter(key, user_id, account_id)
        differences: list[dict[str, Any]] = []
        fixes: list[dict[str, Any]] = []
        async with self.ctx.runtime.db.engine.connect() as conn:
            unknown = await intents_in(conn, key, (IntentState.UNKNOWN,))
        if unknown:
            await self._resolve_unknown(adapter, key, unknown, differences, fixes)
        venue_positions = await adapter.positions()
        await self.working.reconcile(key, adapter, venue_positions, differences, fixes)
        await self._diff_positions(key, user_id, account_id, venue_positions, differences, fixes)
        if account_id is None:
            await self.guard.check_book(key, venue_positions)
        if differences or reason in ("startup", "periodic"):
            async with self.ctx.runtime.unit_of_work() as uow:
                await uow.execute(
                    insert(reconciliation_log).values(
                        account_key=key,
                        user_id=user_id,
                        reason=reason,
                        started_at=started,
                        differences=differences,
                        fixes=fixes,
                    )
                )
                if account_id is not None:
                    await uow.execute(
                        update(account)
                        .where(account.c.id == account_id)
                        .values(last_reconciled_at=datetime.now(UTC))
                    )
        return {"differences": differences, "fixes": fixes}

    async def _resolve_unknown(
        self, adapter: BrokerAdapter, key: str, unknown: list[Any], differences: list, fixes: list
    ) -> None:
        s = self.ctx.settings
        now = datetime.now(UTC)
        remaining = []
        for intent in unknown:
            if intent.deal_reference:
                try:
                    fill = await adapter.confirm(intent.deal_reference)
                except VenueRejected as exc:
                    await self._not_placed(intent, f"confirm rejected: {exc.code}", fixes)
                    continue
                except VenueError:
                    fill = None
                if fill is not None:
                    await self._filled(intent, fill, {"method": "confirm"}, fixes)
                    continue
            remaining.append(intent)
        if not remaining:
            return
        venue_now = await adapter.venue_time()
        offset = venue_now - datetime.now(UTC)
        tolerance = timedelta(seconds=s.reconcile_tolerance_seconds)
        opens = [i for i in remaining if i.kind == IntentKind.OPEN.value]
        deals: list[VenueDeal] = []
        if opens:
            earliest = min(i.sent_at for i in opens) + offset - tolerance
            venue_positions = await adapter.positions()
            deals += [
                VenueDeal(p.deal_id, p.epic, p.side, p.size, p.created_at or venue_now, p.level)
                for p in venue_positions
            ]
            seen = {d.deal_id for d in deals}
            for a in await adapter.activity(min(earliest, venue_now), venue_now):
                if (
                    a.kind == "POSITION"
                    and a.status == "ACCEPTED"
                    and a.source in (None, "USER")
                    and a.deal_id not in seen
                    and a.side
                    and a.size is not None
                ):
                    deals.append(VenueDeal(a.deal_id, a.epic, a.side, a.size, a.at, a.level))
                    seen.add(a.deal_id)
            for w in await adapter.working_orders():
                deals.append(VenueDeal(w.deal_id, w.epic, w.side, w.size, w.created_at or venue_now, w.level))
        async with self.ctx.runtime.db.engine.connect() as conn:
            linked = await linked_deal_ids(conn, key)
        pending = [
            PendingIntent(str(i.id), i.epic, i.side, i.size, i.sent_at + offset)
            for i in opens
            if i.sent_at is not None
        ]
        matches = match_deals(pending, deals, linked, tolerance=tolerance)
        venue_ids = None
        for intent in remaining:
            age = (now - intent.sent_at).total_seconds() if intent.sent_at else 1e9
            if intent.kind == IntentKind.OPEN.value:
                deal = matches.get(str(intent.id))
                if deal is not None:
                    differences.append(
                        {"intent": str(intent.id), "venue_deal": deal.deal_id, "kind": "unrecorded_fill"}
                    )
                    fill = Fill(None, deal.deal_id, deal.level, deal.size)
                    await self._filled(intent, fill, {"method": "match", "deal_id": deal.deal_id}, fixes)
                elif age >= s.reconcile_settle_seconds:
                    await self._not_placed(intent, "no matching deal at the venue", fixes)
                continue
            if venue_ids is None:
                venue_ids = {p.deal_id for p in await adapter.positions()} | {
                    w.deal_id for w in await adapter.working_orders()
                }
            if intent.deal_id not in venue_ids:
                await self._filled(
                    intent, Fill(None, intent.deal_id, None, None), {"method": "gone_at_venue"}, fixes
                )
            elif age >= s.reconcile_settle_seconds:
                await self._not_placed(intent, "still live at the venue", fixes)

    async def _filled(self, intent: Any, fill: Fill, how: dict[str, Any], fixes: list) -> None:
        how = {**how, "at": datetime.now(UTC).isoformat()}
        await self.executor.record_fill(
            intent, fill, IntentState.UNKNOWN, IntentState.RECONCILED_FILLED, reconciliation=how
        )
        fixes.append({"intent": str(intent.id), "outcome": IntentState.RECONCILED_FILLED.value, **how})

    async def _not_placed(self, intent: Any, why: str, fixes: list) -> None:
        async with self.ctx.runtime.unit_of_work() as uow:
            if await move_intent(
                uow.session,
                intent.id,
                IntentState.UNKNOWN,
                IntentState.RECONCILED_NOT_PLACED,
                reason_code="not_placed",
                reason=why,
                reconciliation={"method": "settled", "why": why, "at": datetime.now(UTC).isoformat()},
            ):
                await uow.publish(c.ORDER_REJECTED, events.rejected(intent, "not_placed", why))
        fixes.append(
            {"intent": str(intent.id), "outcome": IntentState.RECONCILED_NOT_PLACED.value, "why": why}
        )

    async def _diff_positions(
        self, key: str, user_id: Any, account_id: Any, venue: list, differences: list, fixes: list
    ) -> None:
        by_id = {p.deal_id: p for p in venue}
        async with self.ctx.runtime.unit_of_work() as uow:
            ours = await open_positions(uow.session, key)
            busy = await intents_in(uow.session, key, (IntentState.SENDING, IntentState.UNKNOWN))
            closing = {i.deal_id for i in busy if i.kind == IntentKind.CLOSE.value}
            known = await linked_deal_ids(uow.session, key)
            for pos in ours:
                v = by_id.get(pos.deal_id)
                if v is None:
                    if pos.deal_id in closing:
                        continue
                    differences.append(
                        {"position": str(pos.id), "deal_id": pos.deal_id, "kind": "closed_at_venue"}
                    )
                    price = pos.open_price
                    if pos.upl is not None and pos.size:
                        sign = 1 if pos.side == "BUY" else -1
                        price = pos.open_price + pos.upl / pos.size * sign
                    cause = {"correlation_id": pos.intent_id}
                    await self.executor.close_position_row(uow, pos.id, price, pos.upl, cause)
                    fixes.append({"position": str(pos.id), "fix": "marked closed"})
                    continue
                values: dict[str, Any] = {"upl": v.upl, "current_price": v.close_price}
                if account_id is not None:  # the venue holds these exits: show what it holds now
                    values["protection"] = protection_json(v.protection)
                if v.size != pos.size:
                    differences.append(
                        {
                            "position": str(pos.id),
                            "kind": "size_changed",
                            "ours": str(pos.size),
                            "venue": str(v.size),
                        }
                    )
                    values["size"] = v.size
                    await uow.publish(
                        c.POSITION_CHANGED,
                        c.PositionChanged(
                            user_id=pos.user_id,
                            position_id=pos.id,
                            account_id=pos.account_id,
                            instrument=InstrumentRef(venue=pos.venue, symbol=pos.epic),
                            size=v.size,
                            protection=events.protection(pos.protection),
                        ),
                    )
                    fixes.append({"position": str(pos.id), "fix": "size updated"})
                await uow.execute(update(position).where(position.c.id == pos.id).values(**values))
            if busy:
                return  # a send in flight may own an unrecorded venue position: adopt nothing now
            for deal_id, v in by_id.items():
                if deal_id in known:
                    continue
                differences.append({"deal_id": deal_id, "kind": "unknown_venue_position"})
                pos = {
                    "id": uuid.uuid4(),
                    "user_id": user_id,
                    "account_id": account_id,
                    "account_key": key,
                    "deal_id": deal_id,
                    "venue": "capitalcom",
                    "epic": v.epic,
                    "side": v.side,
                    "size": v.size,
                    "open_price": v.level,
                    "protection": protection_json(v.protection),
                    "origin": "venue",
                    "upl": v.upl,
                    "currency": v.currency,
                    "current_price": v.close_price,
                }
                if v.created_at is not None:
                    pos["opened_at"] = v.created_at
                await uow.execute(insert(position).values(**pos))
                await uow.publish(c.POSITION_OPENED, events.opened(pos))
                fixes.append({"deal_id": deal_id, "fix": "adopted venue position"})

    async def _balance(self, adapter: BrokerAdapter, account_id: Any, user_id: Any) -> None:
        snapshot = await adapter.account_summary()
        async with self.ctx.runtime.unit_of_work() as uow:
            acct = (
                await uow.execute(select(account).where(account.c.id == account_id).with_for_update())
            ).one()
            changed = (acct.balance, acct.available, acct.profit_loss) != (
                snapshot.balance,
                snapshot.available,
                snapshot.profit_loss,
            )
            await uow.execute(
                update(account)
                .where(account.c.id == account_id)
                .values(
                    balance=snapshot.balance,
                    available=snapshot.available,
                    margin=snapshot.margin,
                    profit_loss=snapshot.profit_loss,
                    summary_at=datetime.now(UTC),
                    session_state="active",
                )
            )
            if changed:
                await uow.publish(
                    c.BALANCE_CHANGED,
                    c.BalanceChanged(
                        user_id=user_id,
                        account_id=account_id,
                        currency=snapshot.currency,
                        balance=snapshot.balance,
                        available=snapshot.available,
                        profit_loss=snapshot.profit_loss,
                    ),
                )


__all__ = ["Decimal", "Monitor"]
