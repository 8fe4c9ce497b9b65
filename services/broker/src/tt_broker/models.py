"""Tables of the broker service, all in schema ``broker``."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from tt_runtime.tables import service_metadata

metadata, runtime_tables = service_metadata("broker")
SCHEMA = "broker"
NOW = text("now()")


def _money(name: str, nullable: bool = True) -> Column:
    return Column(name, Numeric(28, 10), nullable=nullable)


account = Table(
    "account",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("broker", String(32), nullable=False),
    Column("environment", String(8), nullable=False),
    Column("label", String(80), nullable=False, server_default=""),
    Column("currency", String(8), nullable=False),
    Column("venue_account_id", String(64)),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    Column("disconnected_at", DateTime(timezone=True)),
    Column("lease_owner", String(128)),
    Column("lease_until", DateTime(timezone=True)),
    Column("circuit_failures", Integer, nullable=False, server_default="0"),
    Column("circuit_open_until", DateTime(timezone=True)),
    _money("balance"),
    _money("available"),
    _money("margin"),
    _money("profit_loss"),
    Column("summary_at", DateTime(timezone=True)),
    Column("last_reconciled_at", DateTime(timezone=True)),
    Column("session_state", String(16)),  # active | failing; NULL until the venue was first asked
    Column("last_error", String(200)),  # short and secret-free: an error code, never a venue message
    Column("last_error_at", DateTime(timezone=True)),
    schema=SCHEMA,
)

credential = Table(
    "credential",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column(
        "account_id",
        UUID(as_uuid=True),
        ForeignKey(f"{SCHEMA}.account.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("broker", String(32), nullable=False),
    Column("kek_id", String(64), nullable=False, index=True),
    Column("wdek_nonce", LargeBinary, nullable=False),
    Column("wdek", LargeBinary, nullable=False),
    Column("ct_nonce", LargeBinary, nullable=False),
    Column("ct", LargeBinary, nullable=False),
    Column("alg", String(16), nullable=False, server_default="A256GCM"),
    Column("format_version", SmallInteger, nullable=False, server_default="1"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    Column("rotated_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    schema=SCHEMA,
)

risk_limit = Table(
    "risk_limit",
    metadata,
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("account_key", String(64), primary_key=True),  # account id, or "paper"
    _money("max_position_size"),
    Column("max_open_positions", Integer),
    _money("daily_loss_limit"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    schema=SCHEMA,
)

order_intent = Table(
    "order_intent",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    # Unique per user (uq_order_intent_user_key): 128 characters + an OCO leg's suffix.
    Column("idempotency_key", String(160), nullable=False),
    Column("kind", String(8), nullable=False),  # OPEN | CLOSE | CANCEL
    Column("priority", SmallInteger, nullable=False),  # 0 protective exits, 1 new entries
    Column("user_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("account_id", UUID(as_uuid=True)),
    Column("account_key", String(64), nullable=False),
    Column("venue", String(32)),
    Column("epic", String(64)),
    Column("side", String(4)),
    _money("size"),
    Column("order_type", String(8)),
    _money("level"),
    Column("protection", JSONB),
    Column("target_id", UUID(as_uuid=True)),  # position (CLOSE) or order intent (CANCEL)
    Column("bot_id", UUID(as_uuid=True)),
    Column("decision_id", UUID(as_uuid=True)),
    Column("state", String(24), nullable=False),
    Column("reason_code", String(64)),
    Column("reason", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("deal_reference", String(128)),
    Column("deal_id", String(128)),
    _money("fill_price"),
    Column("venue_replies", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("reconciliation", JSONB),
    Column("command_id", UUID(as_uuid=True)),
    Column("correlation_id", UUID(as_uuid=True)),
    Column("expires_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    Column("sent_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("owner", String(128)),
    Column("oco_group", UUID(as_uuid=True), index=True),  # shared by the two legs of an OCO pair
    Column("oco_leg", SmallInteger),  # 1 the primary order, 2 the OCO leg
    Column("order_status", String(12)),  # working orders: working | filled | cancelled | expired
    Column("filled_at", DateTime(timezone=True)),  # venue time a working order filled
    UniqueConstraint("user_id", "idempotency_key", name="uq_order_intent_user_key"),
    schema=SCHEMA,
)
Index("ix_order_intent_queue", order_intent.c.account_key, order_intent.c.state, order_intent.c.priority)

position = Table(
    "position",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("account_id", UUID(as_uuid=True)),
    Column("account_key", String(64), nullable=False),
    Column("deal_id", String(128), nullable=False),
    Column("venue", String(32), nullable=False, server_default="capitalcom"),
    Column("epic", String(64), nullable=False),
    Column("side", String(4), nullable=False),
    _money("size", nullable=False),
    _money("open_price", nullable=False),
    Column("protection", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("status", String(8), nullable=False, server_default="open"),
    Column("origin", String(16), nullable=False, server_default="intent"),  # intent | venue
    Column("intent_id", UUID(as_uuid=True)),
    Column("currency", String(8)),
    _money("upl"),
    _money("close_price"),
    _money("realized_pnl"),
    _money("current_price"),  # the price the position would close at, as last polled
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    Column("closed_at", DateTime(timezone=True)),
    UniqueConstraint("account_key", "deal_id", name="uq_position_deal"),
    schema=SCHEMA,
)

paper_account = Table(
    "paper_account",
    metadata,
    Column("user_id", UUID(as_uuid=True), primary_key=True),
    Column("currency", String(8), nullable=False),
    _money("balance", nullable=False),
    schema=SCHEMA,
)

paper_position = Table(
    "paper_position",
    metadata,
    Column("deal_id", String(64), primary_key=True),
    Column("user_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("epic", String(64), nullable=False),
    Column("side", String(4), nullable=False),
    _money("size", nullable=False),
    _money("level", nullable=False),
    Column("protection", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    schema=SCHEMA,
)

reconciliation_log = Table(
    "reconciliation_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("account_key", String(64), nullable=False, index=True),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False, server_default=NOW),
    Column("ok", Boolean, nullable=False, server_default=text("true")),
    Column("differences", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("fixes", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    schema=SCHEMA,
)
