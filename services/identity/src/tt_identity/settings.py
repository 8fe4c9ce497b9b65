"""Settings of the identity service (environment variables; see tt_runtime.settings)."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr, model_validator

from tt_runtime.settings import PlaceholderSecretError, RuntimeSettings


class OidcProviderSettings(BaseModel):
    """One authorization-code + PKCE provider (e.g. Google)."""

    discovery_url: str
    client_id: str
    client_secret: SecretStr = SecretStr("")
    scope: str = "openid email profile"
    # Issuers accepted in the ID token besides the discovered one (Google documents two spellings).
    extra_issuers: list[str] = []


class ExternalIssuerSettings(BaseModel):
    """A federated token issuer (e.g. Clerk): tokens are verified against its JWKS."""

    issuer: str
    jwks_url: str
    audience: str | None = None
    authorized_parties: list[str] = []
    algorithms: list[str] = ["RS256"]
    # Whether the issuer's ``email`` claim is trusted as verified when it carries no ``email_verified``.
    trust_email: bool = False


class Settings(RuntimeSettings):
    service_name: str = "identity"
    service_port: int = 8101

    public_url: str = "http://127.0.0.1:8000"

    # Access tokens (EdDSA JWT, RFC 9068 ``at+jwt``)
    jwt_issuer: str = "identity"
    jwt_audience: str = "platform-gateway"
    access_token_ttl_seconds: int = 600
    # Wraps the private signing keys stored in the schema (AES-256-GCM with a key derived from this).
    identity_key_encryption_key: SecretStr = SecretStr("changethis")
    # After a rotation the previous key stays published this long (>= the access token lifetime).
    signing_key_overlap_seconds: int = 3600

    # Refresh tokens
    refresh_idle_seconds: int = 7 * 24 * 3600
    refresh_absolute_seconds: int = 30 * 24 * 3600
    refresh_reuse_grace_seconds: float = 10.0

    # Passwords: argon2id; None takes argon2-cffi's default profile (RFC 9106 low memory).
    argon2_time_cost: int | None = None
    argon2_memory_cost: int | None = None
    argon2_parallelism: int | None = None
    password_hash_concurrency: int = 2

    # Lockout / back-off
    lockout_threshold: int = 5
    lockout_base_seconds: float = 1.0
    lockout_max_seconds: float = 900.0
    ip_window_seconds: float = 60.0
    ip_max_failures: int = 20

    # Email tokens
    email_verify_ttl_seconds: int = 24 * 3600
    password_reset_ttl_seconds: int = 3600

    # SMTP
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    email_from: str = "Trade Tracker <no-reply@tradetracker.local>"
    email_enabled: bool = True

    identity_bootstrap_admin_email: str | None = None
    # Development only (``make run``): a verified trader created at start so the demo opens at once.
    identity_demo_user_email: str | None = None
    identity_demo_user_password: SecretStr | None = None

    # OIDC providers by name (``{"google": {...}}``) and federated issuers
    oidc_providers: dict[str, OidcProviderSettings] = {}
    external_issuers: list[ExternalIssuerSettings] = []
    oidc_http_timeout_seconds: float = 5.0

    @model_validator(mode="after")
    def _demo_user_only_in_development(self) -> Settings:
        if self.identity_demo_user_email and self.environment not in ("development", "test"):
            raise PlaceholderSecretError(
                f"IDENTITY_DEMO_USER_EMAIL creates a known account; it is refused in {self.environment!r}"
            )
        return self
