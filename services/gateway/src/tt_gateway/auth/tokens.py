"""Access-token verification: EdDSA only, with every claim the platform relies on required.

Tokens are verified locally against identity's JWKS (fetched over the bus and cached); an unknown
``kid`` triggers one refresh (rate-limited) so key rotation needs no restart.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from uuid import UUID

import jwt

from tt_contracts import registry
from tt_contracts.identity import GetJwks

from ..settings import Settings

ALGORITHMS = ["EdDSA"]
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]


class InvalidToken(Exception):
    """The token is not acceptable; the message is safe to log, never shown to users verbatim."""


@dataclass(frozen=True)
class Principal:
    user_id: UUID
    roles: frozenset[str]
    session_id: UUID | None = None
    token_id: str = ""

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class JwksCache:
    """Identity's public keys, refreshed when stale or when a token names an unknown key id."""

    def __init__(self, fetch, settings: Settings, clock=time.monotonic) -> None:
        self._fetch = fetch  # async () -> list[dict]
        self._settings = settings
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK:
        age = self._clock() - self._fetched_at
        if kid not in self._keys or age > self._settings.jwks_max_age_seconds:
            await self._refresh(force=kid not in self._keys)
        try:
            return self._keys[kid]
        except KeyError:
            raise InvalidToken(f"unknown key id {kid!r}") from None

    async def _refresh(self, force: bool) -> None:
        async with self._lock:
            age = self._clock() - self._fetched_at
            if age < self._settings.jwks_min_refresh_interval_seconds and (force or self._keys):
                return  # someone just refreshed; unknown kids do not buy a fetch each
            keys = await self._fetch()
            parsed: dict[str, jwt.PyJWK] = {}
            for data in keys:
                if data.get("kty") != "OKP" or data.get("crv") != "Ed25519" or "kid" not in data:
                    continue  # only Ed25519 verification keys are trusted
                parsed[data["kid"]] = jwt.PyJWK(dict(data), algorithm="EdDSA")
            self._keys = parsed
            self._fetched_at = self._clock()


def jwks_fetcher(runtime):
    async def fetch() -> list[dict]:
        reply = await runtime.ask(registry.JWKS_GET, GetJwks(producer="gateway"))
        return reply.keys

    return fetch


async def verify_access_token(token: str, jwks: JwksCache, settings: Settings) -> Principal:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"malformed token: {exc}") from None
    if header.get("alg") not in ALGORITHMS:
        raise InvalidToken(f"algorithm {header.get('alg')!r} not accepted")
    if header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
        raise InvalidToken("not an access token (typ)")
    key = await jwks.key(str(header.get("kid", "")))
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": REQUIRED_CLAIMS},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    try:
        user_id = UUID(claims["sub"])
        session = claims.get("sid")
        return Principal(
            user_id=user_id,
            roles=frozenset(claims.get("roles") or ()),
            session_id=UUID(session) if session else None,
            token_id=str(claims["jti"]),
        )
    except (ValueError, TypeError) as exc:
        raise InvalidToken(f"bad claims: {exc}") from None


class AccessTokenVerifier:
    """Verifies access tokens, remembering verified ones until they expire (bounded LRU).

    A browser sends the same token with every request for its ~10-minute life; the signature check is
    the expensive part, and its answer cannot change before ``exp`` (JWTs are not revocable anyway —
    revocation acts on the refresh token), so it is checked once per token.
    """

    def __init__(self, jwks: JwksCache, settings: Settings, capacity: int = 10_000, clock=time.time) -> None:
        self.jwks = jwks
        self.settings = settings
        self.capacity = capacity
        self.clock = clock
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        hit = self._verified.get(token)
        if hit is not None:
            principal, expires = hit
            if self.clock() < expires:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal = await verify_access_token(token, self.jwks, self.settings)
        expires = _unverified_exp(token)
        if expires is not None:
            self._verified[token] = (principal, expires)
            if len(self._verified) > self.capacity:
                self._verified.popitem(last=False)
        return principal


def _unverified_exp(token: str) -> float | None:
    try:
        return float(jwt.decode(token, options={"verify_signature": False})["exp"])
    except Exception:
        return None
