"""Who asked for each rendered chart, in chart-render's own schema.

A render is recorded before its ``chart.rendered`` is published (same step of the command handler): a
user who receives the event can always fetch the chart. If the record fails the command is retried,
and recording again is harmless. Pairs already recorded by this process are remembered, so a user's
repeated chart costs no write.
"""

from __future__ import annotations

from collections import OrderedDict
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from tt_runtime.db import Database
from tt_runtime.errors import TransientError

from ..models import chart_request


class RenderOwners:
    def __init__(self, db: Database, remember: int = 4096) -> None:
        self.db = db
        self._recorded: OrderedDict[tuple[str, UUID], None] = OrderedDict()
        self._remember = remember

    async def record(self, object_key: str, user_id: UUID) -> None:
        pair = (object_key, user_id)
        if pair in self._recorded:
            self._recorded.move_to_end(pair)
            return
        stmt = pg_insert(chart_request).values(object_key=object_key, user_id=user_id)
        try:
            async with self.db.engine.begin() as conn:
                await conn.execute(stmt.on_conflict_do_nothing())
        except Exception as exc:
            raise TransientError(f"recording the chart's requester failed: {exc!r}") from exc
        self._recorded[pair] = None
        while len(self._recorded) > self._remember:
            self._recorded.popitem(last=False)

    async def requested(self, object_key: str, user_id: UUID) -> bool:
        if (object_key, user_id) in self._recorded:
            return True
        stmt = select(chart_request.c.user_id).where(
            chart_request.c.object_key == object_key, chart_request.c.user_id == user_id
        )
        try:
            async with self.db.engine.connect() as conn:
                return (await conn.execute(stmt)).first() is not None
        except Exception as exc:
            raise TransientError(f"checking the chart's requester failed: {exc!r}") from exc
