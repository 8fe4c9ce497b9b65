"""Instruments, watchlists, candles, backfill state, upload jobs.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "market_data"


def upgrade() -> None:
    op.create_table(
        "instrument",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("instrument_type", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(8), nullable=False, server_default=""),
        sa.Column("status", sa.String(32)),
        sa.Column("dealing_rules", JSONB),
        sa.Column("trading_hours", JSONB),
        sa.Column("owner_user_id", UUID(as_uuid=True)),
        sa.Column("search_text", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("venue", "symbol", name="instrument_venue_symbol"),
        schema=SCHEMA,
    )
    op.create_index("instrument_type_idx", "instrument", ["instrument_type"], schema=SCHEMA)
    op.create_table(
        "watchlist_item",
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column(
            "instrument_id",
            sa.Integer,
            sa.ForeignKey(f"{SCHEMA}.instrument.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("user_id", "name", "instrument_id"),
        schema=SCHEMA,
    )
    op.create_table(
        "candle",
        sa.Column("instrument_id", sa.Integer, nullable=False),
        sa.Column("timeframe", sa.String(4), nullable=False),
        sa.Column("open_time", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(f"bid_{f}", sa.Numeric, nullable=False) for f in ("open", "high", "low", "close")),
        *(sa.Column(f"ask_{f}", sa.Numeric) for f in ("open", "high", "low", "close")),
        sa.Column("volume", sa.Numeric, nullable=False, server_default=sa.text("0")),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("announced", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.PrimaryKeyConstraint("instrument_id", "timeframe", "open_time"),
        schema=SCHEMA,
    )
    op.create_table(
        "backfill_state",
        sa.Column("instrument_id", sa.Integer, nullable=False),
        sa.Column("timeframe", sa.String(4), nullable=False),
        sa.Column("covered_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("complete_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gaps", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("instrument_id", "timeframe"),
        schema=SCHEMA,
    )
    op.create_table(
        "upload_job",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("instrument_id", sa.Integer, nullable=False),
        sa.Column("timeframe", sa.String(4), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("report", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("upload_job", "backfill_state", "candle", "watchlist_item", "instrument"):
        op.drop_table(table, schema=SCHEMA)
