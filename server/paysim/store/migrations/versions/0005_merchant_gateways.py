"""Merchant gateways: one row per (merchant, gateway) with its routing priority and settings.

Revision ID: 0005_merchant_gateways
Revises: 0004_gateway_faults
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paysim.store.schema import UtcDateTime

revision = "0005_merchant_gateways"
down_revision = "0004_gateway_faults"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchant_gateways",
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("gateway", sa.String(40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("settings_json", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "gateway", name="pk_merchant_gateways"),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], name="fk_merchant_gateways_merchant_id_merchants"),
    )


def downgrade() -> None:
    op.drop_table("merchant_gateways")
