"""Session credentials: the password encryption the venue expects, and the token pair."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def encrypt_password(password: str, encryption_key: str, timestamp_ms: int) -> str:
    """The venue's `encryptedPassword` flow.

    The docs say "AES", but the official sample code (and every working client) does RSA with
    PKCS#1 v1.5 over base64("password|timestamp"), then base64 of the ciphertext.
    """
    public_key = serialization.load_der_public_key(base64.b64decode(encryption_key))
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("the venue's encryption key is not an RSA public key")
    plaintext = base64.b64encode(f"{password}|{timestamp_ms}".encode())
    return base64.b64encode(public_key.encrypt(plaintext, padding.PKCS1v15())).decode("ascii")


@dataclass(frozen=True, slots=True)
class SessionTokens:
    """`CST` (the client) and `X-SECURITY-TOKEN` (the active account). Never printed."""

    cst: str = field(repr=False)
    security_token: str = field(repr=False)

    def as_headers(self) -> dict[str, str]:
        return {"CST": self.cst, "X-SECURITY-TOKEN": self.security_token}
