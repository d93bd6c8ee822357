"""The outbox of the billing cycle's messages: one row per message, period and channel.

Revision ID: 0012
Revises: 0011

The plan-exhaustion notice, the members-limited message and the cycle summary are not
incidents, so they cannot ride the incident outbox (``alert_outbox.incident_id``). Each is
queued here once per period (a day, or a cycle) and channel (the unique key), holding the
message as it will be sent, and delivered with the alerts' rules: the attempt is written
before the post, a failure is retried by a later run, a delivered row is never sent again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "message_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempt_id", sa.String(), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_message_outbox"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name="ck_message_outbox_status_known"
        ),
    )
    op.create_index(
        "ix_message_outbox_kind_period_channel",
        "message_outbox",
        ["kind", "period", "channel"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_message_outbox_kind_period_channel", table_name="message_outbox")
    op.drop_table("message_outbox")
