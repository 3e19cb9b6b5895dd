"""Simulated gateway faults: one row per (scope, gateway), shared by every server process.

Revision ID: 0004_gateway_faults
Revises: 0003_circuit_breakers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paysim.store.schema import UtcDateTime

revision = "0004_gateway_faults"
down_revision = "0003_circuit_breakers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_faults",
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("gateway", sa.String(40), nullable=False),
        sa.Column("faults_json", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "gateway", name="pk_gateway_faults"),
    )


def downgrade() -> None:
    op.drop_table("gateway_faults")
