"""Change counters written with the data, so a cache fingerprint is one row, not a scan.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # No rows to seed: the entries already in view_cache carry fingerprints of the former
    # kind (a count of the events), so none of them can match a version and all are redone.
    op.create_table(
        "data_versions",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_data_versions"),
    )


def downgrade() -> None:
    op.drop_table("data_versions")
