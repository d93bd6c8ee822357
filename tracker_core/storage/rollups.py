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

The same refresh sums the daily rows of each week it touched into ``event_rollups_weekly``,
so a reader that groups by member and model, not by day, reads a long window's whole weeks
as one row per member and model (:func:`summed_by_week`) instead of seven; and it sums the
daily rows of each day into ``event_rollups_members``, so a reader of members' days, not
their models, reads one row per member and day (:func:`summed_by_member`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Engine,
    Float,
    Select,
    Subquery,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
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

WEEK: Final = timedelta(days=7)
COLUMNS: Final = (
    "day",
    "user_email",
    "model",
    "spend_cents",
    "requests",
    "tokens",
    "cache_read_tokens",
    "cache_reads",
)
MEMBER_COLUMNS: Final = (
    "day",
    "user_email",
    "spend_cents",
    "requests",
    "tokens",
    "cache_read_tokens",
    "cache_reads",
)
WEEKLY_COLUMNS: Final = (
    "week",
    "user_email",
    "model",
    "spend_cents",
    "requests",
    "tokens",
    "last_day",
)


def week_of(day: date) -> date:
    """The Monday of ``day``'s ISO week: the key of its row in the weekly rollup."""
    return day - timedelta(days=day.weekday())


def _sums_of_events(days: Sequence[date]) -> Select[tuple[date, str, str, float, int, float]]:
    """The usage of ``days`` as :func:`summed` reads it, summed from the events themselves."""
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


def _cache_read_sums() -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The events' cache-read tokens and the count of events that read the cache, summed."""
    ue = t.usage_events
    return (
        # Token counts are never negative: every event's add up to those that read.
        func.sum(cast(ue.c.cache_read_tokens, Float)).label("cache_read_tokens"),
        func.sum(case((ue.c.cache_read_tokens > 0, 1), else_=0)).label("cache_reads"),
    )


def _rollup_rows(days: Sequence[date]) -> Select[tuple[date, str, str, float, int, float]]:
    """The rollup rows of ``days`` (:data:`COLUMNS`): the usage and the cache reads."""
    return _sums_of_events(days).add_columns(*_cache_read_sums())


def _member_days_of_events(days: Sequence[date]) -> Select[Any]:
    """The usage of ``days`` per member and day (:data:`MEMBER_COLUMNS`), from the events."""
    ue = t.usage_events
    return (
        select(
            ue.c.day,
            ue.c.user_email,
            func.sum(spend_cents_expr()),
            func.count(),
            func.sum(tokens_expr()),
            *_cache_read_sums(),
        )
        .where(ue.c.day.in_(days))
        .group_by(ue.c.day, ue.c.user_email)
    )


def _member_days_of_rollup(days: Sequence[date]) -> Select[Any]:
    """The member-day rows of ``days``, summed from their (current) daily rollup rows."""
    daily = t.event_rollups
    return (
        select(
            daily.c.day,
            daily.c.user_email,
            func.sum(daily.c.spend_cents),
            func.sum(daily.c.requests),
            func.sum(daily.c.tokens),
            func.sum(daily.c.cache_read_tokens),
            func.sum(daily.c.cache_reads),
        )
        .where(daily.c.day.in_(days))
        .group_by(daily.c.day, daily.c.user_email)
    )


def _sums_of_week(week: date) -> Select[tuple[date, str, str, float, int, float, date]]:
    """The weekly rollup rows of ``week``, summed from its daily rollup rows."""
    daily = t.event_rollups
    return (
        select(
            literal(week, Date),
            daily.c.user_email,
            daily.c.model,
            func.sum(daily.c.spend_cents),
            func.sum(daily.c.requests),
            func.sum(daily.c.tokens),
            func.max(daily.c.day),
        )
        .where(daily.c.day.between(week, week + WEEK - timedelta(days=1)))
        .group_by(daily.c.user_email, daily.c.model)
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
    stale, rollups, weekly = t.rollup_stale_days, t.event_rollups, t.weekly_rollups
    members = t.member_day_rollups
    with begin_write(engine) as conn:
        marked = conn.execute(select(stale.c.day, stale.c.marks).order_by(stale.c.day)).all()
        days = [day for day, _ in marked]
        for first in range(0, len(days), DAYS_PER_STATEMENT):
            chunk = days[first : first + DAYS_PER_STATEMENT]
            conn.execute(delete(rollups).where(rollups.c.day.in_(chunk)))
            conn.execute(insert(rollups).from_select(COLUMNS, _rollup_rows(chunk)))
            conn.execute(delete(members).where(members.c.day.in_(chunk)))
            conn.execute(insert(members).from_select(MEMBER_COLUMNS, _member_days_of_rollup(chunk)))
        # Each touched week from its days, now all current but for marks added meanwhile,
        # which keep their week out of the reads until the next refresh.
        for week in sorted({week_of(day) for day in days}):
            conn.execute(delete(weekly).where(weekly.c.week == week))
            conn.execute(insert(weekly).from_select(WEEKLY_COLUMNS, _sums_of_week(week)))
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


def _kept_days(ranges: Sequence[tuple[date, date]], lagging: Sequence[date]) -> list[Select[Any]]:
    """Selects of the rollup rows in ``ranges``, each an inclusive span of days, and of the
    ``lagging`` days summed from their events."""
    rollups = t.event_rollups
    kept = select(
        rollups.c.day,
        rollups.c.user_email,
        rollups.c.model,
        rollups.c.spend_cents,
        rollups.c.requests,
        rollups.c.tokens,
    )
    parts: list[Select[Any]] = []
    for first, last in ranges:
        part = kept.where(rollups.c.day.between(first, last))
        inside = [day for day in lagging if first <= day <= last]
        parts.append(part.where(rollups.c.day.not_in(inside)) if inside else part)
    in_ranges = [day for day in lagging if any(a <= day <= b for a, b in ranges)]
    if in_ranges:
        parts.append(_sums_of_events(in_ranges))
    return parts


def _usage(parts: Sequence[Select[Any]]) -> Subquery:
    if len(parts) == 1:
        return parts[0].subquery("usage")
    return union_all(*parts).subquery("usage")


def summed(conn: Connection, start: date, end: date) -> Subquery:
    """Usage from ``start`` to ``end`` as rows of (day, user_email, model, spend_cents,
    requests, tokens), one per key: the rollup where it is current, the events elsewhere.

    A subquery, so each reader adds its own grouping and filters on top.
    """
    return _usage(_kept_days([(start, end)], stale_days(conn, start, end)))


def _holds_usage(conn: Connection, first: date, last: date) -> bool:
    rollups = t.event_rollups
    return bool(conn.execute(select(exists().where(rollups.c.day.between(first, last)))).scalar())


def _whole_weeks(conn: Connection, start: date, end: date, lagging: Iterable[date]) -> list[date]:
    """The weeks whose weekly rows hold exactly their usage from ``start`` to ``end``.

    A week qualifies when none of its days is stale (its row was summed from current days)
    and its days outside the window hold no usage: a week the window cuts still qualifies
    when the cut-off days are empty, as the days after today always are.
    """
    stale_weeks = {week_of(day) for day in lagging}
    weeks: list[date] = []
    week = week_of(start)
    while week <= end:
        sunday = week + WEEK - timedelta(days=1)
        cut = [
            (a, b)
            for a, b in ((week, start - timedelta(days=1)), (end + timedelta(days=1), sunday))
            if a <= b
        ]
        if week not in stale_weeks and not any(_holds_usage(conn, a, b) for a, b in cut):
            weeks.append(week)
        week += WEEK
    return weeks


def _spans_between(start: date, end: date, weeks: Sequence[date]) -> list[tuple[date, date]]:
    """The spans of days from ``start`` to ``end`` that ``weeks`` (sorted) leave uncovered."""
    spans: list[tuple[date, date]] = []
    first = start
    for week in weeks:
        if first < week:
            spans.append((first, min(week - timedelta(days=1), end)))
        first = max(first, week + WEEK)
    if first <= end:
        spans.append((first, end))
    return spans


def summed_by_week(conn: Connection, start: date, end: date) -> Subquery:
    """Usage from ``start`` to ``end`` in as few rows as the rollups allow: what
    :func:`summed` gives, except that a row may sum a whole week of one member and model,
    its ``day`` then being the latest day of that week with usage.

    For readers that group by member or model, not by day (a sum per member, their last
    active day): the sums and the latest days are the same as from :func:`summed`, from a
    quarter of the rows over a month. A per-day reader must use :func:`summed`.
    """
    lagging = stale_days(conn, week_of(start), week_of(end) + timedelta(days=6))
    weeks = _whole_weeks(conn, start, end, lagging)
    weekly = t.weekly_rollups
    parts = _kept_days(_spans_between(start, end, weeks), lagging)
    if weeks:
        whole = select(
            weekly.c.last_day.label("day"),
            weekly.c.user_email,
            weekly.c.model,
            weekly.c.spend_cents,
            weekly.c.requests,
            weekly.c.tokens,
        ).where(weekly.c.week.in_(weeks))
        parts.insert(0, whole)
    return _usage(parts or _kept_days([(start, end)], []))  # an empty window: no rows


def summed_by_member(conn: Connection, start: date, end: date) -> Subquery:
    """Usage from ``start`` to ``end`` as rows of (day, user_email, spend_cents, requests,
    tokens, cache_read_tokens, cache_reads), one per member and day, every model together:
    the member-day rollup where it is current, the events of the stale days elsewhere.

    For readers of members' days, not their models: the same sums as :func:`summed` grouped
    by day and member, from half its rows or fewer.
    """
    members = t.member_day_rollups
    kept = select(*(members.c[name] for name in MEMBER_COLUMNS)).where(
        members.c.day.between(start, end)
    )
    lagging = stale_days(conn, start, end)
    if not lagging:
        return kept.subquery("member_days")
    parts = [kept.where(members.c.day.not_in(lagging)), _member_days_of_events(lagging)]
    return union_all(*parts).subquery("member_days")
