"""Queries on identity's tables. User-owned rows are always selected with their owner."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from .models import email_tokens, ip_failures, refresh_tokens, sessions, users


async def user_by_email(session: AsyncSession, email: str, *, lock: bool = False) -> Row[Any] | None:
    stmt = select(users).where(users.c.email == email.lower())
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).first()


async def user_by_id(session: AsyncSession, user_id: UUID, *, lock: bool = False) -> Row[Any] | None:
    stmt = select(users).where(users.c.id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).first()


async def ip_failures_since(session: AsyncSession, ip: str, since: datetime) -> int:
    stmt = (
        select(func.count()).select_from(ip_failures).where(ip_failures.c.ip == ip, ip_failures.c.at > since)
    )
    return int((await session.execute(stmt)).scalar_one())


async def revoke_sessions(
    session: AsyncSession,
    user_id: UUID,
    now: datetime,
    reason: str,
    *,
    session_id: UUID | None = None,
    keep: UUID | None = None,
) -> list[UUID]:
    """Revoke the user's live sessions (one, or all but ``keep``) and their refresh tokens."""
    conds = [sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None)]
    if session_id is not None:
        conds.append(sessions.c.id == session_id)
    if keep is not None:
        conds.append(sessions.c.id != keep)
    revoked = (
        (
            await session.execute(
                update(sessions)
                .where(*conds)
                .values(revoked_at=now, revoke_reason=reason)
                .returning(sessions.c.id)
            )
        )
        .scalars()
        .all()
    )
    if revoked:
        await session.execute(
            update(refresh_tokens)
            .where(
                refresh_tokens.c.user_id == user_id,
                refresh_tokens.c.family_id.in_(revoked),
                refresh_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now, revoke_reason=reason, successor_sealed=None)
        )
    return list(revoked)


async def consume_email_token(
    session: AsyncSession, token_hash: bytes, purpose: str, now: datetime
) -> UUID | None:
    """Single use: marks the token used and returns its user, or None if unknown, used or expired."""
    stmt = (
        update(email_tokens)
        .where(
            email_tokens.c.token_hash == token_hash,
            email_tokens.c.purpose == purpose,
            email_tokens.c.used_at.is_(None),
            email_tokens.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(email_tokens.c.user_id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def peek_email_token(
    session: AsyncSession, token_hash: bytes, purpose: str, now: datetime
) -> UUID | None:
    stmt = select(email_tokens.c.user_id).where(
        email_tokens.c.token_hash == token_hash,
        email_tokens.c.purpose == purpose,
        email_tokens.c.used_at.is_(None),
        email_tokens.c.expires_at > now,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def expire_email_tokens(session: AsyncSession, user_id: UUID, purpose: str, now: datetime) -> None:
    await session.execute(
        update(email_tokens)
        .where(
            email_tokens.c.user_id == user_id,
            email_tokens.c.purpose == purpose,
            email_tokens.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
