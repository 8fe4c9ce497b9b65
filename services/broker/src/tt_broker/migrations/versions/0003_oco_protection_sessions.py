"""OCO legs and working-order outcomes on intents, polled prices on positions, session health on
accounts; room for an OCO leg's derived idempotency key.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "broker"


def upgrade() -> None:
    op.alter_column(
        "order_intent",
        "idempotency_key",
        type_=sa.String(length=160),
        existing_type=sa.String(length=128),
        existing_nullable=False,
        schema=SCHEMA,
    )
    op.add_column("order_intent", sa.Column("oco_group", postgresql.UUID(as_uuid=True)), schema=SCHEMA)
    op.add_column("order_intent", sa.Column("oco_leg", sa.SmallInteger()), schema=SCHEMA)
    op.add_column("order_intent", sa.Column("order_status", sa.String(length=12)), schema=SCHEMA)
    op.add_column("order_intent", sa.Column("filled_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.create_index("ix_broker_order_intent_oco_group", "order_intent", ["oco_group"], schema=SCHEMA)
    op.add_column("position", sa.Column("current_price", sa.Numeric(precision=28, scale=10)), schema=SCHEMA)
    op.add_column("account", sa.Column("session_state", sa.String(length=16)), schema=SCHEMA)
    op.add_column("account", sa.Column("last_error", sa.String(length=200)), schema=SCHEMA)
    op.add_column("account", sa.Column("last_error_at", sa.DateTime(timezone=True)), schema=SCHEMA)


def downgrade() -> None:
    for column in ("last_error_at", "last_error", "session_state"):
        op.drop_column("account", column, schema=SCHEMA)
    op.drop_column("position", "current_price", schema=SCHEMA)
    op.drop_index("ix_broker_order_intent_oco_group", table_name="order_intent", schema=SCHEMA)
    for column in ("filled_at", "order_status", "oco_leg", "oco_group"):
        op.drop_column("order_intent", column, schema=SCHEMA)
    op.alter_column(
        "order_intent",
        "idempotency_key",
        type_=sa.String(length=128),
        existing_type=sa.String(length=160),
        existing_nullable=False,
        schema=SCHEMA,
    )
