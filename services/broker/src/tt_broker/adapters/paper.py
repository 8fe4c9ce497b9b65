"""The built-in paper broker: market orders fill at the latest quote, state in the ``broker`` schema.

Same interface and semantics as a venue adapter, so bots run the same code path with no broker
account: BUY fills at the ask, SELL at the bid; closing realises (exit - entry) x size on a cash
balance; margin is notional / leverage. Working orders are not supported (refused as permanent).
Stops, targets and trailing stops on paper positions are emulated: the broker service watches quotes
and closes the position through a close intent (``service/protection.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from ..domain import DealingRules
from ..models import paper_account, paper_position
from .base import (
    AccountSnapshot,
    Fill,
    MarketInfo,
    OrderSpec,
    ProtectionSpec,
    VenueActivity,
    VenuePermanent,
    VenuePosition,
    VenueWorkingOrder,
    protection_json,
)

QuoteSource = Callable[[str], Awaitable[tuple[Decimal, Decimal]]]  # epic -> (bid, ask)


class PaperAdapter:
    def __init__(
        self,
        engine: AsyncEngine,
        user_id: UUID,
        quotes: QuoteSource,
        *,
        currency: str = "USD",
        start_balance: Decimal = Decimal("10000"),
        leverage: Decimal = Decimal("20"),
    ) -> None:
        self.engine = engine
        self.user_id = user_id
        self.quotes = quotes
        self.currency = currency
        self.start_balance = start_balance
        self.leverage = leverage

    def __repr__(self) -> str:
        return f"PaperAdapter(user_id={self.user_id})"

    async def _balance(self) -> Decimal:
        async with self.engine.begin() as conn:
            await conn.execute(
                pg_insert(paper_account)
                .values(user_id=self.user_id, currency=self.currency, balance=self.start_balance)
                .on_conflict_do_nothing()
            )
            return (
                await conn.execute(
                    select(paper_account.c.balance).where(paper_account.c.user_id == self.user_id)
                )
            ).scalar_one()

    async def validate(self) -> AccountSnapshot:
        return await self.account_summary()

    async def account_summary(self) -> AccountSnapshot:
        balance = await self._balance()
        margin = Decimal(0)
        upl = Decimal(0)
        for p in await self.positions():
            margin += p.size * p.level / self.leverage
            upl += p.upl or Decimal(0)
        return AccountSnapshot(self.currency, balance, balance + upl - margin, margin, upl, "paper")

    async def market_info(self, epic: str) -> MarketInfo:
        bid, ask = await self.quotes(epic)
        return MarketInfo(epic, DealingRules(margin_factor=1 / self.leverage, market_open=True), bid, ask)

    async def venue_time(self) -> datetime:
        return datetime.now(UTC)

    async def place(self, order: OrderSpec) -> Fill:
        if order.order_type != "MARKET":
            raise VenuePermanent("the paper broker fills market orders only", code="unsupported_order_type")
        bid, ask = await self.quotes(order.epic)
        price = ask if order.side == "BUY" else bid
        deal_id = f"paper-{uuid.uuid4()}"
        await self._balance()
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(paper_position).values(
                    deal_id=deal_id,
                    user_id=self.user_id,
                    epic=order.epic,
                    side=order.side,
                    size=order.size,
                    level=price,
                    protection=protection_json(order.protection),
                )
            )
        return Fill(deal_reference=None, deal_id=deal_id, level=price, size=order.size)

    async def confirm(self, deal_reference: str) -> Fill:
        raise VenuePermanent("the paper broker has no deal references", code="not_found")

    async def close(self, deal_id: str, size: Decimal | None = None) -> Fill:
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(paper_position)
                    .where(paper_position.c.deal_id == deal_id, paper_position.c.user_id == self.user_id)
                    .with_for_update()
                )
            ).first()
            if row is None:
                raise VenuePermanent("no such paper position", code="not_found")
            bid, ask = await self.quotes(row.epic)
            exit_price = bid if row.side == "BUY" else ask
            sign = 1 if row.side == "BUY" else -1
            pnl = (exit_price - row.level) * row.size * sign
            await conn.execute(delete(paper_position).where(paper_position.c.deal_id == deal_id))
            await conn.execute(
                update(paper_account)
                .where(paper_account.c.user_id == self.user_id)
                .values(balance=paper_account.c.balance + pnl)
            )
        return Fill(deal_reference=None, deal_id=deal_id, level=exit_price, size=row.size, profit=pnl)

    async def amend(self, deal_id: str, protection: ProtectionSpec) -> Fill:
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(paper_position)
                .where(paper_position.c.deal_id == deal_id, paper_position.c.user_id == self.user_id)
                .values(protection=protection_json(protection))
            )
        if done.rowcount == 0:
            raise VenuePermanent("no such paper position", code="not_found")
        return Fill(deal_reference=None, deal_id=deal_id, level=None, size=None)

    async def cancel(self, deal_id: str) -> Fill:
        raise VenuePermanent("the paper broker has no working orders", code="not_found")

    async def positions(self) -> list[VenuePosition]:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(select(paper_position).where(paper_position.c.user_id == self.user_id))
            ).all()
        out = []
        for row in rows:
            try:
                bid, ask = await self.quotes(row.epic)
            except Exception:
                bid = ask = None
            mark = (bid if row.side == "BUY" else ask) if bid is not None else None
            sign = 1 if row.side == "BUY" else -1
            upl = (mark - row.level) * row.size * sign if mark is not None else None
            out.append(
                VenuePosition(
                    row.deal_id,
                    row.epic,
                    row.side,
                    row.size,
                    row.level,
                    row.created_at,
                    upl,
                    self.currency,
                    bid,
                    ask,
                )
            )
        return out

    async def working_orders(self) -> list[VenueWorkingOrder]:
        return []

    async def activity(self, start: datetime, end: datetime) -> list[VenueActivity]:
        return []

    async def aclose(self) -> None:
        return None
