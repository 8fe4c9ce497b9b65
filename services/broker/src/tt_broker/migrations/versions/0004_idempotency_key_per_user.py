"""An idempotency key is unique per user, not across users: one user's key must never swallow another
user's command.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "broker"


def upgrade() -> None:
    op.drop_constraint("order_intent_idempotency_key_key", "order_intent", schema=SCHEMA, type_="unique")
    op.create_unique_constraint(
        "uq_order_intent_user_key", "order_intent", ["user_id", "idempotency_key"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_constraint("uq_order_intent_user_key", "order_intent", schema=SCHEMA, type_="unique")
    op.create_unique_constraint(
        "order_intent_idempotency_key_key", "order_intent", ["idempotency_key"], schema=SCHEMA
    )
