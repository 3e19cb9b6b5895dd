"""Objects on test clocks, and refunds that settle later: the clock a payment or customer lives on,
and when a payment's next asynchronous refund settles (what the settlement sweeps look for).

Revision ID: 0011_clock_objects
Revises: 0010_test_clocks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paysim.store.schema import UtcDateTime

revision = "0011_clock_objects"
down_revision = "0010_test_clocks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("test_clock_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("refund_settles_at", UtcDateTime(), nullable=True))
    op.create_index("ix_payments_test_clock_id_status", "payments", ["test_clock_id", "status"])
    op.create_index("ix_payments_refund_settles_at", "payments", ["refund_settles_at"])
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("test_clock_id", sa.String(40), nullable=True))
    op.create_index("ix_customers_test_clock_id", "customers", ["test_clock_id"])


def downgrade() -> None:
    op.drop_index("ix_customers_test_clock_id", table_name="customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("test_clock_id")
    op.drop_index("ix_payments_refund_settles_at", table_name="payments")
    op.drop_index("ix_payments_test_clock_id_status", table_name="payments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("refund_settles_at")
        batch.drop_column("test_clock_id")
