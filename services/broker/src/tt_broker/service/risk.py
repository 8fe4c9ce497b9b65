"""Per-account risk limits: stored overrides (None keeps the service default), read by the pre-trade
checks and shown to the user with the defaults filled in."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert as pg_insert

from tt_contracts import broker as c
from tt_runtime.errors import NotFoundError

from ..domain import RiskLimits
from ..models import risk_limit
from ..repository import account_key, owned_account, risk_limit_key, risk_limits_row
from ..settings import Settings
from .context import Context


def limits_in_force(row: Any, settings: Settings) -> RiskLimits:
    """The stored overrides over the service defaults (an explicit 0 is a limit, not a default)."""

    def pick(name: str, default: Any) -> Any:
        value = getattr(row, name, None) if row is not None else None
        return default if value is None else value

    return RiskLimits(
        max_position_size=Decimal(pick("max_position_size", settings.default_max_position_size)),
        max_open_positions=int(pick("max_open_positions", settings.default_max_open_positions)),
        daily_loss_limit=Decimal(pick("daily_loss_limit", settings.default_daily_loss_limit)),
    )


class RiskLimitsService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def _key(self, conn: Any, user_id: UUID, account_id: UUID | None) -> str:
        if account_id is not None and await owned_account(conn, user_id, account_id) is None:
            raise NotFoundError("no such account")
        return account_key(user_id, account_id)

    def _reply(self, account_id: UUID | None, row: Any) -> c.RiskLimitsReply:
        limits = limits_in_force(row, self.ctx.settings)
        return c.RiskLimitsReply(
            account_id=account_id,
            limits=c.RiskLimits(
                max_position_size=limits.max_position_size,
                max_open_positions=limits.max_open_positions,
                daily_loss_limit=limits.daily_loss_limit,
            ),
        )

    async def get(self, r: c.GetRiskLimits) -> c.RiskLimitsReply:
        async with self.ctx.runtime.db.engine.connect() as conn:
            key = await self._key(conn, r.user_id, r.account_id)
            row = await risk_limits_row(conn, r.user_id, key)
        return self._reply(r.account_id, row)

    async def set(self, r: c.SetRiskLimits) -> c.RiskLimitsReply:
        values = r.limits.model_dump()  # validated by the contract: sizes > 0, counts and losses >= 0
        async with self.ctx.runtime.db.engine.begin() as conn:
            key = await self._key(conn, r.user_id, r.account_id)
            stmt = pg_insert(risk_limit).values(
                user_id=r.user_id, account_key=risk_limit_key(key), updated_at=datetime.now(UTC), **values
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[risk_limit.c.user_id, risk_limit.c.account_key],
                    set_={**values, "updated_at": stmt.excluded.updated_at},
                )
            )
            row = await risk_limits_row(conn, r.user_id, key)
        return self._reply(r.account_id, row)
