"""Tables of the market-data service, all in schema ``market_data``.

Candles are read and written with psycopg directly (binary COPY in, tuples out); the table objects
here document them and serve the small queries.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from tt_runtime.tables import service_metadata

metadata, runtime_tables = service_metadata("market_data")

instrument = Table(
    "instrument",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("venue", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("instrument_type", String(32), nullable=False),
    Column("currency", String(8), nullable=False, server_default=""),
    Column("status", String(32)),
    Column("dealing_rules", JSONB),
    Column("trading_hours", JSONB),
    Column("owner_user_id", UUID(as_uuid=True)),  # set for a user's uploaded data set
    Column("search_text", Text, nullable=False, server_default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("venue", "symbol", name="instrument_venue_symbol"),
    Index("instrument_type_idx", "instrument_type"),
)

watchlist_item = Table(
    "watchlist_item",
    metadata,
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("name", String(64), nullable=False),
    Column("instrument_id", Integer, ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("user_id", "name", "instrument_id"),
)

candle = Table(
    "candle",
    metadata,
    Column("instrument_id", Integer, nullable=False),
    Column("timeframe", String(4), nullable=False),
    Column("open_time", DateTime(timezone=True), nullable=False),
    Column("bid_open", Numeric, nullable=False),
    Column("bid_high", Numeric, nullable=False),
    Column("bid_low", Numeric, nullable=False),
    Column("bid_close", Numeric, nullable=False),
    Column("ask_open", Numeric),
    Column("ask_high", Numeric),
    Column("ask_low", Numeric),
    Column("ask_close", Numeric),
    Column("volume", Numeric, nullable=False, server_default=text("0")),
    Column("source", String(16), nullable=False),  # provenance: broker | upload | provider
    Column("announced", Boolean, nullable=False, server_default=text("false")),
    PrimaryKeyConstraint("instrument_id", "timeframe", "open_time"),
)

# One row per stored series; ``revision`` goes up with every write of its candles (in the writer's
# transaction), so a cached reply is known current by one primary-key lookup.
candle_series = Table(
    "candle_series",
    metadata,
    Column("instrument_id", Integer, nullable=False),
    Column("timeframe", String(4), nullable=False),
    Column("revision", BigInteger, nullable=False, server_default=text("1")),
    PrimaryKeyConstraint("instrument_id", "timeframe"),
)

backfill_state = Table(
    "backfill_state",
    metadata,
    Column("instrument_id", Integer, nullable=False),
    Column("timeframe", String(4), nullable=False),
    Column("covered_from", DateTime(timezone=True), nullable=False),
    Column("complete_until", DateTime(timezone=True), nullable=False),
    Column("gaps", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("instrument_id", "timeframe"),
)

upload_job = Table(
    "upload_job",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("instrument_id", Integer, nullable=False),
    Column("timeframe", String(4), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("report", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
