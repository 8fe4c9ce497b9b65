"""The append-only, hash-chained audit log.

Each row stores ``hash = sha256(prev_hash + canonical(row))``; appends are serialised by a
transaction-scoped advisory lock so the chain has no forks. ``python -m tt_identity.audit verify``
walks the whole chain and names the first row that does not match.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from tt_runtime.db import Database

from .domain import GENESIS_HASH, AuditRecord, chain_hash, verify_chain
from .models import audit_log
from .settings import Settings

_LOCK = "SELECT pg_advisory_xact_lock(hashtext('identity.audit_log'))"


def _clean(detail: dict[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (detail or {}).items() if v is not None}


async def append(
    session: AsyncSession,
    action: str,
    *,
    actor: uuid.UUID | None = None,
    subject: uuid.UUID | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry in the caller's transaction. Never put secrets or tokens in ``detail``."""
    await session.execute(text(_LOCK))
    last = (
        await session.execute(
            select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
        )
    ).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)
    record = AuditRecord(
        seq=seq,
        at=datetime.now(UTC),
        action=action,
        actor_user_id=str(actor) if actor else None,
        subject_user_id=str(subject) if subject else None,
        ip=ip,
        user_agent=(user_agent or None) and user_agent[:400],
        outcome=outcome,
        detail=_clean(detail),
    )
    await session.execute(
        audit_log.insert().values(
            seq=seq,
            at=record.at,
            action=action,
            actor_user_id=actor,
            subject_user_id=subject,
            ip=ip,
            user_agent=record.user_agent,
            outcome=outcome,
            detail=record.detail,
            prev_hash=prev,
            hash=chain_hash(prev, record),
        )
    )
    return seq


def record_of(row: Row[Any]) -> AuditRecord:
    return AuditRecord(
        seq=row.seq,
        at=row.at.astimezone(UTC),
        action=row.action,
        actor_user_id=str(row.actor_user_id) if row.actor_user_id else None,
        subject_user_id=str(row.subject_user_id) if row.subject_user_id else None,
        ip=row.ip,
        user_agent=row.user_agent,
        outcome=row.outcome,
        detail=dict(row.detail or {}),
    )


def row_valid(row: Row[Any]) -> bool:
    return chain_hash(row.prev_hash, record_of(row)) == row.hash


async def verify(session: AsyncSession, batch: int = 5000) -> tuple[int, int | None]:
    """Walk the whole chain; returns (rows checked, first bad seq or None)."""
    checked, after, prev_hash = 0, 0, GENESIS_HASH
    while True:
        rows = (
            await session.execute(
                select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(batch)
            )
        ).all()
        if not rows:
            return checked, None
        for row in rows:
            expected_seq = after + 1
            if row.seq != expected_seq or row.prev_hash != prev_hash:
                return checked, expected_seq  # a gap (deleted row) or a re-linked chain
            bad = verify_chain([(record_of(row), row.prev_hash, row.hash)])
            if bad is not None:
                return checked, bad
            checked, after, prev_hash = checked + 1, row.seq, row.hash


async def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tt_identity.audit")
    parser.add_argument("command", choices=["verify"])
    parser.parse_args(argv)
    settings = Settings()
    db = Database(settings)
    try:
        async with db.sessions() as session:
            checked, bad = await verify(session)
    finally:
        await db.dispose()
    if bad is None:
        print(f"audit chain valid: {checked} rows")
        return 0
    print(f"audit chain BROKEN at seq {bad} ({checked} rows verified before it)")
    return 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main()))
