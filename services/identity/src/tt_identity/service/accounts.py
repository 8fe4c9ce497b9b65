"""Email verification, password reset and change, profile."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.engine import Row

from tt_contracts import identity as c
from tt_runtime.db import UnitOfWork
from tt_runtime.errors import NotFoundError, PermanentError

from .. import domain
from ..crypto import token_hash
from ..errors import AuthenticationError
from ..models import oauth_links, users
from ..repository import (
    consume_email_token,
    expire_email_tokens,
    peek_email_token,
    revoke_sessions,
    user_by_email,
    user_by_id,
)
from .auth import Auth
from .base import Client, now, profile_of

INVALID_TOKEN = "the link is invalid or has expired"


class Accounts(Auth):
    async def grant_bootstrap_admin(self, uow: UnitOfWork, user: Row[Any]) -> list[str]:
        """The configured first admin gets ``admin`` once their email is proven."""
        wanted = self.settings.identity_bootstrap_admin_email
        roles = list(user.roles)
        if not wanted or user.email != wanted.lower() or "admin" in roles:
            return roles
        roles = domain.normalise_roles([*roles, "admin"])
        await uow.execute(update(users).where(users.c.id == user.id).values(roles=roles))
        await self.audit(
            uow, "roles.changed", subject=user.id, detail={"roles": ",".join(roles), "by": "bootstrap"}
        )
        await uow.publish(c.ROLE_CHANGED, c.UserRoleChanged(user_id=user.id, roles=roles))
        return roles

    async def ensure_demo_user(self) -> None:
        """Development only: a verified trader to sign in with at once. Registered through the normal
        path (so user.registered reaches the other services), then marked verified."""
        email, password = self.settings.identity_demo_user_email, self.settings.identity_demo_user_password
        if not email or password is None:
            return
        async with self.uow() as uow:
            existing = await user_by_email(uow.session, email.lower())
        if existing is not None and existing.email_verified:
            return
        if existing is None:
            reply = await self.register(
                c.RegisterUser(email=email, password=password.get_secret_value(), display_name="Demo Trader")
            )
        user_id = existing.id if existing is not None else reply.user_id
        # A separate step: a start that stopped between the two finds the user unverified and finishes.
        async with self.uow() as uow:
            await uow.execute(update(users).where(users.c.id == user_id).values(email_verified=True))
            await self.audit(uow, "email.verified", subject=user_id, detail={"by": "development demo seed"})

    # -- email -------------------------------------------------------------------------------------
    async def verify_email(self, req: c.VerifyEmail) -> c.Ack:
        async with self.uow() as uow:
            user_id = await consume_email_token(
                uow.session, token_hash(req.token.get_secret_value()), "verify_email", now()
            )
            if user_id is None:
                raise PermanentError(INVALID_TOKEN)
            user = await user_by_id(uow.session, user_id, lock=True)
            assert user is not None
            if not user.email_verified:
                await uow.execute(update(users).where(users.c.id == user_id).values(email_verified=True))
                await self.audit(uow, "email.verified", actor=user_id, subject=user_id)
                await uow.publish(c.EMAIL_VERIFIED, c.EmailVerified(user_id=user_id))
            await self.grant_bootstrap_admin(uow, user)
        return c.Ack()

    async def resend_verification(self, req: c.ResendVerification) -> c.Ack:
        token = None
        async with self.uow() as uow:
            user = await user_by_email(uow.session, req.email)
            if user is not None and not user.email_verified:
                await expire_email_tokens(uow.session, user.id, "verify_email", now())
                token = await self.email_token(
                    uow, user.id, "verify_email", self.settings.email_verify_ttl_seconds
                )
        if token is not None:
            self.later(self.send_verification(req.email.lower(), token))
        return c.Ack()  # the same answer whether or not the address has an account

    # -- passwords ---------------------------------------------------------------------------------
    async def request_password_reset(self, req: c.RequestPasswordReset) -> c.Ack:
        client = Client.of(req.client)
        token = None
        async with self.uow() as uow:
            user = await user_by_email(uow.session, req.email)
            if user is not None:
                await expire_email_tokens(uow.session, user.id, "reset_password", now())
                token = await self.email_token(
                    uow, user.id, "reset_password", self.settings.password_reset_ttl_seconds
                )
                await self.audit(uow, "password.reset_requested", client, subject=user.id)
        if token is not None:
            minutes = self.settings.password_reset_ttl_seconds // 60
            self.later(
                self.mailer.send(
                    req.email.lower(),
                    "Reset your Trade Tracker password",
                    "Someone (hopefully you) asked to reset your password. Choose a new one here:\n\n"
                    f"{self.link('reset-password', token)}\n\nThe link works once and expires in {minutes} "
                    "minutes. If you did not ask, ignore this email; your password stays as it is.\n",
                )
            )
        return c.Ack()  # never tells whether the address has an account

    async def _set_password(
        self,
        uow: UnitOfWork,
        user_id: UUID,
        password_hash: str,
        client: Client,
        action: str,
        keep: UUID | None,
    ) -> None:
        at = now()
        await uow.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(password_hash=password_hash, password_changed_at=at, failed_count=0, locked_until=None)
        )
        await expire_email_tokens(uow.session, user_id, "reset_password", at)
        await revoke_sessions(uow.session, user_id, at, "password-change", keep=keep)
        await self.audit(uow, action, client, actor=user_id, subject=user_id)
        await uow.publish(c.PASSWORD_CHANGED, c.PasswordChanged(user_id=user_id))
        await uow.publish(
            c.SESSION_REVOKED, c.SessionRevoked(user_id=user_id, session_id=None, reason="password-change")
        )

    async def reset_password(self, req: c.ResetPassword) -> c.Ack:
        client = Client.of(req.client)
        digest = token_hash(req.token.get_secret_value())
        async with self.runtime.db.sessions() as session:
            user_id = await peek_email_token(session, digest, "reset_password", now())
            user = await user_by_id(session, user_id) if user_id else None
        if user is None:
            raise PermanentError(INVALID_TOKEN)
        password = req.new_password.get_secret_value()
        problems = domain.password_problems(password, email=user.email)
        if problems:
            raise PermanentError("password " + "; ".join(problems))
        password_hash = await self.passwords.hash(password)
        async with self.uow() as uow:
            if await consume_email_token(uow.session, digest, "reset_password", now()) != user.id:
                raise PermanentError(INVALID_TOKEN)
            await self._set_password(uow, user.id, password_hash, client, "password.reset", keep=None)
            if not user.email_verified:  # the reset link proved the address
                await uow.execute(update(users).where(users.c.id == user.id).values(email_verified=True))
                await uow.publish(c.EMAIL_VERIFIED, c.EmailVerified(user_id=user.id))
        return c.Ack()

    async def change_password(self, req: c.ChangePassword) -> c.Ack:
        client = Client.of(req.client)
        async with self.runtime.db.sessions() as session:
            user = await user_by_id(session, req.user_id)
        if user is None:
            raise NotFoundError("no such user")
        if not await self.passwords.verify(user.password_hash, req.current_password.get_secret_value()):
            await self.record_failure(client, user.id, "bad-current-password")
            raise AuthenticationError("the current password is wrong")
        password = req.new_password.get_secret_value()
        problems = domain.password_problems(password, email=user.email)
        if problems:
            raise PermanentError("password " + "; ".join(problems))
        password_hash = await self.passwords.hash(password)
        async with self.uow() as uow:
            await self._set_password(
                uow, user.id, password_hash, client, "password.changed", keep=req.keep_session_id
            )
        return c.Ack()

    # -- profile -----------------------------------------------------------------------------------
    async def _profile_reply(self, session: Any, user: Row[Any]) -> c.ProfileReply:
        from sqlalchemy import select

        providers = (
            await session.execute(select(oauth_links.c.provider).where(oauth_links.c.user_id == user.id))
        ).scalars()
        return c.ProfileReply(
            user_id=user.id,
            email=user.email,
            email_verified=user.email_verified,
            roles=list(user.roles),
            profile=profile_of(user),
            linked_providers=sorted(set(providers)),
        )

    async def get_profile(self, req: c.GetProfile) -> c.ProfileReply:
        async with self.runtime.db.sessions() as session:
            user = await user_by_id(session, req.user_id)
            if user is None:
                raise NotFoundError("no such user")
            return await self._profile_reply(session, user)

    async def update_profile(self, req: c.UpdateProfile) -> c.ProfileReply:
        problems = domain.profile_problems(req.profile.timezone, req.profile.onboarding_completed)
        if problems:
            raise PermanentError("; ".join(problems))
        async with self.uow() as uow:
            user = await user_by_id(uow.session, req.user_id, lock=True)
            if user is None:
                raise NotFoundError("no such user")
            await uow.execute(
                update(users)
                .where(users.c.id == req.user_id)
                .values(profile=req.profile.model_dump(mode="json"))
            )
            await self.audit(uow, "profile.updated", actor=req.user_id, subject=req.user_id)
            user = await user_by_id(uow.session, req.user_id)
            return await self._profile_reply(uow.session, user)
