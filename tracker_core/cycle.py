"""The billing cycle, worked out once for every figure that mentions it.

Cursor reports the cycle two ways: each member's spend row carries the cycle's first day
(``member_spend.cycle_start``) and the billing groups carry ``cycleEnd``, the instant the next
cycle begins. Before anything was reported the calendar month stands in. ``stats``, the
console's overview and detection all read the cycle here, so "since the cycle started" is the
same day everywhere.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Date, bindparam, text


def as_day(value: Any) -> date:
    """SQLite hands dates back as text from raw SQL, PostgreSQL as ``date``."""
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class Cycle:
    """The current billing cycle's days."""

    start: date
    end: date
    """Last day of the cycle: the day before Cursor's ``cycleEnd`` when reported, else the
    day before the same day next month."""
    reported_end: date | None
    """Cursor's ``cycleEnd`` as stored (the next cycle's first day), None when not reported;
    ``stats --json`` shows it as is."""


@dataclass(frozen=True)
class CycleProgress:
    """Where the billing cycle stands: "day 12 of 30" and a straight-line projection."""

    start: date
    end: date
    """Last day of the cycle (:attr:`Cycle.end`)."""
    day: int
    """Today's 1-based day number in the cycle."""
    length: int
    spend_cents: float
    projected_cents: float
    """Spend so far scaled to the whole cycle at the pace so far."""


def month_after_end(start: date) -> date:
    """The day before the same day next month (the month's last day when it has no such day).

    The length of a cycle whose end nobody reported: Cursor bills monthly from the cycle's
    first day.
    """
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    next_start = date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
    return next_start - timedelta(days=1)


def bounds(start: date, reported_end: date | None) -> Cycle:
    """The cycle starting ``start``, ending the day before ``reported_end`` when that is later.

    Cursor's ``cycleEnd`` is the instant the next cycle begins (midnight UTC), so the stored
    day is the next cycle's first day and the last day of this one is the day before.
    """
    end = month_after_end(start)
    if reported_end is not None and reported_end > start:
        end = reported_end - timedelta(days=1)
    return Cycle(start=start, end=end, reported_end=reported_end)


def current_cycle(conn: Connection, today: date) -> Cycle:
    """The billing cycle Cursor last reported (spend or groups), else the calendar month."""
    start_value = conn.execute(text("SELECT MAX(cycle_start) FROM member_spend")).scalar()
    start = as_day(start_value) if start_value is not None else today.replace(day=1)
    end_value = conn.execute(
        text("SELECT MAX(cycle_end) FROM billing_groups WHERE cycle_start = :start").bindparams(
            bindparam("start", type_=Date)
        ),
        {"start": start},
    ).scalar()
    return bounds(start, as_day(end_value) if end_value is not None else None)


def progress(cycle: Cycle, today: date, spend_cents: float) -> CycleProgress:
    """Today's day number in the cycle and the spend projected to its end at today's pace."""
    length = (cycle.end - cycle.start).days + 1
    day = min(max((today - cycle.start).days + 1, 1), length)
    return CycleProgress(
        start=cycle.start,
        end=cycle.end,
        day=day,
        length=length,
        spend_cents=spend_cents,
        projected_cents=spend_cents / day * length,
    )
