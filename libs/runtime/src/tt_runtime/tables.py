"""The tables every service has in its own schema: outbox, inbox, dead_letter."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID


class RuntimeTables:
    """Table objects bound to one service schema."""

    def __init__(self, metadata: MetaData) -> None:
        self.metadata = metadata
        self.outbox = Table(
            "outbox",
            metadata,
            Column("id", BigInteger, primary_key=True, autoincrement=True),
            Column("message_id", UUID(as_uuid=True), nullable=False, unique=True),
            Column("subject", String(255), nullable=False),
            Column("stream", String(64), nullable=False),
            Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
            Column("payload", LargeBinary, nullable=False),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("available_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("attempts", Integer, nullable=False, server_default=text("0")),
            Column("last_error", Text),
            Column("published_at", DateTime(timezone=True)),
            Column("stream_seq", BigInteger),
            Index("outbox_pending", "available_at", "id", postgresql_where=text("published_at IS NULL")),
        )
        self.inbox = Table(
            "inbox",
            metadata,
            Column("consumer", String(128), primary_key=True),
            Column("message_id", UUID(as_uuid=True), primary_key=True),
            Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        )
        self.dead_letter = Table(
            "dead_letter",
            metadata,
            Column("id", BigInteger, primary_key=True, autoincrement=True),
            Column("consumer", String(128), nullable=False),
            Column("subject", String(255), nullable=False),
            Column("stream", String(64)),
            Column("stream_seq", BigInteger),
            Column("message_id", String(128)),
            Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
            Column("payload", LargeBinary, nullable=False),
            Column("error_type", String(255), nullable=False),
            Column("error", Text, nullable=False),
            Column("deliveries", Integer, nullable=False),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("replayed_at", DateTime(timezone=True)),
            Index("dead_letter_open", "created_at", postgresql_where=text("replayed_at IS NULL")),
        )


def service_metadata(schema: str) -> tuple[MetaData, RuntimeTables]:
    """A MetaData bound to ``schema`` with the runtime tables already on it."""
    metadata = MetaData(schema=schema)
    return metadata, RuntimeTables(metadata)
