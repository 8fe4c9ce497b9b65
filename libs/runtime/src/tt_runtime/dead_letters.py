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


def _print_letters(letters: list[DeadLetter]) -> None:
    if not letters:
        print("no dead letters")
        return
    print(f"{'id':>6}  {'created_at':25}  {'deliveries':>10}  {'consumer':45}  error")
    for d in letters:
        print(
            f"{d.id:>6}  {d.created_at.isoformat():25}  {d.deliveries:>10}  {d.consumer:45}  "
            f"{d.error_type.rsplit('.', 1)[-1]}: {d.error[:80]}"
        )


async def _cli(args) -> int:
    import nats as nats_client

    from .settings import RuntimeSettings

    settings = RuntimeSettings(
        service_name=args.service, **({"database_url": args.database_url} if args.database_url else {})
    )
    db = Database(settings)
    store = DeadLetterStore(db)
    try:
        if args.command == "list":
            _print_letters(await store.list(include_replayed=args.all, limit=args.limit))
            return 0
        nc = await nats_client.connect(args.nats_url or settings.nats_url)
        try:
            replayed = await store.replay(nc.jetstream(), ids=args.id or None)
        finally:
            await nc.close()
        print(f"replayed {len(replayed)}: {', '.join(map(str, replayed)) or '-'}")
        return 0
    finally:
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    """``python -m tt_runtime.dead_letters list|replay --service billing [--id N …]``"""
    import argparse
    import asyncio

    from tt_contracts import SERVICES

    parser = argparse.ArgumentParser(
        prog="python -m tt_runtime.dead_letters", description="List and replay a service's dead letters"
    )
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--service", required=True, choices=SERVICES)
    parser.add_argument("--id", type=int, action="append", help="replay only these ids (repeatable)")
    parser.add_argument("--all", action="store_true", help="list replayed letters too")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--database-url")
    parser.add_argument("--nats-url")
    return asyncio.run(_cli(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
