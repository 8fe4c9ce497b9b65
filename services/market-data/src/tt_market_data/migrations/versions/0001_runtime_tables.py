"""Runtime tables: outbox, inbox, dead_letter.

Revision ID: 0001
Revises:
"""

from tt_runtime.migration_ops import runtime_tables_v1_downgrade, runtime_tables_v1_upgrade

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "market_data"


def upgrade() -> None:
    runtime_tables_v1_upgrade(SCHEMA)


def downgrade() -> None:
    runtime_tables_v1_downgrade(SCHEMA)
