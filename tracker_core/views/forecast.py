"""``cursor-tracker forecast``: where the cycle ends for the team, each group and each member.

The storage side of :mod:`tracker_core.forecast`: each member's spend per day (the usage
rollup, cents turned to dollars) from the weeks before the cycle through today, the cycle's
days (:mod:`tracker_core.cycle`) and the effective billing groups. The prior and the groups
are always the whole team's; a group filter (as ``stats --group`` takes it) only chooses
which lines are shown and what the total adds up.
"""

from __future__ import annotations

import json
from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Float,
    Integer,
    String,
    and_,
    case,
    column,
    func,
    literal,
    select,
    true,
    type_coerce,
    values,
)

from tracker_core.cycle import Cycle, as_day, current_cycle
from tracker_core.forecast import Forecast, forecast_cycle
from tracker_core.forecast.rates import LOOKBACK_DAYS, Learning
from tracker_core.forecast.sums import (
    KindSums,
    MemberSums,
    learning_table,
    scope_forecast_from_sums,
)
from tracker_core.storage import cache, rollups
from tracker_core.storage.groups import PARENT_PREFIX, PARENT_SEPARATOR, UNASSIGNED_FILTER
from tracker_core.views._shared import (
    Memberships,
    group_scope,
    iso_instant,
    memberships,
    people,
)

UNASSIGNED_NAME = "Unassigned"


def forecast_moment(now: datetime) -> datetime:
    """The instant a forecast is made for: the start of ``now``'s hour.

    Every face asking within one hour (the command line, the console, the daemon's pages and
    JSON) shows the same figures, and a remembered forecast stays good for the hour; an hour
    is a small part of a day's rate.
    """
    return now.replace(minute=0, second=0, microsecond=0)


def forecast_json(forecast: Forecast) -> dict[str, float]:
    """A forecast's figures in dollars with cents precision."""
    return {
        "spent": round(forecast.spent, 2),
        "expected": round(forecast.expected, 2),
        "low": round(forecast.low, 2),
        "high": round(forecast.high, 2),
    }


@dataclass(frozen=True)
class GroupForecast:
    id: str
    """The group's id; ``unassigned`` for the members in no group."""
    name: str
    members: int
    forecast: Forecast


@dataclass(frozen=True)
class MemberForecast:
    email: str
    name: str
    group: str | None
    """The member's first group by name, None when in none."""
    forecast: Forecast


@dataclass(frozen=True)
class ForecastView:
    """The ``forecast --json`` object: the scope's total, its groups and its members, each
    sorted by expected cycle-end spend (highest first)."""

    cycle_start: date
    cycle_end: date
    """The cycle's last day."""
    day: int
    length: int
    now: datetime
    scope: str | None
    """The group filter as resolved (id, ``parent:NAME``, ``unassigned``), None for the team."""
    total: Forecast
    groups: list[GroupForecast]
    members: list[MemberForecast]

    def member(self, email: str) -> Forecast | None:
        """One member's forecast, None when they are not in the scope."""
        return next((line.forecast for line in self.members if line.email == email), None)

    def group(self, group_id: str) -> Forecast | None:
        """One group's forecast by id (``unassigned`` for members in none), None when the
        scope does not list it."""
        return next((line.forecast for line in self.groups if line.id == group_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle": {
                "start": self.cycle_start.isoformat(),
                "end": self.cycle_end.isoformat(),
                "day": self.day,
                "length": self.length,
            },
            "as_of": iso_instant(self.now),
            "group": self.scope,
            "total": forecast_json(self.total),
            "groups": [
                {"id": g.id, "name": g.name, "members": g.members, **forecast_json(g.forecast)}
                for g in self.groups
            ],
            "members": [
                {
                    "email": m.email,
                    "name": m.name,
                    "group": m.group,
                    **forecast_json(m.forecast),
                }
                for m in self.members
            ],
        }


def daily_histories(conn: Connection, start: date, end: date) -> dict[str, dict[date, float]]:
    """Each member's spend in dollars per day from ``start`` to ``end`` (days with spend).

    A row per member and day, tens of thousands for a large team: they are taken from the
    driver's cursor as it returns them (making a result row of each cost as much as the
    query), and a day is parsed once per distinct day rather than once per row.
    """
    summed = rollups.summed(conn, start, end)
    result = conn.execute(
        select(
            summed.c.user_email, type_coerce(summed.c.day, String), func.sum(summed.c.spend_cents)
        ).group_by(summed.c.user_email, summed.c.day)
    )
    try:
        rows: Sequence[Any] = result.cursor.fetchall()
    finally:
        result.close()
    histories: dict[str, dict[date, float]] = {}
    days: dict[Any, date] = {}
    for email, raw_day, cents in rows:
        if cents:
            day = days.get(raw_day)
            if day is None:
                day = days[raw_day] = as_day(raw_day)
            histories.setdefault(str(email), {})[day] = float(cents) / 100.0
    return histories


def history_start(cycle: Cycle, today: date) -> date:
    """The first day a forecast on ``today`` reads: the cycle's and the learning window's."""
    return min(cycle.start, today - timedelta(days=LOOKBACK_DAYS))


def _group_members(groups: Memberships) -> dict[str, tuple[str, list[str]]]:
    """Group id -> (name, current members) of every group but Cursor's reserved one.

    Members in no group make a line of their own (``unassigned``, added by the caller), as
    ``stats --group unassigned`` counts them, rather than only those Cursor placed in its
    reserved group.
    """
    return {
        group.id: (group.name, groups.emails.get(group.id, []))
        for group in groups.groups
        if not group.is_unassigned
    }


def _under_parent(spec: str, name: str) -> bool:
    if not spec.startswith(PARENT_PREFIX):
        return False
    parent = spec.removeprefix(PARENT_PREFIX)
    return name == parent or name.startswith(parent + PARENT_SEPARATOR)


SCOPE_KEY = "\x00scope"
"""The forecast's key for a filter's members taken together (no group id can be it)."""


def team_forecast(conn: Connection, *, now: datetime, group_id: str | None = None) -> ForecastView:
    """The forecast as of ``now`` for the team, or for one group filter's members.

    The filter's total is forecast as a group of its own (a parent's groups may share
    members, and a total's range is not its groups' ranges added up).
    """
    now = forecast_moment(now)
    today = now.date()
    cycle = current_cycle(conn, today)
    histories = daily_histories(conn, history_start(cycle, today), today)
    groups = memberships(conn)
    listed = people(conn, None)
    on_team = {email for email, person in listed.items() if not person.is_removed}
    emails = sorted(on_team | set(histories))
    by_key = _group_members(groups)
    unassigned = [email for email in emails if email not in groups.first_group]
    if unassigned:
        by_key[UNASSIGNED_FILTER] = (UNASSIGNED_NAME, unassigned)
    scope: Container[str] | None = groups.scope(group_id)
    in_scope = [email for email in emails if scope is None or email in scope]
    reserved = next((g for g in groups.groups if g.id == group_id and g.is_unassigned), None)
    if reserved is not None:
        # Cursor's own Unassigned group, asked for by name or id: its line is its members.
        by_key[reserved.id] = (reserved.name, in_scope)
    members = {key: names for key, (_, names) in by_key.items()}
    result = forecast_cycle(
        {email: histories.get(email, {}) for email in emails},
        cycle.start,
        cycle.end,
        now,
        groups={**members, SCOPE_KEY: in_scope},
    )
    shown = [
        GroupForecast(key, name, len(names), result.groups[key])
        for key, (name, names) in by_key.items()
        if group_id is None
        or key == group_id
        or (key != UNASSIGNED_FILTER and _under_parent(group_id, name))
    ]
    lines = [
        MemberForecast(
            email=email,
            name=listed[email].name if email in listed else "",
            group=groups.first_group.get(email),
            forecast=result.members[email],
        )
        for email in in_scope
    ]
    return ForecastView(
        cycle_start=cycle.start,
        cycle_end=cycle.end,
        day=result.day,
        length=result.length,
        now=now,
        scope=group_id,
        total=result.groups[SCOPE_KEY],
        groups=sorted(shown, key=lambda g: (-g.forecast.expected, g.name)),
        members=sorted(lines, key=lambda m: (-m.forecast.expected, m.email)),
    )


def _forecast_from_json(body: str) -> Forecast:
    data = json.loads(body)
    return Forecast(
        spent=float(data["spent"]),
        expected=float(data["expected"]),
        low=float(data["low"]),
        high=float(data["high"]),
        start=date.fromisoformat(data["start"]),
        path=tuple(float(value) for value in data["path"]),
    )


def _forecast_to_json(forecast: Forecast) -> str:
    return json.dumps(
        {
            "spent": forecast.spent,
            "expected": forecast.expected,
            "low": forecast.low,
            "high": forecast.high,
            "start": forecast.start.isoformat(),
            "path": list(forecast.path),
        },
        separators=(",", ":"),
    )


def scope_forecast(
    conn: Connection, *, now: datetime, group_id: str | None = None, recall_only: bool = False
) -> Forecast | None:
    """The team's (or one group filter's) cycle-end forecast, remembered for the hour.

    The overview and ``stats`` show it on every refresh; it reads a day per member over the
    cycle and the four weeks before, so it is kept in the view cache until the events, the
    groups, the cycle or the hour change. ``recall_only`` never computes (a face painting
    before its data): None when nothing is remembered.
    """
    moment = forecast_moment(now)
    cycle = current_cycle(conn, moment.date())
    key = f"forecast:{group_id or ''}"
    fingerprint = f"{moment.isoformat()}:{cycle.start}:{cycle.end}:{cache.events_fingerprint(conn)}"
    body = cache.recall(conn, key, fingerprint)
    if body is not None:
        try:
            return _forecast_from_json(body)
        except (ValueError, KeyError, TypeError):
            pass  # written by another version of the tracker: recomputed and replaced
    if recall_only:
        return None
    total = summed_scope_forecast(conn, now=moment, group_id=group_id)
    cache.remember(conn.engine, key, fingerprint, _forecast_to_json(total), now)
    return total


def summed_scope_forecast(conn: Connection, *, now: datetime, group_id: str | None) -> Forecast:
    """:func:`team_forecast`'s total as of ``now`` (within float rounding), from sums the
    database adds up: a row per day and one per member instead of one per member and day.

    The overview waits for this one at a cold start; the queries run outside the
    interpreter's lock, so they overlap with the console's own start
    (:mod:`tracker_core.forecast.sums`).
    """
    today = now.date()
    cycle = current_cycle(conn, today)
    usage = rollups.summed_by_member(conn, history_start(cycle, today), today)
    scoped = and_(true(), *group_scope(usage.c.user_email, group_id))
    team_by_day: dict[date, float] = {}
    scope_by_day: dict[date, float] = {}
    for raw_day, team_cents, scope_cents in conn.execute(
        select(
            usage.c.day,
            func.sum(usage.c.spend_cents),
            func.sum(case((scoped, usage.c.spend_cents), else_=0.0)),
        ).group_by(usage.c.day)
    ):
        day = as_day(raw_day)
        team_by_day[day] = float(team_cents or 0) / 100.0
        scope_by_day[day] = float(scope_cents or 0) / 100.0
    table = learning_table(team_by_day, today)
    members = _member_sums(conn, usage, history_start(cycle, today), today, table)
    held = memberships(conn) if group_id is not None else None
    scope = None if held is None else held.scope(group_id)
    return scope_forecast_from_sums(
        members, scope, scope_by_day, table, cycle.start, cycle.end, now
    )


def _member_sums(
    conn: Connection, usage: Any, first_day: date, today: date, table: Learning
) -> dict[str, MemberSums]:
    """The sums of every member with spend in the history (``usage``, a row per member and
    day from ``first_day`` to ``today``): over the learning days joined to their weights,
    with the first of them with spend; and the first day with spend among the few other
    days (today, the team's holidays, a long cycle's days before the lookback)."""
    kinds = _kind_sums(conn, usage, table)
    firsts: dict[str, date] = {}
    for (email, _), (_, first) in kinds.items():
        if first is not None and (email not in firsts or first < firsts[email]):
            firsts[email] = first
    learned = set(table.days)
    others = [day for day in each_day(first_day, today) if day not in learned]
    if others:
        for email, first in conn.execute(
            select(usage.c.user_email, func.min(usage.c.day))
            .where(usage.c.day.in_(others), usage.c.spend_cents > 0)
            .group_by(usage.c.user_email)
        ).all():  # fetched whole: a row per member with spend today, row by row costs more
            day = as_day(first)
            if str(email) not in firsts or day < firsts[str(email)]:
                firsts[str(email)] = day
    return {
        email: MemberSums(
            first_active=first,
            weekday=kinds.get((email, False), (KindSums(), None))[0],
            weekend=kinds.get((email, True), (KindSums(), None))[0],
        )
        for email, first in firsts.items()
    }


def each_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _kind_sums(
    conn: Connection, usage: Any, table: Learning
) -> dict[tuple[str, bool], tuple[KindSums, date | None]]:
    """Σ w·s, Σ w·s² and Σ w·t·s per member and kind of day over the learning days (``usage``
    a row per member and day), with the first of those days with spend; the days' weights
    joined as a small table of values."""
    if not table.days:
        return {}
    weights = (
        values(
            column("day", Date),
            column("w", Float),
            column("t", Float),
            column("weekend", Integer),
            name="weights",
        )
        .data(
            [
                (day, w, t, int(weekend))
                for day, w, t, weekend in zip(
                    table.days, table.weights, table.offsets, table.weekend, strict=True
                )
            ]
        )
        .cte("weights")
    )
    w, t = weights.c.w, weights.c.t
    s = usage.c.spend_cents / literal(100.0, Float)
    rows = conn.execute(
        select(
            usage.c.user_email,
            weights.c.weekend,
            func.sum(w * s),
            func.sum(w * s * s),
            func.sum(w * t * s),
            func.min(case((usage.c.spend_cents > 0, usage.c.day))),
        )
        .select_from(weights.join(usage, usage.c.day == weights.c.day))
        .group_by(usage.c.user_email, weights.c.weekend)
    ).all()
    return {
        (str(email), bool(weekend)): (
            KindSums(float(ws or 0), float(wss or 0), float(wts or 0)),
            None if first is None else as_day(first),
        )
        for email, weekend, ws, wss, wts, first in rows
    }
