"""Tables of the identity service, all in schema ``identity``."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from tt_runtime.tables import service_metadata

SCHEMA = "identity"
metadata, runtime_tables = service_metadata(SCHEMA)

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("email_verified", Boolean, nullable=False, server_default="false"),
    Column("password_hash", Text, nullable=True),  # None: federated-only account
    Column("roles", ARRAY(String(16)), nullable=False),
    Column("profile", JSONB, nullable=False),
    Column("failed_count", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("password_changed_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    schema=SCHEMA,
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("alg", String(16), nullable=False),
    Column("public_jwk", JSONB, nullable=False),
    Column("private_key_encrypted", LargeBinary, nullable=False),  # nonce || AES-256-GCM(pkcs8)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("activated_at", DateTime(timezone=True), nullable=True),
    Column("retire_at", DateTime(timezone=True), nullable=True),  # stays in JWKS until then
    schema=SCHEMA,
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("family_id", UUID(as_uuid=True), nullable=False, index=True),  # = the session
    Column("parent_id", UUID(as_uuid=True), nullable=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey(f"{SCHEMA}.users.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("idle_expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("replaced_by", UUID(as_uuid=True), nullable=True),
    # The successor's raw token, encrypted, kept only for the reuse grace (two tabs refreshing at once).
    Column("successor_sealed", LargeBinary, nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoke_reason", String(64), nullable=True),
    schema=SCHEMA,
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),  # = refresh token family
    Column("user_id", UUID(as_uuid=True), ForeignKey(f"{SCHEMA}.users.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(400), nullable=True),
    Column("auth_method", String(32), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoke_reason", String(64), nullable=True),
    schema=SCHEMA,
)

email_tokens = Table(
    "email_tokens",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey(f"{SCHEMA}.users.id"), nullable=False, index=True),
    Column("purpose", String(32), nullable=False),  # verify_email | reset_password
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    schema=SCHEMA,
)

oauth_links = Table(
    "oauth_links",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey(f"{SCHEMA}.users.id"), nullable=False, index=True),
    Column("provider", String(64), nullable=False),
    Column("issuer", String(500), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("email", String(320), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("issuer", "subject", name="oauth_links_issuer_subject"),
    schema=SCHEMA,
)

ip_failures = Table(
    "ip_failures",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("ip", String(64), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    schema=SCHEMA,
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor_user_id", UUID(as_uuid=True), nullable=True),
    Column("subject_user_id", UUID(as_uuid=True), nullable=True, index=True),
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(400), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("detail", JSONB, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    schema=SCHEMA,
)
