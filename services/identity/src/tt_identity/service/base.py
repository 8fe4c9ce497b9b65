"""Shared plumbing of the identity use cases: transactions, sessions and token minting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import insert
from sqlalchemy.engine import Row

from tt_contracts.identity import ClientContext, Profile, TokenPair
from tt_runtime.db import UnitOfWork
from tt_runtime.service import ServiceRuntime

from .. import audit
from ..adapters.mailer import Mailer
from ..adapters.oidc import OidcClient
from ..crypto import derive_key, new_token, token_hash
from ..keys import KeyStore, sign
from ..models import email_tokens, refresh_tokens, sessions
from ..passwords import Passwords
from ..settings import Settings

log = structlog.get_logger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Client:
    ip: str | None
    user_agent: str | None

    @classmethod
    def of(cls, ctx: ClientContext | None, ip: str | None = None, user_agent: str | None = None) -> Client:
        ctx = ctx or ClientContext()
        address = ctx.ip or ip
        agent = ctx.user_agent or user_agent
        return cls(address[:64] if address else None, agent[:400] if agent else None)


def profile_of(row: Row[Any]) -> Profile:
    return Profile.model_validate(row.profile or {})


class Base:
    def __init__(self, runtime: ServiceRuntime, settings: Settings) -> None:
        self.runtime = runtime
        self.settings = settings
        self.passwords = Passwords(settings)
        self.keys = KeyStore(settings)
        self.mailer = Mailer(settings)
        self.oidc = OidcClient(settings.oidc_http_timeout_seconds)
        self._seal_key = derive_key(
            settings.identity_key_encryption_key.get_secret_value(), "refresh-successor"
        )
        self._background: set[asyncio.Task[Any]] = set()

    def uow(self) -> UnitOfWork:
        return self.runtime.unit_of_work()

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        self.passwords.close()
        await self.oidc.close()

    # -- background email --------------------------------------------------------------------------
    def later(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run after the reply (so reply timing never depends on whether an email was sent)."""

        async def guarded() -> None:
            try:
                await coro
            except Exception as exc:
                log.warning("background email failed", error=repr(exc))

        task = asyncio.create_task(guarded())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for pending background emails (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def email_token(self, uow: UnitOfWork, user_id: UUID, purpose: str, ttl: int) -> str:
        raw = new_token()
        at = now()
        await uow.execute(
            insert(email_tokens).values(
                id=uuid.uuid4(),
                token_hash=token_hash(raw),
                user_id=user_id,
                purpose=purpose,
                created_at=at,
                expires_at=at + timedelta(seconds=ttl),
            )
        )
        return raw

    def link(self, page: str, token: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/{page}?token={token}"

    async def send_verification(self, email: str, token: str) -> None:
        await self.mailer.send(
            email,
            "Confirm your Trade Tracker email address",
            "Welcome to Trade Tracker.\n\nConfirm your email address by opening this link:\n\n"
            f"{self.link('verify-email', token)}\n\n"
            f"The link works once and expires in {self.settings.email_verify_ttl_seconds // 3600} hours.\n",
        )

    # -- sessions and tokens -----------------------------------------------------------------------
    async def access_token(self, uow: UnitOfWork, user_id: UUID, roles: list[str], session_id: UUID) -> str:
        key = await self.keys.active(uow.session)
        issued = int(now().timestamp())
        claims = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "sub": str(user_id),
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.settings.access_token_ttl_seconds,
            "jti": uuid.uuid4().hex,
            "sid": str(session_id),
            "roles": list(roles),
        }
        return sign(key, claims)

    async def open_session(
        self, uow: UnitOfWork, user: Row[Any], client: Client, auth_method: str
    ) -> TokenPair:
        at = now()
        session_id = uuid.uuid4()
        absolute = at + timedelta(seconds=self.settings.refresh_absolute_seconds)
        await uow.execute(
            insert(sessions).values(
                id=session_id,
                user_id=user.id,
                created_at=at,
                last_used_at=at,
                expires_at=absolute,
                ip=client.ip,
                user_agent=client.user_agent,
                auth_method=auth_method,
            )
        )
        raw = await self.insert_refresh(uow, user.id, session_id, None, absolute)
        return await self.pair(uow, user.id, list(user.roles), session_id, raw)

    async def insert_refresh(
        self, uow: UnitOfWork, user_id: UUID, family: UUID, parent: UUID | None, absolute: datetime
    ) -> str:
        raw = new_token()
        at = now()
        await uow.execute(
            insert(refresh_tokens).values(
                id=uuid.uuid4(),
                token_hash=token_hash(raw),
                family_id=family,
                parent_id=parent,
                user_id=user_id,
                created_at=at,
                expires_at=absolute,
                idle_expires_at=min(absolute, at + timedelta(seconds=self.settings.refresh_idle_seconds)),
            )
        )
        return raw

    async def pair(
        self, uow: UnitOfWork, user_id: UUID, roles: list[str], session_id: UUID, refresh: str
    ) -> TokenPair:
        return TokenPair(
            user_id=user_id,
            access_token=await self.access_token(uow, user_id, roles, session_id),
            refresh_token=refresh,
            expires_in=self.settings.access_token_ttl_seconds,
            session_id=session_id,
            refresh_expires_in=self.settings.refresh_idle_seconds,
            roles=list(roles),
        )

    async def audit(self, uow: UnitOfWork, action: str, client: Client | None = None, **kw: Any) -> None:
        await audit.append(
            uow.session,
            action,
            ip=client.ip if client else None,
            user_agent=client.user_agent if client else None,
            **kw,
        )
