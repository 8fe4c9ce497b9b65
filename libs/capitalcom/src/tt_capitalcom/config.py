"""Client configuration. Frozen, keyword-only, secrets kept out of reprs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from .constants import DEMO_REST_URL, LIVE_REST_URL, Environment


class RateLimit(BaseModel):
    """A token bucket: `rate` tokens per second, at most `burst` saved up."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rate: float = Field(gt=0)
    burst: float = Field(ge=1)


class CapitalComConfig(BaseModel):
    """Everything the REST and streaming clients need to talk to one Capital.com login.

    `rest_url` / `ws_url` override the environment's defaults (a simulator, a proxy). Without
    `ws_url` the streaming client follows the `streamingHost` the venue returns at login.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr
    identifier: str
    password: SecretStr
    environment: Environment = Environment.DEMO
    rest_url: str | None = None
    ws_url: str | None = None
    # The encrypted flow never puts the password on the wire; plain is for venues/tests that need it.
    encrypted_password: bool = True

    connect_timeout: float = Field(default=5.0, gt=0)
    request_timeout: float = Field(default=10.0, gt=0)

    # Documented limits: 10 requests/s per user, 1 trade request per 0.1 s, 1 login/s per API key.
    # A bucket admits at most burst + rate x T requests in any window T; the defaults leave ~10%
    # headroom because requests reach the venue with varying delay, and it counts arrivals.
    request_limit: RateLimit = RateLimit(rate=7, burst=2)
    trade_limit: RateLimit = RateLimit(rate=9, burst=1)
    session_limit: RateLimit = RateLimit(rate=0.9, burst=1)

    # Retries apply only to errors classified transient, and never to a trade request that may
    # have reached the venue.
    max_retries: int = Field(default=3, ge=0)
    backoff_initial: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=8.0, ge=0)

    # Tokens die after 10 idle minutes: ping well before that. An observed hard cap of about an
    # hour after login is pre-empted by logging in again.
    keepalive_after: float = Field(default=300.0, gt=0)
    keepalive_check_interval: float = Field(default=15.0, gt=0)
    session_idle_timeout: float = Field(default=540.0, gt=0)
    session_max_age: float | None = Field(default=45 * 60.0, gt=0)

    confirm_timeout: float = Field(default=15.0, gt=0)
    confirm_poll_interval: float = Field(default=0.2, gt=0)

    # Streaming: the venue drops a socket after 10 minutes without an application ping.
    ws_ping_interval: float = Field(default=300.0, gt=0)
    ws_transport_ping_interval: float | None = Field(default=20.0, gt=0)
    ws_open_timeout: float = Field(default=10.0, gt=0)
    ws_ack_timeout: float = Field(default=10.0, gt=0)
    ws_reconnect_initial: float = Field(default=0.5, ge=0)
    ws_reconnect_max: float = Field(default=30.0, ge=0)
    ws_max_pending_events: int = Field(default=10_000, ge=1)

    @model_validator(mode="after")
    def _idle_timeout_after_keepalive(self) -> CapitalComConfig:
        if self.keepalive_after >= self.session_idle_timeout:
            raise ValueError("keepalive_after must be shorter than session_idle_timeout")
        return self

    @property
    def resolved_rest_url(self) -> str:
        if self.rest_url:
            return self.rest_url.rstrip("/")
        return LIVE_REST_URL if self.environment is Environment.LIVE else DEMO_REST_URL
