"""Queries on the broker schema (SQLAlchemy Core). Every user-facing read filters by ``user_id``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from .domain import TERMINAL, IntentState
from .models import account, credential, order_intent, position, risk_limit

Conn = AsyncSession | AsyncConnection
PAPER = "paper"


def account_key(user_id: UUID, account_id: UUID | None) -> str:
    return str(account_id) if account_id is not None else f"{PAPER}:{user_id}"


async def owned_account(conn: Conn, user_id: UUID, account_id: UUID, *, active: bool = True) -> Any:
    q = select(account).where(account.c.id == account_id, account.c.user_id == user_id)
    if active:
        q = q.where(account.c.status == "active")
    return (await conn.execute(q)).first()


async def account_by_id(conn: Conn, account_id: UUID) -> Any:
    return (await conn.execute(select(account).where(account.c.id == account_id))).first()


async def credential_for(conn: Conn, account_id: UUID) -> Any:
    return (await conn.execute(select(credential).where(credential.c.account_id == account_id))).first()


def new_position_row(
    intent: Any, *, deal_id: str, side: str, size: Any, open_price: Any, **extra: Any
) -> dict[str, Any]:
    """The row of a position an intent opened (a market fill, or a working order that filled)."""
    return {
        "id": uuid.uuid4(),
        "user_id": intent.user_id,
        "account_id": intent.account_id,
        "account_key": intent.account_key,
        "deal_id": deal_id,
        "venue": intent.venue or "capitalcom",
        "epic": intent.epic,
        "side": side,
        "size": size,
        "open_price": open_price,
        "intent_id": intent.id,
        **extra,
    }


async def insert_intent(conn: Conn, values: dict[str, Any]) -> bool:
    """True when this user's idempotency key is new; False when one of their intents already holds it."""
    stmt = (
        pg_insert(order_intent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[order_intent.c.user_id, order_intent.c.idempotency_key])
        .returning(order_intent.c.id)
    )
    return (await conn.execute(stmt)).first() is not None


async def intent(conn: Conn, intent_id: UUID, *, lock: bool = False) -> Any:
    q = select(order_intent).where(order_intent.c.id == intent_id)
    if lock:
        q = q.with_for_update()
    return (await conn.execute(q)).first()


async def next_new_intent(conn: Conn, key: str) -> Any:
    """The next intent to execute on an account: protective exits first, then oldest first."""
    q = (
        select(order_intent)
        .where(order_intent.c.account_key == key, order_intent.c.state == IntentState.NEW)
        .order_by(order_intent.c.priority, order_intent.c.created_at, order_intent.c.oco_leg)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await conn.execute(q)).first()


async def move_intent(
    conn: Conn, intent_id: UUID, src: IntentState | tuple[IntentState, ...], dst: IntentState, **values: Any
) -> bool:
    """Guarded transition: applies only if the intent is still in ``src``."""
    sources = (src,) if isinstance(src, IntentState) else src
    reply = values.pop("venue_reply", None)
    if reply is not None:
        values["venue_replies"] = order_intent.c.venue_replies.op("||")(literal([reply], JSONB))
    if dst in TERMINAL:
        values.setdefault("finished_at", datetime.now(UTC))
    done = await conn.execute(
        update(order_intent)
        .where(order_intent.c.id == intent_id, order_intent.c.state.in_([s.value for s in sources]))
        .values(state=dst.value, **values)
    )
    return done.rowcount == 1


async def intents_in(conn: Conn, key: str, states: tuple[IntentState, ...]) -> list[Any]:
    q = (
        select(order_intent)
        .where(order_intent.c.account_key == key, order_intent.c.state.in_([s.value for s in states]))
        .order_by(order_intent.c.sent_at)
    )
    return list((await conn.execute(q)).all())


async def linked_deal_ids(conn: Conn, key: str) -> set[str]:
    pos = (await conn.execute(select(position.c.deal_id).where(position.c.account_key == key))).scalars()
    ints = (
        await conn.execute(
            select(order_intent.c.deal_id).where(
                order_intent.c.account_key == key, order_intent.c.deal_id.is_not(None)
            )
        )
    ).scalars()
    return set(pos) | set(ints)


async def open_positions(conn: Conn, key: str) -> list[Any]:
    q = select(position).where(position.c.account_key == key, position.c.status == "open")
    return list((await conn.execute(q)).all())


async def count_open_positions(conn: Conn, key: str) -> int:
    q = select(func.count()).where(position.c.account_key == key, position.c.status == "open")
    return (await conn.execute(q)).scalar_one()


async def realised_today(conn: Conn, key: str, now: datetime) -> Decimal:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    q = select(func.coalesce(func.sum(position.c.realized_pnl), 0)).where(
        position.c.account_key == key, position.c.closed_at >= start
    )
    return Decimal((await conn.execute(q)).scalar_one())


def risk_limit_key(key: str) -> str:
    """Risk limits are kept per account id, and once for a user's paper book."""
    return PAPER if key.startswith(PAPER) else key


async def risk_limits_row(conn: Conn, user_id: UUID, key: str) -> Any:
    limit_key = risk_limit_key(key)
    q = select(risk_limit).where(
        risk_limit.c.user_id == user_id, risk_limit.c.account_key.in_([limit_key, "*"])
    )
    rows = (await conn.execute(q)).all()
    return next((r for r in rows if r.account_key == limit_key), rows[0] if rows else None)


async def take_lease(conn: Conn, account_id: UUID, owner: str, seconds: float) -> bool:
    now = datetime.now(UTC)
    done = await conn.execute(
        update(account)
        .where(
            account.c.id == account_id,
            or_(account.c.lease_until.is_(None), account.c.lease_until < now, account.c.lease_owner == owner),
        )
        .values(lease_owner=owner, lease_until=func.now() + text(f"interval '{float(seconds)} seconds'"))
    )
    return done.rowcount == 1


async def release_leases(conn: Conn, owner: str, account_id: UUID | None = None) -> None:
    q = update(account).where(account.c.lease_owner == owner)
    if account_id is not None:
        q = q.where(account.c.id == account_id)
    await conn.execute(q.values(lease_owner=None, lease_until=None))


def lease_free(now: datetime) -> Any:
    return and_(or_(account.c.lease_until.is_(None), account.c.lease_until < now))


async def note_session(conn: Conn, account_id: UUID, error: str | None) -> None:
    """How the venue last answered this account: active, or failing with a short secret-free reason."""
    values: dict[str, Any] = {"session_state": "active"}
    if error is not None:
        values = {"session_state": "failing", "last_error": error[:200], "last_error_at": datetime.now(UTC)}
    await conn.execute(update(account).where(account.c.id == account_id).values(**values))
