"""Dead letters: messages that could not be handled, stored with everything needed to replay them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import nats.js
from sqlalchemy import func, insert, select, update

from .db import Database


@dataclass(frozen=True)
class DeadLetter:
    id: int
    consumer: str
    subject: str
    stream: str | None
    stream_seq: int | None
    message_id: str | None
    headers: dict
    payload: bytes
    error_type: str
    error: str
    deliveries: int
    created_at: datetime
    replayed_at: datetime | None


class DeadLetterStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = db.tables.dead_letter

    async def add(
        self,
        *,
        consumer: str,
        subject: str,
        stream: str | None,
        stream_seq: int | None,
        message_id: str | None,
        headers: dict,
        payload: bytes,
        error: BaseException,
        deliveries: int,
    ) -> int:
        async with self.db.engine.begin() as conn:
            return (
                await conn.execute(
                    insert(self.table)
                    .values(
                        consumer=consumer,
                        subject=subject,
                        stream=stream,
                        stream_seq=stream_seq,
                        message_id=message_id,
                        headers=headers,
                        payload=payload,
                        error_type=f"{type(error).__module__}.{type(error).__qualname__}",
                        error=str(error)[:8000] or repr(error),
                        deliveries=deliveries,
                    )
                    .returning(self.table.c.id)
                )
            ).scalar_one()

    async def list(self, *, include_replayed: bool = False, limit: int = 100) -> list[DeadLetter]:
        query = select(self.table).order_by(self.table.c.id).limit(limit)
        if not include_replayed:
            query = query.where(self.table.c.replayed_at.is_(None))
        async with self.db.engine.connect() as conn:
            return [DeadLetter(**row._mapping) for row in (await conn.execute(query)).all()]

    async def count_open(self) -> int:
        async with self.db.engine.connect() as conn:
            return (
                await conn.execute(
                    select(func.count()).select_from(self.table).where(self.table.c.replayed_at.is_(None))
                )
            ).scalar_one()

    async def replay(self, js: nats.js.JetStreamContext, ids: list[int] | None = None) -> list[int]:
        """Republish dead letters to their original subject with their original message id.

        Consumers' inboxes make a replay safe: a message that had in fact been applied is skipped.
        Returns the ids replayed.
        """
        replayed: list[int] = []
        for letter in await self.list(limit=10_000):
            if ids is not None and letter.id not in ids:
                continue
            headers = {k: str(v) for k, v in letter.headers.items() if not k.startswith("Nats-")}
            headers["tt-replay-of"] = str(letter.id)
            if letter.message_id:
                # A fresh Nats-Msg-Id: the original is likely still inside the duplicate window.
                headers["message_id"] = letter.message_id
            await js.publish(letter.subject, letter.payload, stream=letter.stream, headers=headers)
            async with self.db.engine.begin() as conn:
                await conn.execute(
                    update(self.table).where(self.table.c.id == letter.id).values(replayed_at=func.now())
                )
            replayed.append(letter.id)
        return replayed
