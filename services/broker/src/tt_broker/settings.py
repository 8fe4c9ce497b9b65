"""Settings of the broker service (environment variables; see tt_runtime.settings)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

from pydantic import SecretStr, model_validator

from tt_runtime.settings import PlaceholderSecretError, RuntimeSettings

# A well-known development key-encryption key: refused outside development and test.
DEV_KEK_ID = "dev-kek-1"
DEV_KEK = base64.b64encode(b"trade-tracker-dev-kek-not-secret").decode()  # 32 bytes


def parse_keks(raw: str) -> dict[str, bytes]:
    """``{"kid": "<base64 of 32 bytes>", ...}`` → ``{kid: key}``; raises ValueError without echoing keys."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("BROKER_KEKS must be a JSON object of key id to base64 key") from None
    if not isinstance(data, dict) or not data:
        raise ValueError("BROKER_KEKS must be a non-empty JSON object of key id to base64 key")
    keys: dict[str, bytes] = {}
    for kid, value in data.items():
        try:
            key = base64.b64decode(str(value), validate=True)
        except ValueError:
            raise ValueError(f"BROKER_KEKS[{kid!r}] is not base64") from None
        if len(key) != 32:
            raise ValueError(f"BROKER_KEKS[{kid!r}] must be 32 bytes (AES-256)")
        keys[str(kid)] = key
    return keys


class Settings(RuntimeSettings):
    service_name: str = "broker"
    service_port: int = 8102

    # Envelope encryption of broker credentials: key id -> key-encryption key, and the one used for new
    # data keys. Rotation: add a key, make it active, run `python -m tt_broker.keys rotate`.
    broker_keks: SecretStr = SecretStr(json.dumps({DEV_KEK_ID: DEV_KEK}))
    broker_active_kek: str = DEV_KEK_ID

    # Capital.com: a REST base URL for EVERY account (the simulator in tests and demo mode, where `make run`
    # sets CAPITALCOM_BASE_URL). Unset in production: each account uses its environment's (demo/live) URL.
    capitalcom_base_url: str | None = None
    capitalcom_request_timeout: float = 10.0
    capitalcom_confirm_timeout: float = 15.0
    capitalcom_encrypted_password: bool = True

    # Background work: per-account polling, reconciliation of UNKNOWN intents, the periodic full pass.
    background: bool = True
    poll_seconds: float = 5.0
    reconcile_seconds: float = 180.0
    reconcile_settle_seconds: float = 120.0  # an UNKNOWN intent with no matching deal after this: not placed
    reconcile_tolerance_seconds: float = 5.0  # clock skew allowed when matching deals to sent_at
    order_lease_seconds: float = 60.0

    # Circuit breaker per account: this many venue failures in a row pause new entries.
    circuit_failure_threshold: int = 3
    circuit_open_seconds: float = 60.0

    # Risk limits applied when a user has not set their own.
    default_max_position_size: Decimal = Decimal("1000000")
    default_max_open_positions: int = 50
    default_daily_loss_limit: Decimal = Decimal("1000000")

    # The built-in paper broker.
    paper_currency: str = "USD"
    paper_start_balance: Decimal = Decimal("10000")
    paper_leverage: Decimal = Decimal("20")
    quote_max_age_seconds: float = 30.0

    @model_validator(mode="after")
    def _valid_keks(self) -> Settings:
        keys = parse_keks(self.broker_keks.get_secret_value())
        if self.broker_active_kek not in keys:
            raise ValueError("BROKER_ACTIVE_KEK names no key in BROKER_KEKS")
        if not self.is_local:
            dev = base64.b64decode(DEV_KEK)
            if any(kid == DEV_KEK_ID or key == dev or len(set(key)) < 8 for kid, key in keys.items()):
                raise PlaceholderSecretError(
                    f"BROKER_KEKS holds a placeholder key; set real keys for environment {self.environment!r}"
                )
        return self

    def keks(self) -> dict[str, bytes]:
        return parse_keks(self.broker_keks.get_secret_value())
