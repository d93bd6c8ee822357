"""Plan exhaustion and spend limits this billing cycle: who ran out, on which day, who is stopped.

A member has run out of their included usage on the first day of the cycle on which Cursor's
daily usage shows a usage-based request (``usageBasedReqs``): from then on each premium request
is billed on demand. A member is limited when their spend this cycle reached the limit Cursor
reports in the spend data (``hardLimitOverrideDollars`` when set, else
``monthlyLimitDollars``): Cursor refuses their requests until the next cycle or a higher limit.
Both read this cycle only (:mod:`tracker_core.cycle`), never all history.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, func, select

from tracker_core.cycle import Cycle, as_day
from tracker_core.storage import tables as t
from tracker_core.views._shared import dollars

BUCKETS: Final = ((1, 3), (4, 7), (8, 14), (15, None))
"""Days-to-exhaustion buckets (cycle day, inclusive), as the original's Insights shows them."""


def bucket_label(low: int, high: int | None) -> str:
    return f"Day {low}+" if high is None else f"Day {low}-{high}"


@dataclass(frozen=True)
class ExhaustedMember:
    email: str
    name: str
    day: date
    """The first day with a usage-based request."""
    cycle_day: int
    """That day's 1-based number in the cycle."""
    usage_based_requests: int
    """Usage-based requests since, that day included."""

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "name": self.name,
            "day": self.day.isoformat(),
            "cycle_day": self.cycle_day,
            "usage_based_requests": self.usage_based_requests,
        }


@dataclass(frozen=True)
class Bucket:
    label: str
    low: int
    high: int | None
    members: int

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "from": self.low, "to": self.high, "members": self.members}


@dataclass(frozen=True)
class ExhaustionStats:
    """The distribution of days-to-exhaustion: pure arithmetic over the cycle days."""

    buckets: list[Bucket]
    average_day: float | None
    """Mean cycle day, to one decimal; None when nobody ran out."""
    median_day: float | None


def exhaustion_stats(cycle_days: Sequence[int]) -> ExhaustionStats:
    """Bucket counts, mean and median of the cycle days on which members ran out."""
    buckets = [
        Bucket(
            bucket_label(low, high),
            low,
            high,
            sum(1 for day in cycle_days if day >= low and (high is None or day <= high)),
        )
        for low, high in BUCKETS
    ]
    if not cycle_days:
        return ExhaustionStats(buckets, None, None)
    return ExhaustionStats(
        buckets,
        round(statistics.fmean(cycle_days), 1),
        float(statistics.median(cycle_days)),
    )


@dataclass(frozen=True)
class PlanExhaustion:
    """Members who ran out of included usage this cycle, earliest first."""

    cycle: Cycle
    today: date
    members: list[ExhaustedMember]
    active_members: int
    """Members active at least one day this cycle: the "of N" in "X of N ran out"."""
    stats: ExhaustionStats

    @property
    def exhausted_today(self) -> list[ExhaustedMember]:
        return [member for member in self.members if member.day == self.today]

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle_start": self.cycle.start.isoformat(),
            "cycle_end": self.cycle.end.isoformat(),
            "exhausted": len(self.members),
            "active_members": self.active_members,
            "average_day": self.stats.average_day,
            "median_day": self.stats.median_day,
            "buckets": [bucket.to_json() for bucket in self.stats.buckets],
            "members": [member.to_json() for member in self.members],
        }


def member_names(conn: Connection) -> dict[str, str]:
    """Every member's name by email (empty when Cursor gave none)."""
    rows = conn.execute(select(t.members.c.email, t.members.c.name))
    return {str(email): str(name or "") for email, name in rows}


def holds_seat(email: ColumnElement[str]) -> ColumnElement[bool]:
    """Whether ``email`` is a member on the team now (listed, not removed): a seat, as the
    cycle summary counts seats and plan exhaustion counts who ran out."""
    m = t.members
    return email.in_(select(m.c.email).where(m.c.is_removed.is_(False)))


def plan_exhaustion(conn: Connection, cycle: Cycle, today: date) -> PlanExhaustion:
    """Who ran out of included usage between the cycle's first day and today, and when.

    Of the members who hold a seat now, as the cycle summary's seats count them: someone
    removed since holds none, and a list of who ran out is for acting on.
    """
    u = t.daily_usage
    end = min(today, cycle.end)
    seated = holds_seat(u.c.email)
    first = conn.execute(
        select(u.c.email, func.min(u.c.day), func.sum(u.c.usage_based_reqs))
        .where(u.c.day.between(cycle.start, end), u.c.usage_based_reqs > 0, seated)
        .group_by(u.c.email)
    ).all()
    active = conn.execute(
        select(func.count(func.distinct(u.c.email))).where(
            u.c.day.between(cycle.start, end), u.c.is_active.is_(True), seated
        )
    ).scalar_one()
    names = member_names(conn)
    members = [
        ExhaustedMember(
            email=str(email),
            name=names.get(str(email), ""),
            day=as_day(day),
            cycle_day=(as_day(day) - cycle.start).days + 1,
            usage_based_requests=int(requests or 0),
        )
        for email, day, requests in first
    ]
    members.sort(key=lambda member: (member.day, member.email))
    return PlanExhaustion(
        cycle=cycle,
        today=today,
        members=members,
        active_members=max(int(active or 0), len(members)),
        stats=exhaustion_stats([member.cycle_day for member in members]),
    )


@dataclass(frozen=True)
class LimitedMember:
    email: str
    name: str
    spend_cents: float
    limit_dollars: float

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "name": self.name,
            "spend": dollars(self.spend_cents),
            "limit": self.limit_dollars,
        }


def effective_limit(hard_override_dollars: float, monthly_dollars: float | None) -> float | None:
    """The limit Cursor applies: an owner's hard override when set (non-zero), else the
    member's monthly limit; None when neither is set."""
    if hard_override_dollars > 0:
        return hard_override_dollars
    return monthly_dollars


def is_limited(spend_cents: float, limit_dollars: float | None) -> bool:
    """Whether spend reached the limit (a limit of $0 stops a member before any spend)."""
    return limit_dollars is not None and spend_cents >= round(limit_dollars * 100, 2)


def members_limited(conn: Connection, cycle: Cycle) -> list[LimitedMember]:
    """Members whose spend this cycle, as Cursor reports it, reached their spend limit."""
    s = t.member_spend
    rows = conn.execute(
        select(
            s.c.email,
            s.c.name,
            s.c.spend_cents,
            s.c.hard_limit_override_dollars,
            s.c.monthly_limit_dollars,
        ).where(s.c.cycle_start == cycle.start)
    ).all()
    limited = []
    for email, name, spend, hard, monthly in rows:
        limit = effective_limit(float(hard or 0), None if monthly is None else float(monthly))
        if limit is not None and is_limited(float(spend or 0), limit):
            limited.append(LimitedMember(str(email), str(name or ""), float(spend or 0), limit))
    limited.sort(key=lambda member: (-member.spend_cents, member.email))
    return limited
