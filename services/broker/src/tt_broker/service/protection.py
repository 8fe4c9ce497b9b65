"""Emulated protection: stops, targets and trailing stops of paper positions.

The paper book has no venue to hold its exits, so this service enforces them: on every quote for a
watched epic (and on each monitor pass as a fallback) it evaluates ``domain.emulated_exit`` and, when
an exit triggers, records a close intent with a deterministic key. The executor serves it ahead of new
entries like any protective exit; a trailing stop's new level is written to the position.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select, update

from ..adapters.base import VenuePosition
from ..domain import IntentKind, emulated_exit
from ..models import position
from ..repository import PAPER, insert_intent
from .commands import derived_intent
from .context import Context
from .executor import Executor

log = structlog.get_logger(__name__)


class EmulatedProtection:
    def __init__(self, ctx: Context, executor: Executor) -> None:
        self.ctx = ctx
        self.executor = executor
        self._latest: dict[str, tuple[Decimal, Decimal]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def load(self) -> None:
        """At start: watch every epic that has a paper position with an exit."""
        async with self.ctx.runtime.db.engine.connect() as conn:
            epics = (
                await conn.execute(
                    select(position.c.epic)
                    .where(
                        position.c.account_key.like(f"{PAPER}:%"),
                        position.c.status == "open",
                        position.c.protection != {},
                    )
                    .distinct()
                )
            ).scalars()
            self.ctx.emulated_epics.update(epics)

    def on_quote(self, epic: str, bid: Decimal, ask: Decimal) -> None:
        """Called for every quote; only the latest quote of a busy epic is evaluated."""
        if epic not in self.ctx.emulated_epics:
            return
        self._latest[epic] = (bid, ask)
        task = self._tasks.get(epic)
        if task is None or task.done():
            self._tasks[epic] = asyncio.create_task(self._drain(epic), name=f"protect-{epic}")

    async def _drain(self, epic: str) -> None:
        while epic in self._latest:
            bid, ask = self._latest.pop(epic)
            try:
                await self.check(epic, bid, ask)
            except Exception as exc:
                log.warning("emulated protection check failed", epic=epic, error=type(exc).__name__)

    async def check_book(self, key: str, venue_positions: list[VenuePosition]) -> None:
        """The monitor's fallback pass over one paper book, at the prices it just polled."""
        quotes = {p.epic: (p.bid, p.offer) for p in venue_positions if p.bid is not None and p.offer}
        for epic, (bid, ask) in quotes.items():
            await self.check(epic, bid, ask, key=key)  # type: ignore[arg-type]

    async def check(self, epic: str, bid: Decimal, ask: Decimal, *, key: str | None = None) -> None:
        book = position.c.account_key == key if key else position.c.account_key.like(f"{PAPER}:%")
        woken: set[tuple[str, Any]] = set()
        async with self.ctx.runtime.unit_of_work() as uow:
            rows = (
                await uow.execute(
                    select(position).where(
                        book,
                        position.c.epic == epic,
                        position.c.status == "open",
                        position.c.protection != {},
                    )
                )
            ).all()
            if not rows:
                if key is None:
                    self.ctx.emulated_epics.discard(epic)
                return
            self.ctx.emulated_epics.add(epic)
            for pos in rows:
                exit_ = emulated_exit(pos.side, pos.open_price, pos.protection, bid, ask)
                if exit_.trailed_stop is not None:
                    await uow.execute(
                        update(position)
                        .where(position.c.id == pos.id)
                        .values(protection={**pos.protection, "stop_level": str(exit_.trailed_stop)})
                    )
                if exit_.trigger is None:
                    continue
                values = derived_intent(
                    IntentKind.CLOSE,
                    pos,
                    f"protect:{pos.id}",
                    target_id=pos.id,
                    deal_id=pos.deal_id,
                    reconciliation={
                        "method": f"emulated_{exit_.trigger}",
                        "bid": str(bid),
                        "ask": str(ask),
                    },
                )
                if await insert_intent(uow.session, values):
                    woken.add((pos.account_key, pos.user_id))
        for book_key, user_id in woken:
            self.executor.wake(book_key, user_id, None)

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
