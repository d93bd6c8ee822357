"""The usage rollup summed per ISO week too, so a long window reads a few rows per member.

Revision ID: 0008
Revises: 0007

The weekly rows are summed here from the daily rollup as it stands; a day still marked stale
keeps its week out of every read until the next refresh sums both again, as for any week.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_daily = sa.table(
    "event_rollups",
    sa.column("day", sa.Date()),
    sa.column("user_email", sa.String()),
    sa.column("model", sa.String()),
    sa.column("spend_cents", sa.Float()),
    sa.column("requests", sa.Integer()),
    sa.column("tokens", sa.Float()),
)
_COLUMNS = ["week", "user_email", "model", "spend_cents", "requests", "tokens", "last_day"]


def _week_sums(week: date) -> sa.Select[tuple[date, str, str, float, int, float, date]]:
    return (
        sa.select(
            sa.literal(week, sa.Date()),
            _daily.c.user_email,
            _daily.c.model,
            sa.func.sum(_daily.c.spend_cents),
            sa.func.sum(_daily.c.requests),
            sa.func.sum(_daily.c.tokens),
            sa.func.max(_daily.c.day),
        )
        .where(_daily.c.day.between(week, week + timedelta(days=6)))
        .group_by(_daily.c.user_email, _daily.c.model)
    )


def upgrade() -> None:
    weekly = op.create_table(
        "event_rollups_weekly",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("spend_cents", sa.Float(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("week", "user_email", "model", name="pk_event_rollups_weekly"),
    )
    assert weekly is not None
    bind = op.get_bind()
    days = bind.execute(sa.select(_daily.c.day).distinct()).scalars()
    for week in sorted({day - timedelta(days=day.weekday()) for day in days}):
        bind.execute(sa.insert(weekly).from_select(_COLUMNS, _week_sums(week)))


def downgrade() -> None:
    op.drop_table("event_rollups_weekly")
