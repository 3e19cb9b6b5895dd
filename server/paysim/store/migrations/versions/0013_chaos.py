"""Seeded chaos profiles: one row per (merchant, gateway), with the count of draws taken.

Revision ID: 0013_chaos
Revises: 0010_test_clocks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paysim.store.schema import UtcDateTime

revision = "0013_chaos"
down_revision = "0012_disputes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chaos_profiles",
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("gateway", sa.String(40), nullable=False),
        sa.Column("settings_json", sa.Text(), nullable=False),
        sa.Column("draws", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], name="fk_chaos_profiles_merchant_id_merchants"),
        sa.PrimaryKeyConstraint("merchant_id", "gateway", name="pk_chaos_profiles"),
    )


def downgrade() -> None:
    op.drop_table("chaos_profiles")
