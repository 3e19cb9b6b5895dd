"""A merchant's choice for Luhn-valid cards outside the test catalogue: approve them or refuse them.

Revision ID: 0014_card_details
Revises: 0013_chaos
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_card_details"
down_revision = "0013_chaos"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("unknown_cards", sa.String(16), nullable=False, server_default="approve"))


def downgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("unknown_cards")
