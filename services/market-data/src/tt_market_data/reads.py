"""Connections for pure reads (candles, coverage): psycopg in autocommit, kept open.

A read through the unit of work costs four round trips around the query (the pool's ping, BEGIN, the
instrument lookup, COMMIT); here a read is its query alone. Sessions run in UTC, so timestamps come
back as the wire wants them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import pq

from tt_runtime.errors import TransientError


class ReadConnections:
    def __init__(self, database_url: str, size: int) -> None:
        self.url = database_url.replace("postgresql+psycopg://", "postgresql://")
        self._slots = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection] = []

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self._slots:
            conn = self._idle.pop() if self._idle else None
            if conn is None or conn.closed:
                conn = await self._connect()
            try:
                yield conn
            except psycopg.OperationalError as exc:
                await conn.close()
                raise TransientError(f"database unavailable: {exc}") from exc
            finally:
                # Only an idle, healthy session goes back (an error mid-query may leave it otherwise).
                if not conn.closed and conn.info.transaction_status == pq.TransactionStatus.IDLE:
                    self._idle.append(conn)
                elif not conn.closed:
                    await conn.close()

    async def _connect(self) -> psycopg.AsyncConnection:
        try:
            return await psycopg.AsyncConnection.connect(self.url, autocommit=True, options="-c TimeZone=UTC")
        except psycopg.OperationalError as exc:
            raise TransientError(f"database unavailable: {exc}") from exc

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()
