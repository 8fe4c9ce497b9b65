"""AES-256-GCM envelope encryption of broker credentials.

Each credential gets a random 256-bit data key (DEK). The secret is sealed with the DEK; the DEK is
wrapped by a key-encryption key (KEK) named by a key id. Associated data binds the ciphertext to its
user, credential, broker and format version, so a ciphertext copied onto another row fails to open.
Rotation re-wraps the DEK under the active KEK; the data ciphertext is untouched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
ALGORITHM = "A256GCM"


class CredentialDecryptError(Exception):
    """The sealed credential does not open (wrong row, wrong key, tampered). Carries no secret."""


@dataclass(frozen=True)
class CredentialContext:
    user_id: UUID
    credential_id: UUID
    broker: str
    version: int = FORMAT_VERSION

    def data_aad(self) -> bytes:
        return f"brokercred:v{self.version}|{self.user_id}|{self.credential_id}|{self.broker}".encode()

    def dek_aad(self, kek_id: str) -> bytes:
        return f"dek:v{self.version}|{self.credential_id}|{kek_id}".encode()


@dataclass(frozen=True, repr=False)
class Sealed:
    kek_id: str
    wdek_nonce: bytes
    wdek: bytes
    ct_nonce: bytes
    ct: bytes
    version: int = FORMAT_VERSION

    def __repr__(self) -> str:  # never print key material or ciphertext
        return f"Sealed(kek_id={self.kek_id!r}, version={self.version})"


class KeyRing:
    """The key-encryption keys this process holds, and the active one for new data keys."""

    def __init__(self, keys: dict[str, bytes], active: str) -> None:
        if active not in keys:
            raise ValueError("the active key id is not in the key ring")
        self._keys = dict(keys)
        self.active = active

    def __repr__(self) -> str:
        return f"KeyRing(kids={sorted(self._keys)}, active={self.active!r})"

    @property
    def kids(self) -> list[str]:
        return sorted(self._keys)

    def _kek(self, kid: str) -> AESGCM:
        key = self._keys.get(kid)
        if key is None:
            raise CredentialDecryptError(f"key-encryption key {kid!r} is not configured")
        return AESGCM(key)

    def seal(self, plaintext: bytes, ctx: CredentialContext) -> Sealed:
        dek = AESGCM.generate_key(bit_length=256)
        ct_nonce = os.urandom(12)
        ct = AESGCM(dek).encrypt(ct_nonce, plaintext, ctx.data_aad())
        wdek_nonce, wdek = self._wrap(dek, ctx, self.active)
        return Sealed(self.active, wdek_nonce, wdek, ct_nonce, ct, ctx.version)

    def open(self, sealed: Sealed, ctx: CredentialContext) -> bytes:
        try:
            dek = self._unwrap(sealed, ctx)
            return AESGCM(dek).decrypt(sealed.ct_nonce, sealed.ct, ctx.data_aad())
        except InvalidTag:
            raise CredentialDecryptError("credential does not decrypt for this row") from None

    def rewrap(self, sealed: Sealed, ctx: CredentialContext) -> Sealed:
        """The same data key wrapped by the active KEK (the data ciphertext is untouched)."""
        try:
            dek = self._unwrap(sealed, ctx)
        except InvalidTag:
            raise CredentialDecryptError("data key does not unwrap for this row") from None
        wdek_nonce, wdek = self._wrap(dek, ctx, self.active)
        return Sealed(self.active, wdek_nonce, wdek, sealed.ct_nonce, sealed.ct, sealed.version)

    def _wrap(self, dek: bytes, ctx: CredentialContext, kid: str) -> tuple[bytes, bytes]:
        nonce = os.urandom(12)
        return nonce, self._kek(kid).encrypt(nonce, dek, ctx.dek_aad(kid))

    def _unwrap(self, sealed: Sealed, ctx: CredentialContext) -> bytes:
        return self._kek(sealed.kek_id).decrypt(sealed.wdek_nonce, sealed.wdek, ctx.dek_aad(sealed.kek_id))
