"""Local changes to the billing groups, kept apart from Cursor's snapshot of them.

Revision ID: 0009
Revises: 0008

A rename, a created group or a member placed by hand lives in its own table, which the
collector never writes, so the next groups sync cannot undo it; every change is logged with
what it replaced so it can be listed and undone. Existing databases start with none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def _instant(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "local_groups",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        _instant("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_local_groups"),
    )
    op.create_table(
        "group_renames",
        sa.Column("group_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        _instant("renamed_at"),
        sa.PrimaryKeyConstraint("group_id", name="pk_group_renames"),
    )
    op.create_table(
        "group_assignments",
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("group_id", sa.String(), nullable=True),
        _instant("assigned_at"),
        sa.PrimaryKeyConstraint("email", name="pk_group_assignments"),
    )
    op.create_table(
        "group_edits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        _instant("at"),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        _instant("undone_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_group_edits"),
    )
    op.create_index("ix_group_edits_batch", "group_edits", ["batch"])


def downgrade() -> None:
    op.drop_index("ix_group_edits_batch", table_name="group_edits")
    for table in ("group_edits", "group_assignments", "group_renames", "local_groups"):
        op.drop_table(table)
