"""Disputes: the projection of payments' disputes, listed by merchant and swept by due time.

Revision ID: 0012_disputes
Revises: 0010_test_clocks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paysim.store.schema import UtcDateTime

revision = "0012_disputes"
down_revision = "0011_clock_objects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("payment_id", sa.String(40), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("test_clock_id", sa.String(40), nullable=True),
        sa.Column("due_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name="fk_disputes_payment_id_payments"),
        sa.PrimaryKeyConstraint("id", name="pk_disputes"),
        sa.UniqueConstraint("payment_id", name="uq_disputes_payment_id"),
    )
    op.create_index("ix_disputes_merchant_id_created_at_id", "disputes", ["merchant_id", "created_at", "id"])
    op.create_index("ix_disputes_created_at_id", "disputes", ["created_at", "id"])
    op.create_index("ix_disputes_test_clock_id_due_at", "disputes", ["test_clock_id", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_disputes_test_clock_id_due_at", table_name="disputes")
    op.drop_index("ix_disputes_created_at_id", table_name="disputes")
    op.drop_index("ix_disputes_merchant_id_created_at_id", table_name="disputes")
    op.drop_table("disputes")
