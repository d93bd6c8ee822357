"""Usage events summed per UTC day, member and model, kept beside the events.

Every spend figure the product shows or checks is a sum over (day, member, model): the
overview, ``stats`` and detection all read those sums, and computing them from the events is a
scan that grows with the team (a second for 2,000 members over 90 days). ``event_rollups``
keeps them. The events stay the truth:

* a write of events marks its days stale in the same transaction
  (:func:`tracker_core.storage.repo.mark_days_stale`);
* :func:`refresh` recomputes the stale days from the events; the collector runs it after
  storing events and detection before reading, so a day is summed about once per collection;
* :func:`summed` reads the rollup for the fresh days and sums the events of the stale days
  itself, so a reader is never wrong, only slower, while a refresh has not yet run (a
  collector killed mid-run, say).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import Final

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Subquery,
    bindparam,
    delete,
    func,
    insert,
    select,
    union_all,
)
from sqlalchemy.exc import SQLAlchemyError

from tracker_core.storage import tables as t
from tracker_core.storage.db import begin_write
from tracker_core.storage.failures import database_error, is_damage
from tracker_core.storage.repo import spend_cents_expr, tokens_expr

log = logging.getLogger(__name__)

DAYS_PER_STATEMENT: Final = 200
"""Days recomputed per statement: bounded bind parameters and statements of steady size."""


def _sums_of_events(days: Sequence[date]) -> Select[tuple[date, str, str, float, int, float]]:
    """The rollup rows of ``days``, summed from the events themselves."""
    ue = t.usage_events
    return (
        select(
            ue.c.day,
            ue.c.user_email,
            ue.c.model,
            func.sum(spend_cents_expr()).label("spend_cents"),
            func.count().label("requests"),
            func.sum(tokens_expr()).label("tokens"),
        )
        .where(ue.c.day.in_(days))
        .group_by(ue.c.day, ue.c.user_email, ue.c.model)
    )


def stale_days(conn: Connection, start: date | None = None, end: date | None = None) -> list[date]:
    """Days whose rollup lags their events, oldest first, within ``start``..``end`` if given."""
    stale = t.rollup_stale_days
    query = select(stale.c.day).order_by(stale.c.day)
    if start is not None:
        query = query.where(stale.c.day >= start)
    if end is not None:
        query = query.where(stale.c.day <= end)
    return [day for (day,) in conn.execute(query)]


def refresh(engine: Engine) -> int:
    """Recompute every stale day from its events; returns how many days were recomputed.

    One write transaction: a reader sees the old rollup with the day still marked stale, or
    the new one with the mark gone. A mark another writer added meanwhile stays for the next
    refresh (PostgreSQL; on SQLite the write lock keeps other writers out until commit).
    """
    stale, rollups = t.rollup_stale_days, t.event_rollups
    columns = ["day", "user_email", "model", "spend_cents", "requests", "tokens"]
    with begin_write(engine) as conn:
        marked = conn.execute(select(stale.c.day, stale.c.marks).order_by(stale.c.day)).all()
        days = [day for day, _ in marked]
        for first in range(0, len(days), DAYS_PER_STATEMENT):
            chunk = days[first : first + DAYS_PER_STATEMENT]
            conn.execute(delete(rollups).where(rollups.c.day.in_(chunk)))
            conn.execute(insert(rollups).from_select(columns, _sums_of_events(chunk)))
        if marked:
            conn.execute(
                delete(stale).where(
                    stale.c.day == bindparam("stale_day"), stale.c.marks == bindparam("seen")
                ),
                [{"stale_day": day, "seen": marks} for day, marks in marked],
            )
    return len(days)


def try_refresh(engine: Engine) -> int:
    """:func:`refresh` as a courtesy after the real work: a database error (a writer holding
    the lock past the busy timeout, say) is logged and leaves the days marked, which readers
    then sum from the events; the job that called it goes on. A damaged file or a missing
    table is no such passing trouble: it is raised, as one plain line."""
    try:
        return refresh(engine)
    except SQLAlchemyError as exc:
        if is_damage(exc):
            raise database_error(exc, engine.url) from exc
        log.warning("could not sum the usage rollup now, left for later: %s", type(exc).__name__)
        return 0


def summed(conn: Connection, start: date, end: date) -> Subquery:
    """Usage from ``start`` to ``end`` as rows of (day, user_email, model, spend_cents,
    requests, tokens), one per key: the rollup where it is current, the events elsewhere.

    A subquery, so each reader adds its own grouping and filters on top.
    """
    rollups = t.event_rollups
    kept = select(
        rollups.c.day,
        rollups.c.user_email,
        rollups.c.model,
        rollups.c.spend_cents,
        rollups.c.requests,
        rollups.c.tokens,
    ).where(rollups.c.day.between(start, end))
    lagging = stale_days(conn, start, end)
    if not lagging:
        return kept.subquery("usage")
    return union_all(kept.where(rollups.c.day.not_in(lagging)), _sums_of_events(lagging)).subquery(
        "usage"
    )
