"""Alembic environment: runs migrations on the connection ``storage.db.migrate`` hands over.

The tracker never runs Alembic from the command line against a URL; it migrates at start-up on
a connection it has already opened (and locked), so this file only accepts that connection.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tracker_core.storage.tables import metadata


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "these migrations run through tracker_core.storage.migrate(), "
            "which passes an open connection in config.attributes['connection']"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        # DDL is transactional on both dialects here (storage.db makes SQLite's real).
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
