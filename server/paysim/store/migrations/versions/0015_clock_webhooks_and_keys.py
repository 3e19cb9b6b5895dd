"""Webhook retries and idempotency keys on test clocks: the clock a delivery's payment lives on
(its attempts then fall due on that clock's time) with the lease of its attempt in flight, and the
clock an idempotency key's request was about (the key then expires on that clock's time).

Revision ID: 0015_clock_webhooks_and_keys
Revises: 0014_card_details
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paysim.store.schema import UtcDateTime

revision = "0015_clock_webhooks_and_keys"
down_revision = "0014_card_details"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("test_clock_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("lease_until", UtcDateTime(), nullable=True))
    op.create_index("ix_webhook_deliveries_test_clock_id_state", "webhook_deliveries", ["test_clock_id", "state"])
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("test_clock_id", sa.String(40), nullable=True))
    op.create_index("ix_idempotency_keys_test_clock_id", "idempotency_keys", ["test_clock_id"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_test_clock_id", table_name="idempotency_keys")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("test_clock_id")
    op.drop_index("ix_webhook_deliveries_test_clock_id_state", table_name="webhook_deliveries")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("test_clock_id")
