"""Login and session tokens: the RSA encryption key, CST / X-SECURITY-TOKEN pairs, idle expiry.

Sessions age on simulation time, so a stepped test can jump past the 10-minute idle timeout.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import secrets
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .accounts import Client, Registry
from .config import SimulatorConfig
from .errors import bad_request, unauthorized


@functools.cache
def _login_key() -> rsa.RSAPrivateKey:
    # One key per process: generating RSA-2048 costs ~0.1 s, and tests build many simulators.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Session:
    cst: str
    security_token: str
    client: Client
    account_id: str
    created: datetime
    last_used: datetime
    valid: bool = True


class SessionStore:
    def __init__(self, config: SimulatorConfig, registry: Registry) -> None:
        self.config = config
        self.registry = registry
        self._private_key = _login_key()
        der = self._private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key_b64 = base64.b64encode(der).decode()
        self.by_cst: dict[str, Session] = {}

    # ---- login -----------------------------------------------------------------------------------
    def client_for_key(self, api_key: str | None) -> Client:
        if not api_key:
            raise bad_request("error.null.api.key")
        client = self.registry.by_api_key.get(api_key)
        if client is None:
            raise unauthorized("error.invalid.api.key")
        return client

    def login(
        self, client: Client, identifier: str, password: str, encrypted: bool, now: datetime
    ) -> Session:
        if encrypted:
            password = self._decrypt_password(password)
        if identifier != client.identifier or not secrets.compare_digest(password, client.password):
            raise unauthorized("error.invalid.details")
        if self.config.new_login_invalidates_old:
            for session in self.by_cst.values():
                if session.client is client:
                    session.valid = False
        session = Session(
            cst=secrets.token_urlsafe(24),
            security_token=secrets.token_urlsafe(24),
            client=client,
            account_id=client.preferred_account_id,
            created=now,
            last_used=now,
        )
        self.by_cst[session.cst] = session
        return session

    def _decrypt_password(self, cipher_b64: str) -> str:
        """RSA PKCS#1 v1.5 over base64("password|timestamp"); also accepts the variant without base64."""
        try:
            plain = self._private_key.decrypt(base64.b64decode(cipher_b64), padding.PKCS1v15())
        except (ValueError, binascii.Error):
            raise unauthorized("error.invalid.details") from None
        with contextlib.suppress(ValueError, binascii.Error):  # some clients skip the base64 step
            plain = base64.b64decode(plain, validate=True)
        text = plain.decode("utf-8", errors="replace")
        if "|" not in text:
            raise unauthorized("error.invalid.details")
        return text.rsplit("|", 1)[0]

    # ---- every authenticated call ------------------------------------------------------------------
    def authenticate(self, cst: str | None, security_token: str | None, now: datetime) -> Session:
        if not cst or not security_token:
            raise bad_request("error.null.client.token")
        session = self.by_cst.get(cst)
        if session is None or not secrets.compare_digest(session.security_token, security_token):
            raise unauthorized("error.invalid.session.token")
        if not self.is_live(session, now):
            session.valid = False
            raise unauthorized("error.invalid.session.token")
        session.last_used = now
        return session

    def is_live(self, session: Session, now: datetime) -> bool:
        idle = (now - session.last_used).total_seconds()
        age = (now - session.created).total_seconds()
        cap = self.config.session_hard_cap
        return session.valid and idle <= self.config.session_idle_timeout and (cap is None or age <= cap)

    def switch_account(self, session: Session, account_id: str) -> None:
        if session.client.account(account_id) is None:
            raise bad_request("error.invalid.accountId")
        session.account_id = account_id
        # The account token identifies the active account, so it changes with it.
        session.security_token = secrets.token_urlsafe(24)

    def logout(self, session: Session) -> None:
        session.valid = False
        self.by_cst.pop(session.cst, None)

    def invalidate(self, client: Client | None = None) -> int:
        """Kill every session (or every session of one client); returns how many were live."""
        killed = 0
        for session in list(self.by_cst.values()):
            if client is None or session.client is client:
                killed += session.valid
                session.valid = False
        return killed
