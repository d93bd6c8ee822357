"""The alert outbox remembers a delivery attempt before it posts.

An announcement whose post was cut short (an answer slower than the client's timeout, a kill
while the request was in flight) keeps the attempt's id and start, so the next dispatch can
ask the channel whether the message arrived before posting it again.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_outbox") as batch:
        batch.add_column(sa.Column("attempt_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_outbox") as batch:
        batch.drop_column("attempted_at")
        batch.drop_column("attempt_id")
