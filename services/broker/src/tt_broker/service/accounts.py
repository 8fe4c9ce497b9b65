"""Connecting and disconnecting broker accounts; credentials sealed with envelope encryption."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from uuid import UUID

import structlog
from sqlalchemy import delete, insert, select, update

from tt_contracts import broker as c
from tt_runtime.errors import NotFoundError, PermanentError, TransientError

from ..adapters.base import VenueAuthError, VenueError, VenueTransient, describe
from ..crypto import CredentialContext, CredentialDecryptError, KeyRing
from ..models import account, credential
from ..repository import note_session, owned_account
from .context import Context, Secrets, sealed_from_row

log = structlog.get_logger(__name__)


class Accounts:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def connect(self, request: c.ConnectAccount) -> c.AccountConnectedReply:
        if request.broker != "capitalcom":
            raise PermanentError(f"broker {request.broker!r} is not supported")
        secrets = Secrets(request.identifier, request.api_key, request.api_key_password)
        adapter = self.ctx.capitalcom_adapter(secrets, request.environment.value)
        try:
            snapshot = await adapter.validate()
        except VenueAuthError:
            await adapter.aclose()
            raise PermanentError("the broker refused these credentials") from None
        except VenueTransient:
            await adapter.aclose()
            raise TransientError("the broker is unavailable; try again") from None
        except VenueError as exc:
            await adapter.aclose()
            raise PermanentError(f"the broker refused the connection ({exc.code})") from None
        account_id, credential_id = uuid.uuid4(), uuid.uuid4()
        ctx = CredentialContext(request.user_id, credential_id, request.broker)
        sealed = self.ctx.keyring.seal(secrets.to_bytes(), ctx)
        async with self.ctx.runtime.unit_of_work() as uow:
            await uow.execute(
                insert(account).values(
                    id=account_id,
                    user_id=request.user_id,
                    broker=request.broker,
                    environment=request.environment.value,
                    label=request.label,
                    currency=snapshot.currency,
                    venue_account_id=snapshot.venue_account_id,
                    balance=snapshot.balance,
                    available=snapshot.available,
                    margin=snapshot.margin,
                    profit_loss=snapshot.profit_loss,
                    summary_at=datetime.now(UTC),
                    session_state="active",
                )
            )
            await uow.execute(
                insert(credential).values(
                    id=credential_id,
                    account_id=account_id,
                    user_id=request.user_id,
                    broker=request.broker,
                    kek_id=sealed.kek_id,
                    wdek_nonce=sealed.wdek_nonce,
                    wdek=sealed.wdek,
                    ct_nonce=sealed.ct_nonce,
                    ct=sealed.ct,
                    format_version=sealed.version,
                )
            )
            await uow.publish(
                c.ACCOUNT_CONNECTED,
                c.AccountConnected(
                    user_id=request.user_id,
                    account_id=account_id,
                    broker=request.broker,
                    environment=request.environment,
                    currency=snapshot.currency,
                    **request.caused(),
                ),
            )
        self.ctx.remember(str(account_id), adapter)
        log.info("broker account connected", account_id=str(account_id), user_id=str(request.user_id))
        return c.AccountConnectedReply(
            account_id=account_id,
            broker=request.broker,
            environment=request.environment,
            currency=snapshot.currency,
            balance=snapshot.balance,
        )

    async def test(self, request: c.TestAccount) -> c.AccountTestReply:
        """Open a fresh venue session with the stored credentials; the answer names no secret."""
        async with self.ctx.runtime.db.engine.connect() as conn:
            row = await owned_account(conn, request.user_id, request.account_id)
        if row is None:
            raise NotFoundError("no such account")
        started = time.perf_counter()
        try:
            secrets, environment = await self.ctx.load_secrets(row.id)
        except (LookupError, CredentialDecryptError):
            ok, detail = False, "the stored credentials cannot be read"
        else:
            adapter = self.ctx.capitalcom_adapter(secrets, environment)
            try:
                await adapter.validate()
                ok, detail = True, "session opened"
            except VenueAuthError:
                ok, detail = False, "the broker refused the stored credentials"
            except VenueError as exc:
                ok, detail = False, f"the broker did not open a session: {describe(exc)}"
            finally:
                await adapter.aclose()
        latency_ms = (time.perf_counter() - started) * 1000
        async with self.ctx.runtime.db.engine.begin() as conn:
            await note_session(conn, row.id, None if ok else detail)
        return c.AccountTestReply(account_id=row.id, ok=ok, latency_ms=latency_ms, detail=detail)

    async def disconnect(self, request: c.DisconnectAccount) -> c.AccountDisconnectedReply:
        async with self.ctx.runtime.unit_of_work() as uow:
            row = await owned_account(uow.session, request.user_id, request.account_id)
            if row is None:
                raise NotFoundError("no such account")
            await uow.execute(delete(credential).where(credential.c.account_id == row.id))
            await uow.execute(
                update(account)
                .where(account.c.id == row.id)
                .values(status="disconnected", disconnected_at=datetime.now(UTC))
            )
            await uow.publish(
                c.ACCOUNT_DISCONNECTED,
                c.AccountDisconnected(user_id=request.user_id, account_id=row.id, **request.caused()),
            )
        await self.ctx.forget(str(request.account_id))
        return c.AccountDisconnectedReply(account_id=request.account_id)


async def rotate(conn, keyring: KeyRing) -> int:
    """Re-wrap every data key not wrapped by the active KEK; returns how many rows changed."""
    rows = (
        await conn.execute(select(credential).where(credential.c.kek_id != keyring.active).with_for_update())
    ).all()
    for row in rows:
        ctx = CredentialContext(row.user_id, row.id, row.broker, row.format_version)
        sealed = keyring.rewrap(sealed_from_row(row), ctx)
        await conn.execute(
            update(credential)
            .where(credential.c.id == row.id)
            .values(
                kek_id=sealed.kek_id,
                wdek_nonce=sealed.wdek_nonce,
                wdek=sealed.wdek,
                rotated_at=datetime.now(UTC),
            )
        )
    return len(rows)


async def kek_usage(conn) -> dict[str, int]:
    from sqlalchemy import func

    rows = (await conn.execute(select(credential.c.kek_id, func.count()).group_by(credential.c.kek_id))).all()
    return {kid: n for kid, n in rows}


__all__ = ["UUID", "Accounts", "kek_usage", "rotate"]
