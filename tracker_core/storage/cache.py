"""Remembered figures: a screen's costly scan of the events, kept until the events change.

The overview sums every usage event of its window, which takes a good part of a second on a
team of thousands. The events change only when the collector stores new ones (they are never
updated, their identity is a hash of their fields), while the console redraws every 30
seconds and a manager opens it many times an hour. So the figures are kept with a
fingerprint of the events they came from (their data version, which every stored event
counts up), and a reader takes them only when the fingerprint it computes now is the same:
a cached figure is never stale, only absent.

Remembering is best-effort. The console may be a read-only user of the database, or another
process may hold SQLite's write lock; neither is worth more than a moment's wait or an error
on screen, so a failed write is logged and forgotten.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, select, text
from sqlalchemy.exc import SQLAlchemyError

from tracker_core.storage import tables as t
from tracker_core.storage.db import SQLITE_PRAGMAS
from tracker_core.storage.failures import database_error, is_damage
from tracker_core.storage.groups import GROUPS_VERSION
from tracker_core.storage.repo import USAGE_EVENTS_VERSION, data_version, dialect_insert

log = logging.getLogger(__name__)

WRITE_WAIT_MS = 250
"""How long remembering waits for another writer before it gives up."""
_SQLITE_BUSY_TIMEOUT = next(pragma for pragma in SQLITE_PRAGMAS if "busy_timeout" in pragma)
"""Restored after remembering: the connection returns to the pool with the usual wait."""


def events_fingerprint(conn: Connection) -> str:
    """The usage events' data version: every stored event counts it up (one row to read).

    Counting the events would say the same at the price of a scan of the largest table, on
    every start and refresh of the console.
    """
    groups = data_version(conn, GROUPS_VERSION)  # the views show each member's group
    return f"events=v{data_version(conn, USAGE_EVENTS_VERSION)}:groups=v{groups}"


def recall(conn: Connection, key: str, fingerprint: str) -> str | None:
    """The body remembered under ``key`` when it was computed from the same data, else None."""
    vc = t.view_cache
    row = conn.execute(select(vc.c.fingerprint, vc.c.body).where(vc.c.key == key)).first()
    if row is None or row.fingerprint != fingerprint:
        return None
    return str(row.body)


def forget_all(engine: Engine) -> None:
    """Drop every remembered view, so the next read computes it from the events.

    Nothing needs this for correctness (a stale entry never matches its fingerprint); it
    is how the benchmark and the tests reach the cold path that a console meets when no job
    has prepared its figures.
    """
    with engine.begin() as conn:
        conn.execute(delete(t.view_cache))


def remember(engine: Engine, key: str, fingerprint: str, body: str, now: datetime) -> bool:
    """Keep ``body`` under ``key`` in a short transaction of its own; False when it could not.

    Its own connection, so the caller's read transaction stays read-only, and a short lock
    wait, so a collector busy writing costs the reader nothing but this one cache entry.
    """
    row = {"key": key, "fingerprint": fingerprint, "body": body, "computed_at": now}
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            try:
                with conn.begin():
                    if sqlite:
                        conn.exec_driver_sql(f"PRAGMA busy_timeout={WRITE_WAIT_MS}")
                    else:
                        conn.execute(text(f"SET LOCAL lock_timeout = '{WRITE_WAIT_MS}ms'"))
                    stmt = dialect_insert(conn, t.view_cache)
                    conn.execute(
                        stmt.on_conflict_do_update(
                            index_elements=["key"],
                            set_={
                                "fingerprint": stmt.excluded.fingerprint,
                                "body": stmt.excluded.body,
                                "computed_at": stmt.excluded.computed_at,
                            },
                        ),
                        row,
                    )
            finally:
                if sqlite:
                    conn.exec_driver_sql(_SQLITE_BUSY_TIMEOUT)
                    conn.rollback()
    except SQLAlchemyError as exc:
        if is_damage(exc):
            # A damaged file is not a reason to skip a courtesy: it is the news.
            raise database_error(exc, engine.url) from exc
        log.info("not remembering %s: %s", key, type(exc).__name__)
        return False
    return True
