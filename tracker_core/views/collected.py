"""The guard every report passes first: a database no collection has reached says so."""

from __future__ import annotations

from sqlalchemy import Connection, select

from tracker_core.errors import TrackerError
from tracker_core.storage import database_name, last_successful_run
from tracker_core.storage import tables as t


class NothingCollectedError(TrackerError):
    """A report asked of a database no collection has reached: every figure would be zero.

    A wrong ``DATABASE_URL`` or working directory opens (and creates) an empty SQLite file
    without complaint, and "$0.00" reads like a quiet month rather than the wrong database, so
    the reports name the database and how to fill it instead.
    """


def require_collected(conn: Connection, url: str) -> None:
    """Refuse to report on a database holding no collection and no members."""
    if last_successful_run(conn) is not None:
        return
    if conn.execute(select(t.members.c.email).limit(1)).first() is not None:
        return
    raise NothingCollectedError(
        f"nothing has been collected into {database_name(url)} yet: run `cursor-tracker "
        "collect` with CURSOR_ADMIN_API_KEY set to fill it, or set DATABASE_URL to the "
        "database you meant (the demo prints the command that reopens its own)"
    )
