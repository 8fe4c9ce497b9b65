"""Settings of the gateway (environment variables; see tt_runtime.settings)."""

from urllib.parse import urlparse

from tt_runtime.settings import RuntimeSettings


class Settings(RuntimeSettings):
    service_name: str = "gateway"
    service_port: int = 8000
    status_timeout_seconds: float = 1.5
    public_url: str = "http://127.0.0.1:8000"
    # When set, /healthz, /readyz and /metrics move off the public port to this one (never routed by
    # the ingress); unset, the public port serves them (local runs and tests).
    ops_port: int | None = None

    # Access tokens are verified locally with identity's published keys. JWT_ISSUER and JWT_AUDIENCE
    # are the same variables identity signs with, so one config value serves both.
    jwt_issuer: str = "identity"
    jwt_audience: str = "platform-gateway"
    jwks_max_age_seconds: float = 300.0
    jwks_min_refresh_interval_seconds: float = 10.0

    # Rate limits on the authentication routes (per replica; a shared store comes with scale-out).
    auth_rate_per_ip_per_minute: int = 30
    auth_rate_per_user_per_minute: int = 20

    # Live status pushed to browsers over SSE.
    status_stream_interval_seconds: float = 5.0

    # Demo-mode mailbox (the SMTP sink's HTTP API).
    smtp_sink_http_url: str = "http://127.0.0.1:8026"

    @property
    def secure_cookies(self) -> bool:
        """``__Host-`` cookies need Secure; browsers treat http://localhost and 127.0.0.1 as secure."""
        parsed = urlparse(self.public_url)
        return parsed.scheme == "https" or parsed.hostname in ("127.0.0.1", "localhost", "::1")

    @property
    def cookie_prefix(self) -> str:
        return "__Host-" if self.secure_cookies else ""
