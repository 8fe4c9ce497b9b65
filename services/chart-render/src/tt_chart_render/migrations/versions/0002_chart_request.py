"""Which users requested each rendered chart (the read path's ownership check).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "chart_render"


def upgrade() -> None:
    op.create_table(
        "chart_request",
        sa.Column("object_key", sa.String(90), nullable=False),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("object_key", "user_id"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("chart_request", schema=SCHEMA)
