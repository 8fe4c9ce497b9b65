"""The outbox relay: publishes committed outbox rows to JetStream and marks them published.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` (several replicas may relay), published with
``Nats-Msg-Id = message_id`` to the row's stream so a PubAck comes back, then marked in the same
transaction. A crash between PubAck and mark republishes the row: JetStream's duplicate window
absorbs it, and consumers' inboxes absorb it beyond the window. Failures back off per row and
are retried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta

import nats.js
import structlog
from sqlalchemy import func, select, text, update

from .db import Database
from .telemetry import Telemetry

log = structlog.get_logger(__name__)

# A test hook: called after the PubAcks of a batch and before the rows are marked published.
AfterPublishHook = Callable[[list[int]], Awaitable[None]]


def relay_backoff(attempts: int, base: float = 0.5, cap: float = 60.0) -> float:
    return min(cap, base * 2 ** max(0, attempts - 1)) * (0.8 + 0.4 * random.random())


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        js_provider: Callable[[], nats.js.JetStreamContext],
        *,
        batch_size: int = 256,
        poll_seconds: float = 1.0,
        publish_timeout: float = 5.0,
        telemetry: Telemetry | None = None,
        service: str = "",
    ) -> None:
        self.db = db
        self._js = js_provider
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.publish_timeout = publish_timeout
        self.telemetry = telemetry
        self.service = service or db.schema
        self.after_publish: AfterPublishHook | None = None
        self._wake = asyncio.Event()
        self._js_context: nats.js.JetStreamContext | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.service}")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                published = await self.publish_pending()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database down, connection lost: keep trying, never die
                failures += 1
                delay = relay_backoff(failures, cap=10.0)
                log.warning("outbox relay pass failed", error=repr(exc), retry_in=round(delay, 2))
                await asyncio.sleep(delay)
                continue
            if published >= self.batch_size:
                continue  # more may be waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()

    async def publish_pending(self) -> int:
        """One pass: claim up to ``batch_size`` rows, publish them concurrently, mark the outcome."""
        outbox = self.db.tables.outbox
        async with self.db.engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(
                        outbox.c.id,
                        outbox.c.message_id,
                        outbox.c.subject,
                        outbox.c.stream,
                        outbox.c.headers,
                        outbox.c.payload,
                        outbox.c.attempts,
                    )
                    .where(outbox.c.published_at.is_(None), outbox.c.available_at <= func.now())
                    .order_by(outbox.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            results = await self._publish_batch(rows)
            done = [
                (row.id, ack.seq)
                for row, ack in zip(rows, results, strict=True)
                if not isinstance(ack, BaseException)
            ]
            failed = [
                (row, err) for row, err in zip(rows, results, strict=True) if isinstance(err, BaseException)
            ]
            if self.after_publish is not None:
                await self.after_publish([row_id for row_id, _ in done])
            if done:
                # One statement for the whole batch: per-row UPDATEs cost more than the publishes.
                await conn.execute(
                    text(
                        f"UPDATE {self.db.schema}.outbox AS o SET published_at = now(), stream_seq = v.seq "
                        "FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[])) AS v(id, seq) "
                        "WHERE o.id = v.id"
                    ),
                    {"ids": [row_id for row_id, _ in done], "seqs": [seq for _, seq in done]},
                )
            for row, err in failed:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(
                        attempts=outbox.c.attempts + 1,
                        last_error=repr(err)[:2000],
                        available_at=func.now() + timedelta(seconds=relay_backoff(row.attempts + 1)),
                    )
                )
        if self.telemetry is not None:
            self.telemetry.relay_published.labels(self.service).inc(len(done))
            self.telemetry.relay_failures.labels(self.service).inc(len(failed))
        if failed:
            log.warning("outbox rows not published", count=len(failed), error=repr(failed[0][1]))
        return len(rows)

    def _jetstream(self) -> nats.js.JetStreamContext:
        # One context for the relay's life: each context owns a reply subscription for async publishes.
        if self._js_context is None:
            self._js_context = self._js()
        return self._js_context

    async def _publish_batch(self, rows) -> list[nats.js.api.PubAck | BaseException]:
        """Pipeline the batch (publish_async) and wait for every PubAck, each with a deadline."""
        js = self._jetstream()
        futures: list[asyncio.Future | BaseException] = []
        for row in rows:
            headers = {str(k): str(v) for k, v in (row.headers or {}).items()}
            headers["Nats-Msg-Id"] = str(row.message_id)
            headers["message_id"] = str(row.message_id)
            headers["content-type"] = "application/json"
            try:
                futures.append(
                    await js.publish_async(
                        row.subject,
                        bytes(row.payload),
                        stream=row.stream,
                        headers=headers,
                        wait_stall=self.publish_timeout,
                    )
                )
            except Exception as exc:  # stalled or disconnected: this row fails, the rest may not
                futures.append(exc)

        async def settle(item: asyncio.Future | BaseException) -> nats.js.api.PubAck:
            if isinstance(item, BaseException):
                raise item
            return await asyncio.wait_for(item, timeout=self.publish_timeout)

        return list(await asyncio.gather(*(settle(f) for f in futures), return_exceptions=True))

    async def pending_count(self) -> int:
        outbox = self.db.tables.outbox
        async with self.db.engine.connect() as conn:
            count = (
                await conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                )
            ).scalar_one()
        if self.telemetry is not None:
            self.telemetry.outbox_pending.labels(self.service).set(count)
        return count
