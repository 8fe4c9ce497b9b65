"""Broker domain tables: accounts, encrypted credentials, risk limits, order intents, positions,
the paper broker's own state, and the reconciliation log.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "broker"
TABLES = (
    "reconciliation_log",
    "paper_position",
    "paper_account",
    "position",
    "order_intent",
    "risk_limit",
    "credential",
    "account",
)


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("broker", sa.String(length=32), nullable=False),
        sa.Column("environment", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False, server_default=""),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("venue_account_id", sa.String(length=64)),
        sa.Column("status", sa.String(length=16), nullable=False, server_default="active"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("disconnected_at", sa.DateTime(timezone=True)),
        sa.Column("lease_owner", sa.String(length=128)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("circuit_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("circuit_open_until", sa.DateTime(timezone=True)),
        sa.Column("balance", sa.Numeric(precision=28, scale=10)),
        sa.Column("available", sa.Numeric(precision=28, scale=10)),
        sa.Column("margin", sa.Numeric(precision=28, scale=10)),
        sa.Column("profit_loss", sa.Numeric(precision=28, scale=10)),
        sa.Column("summary_at", sa.DateTime(timezone=True)),
        sa.Column("last_reconciled_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index("ix_broker_account_user_id", "account", ["user_id"], schema=SCHEMA)
    op.create_table(
        "order_intent",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("account_id", postgresql.UUID(as_uuid=True)),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("venue", sa.String(length=32)),
        sa.Column("epic", sa.String(length=64)),
        sa.Column("side", sa.String(length=4)),
        sa.Column("size", sa.Numeric(precision=28, scale=10)),
        sa.Column("order_type", sa.String(length=8)),
        sa.Column("level", sa.Numeric(precision=28, scale=10)),
        sa.Column("protection", postgresql.JSONB()),
        sa.Column("target_id", postgresql.UUID(as_uuid=True)),
        sa.Column("bot_id", postgresql.UUID(as_uuid=True)),
        sa.Column("decision_id", postgresql.UUID(as_uuid=True)),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("reason_code", sa.String(length=64)),
        sa.Column("reason", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("deal_reference", sa.String(length=128)),
        sa.Column("deal_id", sa.String(length=128)),
        sa.Column("fill_price", sa.Numeric(precision=28, scale=10)),
        sa.Column("venue_replies", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("reconciliation", postgresql.JSONB()),
        sa.Column("command_id", postgresql.UUID(as_uuid=True)),
        sa.Column("correlation_id", postgresql.UUID(as_uuid=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("owner", sa.String(length=128)),
        schema=SCHEMA,
    )
    op.create_index("ix_broker_order_intent_user_id", "order_intent", ["user_id"], schema=SCHEMA)
    op.create_index(
        "ix_order_intent_queue", "order_intent", ["account_key", "state", "priority"], schema=SCHEMA
    )
    op.create_table(
        "paper_account",
        sa.Column("user_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("balance", sa.Numeric(precision=28, scale=10), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "paper_position",
        sa.Column("deal_id", sa.String(length=64), primary_key=True),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("epic", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("size", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("level", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("protection", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        schema=SCHEMA,
    )
    op.create_index("ix_broker_paper_position_user_id", "paper_position", ["user_id"], schema=SCHEMA)
    op.create_table(
        "position",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("account_id", postgresql.UUID(as_uuid=True)),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("deal_id", sa.String(length=128), nullable=False),
        sa.Column("venue", sa.String(length=32), nullable=False, server_default="capitalcom"),
        sa.Column("epic", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("size", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("open_price", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("protection", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("status", sa.String(length=8), nullable=False, server_default="open"),
        sa.Column("origin", sa.String(length=16), nullable=False, server_default="intent"),
        sa.Column("intent_id", postgresql.UUID(as_uuid=True)),
        sa.Column("currency", sa.String(length=8)),
        sa.Column("upl", sa.Numeric(precision=28, scale=10)),
        sa.Column("close_price", sa.Numeric(precision=28, scale=10)),
        sa.Column("realized_pnl", sa.Numeric(precision=28, scale=10)),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("account_key", "deal_id", name="uq_position_deal"),
        schema=SCHEMA,
    )
    op.create_index("ix_broker_position_user_id", "position", ["user_id"], schema=SCHEMA)
    op.create_table(
        "reconciliation_log",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("ok", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        sa.Column("differences", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("fixes", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_broker_reconciliation_log_account_key", "reconciliation_log", ["account_key"], schema=SCHEMA
    )
    op.create_table(
        "risk_limit",
        sa.Column("user_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("account_key", sa.String(length=64), primary_key=True),
        sa.Column("max_position_size", sa.Numeric(precision=28, scale=10)),
        sa.Column("max_open_positions", sa.Integer()),
        sa.Column("daily_loss_limit", sa.Numeric(precision=28, scale=10)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        schema=SCHEMA,
    )
    op.create_table(
        "credential",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "account_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("broker.account.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("broker", sa.String(length=32), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("wdek_nonce", sa.LargeBinary(), nullable=False),
        sa.Column("wdek", sa.LargeBinary(), nullable=False),
        sa.Column("ct_nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ct", sa.LargeBinary(), nullable=False),
        sa.Column("alg", sa.String(length=16), nullable=False, server_default="A256GCM"),
        sa.Column("format_version", sa.SmallInteger(), nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("rotated_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index("ix_broker_credential_kek_id", "credential", ["kek_id"], schema=SCHEMA)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table, schema=SCHEMA)
