"""Payments: merchant fees, the payment projection, the event store, snapshots, idempotency keys.

Revision ID: 0002_payments
Revises: 0001_identity
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paysim.store.schema import UtcDateTime

revision = "0002_payments"
down_revision = "0001_identity"
branch_labels = None
depends_on = None

Sequence64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("fee_percent_bps", sa.Integer(), nullable=False, server_default="290"))
        batch.add_column(sa.Column("fee_fixed_minor", sa.BigInteger(), nullable=False, server_default="30"))

    op.create_table(
        "payments",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("card_last4", sa.String(4), nullable=False),
        sa.Column("in_progress", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], name="fk_payments_merchant_id_merchants"),
    )
    op.create_index("ix_payments_merchant_id_created_at_id", "payments", ["merchant_id", "created_at", "id"])
    op.create_index("ix_payments_created_at_id", "payments", ["created_at", "id"])
    op.create_index("ix_payments_in_progress_updated_at", "payments", ["in_progress", "updated_at"])
    op.create_index("ix_payments_customer_id", "payments", ["customer_id"])

    op.create_table(
        "payment_events",
        sa.Column("seq", Sequence64, nullable=False, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("aggregate_id", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("data_json", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_payment_events"),
        sa.UniqueConstraint("id", name="uq_payment_events_id"),
        sa.UniqueConstraint("aggregate_id", "version", name="uq_payment_events_aggregate_id_version"),
    )

    op.create_table(
        "payment_snapshots",
        sa.Column("aggregate_id", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("aggregate_id", name="pk_payment_snapshots"),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("method", sa.String(120), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("payment_id", sa.String(40), nullable=True),
        sa.Column("recovery_point", sa.String(40), nullable=True),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("response_blob", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    for table in ("idempotency_keys", "payment_snapshots", "payment_events", "payments"):
        op.drop_table(table)
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("fee_fixed_minor")
        batch.drop_column("fee_percent_bps")
