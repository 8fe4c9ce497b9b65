"""Async SQLAlchemy 2 + psycopg 3, bound to the service's own schema, and the unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

from opentelemetry import propagate
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from tt_contracts import Message, Route

from .errors import PermanentError
from .settings import RuntimeSettings
from .tables import RuntimeTables, service_metadata

if TYPE_CHECKING:
    from .outbox import OutboxRelay


class Database:
    """One engine per process. ``tables`` are this service's runtime tables (outbox, inbox, dead_letter)."""

    def __init__(self, settings: RuntimeSettings, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self.schema = settings.db_schema
        self.engine = engine or create_async_engine(
            settings.database_url,
            pool_pre_ping=True,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            connect_args={"options": f"-c search_path={self.schema},public"},
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.metadata, self.tables = service_metadata(self.schema)

    async def ping(self, timeout: float = 2.0) -> bool:
        try:
            async with asyncio.timeout(timeout), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


class UnitOfWork:
    """One transaction holding the business changes, the outbox rows and the inbox row.

    Commits on a clean exit, rolls back on an exception; after a commit it wakes the outbox relay so
    the transaction's events go out at once instead of at the next poll.
    """

    def __init__(self, db: Database, service: str, relay: OutboxRelay | None = None) -> None:
        self.db = db
        self.service = service
        self.relay = relay
        self.session: AsyncSession
        self.published: list[Message] = []
        self._outbox_rows: list[dict[str, Any]] = []

    @property
    def tables(self) -> RuntimeTables:
        return self.db.tables

    async def __aenter__(self) -> UnitOfWork:
        self.session = self.db.sessions()
        await self.session.begin()
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                await self.flush_outbox()
                await self.session.commit()
            else:
                await self.session.rollback()
        finally:
            await self.session.close()
        if exc_type is None and self.published and self.relay is not None:
            self.relay.wake()

    async def execute(self, statement: Any, params: Any = None) -> Any:
        return await self.session.execute(statement, params)

    async def flush_outbox(self) -> None:
        """Write the buffered outbox rows in one multi-row insert (done automatically at commit)."""
        if self._outbox_rows:
            rows, self._outbox_rows = self._outbox_rows, []
            await self.session.execute(self.tables.outbox.insert(), rows)

    async def claim_many(self, consumer: str, message_ids: list[UUID]) -> set[UUID]:
        """Insert inbox rows for a batch; returns the ids this consumer had not applied before."""
        if not message_ids:
            return set()
        stmt = (
            pg_insert(self.tables.inbox)
            .values([{"consumer": consumer, "message_id": m} for m in message_ids])
            .on_conflict_do_nothing()
            .returning(self.tables.inbox.c.message_id)
        )
        return set((await self.session.execute(stmt)).scalars().all())

    async def claim(self, consumer: str, message_id: UUID) -> bool:
        """Insert the inbox row. False means this consumer already applied this message."""
        stmt = (
            pg_insert(self.tables.inbox)
            .values(consumer=consumer, message_id=message_id)
            .on_conflict_do_nothing()
            .returning(self.tables.inbox.c.message_id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def publish(self, route: Route, message: Message, **keys: str) -> None:
        """Write ``message`` to the outbox in this transaction. Only a registered producer may publish."""
        if not isinstance(message, route.model):
            raise PermanentError(
                f"{route.subject.base} carries {route.model.__name__}, not {type(message).__name__}"
            )
        if self.service not in route.producers:
            raise PermanentError(f"{self.service} is not a registered producer of {route.subject.base}")
        stream = route.stream
        if stream is None:
            raise PermanentError(
                f"{route.subject.base} is a request subject; it is not published as an event"
            )
        if not message.producer:
            message = message.model_copy(update={"producer": self.service})
        headers: dict[str, str] = {}
        propagate.inject(headers)
        if message.correlation_id:
            headers["correlation_id"] = str(message.correlation_id)
        self._outbox_rows.append(
            {
                "message_id": message.message_id,
                "subject": route.subject.render(**keys),
                "stream": stream.name,
                "headers": headers,
                "payload": message.model_dump_json().encode(),
            }
        )
        self.published.append(message)


@asynccontextmanager
async def unit_of_work(
    db: Database, service: str, relay: OutboxRelay | None = None
) -> AsyncIterator[UnitOfWork]:
    async with UnitOfWork(db, service, relay) as uow:
        yield uow
