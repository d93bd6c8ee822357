"""``cursor-tracker stats`` and the daemon's ``/api/stats``: the team's figures over a window.

Spend is computed from usage events everywhere (their ``chargedCents``, else the model cost),
and the window's figures are the overview's own (``_shared.window_usage``), so every face of
the product shows the same figure for the same days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection

from tracker_core.badges import BADGES, Adoption
from tracker_core.cycle import current_cycle
from tracker_core.forecast import Forecast
from tracker_core.storage import repo
from tracker_core.views._shared import (
    IDLE,
    QUIET_DAY,
    dollars,
    each_day,
    in_scope,
    iso_day,
    memberships,
    people,
    window_start,
    window_usage,
)
from tracker_core.views.badges import read_badges
from tracker_core.views.forecast import forecast_json, scope_forecast


@dataclass(frozen=True)
class UserStats:
    email: str
    name: str
    spend_cents: float
    requests: int
    tokens: int
    top_model: str | None
    badges: tuple[str, ...] = ()
    """Badge ids (``tracker_core.badges``), usage first, then spend, context, adoption."""
    adoption: Adoption | None = None


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
    """Cursor's ``cycleEnd`` as reported (the next cycle's first day), None when not."""
    cycle_spend_cents: float
    users: list[UserStats]
    """By spend, highest first."""
    daily: list[DayStats]
    """Every day of the window, zero-filled, oldest first."""
    completeness: dict[str, StreamCompleteness] = field(default_factory=dict)
    """Per windowed stream, how far it is known complete (see :func:`stream_completeness`)."""
    cycle_forecast: Forecast | None = None
    """The scope's cycle-end forecast (dollars), as ``cursor-tracker forecast`` totals it."""

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
                "end": iso_day(self.cycle_end),
                "spend": dollars(self.cycle_spend_cents),
                "forecast": (
                    None if self.cycle_forecast is None else forecast_json(self.cycle_forecast)
                ),
            },
            "users": [
                {
                    "email": user.email,
                    "name": user.name,
                    "spend": dollars(user.spend_cents),
                    "requests": user.requests,
                    "tokens": user.tokens,
                    "top_model": user.top_model,
                    "badges": list(user.badges),
                    "adoption": None if user.adoption is None else user.adoption.to_json(),
                }
                for user in self.users
            ],
            "badge_rules": [badge.to_json() for badge in BADGES],
            "daily": [
                {
                    "day": day.day.isoformat(),
                    "spend": dollars(day.spend_cents),
                    "requests": day.requests,
                    "active_users": day.active_users,
                }
                for day in self.daily
            ],
            "completeness": {
                stream: state.to_json() for stream, state in sorted(self.completeness.items())
            },
        }


@dataclass(frozen=True)
class StreamCompleteness:
    """How far a stream is complete: every event before ``complete_up_to`` that Cursor
    delivered within the re-fetch plan's longest lookback is stored. ``max_lag`` is the latest
    delivery the collector has seen (at least that late)."""

    complete_up_to: datetime | None
    max_lag_seconds: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "complete_up_to": (
                None if self.complete_up_to is None else self.complete_up_to.isoformat()
            ),
            "max_lag_seconds": self.max_lag_seconds,
        }


def stream_completeness(conn: Connection) -> dict[str, StreamCompleteness]:
    """Each planned stream's completeness, as the collector last recorded it."""
    answer = {}
    for stream, (complete_ms, lag_ms) in repo.completeness(conn).items():
        moment = None if complete_ms is None else datetime.fromtimestamp(complete_ms / 1000, UTC)
        answer[stream] = StreamCompleteness(moment, None if lag_ms is None else lag_ms // 1000)
    return answer


def team_stats(
    conn: Connection,
    *,
    days: int,
    today: date,
    group_id: str | None = None,
    now: datetime | None = None,
) -> TeamStats:
    """Per-user and per-day spend, requests and tokens over the window, plus the cycle.

    With ``group_id`` only that group's current members count, as in the overview.
    """
    start = window_start(days, today)
    cycle = current_cycle(conn, today)
    usage = window_usage(conn, start, today, cycle.start, group_id, now)
    team = usage if group_id is None else None
    found = read_badges(conn, start, today, now or datetime.now(UTC), team=team)
    scope = memberships(conn).scope(group_id)
    listed = people(conn, scope)
    users = []
    for email in in_scope(listed, usage):
        used = usage.users.get(email, IDLE)
        person = listed.get(email)
        worn = found.of(email)
        users.append(
            UserStats(
                email=email,
                name=person.name if person else "",
                spend_cents=used.spend_cents,
                requests=used.requests,
                tokens=used.tokens,
                top_model=used.top_model,
                badges=worn.ids,
                adoption=worn.adoption,
            )
        )
    daily = []
    for day in each_day(start, days):
        used_on = usage.days.get(day, QUIET_DAY)
        daily.append(DayStats(day, used_on.spend_cents, used_on.requests, used_on.active_users))
    return TeamStats(
        days=days,
        start=start,
        end=today,
        # Members removed during the window still count while their spend is in it, so the
        # active figure is always a part of the member figure.
        members=len(users),
        active_members=len(usage.users),
        total_spend_cents=usage.spend_cents,
        requests=usage.requests,
        tokens=usage.tokens,
        usage_events=usage.requests,
        cycle_start=cycle.start,
        cycle_end=cycle.reported_end,
        cycle_spend_cents=usage.cycle_spend_cents,
        users=users,
        daily=daily,
        completeness=stream_completeness(conn),
        cycle_forecast=scope_forecast(
            conn,
            now=now or datetime(today.year, today.month, today.day, tzinfo=UTC),
            group_id=group_id,
        ),
    )
