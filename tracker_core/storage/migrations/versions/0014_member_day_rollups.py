"""The usage rollup summed per day and member too (every model together).

Revision ID: 0014
Revises: 0013

The rows are summed here from the daily rollup as it stands; a day still marked stale is read
from its events by every reader until the next refresh sums both again, as for any day.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None

_daily = sa.table(
    "event_rollups",
    sa.column("day", sa.Date()),
    sa.column("user_email", sa.String()),
    sa.column("spend_cents", sa.Float()),
    sa.column("requests", sa.Integer()),
    sa.column("tokens", sa.Float()),
    sa.column("cache_read_tokens", sa.Float()),
    sa.column("cache_reads", sa.Integer()),
)
_COLUMNS = [
    "day",
    "user_email",
    "spend_cents",
    "requests",
    "tokens",
    "cache_read_tokens",
    "cache_reads",
]


def upgrade() -> None:
    members = op.create_table(
        "event_rollups_members",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(), nullable=False),
        sa.Column("spend_cents", sa.Float(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("cache_read_tokens", sa.Float(), nullable=False),
        sa.Column("cache_reads", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "user_email", name="pk_event_rollups_members"),
    )
    assert members is not None
    op.get_bind().execute(
        sa.insert(members).from_select(
            _COLUMNS,
            sa.select(
                _daily.c.day,
                _daily.c.user_email,
                sa.func.sum(_daily.c.spend_cents),
                sa.func.sum(_daily.c.requests),
                sa.func.sum(_daily.c.tokens),
                sa.func.sum(_daily.c.cache_read_tokens),
                sa.func.sum(_daily.c.cache_reads),
            ).group_by(_daily.c.day, _daily.c.user_email),
        )
    )


def downgrade() -> None:
    op.drop_table("event_rollups_members")
