"""The overview: the team (or one billing group) over a window, as the console opens on it.

Every figure (spend, members, top spenders, models, daily series, incidents and the cycle)
is restricted to the same scope, so the tiles of a filtered screen add up. The events'
figures come from ``_shared.window_usage``, the same ones ``stats`` reports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from tracker_core.badges import Adoption, MemberBadges
from tracker_core.cycle import Cycle, CycleProgress, current_cycle, progress
from tracker_core.detection.budgets import BudgetStanding
from tracker_core.forecast import Forecast
from tracker_core.storage import tables as t
from tracker_core.storage.failures import database_error, is_damage
from tracker_core.storage.repo import last_successful_run
from tracker_core.views._shared import (
    DEFAULT_DAYS,
    IDLE,
    QUIET_DAY,
    Person,
    WindowUsage,
    dollars,
    each_day,
    in_scope,
    iso_day,
    iso_instant,
    memberships,
    people,
    remembered_usage,
    window_start,
    window_usage,
)
from tracker_core.views.badges import (
    WindowBadges,
    cache_reads,
    remembered_cache_reads,
    window_badges,
)
from tracker_core.views.forecast import forecast_json, scope_forecast
from tracker_core.views.groups import GroupOption, options

log = logging.getLogger(__name__)

TOP_SPENDERS = 10
"""How many members the top spenders list holds."""
NO_BADGES = MemberBadges(email="", badges=(), adoption=None)
"""What a member wears while the overview's badges are pending."""


@dataclass(frozen=True)
class DailySpend:
    """One day of the team's spend (the daemon's ``/api/team-spend``)."""

    day: date
    spend_cents: float

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "spend": dollars(self.spend_cents)}


@dataclass(frozen=True)
class Spender:
    """A member among the top spenders; ``name`` is what to show (the email when unnamed)."""

    name: str
    email: str
    spend_cents: float

    def to_json(self) -> dict[str, Any]:
        return {"email": self.email, "name": self.name, "spend": dollars(self.spend_cents)}


@dataclass(frozen=True)
class ModelCost:
    """One model's share of the window (the daemon's ``/api/model-costs``)."""

    model: str
    users: int
    requests: int
    spend_cents: float

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "users": self.users,
            "requests": self.requests,
            "spend": dollars(self.spend_cents),
        }


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One line of the members table over the window."""

    email: str
    name: str
    role: str
    group: str
    """Billing group name ('' when unassigned)."""
    is_removed: bool
    spend_cents: float
    requests: int
    tokens: int
    top_model: str | None
    last_active: date | None
    open_incidents: int
    badges: tuple[str, ...] = ()
    """Badge ids (``tracker_core.badges``), usage first, then spend, context, adoption."""
    adoption: Adoption | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "group": self.group,
            "removed": self.is_removed,
            "spend": dollars(self.spend_cents),
            "requests": self.requests,
            "tokens": self.tokens,
            "top_model": self.top_model,
            "last_active": iso_day(self.last_active),
            "open_incidents": self.open_incidents,
            "badges": list(self.badges),
            "adoption": None if self.adoption is None else self.adoption.to_json(),
        }


@dataclass(frozen=True)
class Overview:
    """The overview for ``days`` UTC days ending today, optionally one billing group."""

    days: int
    start: date
    end: date
    group_id: str | None
    spend_cents: float
    requests: int
    tokens: int
    active_members: int
    total_members: int
    """Members on the team, plus removed ones whose spend is in the window."""
    open_incidents: int
    critical_incidents: int
    cycle: CycleProgress
    daily_spend: list[DailySpend]
    """Every day of the window, zero-filled, oldest first."""
    top_spenders: list[Spender]
    """At most ``TOP_SPENDERS`` members with spend, highest first."""
    model_spend: list[ModelCost]
    """By spend, highest first."""
    members: list[MemberRow]
    """Every member in scope (active in the window or currently on the team), by spend."""
    groups: list[GroupOption]
    last_collected: datetime | None
    """End of the last collection run that stored anything, for the "collected N min ago"."""
    forecast: Forecast | None = None
    """The cycle-end forecast of the scope (:mod:`tracker_core.forecast`, dollars); None
    when a first paint found none remembered."""
    team_budget: BudgetStanding | None = None
    """The team's budget and where the cycle stands against it (set by the tracker when a
    team budget exists; see :mod:`tracker_core.views.budgets`)."""
    pending: bool = False
    """A hurried overview (``overview(hurried=True)``) left out what needed scans it could
    not wait for: the members' badges (every ``badges`` empty) or the forecast (None)."""

    def team_spend_json(self) -> list[dict[str, Any]]:
        """``[{"day", "spend"}]``, every day of the window, oldest first."""
        return [day.to_json() for day in self.daily_spend]

    def model_costs_json(self) -> list[dict[str, Any]]:
        """``[{"model", "users", "requests", "spend"}]``, highest spend first."""
        return [model.to_json() for model in self.model_spend]

    def to_json(self) -> dict[str, Any]:
        cycle = self.cycle
        return {
            "days": self.days,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "group": self.group_id,
            "spend": dollars(self.spend_cents),
            "requests": self.requests,
            "tokens": self.tokens,
            "active_members": self.active_members,
            "total_members": self.total_members,
            "open_incidents": self.open_incidents,
            "critical_incidents": self.critical_incidents,
            "cycle": {
                "start": cycle.start.isoformat(),
                "end": cycle.end.isoformat(),
                "day": cycle.day,
                "length": cycle.length,
                "spend": dollars(cycle.spend_cents),
                "projected": dollars(cycle.projected_cents),
                "forecast": None if self.forecast is None else forecast_json(self.forecast),
            },
            "daily": self.team_spend_json(),
            "top_spenders": [spender.to_json() for spender in self.top_spenders],
            "models": self.model_costs_json(),
            "members": [row.to_json() for row in self.members],
            "groups": [group.to_json() for group in self.groups],
            "last_collected": iso_instant(self.last_collected),
        }


def _open_incidents(conn: Connection) -> dict[str, tuple[int, int]]:
    """Email -> (open incidents, of which critical); open means not resolved yet."""
    a, i = t.anomalies, t.incidents
    rows = conn.execute(
        select(a.c.email, a.c.severity, func.count())
        .select_from(i.join(a, a.c.id == i.c.anomaly_id))
        .where(i.c.status != "resolved")
        .group_by(a.c.email, a.c.severity)
    )
    counts: dict[str, tuple[int, int]] = {}
    for email, severity, count in rows:
        total, critical = counts.get(str(email), (0, 0))
        n = int(count)
        counts[str(email)] = (total + n, critical + (n if severity == "critical" else 0))
    return counts


def overview(
    conn: Connection,
    *,
    days: int,
    today: date,
    group_id: str | None = None,
    now: datetime | None = None,
    hurried: bool = False,
) -> Overview:
    """The overview figures; with ``group_id`` only that group's current members count.

    A member's ``last_active`` is their latest event day within the window (None when they
    had none). The events are read with grouped queries, never per member, and the whole
    team's result is remembered in the view cache until the events change: the console asks
    for it every 30 seconds and at every start. ``now`` stamps the cache entry; members,
    groups and incidents are always read fresh, they are small.

    ``hurried`` leaves out the cycle-end forecast unless the view cache holds it (the
    learning weeks of every member); the result says so (``pending``). A face that must
    paint soon (the console's first screen) shows the figures and badges first and completes
    them (:func:`completed_overview`). The badges are always there: their inputs are sums of
    the member-day rollup, as cheap as the window's own.
    """
    start = window_start(days, today)
    cycle = current_cycle(conn, today)
    usage = window_usage(conn, start, today, cycle.start, group_id, now)
    # The badges compare a member with the whole team, whatever the filter.
    team = usage if group_id is None else window_usage(conn, start, today, cycle.start, None, now)
    reads = cache_reads(conn, start, today, now or datetime.now(UTC))
    found = window_badges(conn, start, today, team, reads)
    moment = now or start_of(today)
    forecast = scope_forecast(conn, now=moment, group_id=group_id, recall_only=hurried)
    result = _overview(conn, usage, days, start, today, group_id, cycle, found, forecast)
    if hurried and forecast is None and not result.pending:
        return replace(result, pending=True)  # the forecast follows
    return result


def completed_overview(conn: Connection, first: Overview, *, now: datetime) -> Overview:
    """``first`` (a hurried overview) with what it left out, the cycle-end forecast, as
    :func:`overview` computes it.

    The rest is kept as ``first`` read it a moment before, so a face completing what it
    has just painted pays for the forecast only, not for the window's figures, the badges
    and the members a second time.
    """
    if not first.pending:
        return first
    forecast = first.forecast or scope_forecast(conn, now=now, group_id=first.group_id)
    return replace(first, forecast=forecast, pending=False)


def start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def remembered_overview(
    conn: Connection, *, days: int, today: date, now: datetime | None = None
) -> Overview | None:
    """The whole team's overview when the view cache holds its figures, else None.

    It never scans the events (a few small queries), so a face can call it where waiting
    is not an option, such as before its first paint, and fall back to :func:`overview`.
    """
    start = window_start(days, today)
    cycle = current_cycle(conn, today)
    usage = remembered_usage(conn, start, today, cycle.start)
    reads = remembered_cache_reads(conn, start, today)
    if usage is None or reads is None:
        return None
    found = window_badges(conn, start, today, usage, reads)
    forecast = scope_forecast(conn, now=now or start_of(today), recall_only=True)
    result = _overview(conn, usage, days, start, today, None, cycle, found, forecast)
    # A forecast not remembered (a new hour) follows, as after a hurried overview.
    return result if forecast is not None else replace(result, pending=True)


def _overview(
    conn: Connection,
    usage: WindowUsage,
    days: int,
    start: date,
    today: date,
    group_id: str | None,
    cycle: Cycle,
    found: WindowBadges | None,
    forecast: Forecast | None,
) -> Overview:
    """The overview around the event figures: members, groups and incidents read fresh;
    ``found`` None leaves the badges out (pending)."""
    held = memberships(conn)
    scope = held.scope(group_id)
    listed = people(conn, scope)

    incidents = _open_incidents(conn)
    if scope is not None:
        incidents = {email: n for email, n in incidents.items() if email in scope}

    unlisted = Person(name="", role="", is_removed=False)
    rows: list[MemberRow] = []
    for email in in_scope(listed, usage):
        person = listed.get(email, unlisted)
        used = usage.users.get(email, IDLE)
        worn = NO_BADGES if found is None else found.of(email)
        rows.append(
            MemberRow(
                email=email,
                name=person.name,
                role=person.role,
                group=held.first_group.get(email, ""),
                is_removed=person.is_removed,
                spend_cents=used.spend_cents,
                requests=used.requests,
                tokens=used.tokens,
                top_model=used.top_model,
                last_active=used.last_active,
                open_incidents=incidents.get(email, (0, 0))[0],
                badges=worn.ids,
                adoption=worn.adoption,
            )
        )

    spenders = [
        Spender(row.name or row.email, row.email, row.spend_cents)
        for row in rows
        if row.spend_cents > 0
    ]
    models = [
        ModelCost(model, used.users, used.requests, used.spend_cents)
        for model, used in usage.models.items()
    ]
    models.sort(key=lambda cost: (-cost.spend_cents, cost.model))
    return Overview(
        days=days,
        start=start,
        end=today,
        group_id=group_id,
        spend_cents=usage.spend_cents,
        requests=usage.requests,
        tokens=usage.tokens,
        active_members=len(usage.users),
        total_members=len(rows),
        open_incidents=sum(total for total, _ in incidents.values()),
        critical_incidents=sum(critical for _, critical in incidents.values()),
        cycle=progress(cycle, today, usage.cycle_spend_cents),
        daily_spend=[
            DailySpend(day, usage.days.get(day, QUIET_DAY).spend_cents)
            for day in each_day(start, days)
        ],
        top_spenders=spenders[:TOP_SPENDERS],
        model_spend=models,
        members=rows,
        groups=options(held),
        last_collected=last_successful_run(conn),
        forecast=forecast,
        pending=found is None,
    )


def warm_overview(engine: Engine, *, today: date, days: int = DEFAULT_DAYS) -> bool:
    """Compute the console's first screen ahead of time, so a start finds it remembered.

    A courtesy after the real work (detection): a passing database error here (a lock, a
    read-only file, a full disk) is logged and leaves the job's result alone, and the console
    simply computes the figures itself; a damaged database is raised.
    """
    try:
        with engine.connect() as conn:
            overview(conn, days=days, today=today)
    except SQLAlchemyError as exc:
        if is_damage(exc):
            # A damaged file or a missing table must fail the job, not pass unnoticed.
            raise database_error(exc, engine.url) from exc
        log.warning("could not prepare the console's overview: %s", type(exc).__name__)
        return False
    return True
