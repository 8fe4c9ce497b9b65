"""Access-token signing keys: Ed25519, private half stored encrypted in the schema, JWKS publishing,
rotation with two keys valid during a rollover.

``python -m tt_identity.keys rotate`` makes a new key the signing key; the previous one stays in the
JWKS for ``SIGNING_KEY_OVERLAP_SECONDS`` so tokens it signed keep verifying until they expire.
``python -m tt_identity.keys list`` shows them.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from tt_runtime.db import Database

from .crypto import b64url, derive_key, seal, unseal
from .models import signing_keys
from .settings import Settings

ALG = "EdDSA"
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('identity.signing_keys'))"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey


def public_jwk(kid: str, private_key: Ed25519PrivateKey) -> dict[str, str]:
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": kid, "alg": ALG, "use": "sig"}


class KeyStore:
    """Reads and writes ``signing_keys``; caches the decrypted active key for ``cache_seconds``."""

    def __init__(self, settings: Settings, cache_seconds: float = 30.0) -> None:
        self.settings = settings
        self._kek = derive_key(
            settings.identity_key_encryption_key.get_secret_value(), "identity-signing-keys"
        )
        self._cache_seconds = cache_seconds
        self._active: tuple[float, SigningKey] | None = None
        self._jwks: tuple[float, list[dict[str, str]]] | None = None

    def _encrypt(self, kid: str, key: Ed25519PrivateKey) -> bytes:
        pkcs8 = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return seal(self._kek, pkcs8, kid.encode())

    def _decrypt(self, kid: str, sealed: bytes) -> Ed25519PrivateKey:
        key = serialization.load_der_private_key(unseal(self._kek, sealed, kid.encode()), None)
        assert isinstance(key, Ed25519PrivateKey)
        return key

    async def _insert(self, session: AsyncSession, now: datetime) -> str:
        kid = f"{now:%Y%m%d}-{uuid.uuid4().hex[:12]}"
        key = Ed25519PrivateKey.generate()
        await session.execute(
            signing_keys.insert().values(
                kid=kid,
                alg=ALG,
                public_jwk=public_jwk(kid, key),
                private_key_encrypted=self._encrypt(kid, key),
                created_at=now,
                activated_at=now,
            )
        )
        return kid

    async def ensure(self, session: AsyncSession) -> None:
        """Create the first key when there is none (idempotent across instances)."""
        await session.execute(text(_LOCK))
        current = await session.execute(
            select(signing_keys.c.kid).where(
                signing_keys.c.activated_at.is_not(None), signing_keys.c.retire_at.is_(None)
            )
        )
        if current.first() is None:
            await self._insert(session, datetime.now(UTC))

    async def rotate(self, session: AsyncSession) -> str:
        """A new signing key; the old active one is retired after the overlap."""
        await session.execute(text(_LOCK))
        now = datetime.now(UTC)
        retire = now + timedelta(
            seconds=max(self.settings.signing_key_overlap_seconds, self.settings.access_token_ttl_seconds)
        )
        await session.execute(
            update(signing_keys)
            .where(signing_keys.c.retire_at.is_(None), signing_keys.c.activated_at.is_not(None))
            .values(retire_at=retire)
        )
        kid = await self._insert(session, now)
        self._active = self._jwks = None
        return kid

    async def active(self, session: AsyncSession) -> SigningKey:
        if self._active and time.monotonic() - self._active[0] < self._cache_seconds:
            return self._active[1]
        row = (
            await session.execute(
                select(signing_keys)
                .where(signing_keys.c.activated_at.is_not(None), signing_keys.c.retire_at.is_(None))
                .order_by(signing_keys.c.activated_at.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            await self.ensure(session)
            return await self.active(session)
        key = SigningKey(row.kid, self._decrypt(row.kid, row.private_key_encrypted))
        self._active = (time.monotonic(), key)
        return key

    async def jwks(self, session: AsyncSession) -> list[dict[str, str]]:
        if self._jwks and time.monotonic() - self._jwks[0] < self._cache_seconds:
            return self._jwks[1]
        now = datetime.now(UTC)
        rows = await session.execute(
            select(signing_keys.c.public_jwk)
            .where(or_(signing_keys.c.retire_at.is_(None), signing_keys.c.retire_at > now))
            .order_by(signing_keys.c.created_at.desc())
        )
        keys = [dict(r.public_jwk) for r in rows]
        self._jwks = (time.monotonic(), keys)
        return keys

    def invalidate(self) -> None:
        self._active = self._jwks = None


def sign(key: SigningKey, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key.private_key, algorithm=ALG, headers={"kid": key.kid, "typ": "at+jwt"})


async def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tt_identity.keys")
    parser.add_argument("command", choices=["rotate", "list"])
    args = parser.parse_args(argv)
    settings = Settings()
    db = Database(settings)
    store = KeyStore(settings)
    try:
        async with db.sessions() as session, session.begin():
            if args.command == "rotate":
                print(f"new signing key {await store.rotate(session)}")
            rows = await session.execute(select(signing_keys).order_by(signing_keys.c.created_at))
            for r in rows:
                state = "active" if r.retire_at is None else f"retires {r.retire_at.isoformat()}"
                print(f"{r.kid}  created {r.created_at.isoformat()}  {state}")
    finally:
        await db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main()))
