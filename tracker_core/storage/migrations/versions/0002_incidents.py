"""Detection results: anomalies, their incidents and the alert outbox.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _instant(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "anomalies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("top_model", sa.String(), nullable=True),
        sa.Column("top_model_share", sa.Float(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        _instant("detected_at"),
        _instant("updated_at"),
        _instant("resolved_at", nullable=True),
        sa.Column("resolved_by", sa.String(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="ck_anomalies_status_known"),
        sa.CheckConstraint(
            "severity IN ('warning', 'critical')", name="ck_anomalies_severity_known"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_anomalies"),
    )
    op.create_index(
        "ix_anomalies_rule_email_period", "anomalies", ["rule", "email", "period"], unique=True
    )
    op.create_index("ix_anomalies_status", "anomalies", ["status"])

    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("anomaly_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        _instant("onset_at"),
        _instant("detected_at"),
        _instant("alerted_at", nullable=True),
        _instant("acknowledged_at", nullable=True),
        _instant("resolved_at", nullable=True),
        sa.Column("resolved_by", sa.String(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'alerted', 'acknowledged', 'resolved')",
            name="ck_incidents_status_known",
        ),
        sa.ForeignKeyConstraint(
            ["anomaly_id"],
            ["anomalies.id"],
            name="fk_incidents_anomaly_id_anomalies",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.UniqueConstraint("anomaly_id", name="uq_incidents_anomaly_id"),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])

    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _instant("created_at"),
        _instant("next_attempt_at"),
        _instant("sent_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'skipped')",
            name="ck_alert_outbox_status_known",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name="fk_alert_outbox_incident_id_incidents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_outbox"),
    )
    op.create_index(
        "ix_alert_outbox_incident_id_channel_reason",
        "alert_outbox",
        ["incident_id", "channel", "reason"],
        unique=True,
    )
    op.create_index("ix_alert_outbox_status", "alert_outbox", ["status"])


def downgrade() -> None:
    for table in ("alert_outbox", "incidents", "anomalies"):
        op.drop_table(table)
