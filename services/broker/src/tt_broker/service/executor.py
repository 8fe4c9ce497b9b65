"""One executor per account: takes NEW intents in order (exits first), checks them, sends each at most once.

State machine per intent: NEW → SENDING (committed before the venue call) → ACCEPTED | REJECTED, or
UNKNOWN when the outcome is ambiguous (resolved by the monitor's reconciliation, never by re-sending).
Only a provably unsent request (rate limited, connection never opened) goes back to NEW.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import case, func, insert, or_, select, update

from tt_contracts import broker as c

from ..adapters.base import (
    BrokerAdapter,
    Fill,
    OrderSpec,
    ProtectionSpec,
    VenueAmbiguous,
    VenueAuthError,
    VenueError,
    VenueTransient,
    describe,
)
from ..domain import (
    IntentKind,
    IntentState,
    OrderFacts,
    check_pre_trade,
    circuit_after_failure,
    circuit_is_open,
)
from ..models import account, order_intent, position
from ..repository import (
    account_by_id,
    count_open_positions,
    move_intent,
    new_position_row,
    next_new_intent,
    note_session,
    realised_today,
    release_leases,
    risk_limits_row,
    take_lease,
)
from . import events
from .context import Context
from .risk import limits_in_force

log = structlog.get_logger(__name__)
AfterSend = Callable[[Any], Awaitable[None]]


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def protection_spec(data: dict[str, Any] | None) -> ProtectionSpec:
    data = data or {}
    return ProtectionSpec(
        stop_level=_dec(data.get("stop_level")),
        stop_distance=_dec(data.get("stop_distance")),
        profit_level=_dec(data.get("profit_level")),
        profit_distance=_dec(data.get("profit_distance")),
        trailing_stop=bool(data.get("trailing_stop")),
        guaranteed_stop=bool(data.get("guaranteed_stop")),
    )


class Executor:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.locks: dict[str, asyncio.Lock] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.after_send: AfterSend | None = None  # test hook: runs right after a trade request returns
        self.running = False

    def lock(self, key: str) -> asyncio.Lock:
        return self.locks.setdefault(key, asyncio.Lock())

    def wake(self, key: str, user_id: UUID, account_id: UUID | None) -> None:
        if not self.running:
            return
        self._events.setdefault(key, asyncio.Event()).set()
        task = self._tasks.get(key)
        if task is None or task.done():
            self._tasks[key] = asyncio.create_task(self._worker(key, user_id, account_id), name=f"exec-{key}")

    async def stop(self) -> None:
        self.running = False
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
        async with self.ctx.runtime.db.engine.begin() as conn:
            await release_leases(conn, self.ctx.instance)

    async def _worker(self, key: str, user_id: UUID, account_id: UUID | None) -> None:
        event = self._events[key]
        idle_rounds = 0
        while self.running:
            event.clear()
            try:
                async with self.lock(key):
                    worked = await self.run_next(key, account_id)
            except VenueTransient as exc:
                await asyncio.sleep(min(5.0, exc.retry_after or 0.5))
                continue
            except Exception:
                log.exception("executor step failed", account_key=key)
                await asyncio.sleep(0.5)
                continue
            if worked:
                idle_rounds = 0
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await event.wait()
                    continue
            idle_rounds += 1
            if idle_rounds >= 30:
                break
        if account_id is not None:
            async with self.ctx.runtime.db.engine.begin() as conn:
                await release_leases(conn, self.ctx.instance, account_id)

    async def run_next(self, key: str, account_id: UUID | None) -> bool:
        """Execute the next NEW intent of ``key``; False when there is none (or another instance holds it)."""
        settings = self.ctx.settings
        async with self.ctx.runtime.unit_of_work() as uow:
            if account_id is not None and not await take_lease(
                uow.session, account_id, self.ctx.instance, settings.order_lease_seconds
            ):
                return False
            intent = await next_new_intent(uow.session, key)
            if intent is None:
                return False
            refusal = await self._checks(intent, uow)
            if refusal is not None:
                await move_intent(
                    uow.session,
                    intent.id,
                    IntentState.NEW,
                    IntentState.REJECTED,
                    reason_code=refusal[0],
                    reason=refusal[1],
                )
                await uow.publish(c.ORDER_REJECTED, events.rejected(intent, *refusal))
                return True
            await move_intent(
                uow.session,
                intent.id,
                IntentState.NEW,
                IntentState.SENDING,
                sent_at=datetime.now(UTC),
                attempts=intent.attempts + 1,
                owner=self.ctx.instance,
            )
        await self._send(intent)
        return True

    async def _checks(self, intent: Any, uow: Any) -> tuple[str, str] | None:
        now = datetime.now(UTC)
        if intent.expires_at is not None and now >= intent.expires_at:
            return "stale_command", "the command expired before it could be executed"
        acct = None
        if intent.account_id is not None:
            acct = await account_by_id(uow.session, intent.account_id)
            if acct is None or acct.status != "active":
                return "account_not_found", "no such active account"
        if intent.kind != IntentKind.OPEN.value:
            return None
        if intent.oco_group is not None and await self._partner_done(uow, intent):
            return "oco_partner_done", "the other leg of this OCO pair already filled or ended"
        adapter = await self.ctx.adapter(intent.account_key, intent.user_id, intent.account_id)
        market = await adapter.market_info(intent.epic)
        available = await self._available(adapter, acct, uow)
        limits_row = await risk_limits_row(uow.session, intent.user_id, intent.account_key)
        limits = limits_in_force(limits_row, self.ctx.settings)
        prot = protection_spec(intent.protection)
        price = market.offer if intent.side == "BUY" else market.bid
        if intent.order_type != "MARKET":
            price = intent.level
        violation = check_pre_trade(
            OrderFacts(
                side=intent.side,
                size=intent.size,
                price=price,
                stop_level=prot.stop_level,
                stop_distance=prot.stop_distance,
                profit_level=prot.profit_level,
                profit_distance=prot.profit_distance,
            ),
            market.rules,
            limits,
            available=available,
            open_positions=await count_open_positions(uow.session, intent.account_key),
            realised_today=await realised_today(uow.session, intent.account_key, now),
            circuit_open=acct is not None and circuit_is_open(acct.circuit_open_until, now),
        )
        return (violation.reason_code, violation.reason) if violation else None

    async def _partner_done(self, uow: Any, intent: Any) -> bool:
        """An OCO leg is not sent once its partner filled or ended without reaching the book."""
        partner = (
            await uow.execute(
                select(order_intent).where(
                    order_intent.c.oco_group == intent.oco_group, order_intent.c.id != intent.id
                )
            )
        ).first()
        if partner is None:
            return False
        ended = (IntentState.REJECTED.value, IntentState.RECONCILED_NOT_PLACED.value)
        return partner.state in ended or partner.order_status in ("filled", "cancelled", "expired")

    async def _available(self, adapter: BrokerAdapter, acct: Any, uow: Any) -> Decimal | None:
        """Available funds: the polled figure while fresh, else asked of the venue.

        The fresh figure is written in the caller's transaction: it already holds the account row (the
        lease), so a second connection updating that row would wait on this one forever."""
        fresh = timedelta(seconds=max(self.ctx.settings.poll_seconds, 1.0) * 2)
        if acct is not None and acct.summary_at and datetime.now(UTC) - acct.summary_at < fresh:
            return acct.available
        snapshot = await adapter.account_summary()
        if acct is not None:
            await uow.execute(
                update(account)
                .where(account.c.id == acct.id)
                .values(
                    balance=snapshot.balance,
                    available=snapshot.available,
                    margin=snapshot.margin,
                    profit_loss=snapshot.profit_loss,
                    summary_at=datetime.now(UTC),
                )
            )
        return snapshot.available

    async def _send(self, intent: Any) -> None:
        """The one venue request of this intent, and the durable record of its outcome."""
        adapter = await self.ctx.adapter(intent.account_key, intent.user_id, intent.account_id)
        try:
            if intent.kind == IntentKind.OPEN.value:
                fill = await adapter.place(
                    OrderSpec(
                        epic=intent.epic,
                        side=intent.side,
                        size=intent.size,
                        order_type=intent.order_type,
                        level=intent.level,
                        protection=protection_spec(intent.protection),
                    )
                )
            elif intent.kind == IntentKind.CLOSE.value:
                fill = await adapter.close(intent.deal_id)
            else:
                fill = await adapter.cancel(intent.deal_id)
            if self.after_send is not None:
                await self.after_send(intent)
        except VenueAmbiguous as exc:
            await self._unknown(intent, exc, exc.deal_reference, {"error": exc.code, **exc.detail})
            return
        except VenueTransient as exc:
            # Nothing reached the venue (rate limited, connection never opened): back to NEW.
            async with self.ctx.runtime.unit_of_work() as uow:
                await move_intent(
                    uow.session,
                    intent.id,
                    IntentState.SENDING,
                    IntentState.NEW,
                    venue_reply={"error": exc.code, "retryable": True, **exc.detail},
                )
                await self._failure(uow, intent, exc)
            raise
        except VenueError as exc:
            async with self.ctx.runtime.unit_of_work() as uow:
                await move_intent(
                    uow.session,
                    intent.id,
                    IntentState.SENDING,
                    IntentState.REJECTED,
                    reason_code=exc.code,
                    reason=str(exc)[:500],
                    venue_reply={"error": exc.code, **exc.detail},
                )
                await uow.publish(c.ORDER_REJECTED, events.rejected(intent, exc.code, str(exc)))
                if isinstance(exc, VenueAuthError):
                    await self._failure(uow, intent, exc, trip=True)
            return
        except Exception as exc:  # we cannot know whether the venue acted
            log.exception("trade request failed unexpectedly", intent_id=str(intent.id))
            await self._unknown(intent, exc, None, {"error": type(exc).__name__})
            return
        await self.record_fill(intent, fill, IntentState.SENDING, IntentState.ACCEPTED)

    async def _unknown(
        self, intent: Any, error: BaseException, deal_reference: str | None, reply: dict[str, Any]
    ) -> None:
        async with self.ctx.runtime.unit_of_work() as uow:
            await move_intent(
                uow.session,
                intent.id,
                IntentState.SENDING,
                IntentState.UNKNOWN,
                deal_reference=deal_reference,
                venue_reply=reply,
            )
            await self._failure(uow, intent, error)

    async def _failure(self, uow: Any, intent: Any, error: BaseException, trip: bool = False) -> None:
        if intent.account_id is None:
            return
        await note_session(uow.session, intent.account_id, describe(error))
        acct = await account_by_id(uow.session, intent.account_id)
        s = self.ctx.settings
        failures, open_until = circuit_after_failure(
            acct.circuit_failures,
            acct.circuit_open_until,
            datetime.now(UTC),
            threshold=1 if trip else s.circuit_failure_threshold,
            open_for=timedelta(seconds=s.circuit_open_seconds),
        )
        await uow.execute(
            update(account)
            .where(account.c.id == acct.id)
            .values(circuit_failures=failures, circuit_open_until=open_until)
        )

    async def record_fill(
        self, intent: Any, fill: Fill, src: IntentState, dst: IntentState, reconciliation: Any = None
    ) -> None:
        """ACCEPTED (or RECONCILED_FILLED): the intent, its position and its events in one transaction."""
        async with self.ctx.runtime.unit_of_work() as uow:
            moved = await move_intent(
                uow.session,
                intent.id,
                src,
                dst,
                deal_reference=fill.deal_reference,
                deal_id=fill.deal_id,
                fill_price=fill.level,
                venue_reply={
                    k: v for k, v in fill.raw.items() if k in ("dealStatus", "status", "dealId", "level")
                }
                or {"deal_id": fill.deal_id},
                **({"reconciliation": reconciliation} if reconciliation is not None else {}),
            )
            if not moved:
                return
            cause = events.causality(intent)
            if intent.account_id is not None:
                # A venue success resets the failure count and closes a half-open breaker; an open one
                # keeps its cool-down (exits run while it is open and must not end the pause early).
                # One conditional statement: on the hot path it matches no row and writes nothing.
                await uow.execute(
                    update(account)
                    .where(
                        account.c.id == intent.account_id,
                        or_(account.c.circuit_failures > 0, account.c.circuit_open_until.is_not(None)),
                    )
                    .values(
                        circuit_failures=0,
                        circuit_open_until=case(
                            (account.c.circuit_open_until <= func.now(), None),
                            else_=account.c.circuit_open_until,
                        ),
                    )
                )
            if intent.kind == IntentKind.OPEN.value:
                await uow.publish(c.ORDER_ACCEPTED, events.accepted(intent, fill.deal_reference))
                if intent.order_type != "MARKET":
                    await uow.execute(
                        update(order_intent)
                        .where(order_intent.c.id == intent.id)
                        .values(order_status="working")
                    )
                else:
                    pos = new_position_row(
                        intent,
                        deal_id=fill.deal_id,
                        side=intent.side,
                        size=fill.size or intent.size,
                        open_price=fill.level or Decimal(0),
                        protection=intent.protection or {},
                    )
                    await uow.execute(insert(position).values(**pos))
                    await uow.publish(
                        c.ORDER_FILLED, events.filled(intent, pos["id"], pos["open_price"], pos["size"])
                    )
                    await uow.publish(c.POSITION_OPENED, events.opened(pos, cause))
                    if intent.account_id is None and pos["protection"]:
                        self.ctx.emulated_epics.add(intent.epic)  # this service now enforces its exits
            elif intent.kind == IntentKind.CLOSE.value:
                await self.close_position_row(uow, intent.target_id, fill.level, fill.profit, cause)
            else:
                await uow.execute(
                    update(order_intent)
                    .where(order_intent.c.id == intent.target_id)
                    .values(order_status="cancelled")
                )
                await uow.publish(
                    c.ORDER_CANCELLED,
                    c.OrderCancelled(
                        user_id=intent.user_id,
                        order_id=intent.target_id,
                        account_id=intent.account_id,
                        **cause,
                    ),
                )

    async def close_position_row(
        self, uow: Any, position_id: UUID, price: Decimal | None, pnl: Decimal | None, cause: dict[str, Any]
    ) -> None:
        pos = (
            await uow.execute(
                select(position).where(position.c.id == position_id, position.c.status == "open")
            )
        ).first()
        if pos is None:
            return
        price = price if price is not None else pos.open_price
        if pnl is None:
            pnl = pos.upl if pos.upl is not None else Decimal(0)
        await uow.execute(
            update(position)
            .where(position.c.id == pos.id)
            .values(status="closed", closed_at=datetime.now(UTC), close_price=price, realized_pnl=pnl)
        )
        currency = pos.currency or self.ctx.settings.paper_currency
        await uow.publish(c.POSITION_CLOSED, events.closed(pos, price, pnl, currency, cause))
