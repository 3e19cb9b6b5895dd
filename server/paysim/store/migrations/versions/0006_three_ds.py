"""3-D Secure: each merchant's policy in a table of its own, and the index the challenge expiry
sweep reads payments by.

Revision ID: 0006_three_ds
Revises: 0005_merchant_gateways
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paysim.store.schema import UtcDateTime

revision = "0006_three_ds"
down_revision = "0005_merchant_gateways"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "three_ds_policies",
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("thresholds_json", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], name="fk_three_ds_policies_merchant_id_merchants"),
        sa.PrimaryKeyConstraint("merchant_id", name="pk_three_ds_policies"),
    )
    op.create_index("ix_payments_status_updated_at", "payments", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_payments_status_updated_at", table_name="payments")
    op.drop_table("three_ds_policies")
