"""Usage events summed per day, member and model, with the days still to be summed.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "event_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("spend_cents", sa.Float(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "user_email", "model", name="pk_event_rollups"),
    )
    op.create_table(
        "rollup_stale_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("marks", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_rollup_stale_days"),
    )
    # Events stored before this revision: every day of them is summed by the next refresh
    # (the collector's or detection's), and read straight from the events until then.
    op.execute(
        "INSERT INTO rollup_stale_days (day, marks) SELECT DISTINCT day, 1 FROM usage_events"
    )


def downgrade() -> None:
    op.drop_table("rollup_stale_days")
    op.drop_table("event_rollups")
