"""Sign-in with Google/OIDC (authorization code + PKCE) and with federated issuer tokens."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select, update

from tt_contracts import identity as c
from tt_runtime.errors import NotFoundError

from .. import domain
from ..adapters.oidc import Identity, unverified_issuer
from ..errors import AuthenticationError
from ..models import oauth_links, users
from ..repository import revoke_sessions, user_by_email, user_by_id
from .accounts import Accounts
from .base import Client, now


class Federation(Accounts):
    def _provider(self, name: str):
        provider = self.settings.oidc_providers.get(name)
        if provider is None:
            raise NotFoundError(f"no OIDC provider {name!r} is configured")
        return provider

    async def oidc_authorize_url(self, req: c.OidcAuthorizeUrl) -> c.OidcAuthorizeUrlReply:
        started = await self.oidc.authorize_url(self._provider(req.provider), req.redirect_uri)
        return c.OidcAuthorizeUrlReply(**started)

    async def oidc_sign_in(self, req: c.OidcSignIn) -> c.TokenPair:
        identity = await self.oidc.exchange(
            self._provider(req.provider),
            code=req.code.get_secret_value(),
            code_verifier=req.code_verifier.get_secret_value(),
            redirect_uri=req.redirect_uri,
            nonce=req.nonce,
        )
        return await self._federated_sign_in(identity, req.provider, Client.of(req.client))

    async def external_sign_in(self, req: c.ExternalTokenSignIn) -> c.TokenPair:
        token = req.token.get_secret_value()
        issuer = unverified_issuer(token)
        config = next((i for i in self.settings.external_issuers if i.issuer == issuer), None)
        if config is None:
            raise AuthenticationError("invalid token")
        identity = await self.oidc.external(config, token)
        return await self._federated_sign_in(identity, "external", Client.of(req.client))

    async def _federated_sign_in(self, identity: Identity, provider: str, client: Client) -> c.TokenPair:
        at = now()
        refused = False
        async with self.uow() as uow:
            link = (
                await uow.execute(
                    select(oauth_links).where(
                        oauth_links.c.issuer == identity.issuer, oauth_links.c.subject == identity.subject
                    )
                )
            ).first()
            user = await user_by_id(uow.session, link.user_id, lock=True) if link else None
            if user is None:
                if not identity.email or not identity.email_verified:
                    # Linking or creating by an unproven address would hand the account to whoever typed it.
                    await self.audit(
                        uow,
                        "oauth.sign_in_refused",
                        client,
                        outcome="denied",
                        detail={"provider": provider, "reason": "email-not-verified"},
                    )
                    refused = True
                else:
                    user = await user_by_email(uow.session, identity.email, lock=True)
                    if user is None:
                        user_id = uuid.uuid4()
                        profile = c.Profile(display_name=identity.name[:120])
                        await uow.execute(
                            insert(users).values(
                                id=user_id,
                                email=identity.email,
                                email_verified=True,
                                password_hash=None,
                                roles=list(domain.DEFAULT_ROLES),
                                profile=profile.model_dump(mode="json"),
                                created_at=at,
                            )
                        )
                        await uow.publish(
                            c.USER_REGISTERED,
                            c.UserRegistered(
                                user_id=user_id, email=identity.email, display_name=profile.display_name
                            ),
                        )
                        await self.audit(
                            uow,
                            "user.registered",
                            client,
                            actor=user_id,
                            subject=user_id,
                            detail={"method": provider},
                        )
                    elif not user.email_verified:
                        # Someone registered this address with a password but never proved it: that
                        # password may be an attacker's (pre-hijack), so it goes, with its sessions.
                        await uow.execute(
                            update(users)
                            .where(users.c.id == user.id)
                            .values(email_verified=True, password_hash=None)
                        )
                        await revoke_sessions(uow.session, user.id, at, "account-linked")
                        await uow.publish(c.EMAIL_VERIFIED, c.EmailVerified(user_id=user.id))
                    user = await user_by_email(uow.session, identity.email)
                    await uow.execute(
                        insert(oauth_links).values(
                            id=uuid.uuid4(),
                            user_id=user.id,
                            provider=provider,
                            issuer=identity.issuer,
                            subject=identity.subject,
                            email=identity.email,
                            created_at=at,
                        )
                    )
                    await self.audit(
                        uow,
                        "oauth.linked",
                        client,
                        actor=user.id,
                        subject=user.id,
                        detail={"provider": provider, "issuer": identity.issuer},
                    )
                    await uow.publish(c.ACCOUNT_LINKED, c.AccountLinked(user_id=user.id, provider=provider))
            if user is not None:
                roles = await self.grant_bootstrap_admin(uow, user)
                user = await user_by_id(uow.session, user.id)
                pair = await self.open_session(uow, user, client, f"oidc:{provider}")
                await self.audit(
                    uow,
                    "auth.login.succeeded",
                    client,
                    actor=user.id,
                    subject=user.id,
                    detail={"method": provider, "session_id": str(pair.session_id), "roles": ",".join(roles)},
                )
                return pair
        if refused:
            raise AuthenticationError("the provider did not confirm a verified email address")
        raise AuthenticationError("invalid token")
