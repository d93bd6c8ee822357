"""Token counts in 64-bit columns, token sums as doubles, and stored values brought in bounds.

Revision ID: 0007
Revises: 0006

PostgreSQL's 32-bit ``integer`` refused a token count above 2^31 - 1 and stopped the whole
collection; the parser now accepts up to 10^12 tokens per field, so the columns widen. Sums of
tokens become doubles, which no number of events can overflow on either database (a 64-bit
integer sum could, and on SQLite one overflowing sum made every later read fail). Rows stored
before the parser had bounds are brought within them, and every day is summed again.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
_CENT_COLUMNS = ("charged_cents", "token_cents", "cursor_token_fee")
# The parser's bounds when this revision was written (cursor_api/schemas.py).
_MAX_TOKENS = 10**12
_MAX_EVENT_CENTS = 10**8


def _rollups(tokens: sa.types.TypeEngine[Any]) -> None:
    op.create_table(
        "event_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("spend_cents", sa.Float(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("tokens", tokens, nullable=False),
        sa.PrimaryKeyConstraint("day", "user_email", "model", name="pk_event_rollups"),
    )


def _resum_every_day() -> None:
    op.execute("DELETE FROM rollup_stale_days")
    op.execute(
        "INSERT INTO rollup_stale_days (day, marks) SELECT DISTINCT day, 1 FROM usage_events"
    )


def _set_token_type(name: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        changes = ", ".join(f"ALTER COLUMN {column} TYPE {name}" for column in _TOKEN_COLUMNS)
        op.execute(f"ALTER TABLE usage_events {changes}")  # one rewrite of the table, not four
        return
    # SQLite stores 64-bit integers whatever the declared type; only the declaration changes.
    kind = sa.BigInteger() if name == "BIGINT" else sa.Integer()
    with op.batch_alter_table("usage_events") as batch:
        for column in _TOKEN_COLUMNS:
            batch.alter_column(column, type_=kind, existing_nullable=False)


def upgrade() -> None:
    _set_token_type("BIGINT")
    for column in _TOKEN_COLUMNS:
        op.execute(
            f"UPDATE usage_events SET {column} = {_MAX_TOKENS} WHERE {column} > {_MAX_TOKENS}"
        )
        op.execute(f"UPDATE usage_events SET {column} = 0 WHERE {column} < 0")
    for column in _CENT_COLUMNS:
        op.execute(
            f"UPDATE usage_events SET {column} = NULL "
            f"WHERE {column} < 0 OR {column} > {_MAX_EVENT_CENTS}"
        )
    op.drop_table("event_rollups")
    _rollups(sa.Float())
    _resum_every_day()


def downgrade() -> None:
    op.drop_table("event_rollups")
    _rollups(sa.BigInteger())
    _resum_every_day()
    for column in _TOKEN_COLUMNS:
        op.execute(f"UPDATE usage_events SET {column} = 2147483647 WHERE {column} > 2147483647")
    _set_token_type("INTEGER")
