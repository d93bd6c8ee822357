"""Read-only questions about stored usage, shared by the command line, the TUI and the daemon.

Spend is computed from usage events everywhere (their ``chargedCents``, else the model cost),
so every face of the product shows the same figure for the same day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Date, bindparam, func, select, text

from tracker_core.errors import TrackerError
from tracker_core.storage import database_name, last_successful_run, rollups
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


def dollars(cents: float) -> float:
    """Cents to dollars with cents precision, as every JSON output reports money."""
    return round(cents / 100.0, 2)


def as_day(value: Any) -> date:
    """SQLite hands dates back as text from raw SQL, PostgreSQL as ``date``."""
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class UserStats:
    email: str
    name: str
    spend_cents: float
    requests: int
    tokens: int
    top_model: str | None


@dataclass(frozen=True)
class DayStats:
    day: date
    spend_cents: float
    requests: int
    active_users: int


@dataclass(frozen=True)
class TeamStats:
    """Team figures for the ``days`` UTC days ending ``end`` (today included)."""

    days: int
    start: date
    end: date
    members: int
    active_members: int
    total_spend_cents: float
    requests: int
    tokens: int
    usage_events: int
    cycle_start: date
    cycle_end: date | None
    cycle_spend_cents: float
    users: list[UserStats]
    daily: list[DayStats]

    def to_json(self) -> dict[str, Any]:
        """The ``stats --json`` / ``GET /api/stats`` object of CONTRACT.md."""
        return {
            "days": self.days,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "members": self.members,
            "active_members": self.active_members,
            "total_spend": dollars(self.total_spend_cents),
            "requests": self.requests,
            "tokens": self.tokens,
            "usage_events": self.usage_events,
            "cycle": {
                "start": self.cycle_start.isoformat(),
                "end": self.cycle_end.isoformat() if self.cycle_end else None,
                "spend": dollars(self.cycle_spend_cents),
            },
            "users": [
                {
                    "email": user.email,
                    "name": user.name,
                    "spend": dollars(user.spend_cents),
                    "requests": user.requests,
                    "tokens": user.tokens,
                    "top_model": user.top_model,
                }
                for user in self.users
            ],
            "daily": [
                {
                    "day": day.day.isoformat(),
                    "spend": dollars(day.spend_cents),
                    "requests": day.requests,
                    "active_users": day.active_users,
                }
                for day in self.daily
            ],
        }


def current_cycle(conn: Connection, today: date) -> tuple[date, date | None]:
    """The billing cycle Cursor last reported (spend or groups), else the calendar month."""
    start_value = conn.execute(text("SELECT MAX(cycle_start) FROM member_spend")).scalar()
    start = as_day(start_value) if start_value is not None else today.replace(day=1)
    end_value = conn.execute(
        text("SELECT MAX(cycle_end) FROM billing_groups WHERE cycle_start = :start").bindparams(
            bindparam("start", type_=Date)
        ),
        {"start": start},
    ).scalar()
    return start, (as_day(end_value) if end_value is not None else None)


def team_stats(conn: Connection, *, days: int, today: date) -> TeamStats:
    """Per-user and per-day spend, requests and tokens over the window, plus the cycle."""
    start = today - timedelta(days=days - 1)
    summed = rollups.summed(conn, start, today)
    per_model = conn.execute(
        select(
            summed.c.user_email,
            summed.c.model,
            func.sum(summed.c.spend_cents),
            func.sum(summed.c.requests),
            func.sum(summed.c.tokens),
        ).group_by(summed.c.user_email, summed.c.model)
    ).all()
    per_day = conn.execute(
        select(
            summed.c.day,
            func.sum(summed.c.spend_cents),
            func.sum(summed.c.requests),
            func.count(summed.c.user_email.distinct()),
        ).group_by(summed.c.day)
    ).all()
    members = conn.execute(text("SELECT email, name, removed_at FROM members")).all()

    # Each member's totals and top model, from the same rows (one pass over the window).
    top_model: dict[str, tuple[float, int, str]] = {}
    totals: dict[str, list[float]] = {}
    for email, model, spend, count, tokens in per_model:
        candidate = (float(spend or 0), int(count or 0), str(model))
        if email not in top_model or candidate > top_model[email]:
            top_model[email] = candidate
        mine = totals.setdefault(str(email), [0.0, 0, 0])
        mine[0] += candidate[0]
        mine[1] += candidate[1]
        mine[2] += int(tokens or 0)

    names = {str(email): str(name or "") for email, name, _ in members}
    current = {str(email) for email, _, removed_at in members if removed_at is None}
    activity = {
        email: (spend, int(count), int(tokens)) for email, (spend, count, tokens) in totals.items()
    }
    users = [
        UserStats(
            email=email,
            name=names.get(email, ""),
            spend_cents=activity.get(email, (0.0, 0, 0))[0],
            requests=activity.get(email, (0.0, 0, 0))[1],
            tokens=activity.get(email, (0.0, 0, 0))[2],
            top_model=top_model[email][2] if email in top_model else None,
        )
        for email in sorted(current | activity.keys())
    ]
    users.sort(key=lambda user: (-user.spend_cents, -user.requests, user.email))

    by_day = {as_day(day): (float(s or 0), int(n or 0), int(a)) for day, s, n, a in per_day}
    daily = [
        DayStats(
            start + timedelta(days=offset), *by_day.get(start + timedelta(days=offset), (0.0, 0, 0))
        )
        for offset in range(days)
    ]

    cycle_start, cycle_end = current_cycle(conn, today)
    cycle = rollups.summed(conn, cycle_start, today)
    cycle_spend = conn.execute(select(func.sum(cycle.c.spend_cents))).scalar()

    return TeamStats(
        days=days,
        start=start,
        end=today,
        # Members removed during the window still count while their spend is in it, so the
        # active figure is always a part of the member figure.
        members=len(users),
        active_members=len(activity),
        total_spend_cents=sum(spend for spend, _, _ in activity.values()),
        requests=sum(count for _, count, _ in activity.values()),
        tokens=sum(tokens for _, _, tokens in activity.values()),
        usage_events=sum(count for _, count, _ in activity.values()),
        cycle_start=cycle_start,
        cycle_end=cycle_end,
        cycle_spend_cents=float(cycle_spend or 0),
        users=users,
        daily=daily,
    )


def model_spend(conn: Connection, *, start: date, end: date) -> dict[str, float]:
    """Spend in cents per model over a window, attributed from the events themselves."""
    summed = rollups.summed(conn, start, end)
    rows = conn.execute(
        select(summed.c.model, func.sum(summed.c.spend_cents)).group_by(summed.c.model)
    ).all()
    totals: dict[str, float] = defaultdict(float)
    for model, spend in rows:
        totals[str(model)] += float(spend or 0)
    return dict(totals)
