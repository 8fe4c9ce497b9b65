"""Settings every service shares. Services subclass ``RuntimeSettings`` and add their own fields.

Modelled on full-stack-fastapi-template's ``core/config.py``: one typed object read from the
environment, normalised, and refusing to start with placeholder secrets outside local development.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, computed_field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "staging", "production"]
LOCAL_ENVIRONMENTS: frozenset[str] = frozenset({"development", "test"})
PLACEHOLDER_SECRETS: frozenset[str] = frozenset(
    {"", "changethis", "change-me", "changeme", "secret", "password", "dev", "development", "test"}
)


class PlaceholderSecretError(ValueError):
    pass


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://``/``postgresql://`` and return the SQLAlchemy psycopg 3 form."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    service_name: str
    service_version: str = "0.1.0"
    environment: Environment = "development"

    service_host: str = "127.0.0.1"
    service_port: int = 8100

    nats_url: str = "nats://127.0.0.1:4222"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/tradetracker"
    db_pool_size: int = 5
    db_max_overflow: int = 10

    log_level: str = "INFO"
    log_json: bool | None = None  # None: JSON unless stderr is a terminal
    otel_exporter_otlp_endpoint: str | None = None

    secret_key: SecretStr = SecretStr("changethis")

    # Consumer error policy
    max_deliver: int = 6
    dead_letter_retries: int = 20  # extra deliveries for writing a dead letter while the DB is down
    ack_wait_seconds: float = 30.0
    nack_base_delay_seconds: float = 0.5
    nack_max_delay_seconds: float = 60.0
    max_ack_pending: int = 256

    # Outbox relay
    relay_batch_size: int = 256
    relay_poll_seconds: float = 1.0
    relay_publish_timeout_seconds: float = 5.0

    request_timeout_seconds: float = 3.0
    health_refresh_seconds: float = 2.0

    @field_validator("database_url")
    @classmethod
    def _psycopg_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def db_schema(self) -> str:
        return self.service_name.replace("-", "_")

    @property
    def is_local(self) -> bool:
        return self.environment in LOCAL_ENVIRONMENTS

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> RuntimeSettings:
        if self.is_local:
            return self
        for name in type(self).model_fields:
            value = getattr(self, name)
            if (
                isinstance(value, SecretStr)
                and value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
            ):
                raise PlaceholderSecretError(
                    f"{name.upper()} is a placeholder; set a real secret for environment {self.environment!r}"
                )
        return self
