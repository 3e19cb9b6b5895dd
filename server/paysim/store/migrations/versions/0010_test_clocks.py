"""Test clocks: a table of their own, read by merchant and, to finish advances, by status.

Revision ID: 0010_test_clocks
Revises: 0009_analytics
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paysim.store.schema import UtcDateTime

revision = "0010_test_clocks"
down_revision = "0009_analytics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "test_clocks",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("frozen_time", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("advancing_to", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], name="fk_test_clocks_merchant_id_merchants"),
        sa.PrimaryKeyConstraint("id", name="pk_test_clocks"),
    )
    op.create_index("ix_test_clocks_merchant_id_created_at_id", "test_clocks", ["merchant_id", "created_at", "id"])
    op.create_index("ix_test_clocks_status", "test_clocks", ["status"])


def downgrade() -> None:
    op.drop_index("ix_test_clocks_status", table_name="test_clocks")
    op.drop_index("ix_test_clocks_merchant_id_created_at_id", table_name="test_clocks")
    op.drop_table("test_clocks")
