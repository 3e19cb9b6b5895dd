"""Circuit breakers: one row per (scope, gateway), shared by every server process.

Revision ID: 0003_circuit_breakers
Revises: 0002_payments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paysim.store.schema import UtcDateTime

revision = "0003_circuit_breakers"
down_revision = "0002_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "circuit_breakers",
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("gateway", sa.String(40), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "gateway", name="pk_circuit_breakers"),
    )


def downgrade() -> None:
    op.drop_table("circuit_breakers")
