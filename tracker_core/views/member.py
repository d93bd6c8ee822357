"""The drilldown of one member over a window (the console's member screen, ``/api/users``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from tracker_core.badges import Adoption
from tracker_core.cycle import as_day
from tracker_core.forecast import Forecast
from tracker_core.storage import tables as t
from tracker_core.storage.repo import spend_cents_expr, tokens_expr
from tracker_core.views._shared import dollars, each_day, memberships, window_start
from tracker_core.views.badges import read_badges
from tracker_core.views.forecast import forecast_json, team_forecast


@dataclass(frozen=True)
class MemberDay:
    day: date
    spend_cents: float
    tokens: int
    requests: int

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "spend": dollars(self.spend_cents),
            "tokens": self.tokens,
            "requests": self.requests,
        }


@dataclass(frozen=True)
class MemberModel:
    model: str
    requests: int
    spend_cents: float

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "requests": self.requests, "spend": dollars(self.spend_cents)}


@dataclass(frozen=True)
class MemberDetail:
    """The drilldown of one member over the window."""

    email: str
    name: str
    role: str
    group: str
    is_removed: bool
    days: int
    start: date
    end: date
    spend_cents: float
    requests: int
    tokens: int
    daily: list[MemberDay]
    """Zero-filled, oldest first."""
    models: list[MemberModel]
    """By spend, then requests, highest first."""
    features: dict[str, int]
    """Sums over the window of daily usage: agent, chat, composer, cmdk requests, tabs
    accepted, tabs shown, accepted lines added."""
    activity: list[list[int]] = field(default_factory=list)
    """7 x 24 usage-event counts: ``activity[weekday][hour]``, Monday first, UTC hours."""
    team_rank: int | None = None
    """1-based rank by spend among members active in the window."""
    badges: tuple[str, ...] = ()
    """Badge ids (``tracker_core.badges``), as in the members table."""
    adoption: Adoption | None = None
    """The AI-adoption score and its parts; None below 10 agent requests."""
    forecast: Forecast | None = None
    """Their cycle-end forecast (dollars), as ``cursor-tracker forecast`` lists it; None when
    the drilldown was asked without a moment to forecast from."""

    def to_json(self) -> dict[str, Any]:
        """The daemon's ``/api/users/{email}``."""
        return {
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "group": self.group,
            "removed": self.is_removed,
            "days": self.days,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "spend": dollars(self.spend_cents),
            "requests": self.requests,
            "tokens": self.tokens,
            "team_rank": self.team_rank,
            "forecast": None if self.forecast is None else forecast_json(self.forecast),
            "daily": [day.to_json() for day in self.daily],
            "models": [model.to_json() for model in self.models],
            "features": dict(self.features),
            "activity": [list(hours) for hours in self.activity],
            "badges": list(self.badges),
            "adoption": None if self.adoption is None else self.adoption.to_json(),
        }


_FEATURES: dict[str, str] = {
    "agent": "agent_requests",
    "chat": "chat_requests",
    "composer": "composer_requests",
    "cmdk": "cmdk_usages",
    "tabs_accepted": "total_tabs_accepted",
    "tabs_shown": "total_tabs_shown",
    "accepted_lines": "accepted_lines_added",
}
"""``MemberDetail.features`` key -> the daily usage column it sums."""


def member_detail(
    conn: Connection, email: str, *, days: int, today: date, now: datetime | None = None
) -> MemberDetail:
    """Raises ``LookupError`` naming the email when the member is unknown.

    With ``now``, the member's cycle-end forecast comes along (the whole team's rates are
    its prior, so it reads the team's days: one grouped query).

    A member is known when the members listing has them or any usage event names them, so
    every row of the overview's table can be opened. A handful of queries on one member's
    rows use the (email, day) indexes; only the rank looks at the whole window, once.
    """
    start = window_start(days, today)
    m, ue, du = t.members, t.usage_events, t.daily_usage
    person = conn.execute(
        select(m.c.name, m.c.role, m.c.removed_at).where(m.c.email == email)
    ).first()
    if person is None:
        seen = conn.execute(select(ue.c.id).where(ue.c.user_email == email).limit(1)).first()
        if seen is None:
            raise LookupError(f"no member {email}")
    name, role = (str(person.name or ""), str(person.role or "")) if person else ("", "")

    spend = spend_cents_expr()
    tokens = tokens_expr()
    mine = [ue.c.user_email == email, ue.c.day.between(start, today)]
    per_day = {
        as_day(day): MemberDay(as_day(day), float(cents or 0), int(toks or 0), int(count))
        for day, cents, toks, count in conn.execute(
            select(ue.c.day, func.sum(spend), func.sum(tokens), func.count())
            .where(*mine)
            .group_by(ue.c.day)
        )
    }
    daily = [per_day.get(day, MemberDay(day, 0.0, 0, 0)) for day in each_day(start, days)]
    models = [
        MemberModel(str(model), int(count), float(cents or 0))
        for model, count, cents in conn.execute(
            select(ue.c.model, func.count(), func.sum(spend)).where(*mine).group_by(ue.c.model)
        )
    ]
    models.sort(key=lambda row: (-row.spend_cents, -row.requests, row.model))

    sums = conn.execute(
        select(*(func.coalesce(func.sum(du.c[column]), 0) for column in _FEATURES.values())).where(
            du.c.email == email, du.c.day.between(start, today)
        )
    ).one()
    features = {key: int(value) for key, value in zip(_FEATURES, sums, strict=True)}

    activity = [[0] * 24 for _ in range(7)]
    for (timestamp_ms,) in conn.execute(select(ue.c.timestamp_ms).where(*mine)):
        at = datetime.fromtimestamp(int(timestamp_ms) / 1000, tz=UTC)
        activity[at.weekday()][at.hour] += 1

    # Ranked on the database's own per-member sums, this member's included, so summing in a
    # different order cannot make a member trail their own total.
    totals = {
        str(who): float(cents or 0)
        for who, cents in conn.execute(
            select(ue.c.user_email, func.sum(spend))
            .where(ue.c.day.between(start, today))
            .group_by(ue.c.user_email)
        )
    }
    mine_total = totals.get(email, 0.0)
    rank: int | None = None
    if mine_total > 0:
        rank = 1 + sum(1 for cents in totals.values() if cents > mine_total)

    worn = read_badges(conn, start, today, now or datetime.now(UTC)).of(email)

    return MemberDetail(
        email=email,
        name=name,
        role=role,
        group=memberships(conn).first_group.get(email, ""),
        is_removed=person is not None and person.removed_at is not None,
        days=days,
        start=start,
        end=today,
        spend_cents=sum(day.spend_cents for day in daily),
        requests=sum(day.requests for day in daily),
        tokens=sum(day.tokens for day in daily),
        daily=daily,
        models=models,
        features=features,
        activity=activity,
        team_rank=rank,
        badges=worn.ids,
        adoption=worn.adoption,
        forecast=None if now is None else team_forecast(conn, now=now).member(email),
    )
