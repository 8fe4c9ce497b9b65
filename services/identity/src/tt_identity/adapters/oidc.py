"""OIDC authorization code + PKCE (authlib) and federated bearer tokens (PyJWT against a JWKS).

Every failure to reach a provider is a ``TransientError``; a token that does not validate is an
``AuthenticationError`` (the caller cannot fix it by retrying).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tt_runtime.errors import TransientError

from ..errors import AuthenticationError
from ..settings import ExternalIssuerSettings, OidcProviderSettings


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str = ""


class _JwksCache:
    """JWKS by URL, refetched at most every ``ttl`` seconds (and once on an unknown kid)."""

    def __init__(self, http: httpx.AsyncClient, ttl: float = 300.0) -> None:
        self.http = http
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    async def get(self, url: str, *, force: bool = False) -> dict[str, Any]:
        hit = self._cache.get(url)
        if hit and not force and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        try:
            response = await self.http.get(url)
            response.raise_for_status()
            jwks = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise TransientError(f"JWKS unavailable: {type(exc).__name__}") from exc
        self._cache[url] = (time.monotonic(), jwks)
        return jwks

    async def key_for(self, url: str, token: str) -> Any:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise AuthenticationError("invalid token") from exc
        for force in (False, True):
            keys = (await self.get(url, force=force)).get("keys", [])
            if kid is None and len(keys) == 1:  # some issuers omit kid with a single key
                return jwt.PyJWK(keys[0]).key
            for jwk in keys:
                if jwk.get("kid") == kid:
                    return jwt.PyJWK(jwk).key
            if kid is None:
                break
        raise AuthenticationError("invalid token")


class OidcClient:
    def __init__(self, timeout: float = 5.0) -> None:
        self.http = httpx.AsyncClient(timeout=timeout)
        self.jwks = _JwksCache(self.http)
        self._discovery: dict[str, tuple[float, dict[str, Any]]] = {}

    async def close(self) -> None:
        await self.http.aclose()

    async def discover(self, url: str) -> dict[str, Any]:
        hit = self._discovery.get(url)
        if hit and time.monotonic() - hit[0] < 3600:
            return hit[1]
        try:
            response = await self.http.get(url)
            response.raise_for_status()
            meta = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise TransientError(f"OIDC discovery failed: {type(exc).__name__}") from exc
        self._discovery[url] = (time.monotonic(), meta)
        return meta

    async def authorize_url(self, provider: OidcProviderSettings, redirect_uri: str) -> dict[str, str]:
        meta = await self.discover(provider.discovery_url)
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), generate_token(64)
        client = AsyncOAuth2Client(
            client_id=provider.client_id, scope=provider.scope, redirect_uri=redirect_uri
        )
        url, _ = client.create_authorization_url(
            meta["authorization_endpoint"],
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        return {"url": url, "state": state, "nonce": nonce, "code_verifier": verifier}

    async def exchange(
        self, provider: OidcProviderSettings, *, code: str, code_verifier: str, redirect_uri: str, nonce: str
    ) -> Identity:
        meta = await self.discover(provider.discovery_url)
        secret = provider.client_secret.get_secret_value()
        client = AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=secret or None,
            # A public client (no secret) authenticates by PKCE alone and names itself in the body.
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            redirect_uri=redirect_uri,
            timeout=self.http.timeout,
        )
        try:
            async with client:
                token = await client.fetch_token(
                    meta["token_endpoint"],
                    code=code,
                    code_verifier=code_verifier,
                    grant_type="authorization_code",
                )
        except httpx.HTTPError as exc:
            raise TransientError(f"token endpoint unavailable: {type(exc).__name__}") from exc
        except Exception as exc:  # authlib's OAuthError: invalid_grant and friends
            raise AuthenticationError("the provider refused the authorization code") from exc
        id_token = token.get("id_token")
        if not id_token:
            raise AuthenticationError("the provider returned no ID token")
        issuers = [meta["issuer"], *provider.extra_issuers]
        claims = await self.validate(
            id_token,
            jwks_url=meta["jwks_uri"],
            issuers=issuers,
            audience=provider.client_id,
            algorithms=["RS256", "ES256", "EdDSA"],
        )
        if not nonce or not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise AuthenticationError("ID token nonce mismatch")
        return _identity(claims)

    async def validate(
        self,
        token: str,
        *,
        jwks_url: str,
        issuers: list[str],
        audience: str | None,
        algorithms: list[str],
        authorized_parties: list[str] | None = None,
    ) -> dict[str, Any]:
        key = await self.jwks.key_for(jwks_url, token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=audience,
                issuer=issuers,
                leeway=30,
                options={"verify_aud": audience is not None, "require": ["exp", "iat", "iss", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError("invalid token") from exc
        if authorized_parties and claims.get("azp") not in authorized_parties:
            raise AuthenticationError("invalid token")
        return claims

    async def external(self, issuer: ExternalIssuerSettings, token: str) -> Identity:
        claims = await self.validate(
            token,
            jwks_url=issuer.jwks_url,
            issuers=[issuer.issuer],
            audience=issuer.audience,
            algorithms=issuer.algorithms,
            authorized_parties=issuer.authorized_parties,
        )
        identity = _identity(claims)
        if issuer.trust_email and identity.email and "email_verified" not in claims:
            identity = Identity(identity.issuer, identity.subject, identity.email, True, identity.name)
        return identity


def unverified_issuer(token: str) -> str | None:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None


def _identity(claims: dict[str, Any]) -> Identity:
    verified = claims.get("email_verified")
    if isinstance(verified, str):
        verified = verified.lower() == "true"
    return Identity(
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        email=(str(claims["email"]).lower() if claims.get("email") else None),
        email_verified=bool(verified),
        name=str(claims.get("name", "") or ""),
    )
