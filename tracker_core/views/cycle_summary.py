"""The billing cycle's summary: what the cycle cost, against the last one, and who used it.

Every figure covers this cycle only: the original tool summed all usage events ever stored
into "cycle spend" and "top spenders" as soon as it had events. The last cycle's spend is read
from the same events over the last cycle's own days, and only when the stored history reaches
back to its first day: a partial last cycle would make any change look like growth.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from tracker_core.badges import Tier
from tracker_core.cycle import Cycle, as_day, current_cycle
from tracker_core.forecast import Forecast
from tracker_core.storage import rollups
from tracker_core.storage import tables as t
from tracker_core.views._shared import dollars
from tracker_core.views.badges import read_badges
from tracker_core.views.exhaustion import (
    LimitedMember,
    PlanExhaustion,
    holds_seat,
    member_names,
    members_limited,
    plan_exhaustion,
)
from tracker_core.views.forecast import forecast_json, scope_forecast

TOP_SPENDERS = 5


def previous_cycle_start(start: date) -> date:
    """The first day of the cycle before the one starting ``start``: the same day a month
    earlier, or that month's last day when it has no such day."""
    year, month = (start.year - 1, 12) if start.month == 1 else (start.year, start.month - 1)
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def change_percent(current_cents: float, previous_cents: float) -> int | None:
    """The change from the last cycle in whole percent; None when the last cycle cost nothing."""
    if previous_cents <= 0:
        return None
    return round((current_cents - previous_cents) / previous_cents * 100)


def days_remaining(cycle: Cycle, today: date) -> int:
    """Days left in the cycle, today included (1 on its last day, 0 once it is over)."""
    return max(0, (cycle.end - today).days + 1)


@dataclass(frozen=True)
class Spender:
    email: str
    name: str
    spend_cents: float

    def to_json(self) -> dict[str, Any]:
        return {"email": self.email, "name": self.name, "spend": dollars(self.spend_cents)}


@dataclass(frozen=True)
class CycleSummary:
    """The cycle summary's figures, as the message and ``cycle_summary`` JSON show them."""

    cycle: Cycle
    today: date
    spend_cents: float
    previous_start: date
    previous_spend_cents: float | None
    """The whole last cycle's spend; None when the stored history does not cover it."""
    seats_total: int
    seats_active: int
    top_spenders: list[Spender]
    exhaustion: PlanExhaustion
    limited: list[LimitedMember]
    adoption: dict[Tier, int]
    """Members per AI-adoption tier over the cycle so far (:mod:`tracker_core.badges`)."""
    forecast: Forecast | None = None
    """Where the team's spend ends the cycle (:mod:`tracker_core.forecast`), in dollars."""

    @property
    def days_remaining(self) -> int:
        return days_remaining(self.cycle, self.today)

    @property
    def unused_seats(self) -> int:
        return max(0, self.seats_total - self.seats_active)

    @property
    def change_percent(self) -> int | None:
        if self.previous_spend_cents is None:
            return None
        return change_percent(self.spend_cents, self.previous_spend_cents)

    def to_json(self) -> dict[str, Any]:
        previous = self.previous_spend_cents
        return {
            "cycle_start": self.cycle.start.isoformat(),
            "cycle_end": self.cycle.end.isoformat(),
            "days_remaining": self.days_remaining,
            "spend": dollars(self.spend_cents),
            "previous_cycle_start": self.previous_start.isoformat(),
            "previous_spend": None if previous is None else dollars(previous),
            "change_percent": self.change_percent,
            "seats": {
                "active": self.seats_active,
                "total": self.seats_total,
                "unused": self.unused_seats,
            },
            "top_spenders": [spender.to_json() for spender in self.top_spenders],
            "plan_exhaustion": {
                "exhausted": len(self.exhaustion.members),
                "active_members": self.exhaustion.active_members,
            },
            "limited": [member.to_json() for member in self.limited],
            "adoption": {tier.value: self.adoption.get(tier, 0) for tier in Tier},
            "forecast": None if self.forecast is None else forecast_json(self.forecast),
        }


def _spend_by_member(conn: Connection, start: date, end: date) -> dict[str, float]:
    summed = rollups.summed_by_week(conn, start, end)
    rows = conn.execute(
        select(summed.c.user_email, func.sum(summed.c.spend_cents)).group_by(summed.c.user_email)
    ).all()
    return {str(email): float(cents or 0) for email, cents in rows}


def _history_starts(conn: Connection) -> date | None:
    first = conn.execute(select(func.min(t.daily_usage.c.day))).scalar()
    return None if first is None else as_day(first)


def cycle_summary(conn: Connection, today: date, now: datetime | None = None) -> CycleSummary:
    """The current cycle's summary as of ``today`` (``now``: when, for the view cache)."""
    cycle = current_cycle(conn, today)
    end = min(today, cycle.end)
    moment = now or datetime.combine(today, time(), UTC)
    spend = _spend_by_member(conn, cycle.start, end)
    previous_start = previous_cycle_start(cycle.start)
    history = _history_starts(conn)
    previous: float | None = None
    if history is not None and history <= previous_start:
        previous_spend = _spend_by_member(conn, previous_start, cycle.start - timedelta(days=1))
        previous = sum(previous_spend.values())
    m, u = t.members, t.daily_usage
    names = member_names(conn)
    total = conn.execute(
        select(func.count()).select_from(m).where(m.c.is_removed.is_(False))
    ).scalar_one()
    # Seats are today's members: one removed since it was active this cycle holds no seat,
    # so it counts in neither figure (active can never exceed the seats).
    active = conn.execute(
        select(func.count(func.distinct(u.c.email))).where(
            u.c.day.between(cycle.start, end), u.c.is_active.is_(True), holds_seat(u.c.email)
        )
    ).scalar_one()
    ranked = sorted(
        (Spender(email, names.get(email, ""), c) for email, c in spend.items() if c > 0),
        key=lambda spender: (-spender.spend_cents, spender.email),
    )
    return CycleSummary(
        cycle=cycle,
        today=today,
        spend_cents=sum(spend.values()),
        previous_start=previous_start,
        previous_spend_cents=previous,
        seats_total=int(total),
        seats_active=int(active or 0),
        top_spenders=ranked[:TOP_SPENDERS],
        exhaustion=plan_exhaustion(conn, cycle, today),
        limited=members_limited(conn, cycle),
        adoption=read_badges(conn, cycle.start, end, moment).tier_counts(),
        forecast=scope_forecast(conn, now=moment),
    )
