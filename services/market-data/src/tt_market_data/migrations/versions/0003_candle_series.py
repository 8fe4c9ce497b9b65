"""Candle series revisions: a cached reply is current while its series' revision holds.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "market_data"


def upgrade() -> None:
    op.create_table(
        "candle_series",
        sa.Column("instrument_id", sa.Integer, nullable=False),
        sa.Column("timeframe", sa.String(4), nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False, server_default=sa.text("1")),
        sa.PrimaryKeyConstraint("instrument_id", "timeframe"),
        schema=SCHEMA,
    )
    op.execute(
        f"INSERT INTO {SCHEMA}.candle_series (instrument_id, timeframe) "
        f"SELECT DISTINCT instrument_id, timeframe FROM {SCHEMA}.candle"
    )


def downgrade() -> None:
    op.drop_table("candle_series", schema=SCHEMA)
