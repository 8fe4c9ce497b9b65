"""An effect probe: a consumer effect recorded in a table with no unique key, so a duplicate effect
shows as a second row. Used to prove exactly-once effects under redelivery and faults."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import text

from tt_contracts import Message, Route

from ..db import UnitOfWork
from ..service import ServiceRuntime


class EffectProbe:
    def __init__(self, runtime: ServiceRuntime, table: str = "test_effect") -> None:
        self.runtime = runtime
        self.table = f"{runtime.db.schema}.{table}"

    async def create(self) -> EffectProbe:
        async with self.runtime.db.engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE IF NOT EXISTS {self.table} (message_id uuid NOT NULL)"))
        return self

    async def record(self, event: Message, uow: UnitOfWork) -> None:
        await uow.execute(text(f"INSERT INTO {self.table} VALUES (:m)"), {"m": event.message_id})

    async def counts(self) -> tuple[int, int]:
        """(rows, distinct message ids)."""
        async with self.runtime.db.engine.connect() as conn:
            row = (
                await conn.execute(text(f"SELECT count(*), count(DISTINCT message_id) FROM {self.table}"))
            ).one()
        return row[0], row[1]

    async def reached(self, expected: int) -> bool:
        return (await self.counts())[1] >= expected


async def publish_many(
    runtime: ServiceRuntime, route: Route, make: Callable[[], Message], count: int, per_transaction: int = 50
) -> list[UUID]:
    """Write ``count`` events through the outbox in transactions of ``per_transaction``."""
    ids: list[UUID] = []
    for start in range(0, count, per_transaction):
        async with runtime.unit_of_work() as uow:
            for _ in range(min(per_transaction, count - start)):
                message = make()
                await uow.publish(route, message)
                ids.append(message.message_id)
    return ids
