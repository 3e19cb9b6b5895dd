"""Analytics read model: the projector's checkpoint, its per-payment rows, payment and gateway buckets.

Revision ID: 0009_analytics
Revises: 0008_idempotency_key_owner
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paysim.store.schema import UtcDateTime

revision = "0009_analytics"
down_revision = "0008_idempotency_key_owner"
branch_labels = None
depends_on = None

_PAYMENT_COUNTERS = (
    "payments", "volume", "authorized", "authorized_volume", "captured", "captured_volume", "declined",
    "failed", "voided", "refunds", "refunded_volume", "capture_latency_ms",
)  # fmt: skip
_GATEWAY_COUNTERS = (
    "attempts", "approved", "declined", "errors", "timeouts", "breaker_rejections", "latency_ms",
    "latency_max_ms", *(f"lat_{i}" for i in range(11)),
)  # fmt: skip


def _counters(names: tuple[str, ...]) -> list[sa.Column[int]]:
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "analytics_checkpoints",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_analytics_checkpoints"),
    )
    op.create_table(
        "analytics_payments",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("method", sa.String(24), nullable=False),
        sa.Column("card_brand", sa.String(24), nullable=False),
        sa.Column("card_last4", sa.String(4), nullable=False),
        sa.Column("gateway", sa.String(40), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("captured_amount", sa.BigInteger(), nullable=False),
        sa.Column("refunds_json", sa.Text(), nullable=False),
        sa.Column("authorized_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_payments"),
    )
    op.create_index(
        "ix_analytics_payments_merchant_id_created_at_id", "analytics_payments", ["merchant_id", "created_at", "id"]
    )
    op.create_index("ix_analytics_payments_created_at_id", "analytics_payments", ["created_at", "id"])
    op.create_table(
        "analytics_payment_buckets",
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("size", sa.String(1), nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("value", sa.String(40), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        *_counters(_PAYMENT_COUNTERS),
        sa.PrimaryKeyConstraint(
            "merchant_id", "size", "dimension", "value", "start", name="pk_analytics_payment_buckets"
        ),
    )
    op.create_table(
        "analytics_gateway_buckets",
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("size", sa.String(1), nullable=False),
        sa.Column("gateway", sa.String(40), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        *_counters(_GATEWAY_COUNTERS),
        sa.PrimaryKeyConstraint("merchant_id", "size", "gateway", "start", name="pk_analytics_gateway_buckets"),
    )


def downgrade() -> None:
    for table in ("analytics_gateway_buckets", "analytics_payment_buckets", "analytics_payments"):
        op.drop_table(table)
    op.drop_table("analytics_checkpoints")
