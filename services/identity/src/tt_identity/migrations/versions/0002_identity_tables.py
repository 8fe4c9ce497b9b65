"""Identity tables: users, signing keys, refresh tokens, sessions, email tokens, OAuth links,
per-IP failures and the append-only, hash-chained audit log.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "identity"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("email_verified", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("roles", ARRAY(sa.String(16)), nullable=False),
        sa.Column("profile", JSONB, nullable=False),
        sa.Column("failed_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", TZ, nullable=True),
        sa.Column("password_changed_at", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("public_jwk", JSONB, nullable=False),
        sa.Column("private_key_encrypted", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("activated_at", TZ, nullable=True),
        sa.Column("retire_at", TZ, nullable=True),
        schema=SCHEMA,
    )
    op.create_table(
        "sessions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.users.id"), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_used_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(400), nullable=True),
        sa.Column("auth_method", sa.String(32), nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.Column("revoke_reason", sa.String(64), nullable=True),
        schema=SCHEMA,
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"], schema=SCHEMA)
    op.create_table(
        "refresh_tokens",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("family_id", UUID(as_uuid=True), nullable=False),
        sa.Column("parent_id", UUID(as_uuid=True), nullable=True),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.users.id"), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("idle_expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.Column("replaced_by", UUID(as_uuid=True), nullable=True),
        sa.Column("successor_sealed", sa.LargeBinary, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.Column("revoke_reason", sa.String(64), nullable=True),
        schema=SCHEMA,
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"], schema=SCHEMA)
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"], schema=SCHEMA)
    op.create_table(
        "email_tokens",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.users.id"), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        schema=SCHEMA,
    )
    op.create_index("ix_email_tokens_user_id", "email_tokens", ["user_id"], schema=SCHEMA)
    op.create_table(
        "oauth_links",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(f"{SCHEMA}.users.id"), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("issuer", "subject", name="oauth_links_issuer_subject"),
        schema=SCHEMA,
    )
    op.create_index("ix_oauth_links_user_id", "oauth_links", ["user_id"], schema=SCHEMA)
    op.create_table(
        "ip_failures",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("at", TZ, nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_ip_failures_ip", "ip_failures", ["ip"], schema=SCHEMA)
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor_user_id", UUID(as_uuid=True), nullable=True),
        sa.Column("subject_user_id", UUID(as_uuid=True), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(400), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", JSONB, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_audit_log_subject_user_id", "audit_log", ["subject_user_id"], schema=SCHEMA)
    # Append-only: UPDATE, DELETE and TRUNCATE are refused for everyone (the owner included) while
    # triggers are enabled; the hash chain catches anything done with triggers switched off.
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'identity.audit_log is append-only (% refused)', TG_OP;
        END $$;
        """
    )
    op.execute(
        f"CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON {SCHEMA}.audit_log "
        f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.audit_log_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON {SCHEMA}.audit_log "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.audit_log_append_only()"
    )
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {SCHEMA}.audit_log FROM PUBLIC")


def downgrade() -> None:
    op.execute(f"DROP TABLE IF EXISTS {SCHEMA}.audit_log")
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.audit_log_append_only()")
    for table in ("ip_failures", "oauth_links", "email_tokens", "refresh_tokens", "sessions", "signing_keys"):
        op.drop_table(table, schema=SCHEMA)
    op.drop_table("users", schema=SCHEMA)
