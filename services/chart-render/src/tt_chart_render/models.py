"""Tables of the chart-render service, all in schema ``chart_render``.

The rendered images live in the object store, not here. ``chart_request`` records which users asked for
each rendered object: the read path answers a user only for charts rendered at that user's request.
"""

from sqlalchemy import Column, DateTime, PrimaryKeyConstraint, String, Table, func
from sqlalchemy.dialects.postgresql import UUID

from tt_runtime.tables import service_metadata

metadata, runtime_tables = service_metadata("chart_render")

chart_request = Table(
    "chart_request",
    metadata,
    Column("object_key", String(90), nullable=False),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("object_key", "user_id"),
)
