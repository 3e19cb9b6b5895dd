"""Idempotency keys: the column naming whose key it is holds a merchant's id or, for an
administrator's requests, "adm:<user id>"; it is called ``owner`` rather than ``merchant_id``.

Revision ID: 0008_idempotency_key_owner
Revises: 0007_webhooks
"""

from __future__ import annotations

from alembic import op

revision = "0008_idempotency_key_owner"
down_revision = "0007_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A rename keeps every row and the primary key (pk_idempotency_keys) as they are.
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("merchant_id", new_column_name="owner")


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("owner", new_column_name="merchant_id")
