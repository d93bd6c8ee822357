"""The daily usage rollup carries the cache reads the member badges count.

Revision ID: 0013
Revises: 0012

The badges summed the window's cache-read tokens from the usage events, a scan of every event
of the month on each cold start; the rollup the collector keeps already visits each event
once per day. Rows summed before this revision are given their cache reads here, from their
events, so the rollup stays current and no day has to be summed again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_rollups") as batch:
        batch.add_column(
            sa.Column("cache_read_tokens", sa.Float(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("cache_reads", sa.Integer(), server_default="0", nullable=False))
    same_key = (
        "e.day = event_rollups.day AND e.user_email = event_rollups.user_email"
        " AND e.model = event_rollups.model AND e.cache_read_tokens > 0"
    )
    op.execute(
        "UPDATE event_rollups SET"
        " cache_read_tokens = COALESCE((SELECT SUM(CAST(e.cache_read_tokens AS DOUBLE PRECISION))"
        f" FROM usage_events e WHERE {same_key}), 0),"
        f" cache_reads = (SELECT COUNT(*) FROM usage_events e WHERE {same_key})"
    )


def downgrade() -> None:
    with op.batch_alter_table("event_rollups") as batch:
        batch.drop_column("cache_reads")
        batch.drop_column("cache_read_tokens")
