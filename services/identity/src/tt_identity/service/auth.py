"""Register, sign in, refresh rotation with reuse detection, sessions."""

from __future__ import annotations

import uuid
from datetime import timedelta
from uuid import UUID

from sqlalchemy import insert, select, update

from tt_contracts import identity as c
from tt_runtime.errors import NotFoundError, PermanentError

from .. import domain
from ..crypto import seal, token_hash, unseal
from ..errors import GENERIC_RATE_LIMITED, GENERIC_SIGN_IN_FAILURE, AuthenticationError, RateLimitedError
from ..models import ip_failures, refresh_tokens, sessions, users
from ..repository import ip_failures_since, revoke_sessions, user_by_email
from .base import Base, Client, now


class Auth(Base):
    # -- register ----------------------------------------------------------------------------------
    async def register(self, req: c.RegisterUser) -> c.UserRegisteredReply:
        email = req.email.lower()
        password = req.password.get_secret_value()
        problems = domain.password_problems(password, email=email)
        if problems:
            raise PermanentError("password " + "; ".join(problems))
        password_hash = await self.passwords.hash(password)
        async with self.uow() as uow:
            existing = await user_by_email(uow.session, email)
            if existing is not None:
                # No enumeration: the same reply as a new account; the owner is told by email instead.
                self.later(
                    self.mailer.send(
                        email,
                        "Someone tried to sign up with your email address",
                        "An account for this address already exists. If this was you, sign in or reset "
                        f"your password at {self.link('reset-password', '')}\n",
                    )
                )
                return c.UserRegisteredReply(user_id=uuid.uuid4(), verification_required=True)
            user_id = uuid.uuid4()
            profile = c.Profile(display_name=req.display_name)
            await uow.execute(
                insert(users).values(
                    id=user_id,
                    email=email,
                    email_verified=False,
                    password_hash=password_hash,
                    roles=list(domain.DEFAULT_ROLES),
                    profile=profile.model_dump(mode="json"),
                    created_at=now(),
                    password_changed_at=now(),
                )
            )
            await uow.publish(
                c.USER_REGISTERED,
                c.UserRegistered(user_id=user_id, email=email, display_name=req.display_name),
            )
            await self.audit(
                uow, "user.registered", actor=user_id, subject=user_id, detail={"method": "password"}
            )
            token = await self.email_token(
                uow, user_id, "verify_email", self.settings.email_verify_ttl_seconds
            )
        self.later(self.send_verification(email, token))
        return c.UserRegisteredReply(user_id=user_id, verification_required=True)

    # -- sign in -----------------------------------------------------------------------------------
    async def _check_ip(self, client: Client) -> None:
        if not client.ip:
            return
        since = now() - timedelta(seconds=self.settings.ip_window_seconds)
        async with self.runtime.db.sessions() as session:
            if await ip_failures_since(session, client.ip, since) >= self.settings.ip_max_failures:
                raise RateLimitedError(GENERIC_RATE_LIMITED)

    async def record_failure(self, client: Client, user_id: UUID | None, reason: str) -> None:
        at = now()
        async with self.uow() as uow:
            if client.ip:
                await uow.execute(insert(ip_failures).values(ip=client.ip, at=at))
            detail: dict[str, str] = {"reason": reason}
            if user_id is not None:
                row = (
                    await uow.execute(
                        update(users)
                        .where(users.c.id == user_id)
                        .values(failed_count=users.c.failed_count + 1)
                        .returning(users.c.failed_count)
                    )
                ).first()
                lock = domain.lock_duration(
                    row.failed_count,
                    threshold=self.settings.lockout_threshold,
                    base=self.settings.lockout_base_seconds,
                    cap=self.settings.lockout_max_seconds,
                )
                if lock is not None:
                    await uow.execute(
                        update(users).where(users.c.id == user_id).values(locked_until=at + lock)
                    )
                    detail["locked_seconds"] = str(int(lock.total_seconds()))
            await self.audit(
                uow, "auth.login.failed", client, subject=user_id, outcome="denied", detail=detail
            )

    async def authenticate(self, req: c.AuthenticateUser) -> c.TokenPair:
        client = Client.of(req.client, req.client_ip, req.user_agent)
        await self._check_ip(client)
        async with self.runtime.db.sessions() as session:
            user = await user_by_email(session, req.email)
        if user is not None and user.locked_until is not None and user.locked_until > now():
            await self.record_failure(client, user.id, "locked")
            raise RateLimitedError(GENERIC_RATE_LIMITED)
        password = req.password.get_secret_value()
        ok = await self.passwords.verify(user.password_hash if user else None, password)
        if not ok:
            await self.record_failure(
                client, user.id if user else None, "unknown-user" if user is None else "bad-password"
            )
            raise AuthenticationError(GENERIC_SIGN_IN_FAILURE)
        assert user is not None
        new_hash = (
            await self.passwords.hash(password) if self.passwords.needs_rehash(user.password_hash) else None
        )
        async with self.uow() as uow:
            values: dict[str, object] = {"failed_count": 0, "locked_until": None}
            if new_hash:
                values["password_hash"] = new_hash
            await uow.execute(update(users).where(users.c.id == user.id).values(**values))
            pair = await self.open_session(uow, user, client, "password")
            await self.audit(
                uow,
                "auth.login.succeeded",
                client,
                actor=user.id,
                subject=user.id,
                detail={"method": "password", "session_id": str(pair.session_id)},
            )
        return pair

    # -- refresh -----------------------------------------------------------------------------------
    async def refresh(self, req: c.RefreshTokens) -> c.TokenPair:
        client = Client.of(req.client)
        raw = req.refresh_token.get_secret_value()
        at = now()
        reuse: tuple[UUID, UUID] | None = None
        async with self.uow() as uow:
            row = (
                await uow.execute(
                    select(refresh_tokens)
                    .where(refresh_tokens.c.token_hash == token_hash(raw))
                    .with_for_update()
                )
            ).first()
            if row is None or row.revoked_at is not None:
                raise AuthenticationError("invalid refresh token")
            user = (await uow.execute(select(users).where(users.c.id == row.user_id))).first()
            sess = (await uow.execute(select(sessions).where(sessions.c.id == row.family_id))).first()
            if user is None or sess is None or sess.revoked_at is not None:
                raise AuthenticationError("invalid refresh token")
            if row.used_at is not None:
                grace = timedelta(seconds=self.settings.refresh_reuse_grace_seconds)
                child = None
                if (
                    row.replaced_by is not None
                    and row.successor_sealed is not None
                    and at - row.used_at <= grace
                ):
                    child = (
                        await uow.execute(
                            select(refresh_tokens).where(refresh_tokens.c.id == row.replaced_by)
                        )
                    ).first()
                if child is not None and child.revoked_at is None:
                    # Two tabs refreshed at once: the same successor, not a new one.
                    successor = unseal(self._seal_key, row.successor_sealed, row.id.bytes).decode()
                    return await self.pair(uow, user.id, list(user.roles), sess.id, successor)
                reuse = (user.id, sess.id)
            elif at >= min(row.expires_at, row.idle_expires_at):
                raise AuthenticationError("refresh token expired")
            else:
                successor = await self.insert_refresh(uow, user.id, sess.id, row.id, row.expires_at)
                child_id = (
                    await uow.execute(
                        select(refresh_tokens.c.id).where(
                            refresh_tokens.c.token_hash == token_hash(successor)
                        )
                    )
                ).scalar_one()
                await uow.execute(
                    update(refresh_tokens)
                    .where(refresh_tokens.c.id == row.id)
                    .values(
                        used_at=at,
                        replaced_by=child_id,
                        successor_sealed=seal(self._seal_key, successor.encode(), row.id.bytes),
                    )
                )
                if row.parent_id is not None:  # the grandparent's grace is over: forget its successor
                    await uow.execute(
                        update(refresh_tokens)
                        .where(refresh_tokens.c.id == row.parent_id)
                        .values(successor_sealed=None)
                    )
                await uow.execute(
                    update(sessions)
                    .where(sessions.c.id == sess.id)
                    .values(
                        last_used_at=at,
                        ip=client.ip or sess.ip,
                        user_agent=client.user_agent or sess.user_agent,
                    )
                )
                return await self.pair(uow, user.id, list(user.roles), sess.id, successor)
        # Reuse of a rotated token: attacker and victim cannot be told apart, so the family goes.
        user_id, family = reuse
        async with self.uow() as uow:
            await revoke_sessions(uow.session, user_id, at, "refresh-reuse", session_id=family)
            await self.audit(
                uow,
                "auth.refresh.reuse_detected",
                client,
                subject=user_id,
                outcome="denied",
                detail={"session_id": str(family)},
            )
            await uow.publish(
                c.SESSION_REVOKED,
                c.SessionRevoked(user_id=user_id, session_id=family, reason="refresh-reuse"),
            )
        raise AuthenticationError("invalid refresh token")

    # -- sessions ----------------------------------------------------------------------------------
    async def list_sessions(self, req: c.ListSessions) -> c.SessionsReply:
        at = now()
        async with self.runtime.db.sessions() as session:
            rows = await session.execute(
                select(sessions)
                .where(
                    sessions.c.user_id == req.user_id,
                    sessions.c.revoked_at.is_(None),
                    sessions.c.expires_at > at,
                )
                .order_by(sessions.c.last_used_at.desc())
            )
            return c.SessionsReply(
                sessions=[
                    c.SessionView(
                        session_id=r.id,
                        created_at=r.created_at,
                        last_used_at=r.last_used_at,
                        ip=r.ip,
                        user_agent=r.user_agent,
                        device=domain.device_label(r.user_agent),
                    )
                    for r in rows
                ]
            )

    async def sign_out(self, req: c.SignOut) -> c.Ack:
        client = Client.of(req.client)
        if not req.everywhere and req.session_id is None:
            raise PermanentError("session_id is required unless everywhere is set")
        reason = "sign-out-everywhere" if req.everywhere else "sign-out"
        async with self.uow() as uow:
            revoked = await revoke_sessions(
                uow.session, req.user_id, now(), reason, session_id=None if req.everywhere else req.session_id
            )
            if not req.everywhere and not revoked:
                # Unknown, already revoked, or another user's session: the same answer for each.
                raise NotFoundError("no such session")
            await self.audit(
                uow,
                "session.revoked",
                client,
                actor=req.user_id,
                subject=req.user_id,
                detail={"reason": reason, "sessions": str(len(revoked))},
            )
            await uow.publish(
                c.SESSION_REVOKED,
                c.SessionRevoked(
                    user_id=req.user_id, session_id=None if req.everywhere else req.session_id, reason=reason
                ),
            )
        return c.Ack()

    async def jwks(self, req: c.GetJwks) -> c.JwksReply:
        async with self.runtime.db.sessions() as session, session.begin():
            await self.keys.active(session)  # the first call creates the first key
            return c.JwksReply(keys=await self.keys.jwks(session))
