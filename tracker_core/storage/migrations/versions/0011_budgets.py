"""Budgets per billing cycle: for the team, a billing group or one member.

Revision ID: 0011
Revises: 0010

One row per scope: ``team`` (key empty), ``group`` (key the group id) or ``member`` (key the
email), the amount in cents per cycle and who set it when. A scope without a row has no
budget; existing databases start with none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("scope_key", sa.String(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("set_by", sa.String(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('team', 'group', 'member')", name="ck_budgets_scope_known"),
        sa.CheckConstraint("amount_cents > 0", name="ck_budgets_amount_positive"),
        sa.PrimaryKeyConstraint("scope", "scope_key", name="pk_budgets"),
    )


def downgrade() -> None:
    op.drop_table("budgets")
