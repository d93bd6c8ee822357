"""The collector's re-fetch plan per stream, and how far each stream is complete.

Revision ID: 0010
Revises: 0009

One row per windowed stream: when each re-fetch tier last ran, a long re-fetch that stopped
half-way (so the next run resumes it instead of starting over), the time up to which every
event delivered within the plan's longest lookback is stored, and the latest delivery seen.
A database upgraded from before the plan has no rows: the first run re-fetches every tier.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "collection_plan",
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("complete_up_to_ms", sa.BigInteger(), nullable=True),
        sa.Column("max_lag_ms", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stream", name="pk_collection_plan"),
    )


def downgrade() -> None:
    op.drop_table("collection_plan")
