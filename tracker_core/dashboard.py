"""What the console's screens (and the daemon's pages) show, read from the database.

One function per screen area, each returning plain frozen dataclasses, so the TUI and the
HTTP daemon are thin faces on the same figures and never write SQL of their own. Spend is the
product's single definition (``storage.repo.spend_cents_expr``): usage events' charged cents,
summed per day, member and model in ``storage.rollups``. Money is in cents until a face
formats it; days are UTC.
"""

from __future__ import annotations

import calendar
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Engine, Select, func, select
from sqlalchemy.exc import SQLAlchemyError

from tracker_core import queries
from tracker_core.storage import cache, rollups
from tracker_core.storage import tables as t
from tracker_core.storage.failures import database_error, is_damage
from tracker_core.storage.repo import last_successful_run, spend_cents_expr, tokens_expr

log = logging.getLogger(__name__)

DEFAULT_DAYS = 30
"""The window every face opens with (the console's overview, the daemon's pages)."""


@dataclass(frozen=True)
class GroupOption:
    """A billing group for the filter: ``id`` is passed back to the queries."""

    id: str
    name: str
    members: int


@dataclass(frozen=True)
class CycleProgress:
    """Where the billing cycle stands: "day 12 of 30" and a straight-line projection."""

    start: date
    end: date
    """Last day of the cycle: the day before the next cycle starts, by Cursor's ``cycleEnd``
    (that instant, not the last day) when known, else by the same day next month."""
    day: int
    """Today's 1-based day number in the cycle."""
    length: int
    spend_cents: float
    projected_cents: float
    """Spend so far scaled to the whole cycle at the pace so far."""


class MemberRow(NamedTuple):
    """One line of the members table over the window.

    A named tuple rather than a frozen dataclass: the overview builds one per member at every
    console start, and a tuple is built in a third of the time.
    """

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


@dataclass(frozen=True)
class Overview:
    """The overview screen for ``days`` UTC days ending today, optionally one billing group."""

    days: int
    start: date
    end: date
    group_id: str | None
    spend_cents: float
    active_members: int
    total_members: int
    """Members on the team, plus removed ones whose spend is in the window."""
    open_incidents: int
    critical_incidents: int
    cycle: CycleProgress
    daily_spend: list[tuple[date, float]]
    """Every day of the window, zero-filled, oldest first."""
    top_spenders: list[tuple[str, float]]
    """(display name, cents), at most 10, highest first."""
    model_spend: list[tuple[str, float]]
    """(model, cents), highest first."""
    members: list[MemberRow]
    """Every member in scope (active in the window or currently on the team), by spend."""
    groups: list[GroupOption]
    last_collected: datetime | None
    """End of the last collection run that stored anything, for the "collected N min ago"."""


@dataclass(frozen=True)
class ModelEfficiency:
    model: str
    spend_cents: float
    requests: int
    cents_per_request: float


@dataclass(frozen=True)
class Insights:
    """The insights screen: adoption and efficiency, from the Analytics API tables and events."""

    days: int
    start: date
    end: date
    dau: list[tuple[date, int]]
    """Daily active users, zero-filled over the window."""
    model_adoption: dict[str, list[tuple[date, int]]]
    """Messages per model per day (top 6 models by messages), zero-filled."""
    model_efficiency: list[ModelEfficiency]
    """From usage events, by spend, highest first."""
    accepted_lines: int
    """Lines accepted (agent edits plus tabs) over the window."""
    cents_per_accepted_line: float | None
    mcp_tools: list[tuple[str, str, int]]
    """(tool, server, usage), highest first."""
    file_extensions: list[tuple[str, int, int]]
    """(extension, files, lines accepted), by lines accepted, highest first."""
    client_versions: list[tuple[str, int, float]]
    """(version, users, percentage) on ``client_versions_day``, by users."""
    has_analytics: bool
    """False when no Analytics API data is stored: the screen says what to collect."""
    client_versions_day: date | None = None
    """The day the versions are counted on: the latest complete (UTC) day in the window that
    has any, or today, partial, when no earlier day does; None without any."""

    @property
    def client_versions_partial(self) -> bool:
        """True when the versions are today's, a day still under way (and under-counted)."""
        return self.client_versions_day is not None and self.client_versions_day >= self.end


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
    daily: list[tuple[date, float, int, int]]
    """(day, spend cents, tokens, requests), zero-filled, oldest first."""
    models: list[tuple[str, int, float]]
    """(model, requests, spend cents), by spend, highest first."""
    features: dict[str, int]
    """Sums over the window of daily usage: agent, chat, composer, cmdk requests, tabs
    accepted, tabs shown, accepted lines added."""
    activity: list[list[int]] = field(default_factory=list)
    """7 x 24 usage-event counts: ``activity[weekday][hour]``, Monday first, UTC hours."""
    team_rank: int | None = None
    """1-based rank by spend among members active in the window."""


# --- helpers ---------------------------------------------------------------------------------


def _window_start(days: int, today: date) -> date:
    """First day of the ``days`` UTC days ending ``today``; a window needs at least one day."""
    if days < 1:
        raise ValueError(f"a window needs at least one day, not {days}")
    return today - timedelta(days=days - 1)


def _each_day(start: date, days: int) -> list[date]:
    return [start + timedelta(days=offset) for offset in range(days)]


def _display(name: str, email: str) -> str:
    return name or email


def _current_members(group_id: str) -> Select[tuple[str]]:
    """The emails of a group's current members, as a subquery the event queries filter on.

    A subquery rather than a bound list keeps the statement small for a group of any size
    and lets the database do the matching while it scans the window.
    """
    gm = t.group_members
    return select(gm.c.email).where(gm.c.group_id == group_id, gm.c.left_at.is_(None))


def _group_scope(email: ColumnElement[str], group_id: str | None) -> list[ColumnElement[bool]]:
    """The filter on ``email`` that keeps a group's current members (none for the team)."""
    if group_id is None:
        return []
    return [email.in_(_current_members(group_id))]


@dataclass(frozen=True)
class _Memberships:
    """Billing groups and current memberships, read once and shared by every figure."""

    groups: list[tuple[str, str, bool]]
    """(id, name, is_unassigned) of every group, by name."""
    emails: dict[str, list[str]]
    """Group id -> its current members' emails, sorted."""
    first_group: dict[str, str]
    """Email -> name of the first (by name) non-unassigned group the member is in now."""


def _memberships(conn: Connection) -> _Memberships:
    bg, gm = t.billing_groups, t.group_members
    groups = [
        (str(gid), str(name), bool(unassigned))
        for gid, name, unassigned in conn.execute(
            select(bg.c.id, bg.c.name, bg.c.is_unassigned).order_by(bg.c.name, bg.c.id)
        )
    ]
    names = {gid: name for gid, name, _ in groups}
    emails: dict[str, list[str]] = {gid: [] for gid, _, _ in groups}
    first_group: dict[str, str] = {}
    rows = conn.execute(
        select(gm.c.group_id, gm.c.email).where(gm.c.left_at.is_(None)).order_by(gm.c.email)
    ).all()
    for gid, email in rows:
        emails.setdefault(str(gid), []).append(str(email))
    # Groups are visited by name, so the first one seen for a member is their first by name.
    for gid, _, is_unassigned in groups:
        if is_unassigned:
            continue
        for email in emails[gid]:
            first_group.setdefault(email, names[gid])
    return _Memberships(groups=groups, emails=emails, first_group=first_group)


def _by_name_unassigned_last(groups: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    """Groups by name, the reserved Unassigned group last: where members land by default
    rather than a group someone chose, and still one a manager filters by (it can hold the
    team's big spenders)."""
    return sorted(groups, key=lambda group: (group[2], group[1], group[0]))


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


def _cycle_end(start: date) -> date:
    """The day before the same day next month (the month's last day when it has no such day)."""
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    next_start = date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
    return next_start - timedelta(days=1)


def _cycle_bounds(conn: Connection, today: date) -> tuple[date, date]:
    """First and last day of the current billing cycle."""
    start, next_start = queries.current_cycle(conn, today)
    # Cursor's ``cycleEnd`` is the instant the next cycle begins (midnight UTC), so the stored
    # day is the next cycle's first day and the last day of this one is the day before.
    end = _cycle_end(start)
    if next_start is not None and next_start > start:
        end = next_start - timedelta(days=1)
    return start, end


def _cycle(start: date, end: date, today: date, spend_cents: float) -> CycleProgress:
    length = (end - start).days + 1
    day = min(max((today - start).days + 1, 1), length)
    return CycleProgress(
        start=start,
        end=end,
        day=day,
        length=length,
        spend_cents=spend_cents,
        projected_cents=spend_cents / day * length,
    )


class _UserUsage(NamedTuple):
    spend_cents: float
    requests: int
    tokens: int
    last_active: date | None
    top_model: str | None


@dataclass(frozen=True)
class _WindowUsage:
    """What the overview needs from the events: the only part that scans the window."""

    users: dict[str, _UserUsage]
    models: dict[str, float]
    """Model -> spend cents."""
    by_day: dict[date, float]
    """Day -> spend cents, days without spend left out."""
    cycle_spend_cents: float

    def to_json(self) -> str:
        return json.dumps(
            {
                "users": {
                    email: [
                        u.spend_cents,
                        u.requests,
                        u.tokens,
                        u.last_active.isoformat() if u.last_active else None,
                        u.top_model,
                    ]
                    for email, u in self.users.items()
                },
                "models": self.models,
                "by_day": {day.isoformat(): cents for day, cents in self.by_day.items()},
                "cycle_spend_cents": self.cycle_spend_cents,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, body: str) -> _WindowUsage:
        data = json.loads(body)
        return cls(
            users={
                email: _UserUsage(
                    spend_cents=float(spend),
                    requests=int(requests),
                    tokens=int(tokens),
                    last_active=date.fromisoformat(last) if last else None,
                    top_model=top,
                )
                for email, (spend, requests, tokens, last, top) in data["users"].items()
            },
            models={str(model): float(cents) for model, cents in data["models"].items()},
            by_day={date.fromisoformat(day): float(c) for day, c in data["by_day"].items()},
            cycle_spend_cents=float(data["cycle_spend_cents"]),
        )


def _window_usage(
    conn: Connection, start: date, today: date, cycle_start: date, group_id: str | None
) -> _WindowUsage:
    """Two grouped queries over the window (and the cycle's days); nothing per member.

    They read the usage rollup (``storage.rollups``), a row per member, day and model.
    """
    window = rollups.summed(conn, start, today)
    in_group = _group_scope(window.c.user_email, group_id)
    per_user_model = conn.execute(
        select(
            window.c.user_email,
            window.c.model,
            func.sum(window.c.spend_cents),
            func.sum(window.c.requests),
            func.sum(window.c.tokens),
            func.max(window.c.day),
        )
        .where(*in_group)
        .group_by(window.c.user_email, window.c.model)
    ).all()
    # One pass per day over the window and the cycle together: the cycle's spend is the sum
    # of its days, so it needs no scan of its own (it used to take a tenth of a cold start).
    first = min(start, cycle_start)
    days = window if first == start else rollups.summed(conn, first, today)
    per_day = [
        (queries.as_day(day), float(cents or 0))
        for day, cents in conn.execute(
            select(days.c.day, func.sum(days.c.spend_cents))
            .where(*_group_scope(days.c.user_email, group_id))
            .group_by(days.c.day)
        ).all()
    ]
    cycle_spend = sum(cents for day, cents in per_day if day >= cycle_start)

    # email -> [spend, requests, tokens, last day]; email -> best (spend, requests, model).
    figures: dict[str, list[Any]] = {}
    models: dict[str, float] = defaultdict(float)
    top_model: dict[str, tuple[float, int, str]] = {}
    for email, model, cents, count, tokens, last_day in per_user_model:
        email, model = str(email), str(model)
        cents, count = float(cents or 0), int(count or 0)
        mine = figures.setdefault(email, [0.0, 0, 0, None])
        mine[0] += cents
        mine[1] += count
        mine[2] += int(tokens or 0)
        day = queries.as_day(last_day)
        mine[3] = day if mine[3] is None or day > mine[3] else mine[3]
        models[model] += cents
        candidate = (cents, count, model)
        if email not in top_model or candidate > top_model[email]:
            top_model[email] = candidate
    return _WindowUsage(
        users={
            email: _UserUsage(
                spend_cents=cents,
                requests=requests,
                tokens=tokens,
                last_active=last,
                top_model=top_model[email][2] if email in top_model else None,
            )
            for email, (cents, requests, tokens, last) in figures.items()
        },
        models=dict(models),
        by_day={day: cents for day, cents in per_day if day >= start},
        cycle_spend_cents=cycle_spend,
    )


def _overview_key(start: date, today: date, cycle_start: date, conn: Connection) -> tuple[str, str]:
    """The view-cache key of a window and the fingerprint of the data it is summed from."""
    key = f"overview:{(today - start).days + 1}"
    return key, f"{start}:{today}:{cycle_start}:{cache.events_fingerprint(conn)}"


def _recalled_window_usage(conn: Connection, key: str, fingerprint: str) -> _WindowUsage | None:
    body = cache.recall(conn, key, fingerprint)
    if body is None:
        return None
    try:
        return _WindowUsage.from_json(body)
    except (ValueError, KeyError, TypeError):
        return None  # written by another version of the tracker: recomputed and replaced


# --- the screens -----------------------------------------------------------------------------


def overview(
    conn: Connection,
    *,
    days: int,
    today: date,
    group_id: str | None = None,
    now: datetime | None = None,
) -> Overview:
    """The overview figures; with ``group_id`` only that group's current members count.

    Every figure (spend, members, top spenders, models, daily series, incidents and the
    cycle) is restricted to the same scope, so the tiles of a filtered screen add up. A
    member's ``last_active`` is their latest event day within the window (None when they had
    none). The events are read with three grouped queries, never per member, and the whole
    team's result is remembered in the view cache (``storage.cache``) until the events
    change: the console asks for it every 30 seconds and at every start. ``now`` stamps the
    cache entry; members, groups and incidents are always read fresh, they are small.
    """
    start = _window_start(days, today)
    cycle_start, cycle_end = _cycle_bounds(conn, today)
    if group_id is not None:
        usage = _window_usage(conn, start, today, cycle_start, group_id)
        return _overview(conn, usage, days, start, today, group_id, (cycle_start, cycle_end))
    key, fingerprint = _overview_key(start, today, cycle_start, conn)
    recalled = _recalled_window_usage(conn, key, fingerprint)
    if recalled is None:
        recalled = _window_usage(conn, start, today, cycle_start, None)
        cache.remember(conn.engine, key, fingerprint, recalled.to_json(), now or datetime.now(UTC))
    return _overview(conn, recalled, days, start, today, None, (cycle_start, cycle_end))


def remembered_overview(conn: Connection, *, days: int, today: date) -> Overview | None:
    """The whole team's overview when the view cache holds its figures, else None.

    It never scans the events (a few small queries), so a face can call it where waiting
    is not an option, such as before its first paint, and fall back to :func:`overview`.
    """
    start = _window_start(days, today)
    cycle_start, cycle_end = _cycle_bounds(conn, today)
    key, fingerprint = _overview_key(start, today, cycle_start, conn)
    recalled = _recalled_window_usage(conn, key, fingerprint)
    if recalled is None:
        return None
    return _overview(conn, recalled, days, start, today, None, (cycle_start, cycle_end))


def _overview(
    conn: Connection,
    usage: _WindowUsage,
    days: int,
    start: date,
    today: date,
    group_id: str | None,
    cycle: tuple[date, date],
) -> Overview:
    """The overview around the event figures: members, groups and incidents read fresh."""
    memberships = _memberships(conn)
    scope: set[str] | None = None
    if group_id is not None:
        scope = set(memberships.emails.get(group_id, []))

    m = t.members
    # Fetched whole (``all``): row by row, SQLAlchemy's per-row overhead would cost more than
    # the query, and the start of the console waits for this one.
    people = {
        str(email): (str(name or ""), str(role or ""), bool(removed))
        for email, name, role, removed in conn.execute(
            select(m.c.email, m.c.name, m.c.role, m.c.removed_at.is_not(None))
        ).all()
        if scope is None or email in scope
    }
    on_team = {email for email, (_, _, removed) in people.items() if not removed}

    incidents = _open_incidents(conn)
    if scope is not None:
        incidents = {email: n for email, n in incidents.items() if email in scope}

    idle = _UserUsage(spend_cents=0.0, requests=0, tokens=0, last_active=None, top_model=None)
    rows: list[MemberRow] = []
    for email in on_team | usage.users.keys():
        name, role, removed = people.get(email, ("", "", False))
        used = usage.users.get(email, idle)
        rows.append(
            MemberRow(
                email=email,
                name=name,
                role=role,
                group=memberships.first_group.get(email, ""),
                is_removed=removed,
                spend_cents=used.spend_cents,
                requests=used.requests,
                tokens=used.tokens,
                top_model=used.top_model,
                last_active=used.last_active,
                open_incidents=incidents.get(email, (0, 0))[0],
            )
        )
    rows.sort(key=lambda row: (-row.spend_cents, -row.requests, row.email))

    spenders = [
        (_display(row.name, row.email), row.spend_cents) for row in rows if row.spend_cents > 0
    ]

    return Overview(
        days=days,
        start=start,
        end=today,
        group_id=group_id,
        spend_cents=sum(used.spend_cents for used in usage.users.values()),
        active_members=len(usage.users),
        # As in ``queries.team_stats``: a member removed during the window still counts while
        # their spend is in it, so the active figure is always a part of the total.
        total_members=len(rows),
        open_incidents=sum(total for total, _ in incidents.values()),
        critical_incidents=sum(critical for _, critical in incidents.values()),
        cycle=_cycle(*cycle, today, usage.cycle_spend_cents),
        daily_spend=[(day, usage.by_day.get(day, 0.0)) for day in _each_day(start, days)],
        top_spenders=spenders[:10],
        model_spend=sorted(usage.models.items(), key=lambda item: (-item[1], item[0])),
        members=rows,
        groups=[
            GroupOption(id=gid, name=name, members=len(memberships.emails.get(gid, [])))
            for gid, name, _ in _by_name_unassigned_last(memberships.groups)
        ],
        last_collected=last_successful_run(conn),
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


def _analytics(
    conn: Connection, metric: str, fields: Sequence[str], start: date, end: date
) -> list[tuple[date, str, str, str, float]]:
    """(day, dimension, subdimension, field, value) of one Analytics metric over a window."""
    av = t.analytics_values
    rows = conn.execute(
        select(av.c.day, av.c.dimension, av.c.subdimension, av.c.field, av.c.value).where(
            av.c.metric == metric, av.c.field.in_(fields), av.c.day.between(start, end)
        )
    )
    return [
        (queries.as_day(day), str(dim), str(sub), str(name), float(value or 0))
        for day, dim, sub, name, value in rows
    ]


def insights(conn: Connection, *, days: int, today: date) -> Insights:
    """Adoption from the Analytics API tables, efficiency from the events, over the window.

    Client versions are a snapshot, not a sum: the latest complete day within the window
    that has any is shown (today's only when no earlier day has any), and named. The
    Analytics tables are small (a few rows per day), so they are read as rows and summed
    here; the events' spend comes from their rollup.
    """
    start = _window_start(days, today)
    window = _each_day(start, days)

    dau_by_day: dict[date, float] = defaultdict(float)
    for day, _, _, _, value in _analytics(conn, "dau", ["dau"], start, today):
        dau_by_day[day] += value

    messages: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for day, model, _, _, value in _analytics(conn, "models", ["messages"], start, today):
        messages[model][day] += value
    top_models = sorted(messages, key=lambda model: (-sum(messages[model].values()), model))[:6]

    accepted = sum(
        value
        for metric in ("agent-edits", "tabs")
        for _, _, _, _, value in _analytics(conn, metric, ["total_lines_accepted"], start, today)
    )

    mcp: dict[tuple[str, str], float] = defaultdict(float)
    for _, tool, server, _, value in _analytics(conn, "mcp", ["usage"], start, today):
        mcp[(tool, server)] += value

    extensions: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    ext_fields = ["total_files", "total_lines_accepted"]
    for _, ext, _, name, value in _analytics(conn, "top-file-extensions", ext_fields, start, today):
        extensions[ext][ext_fields.index(name)] += value

    versions: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    version_rows = _analytics(conn, "client-versions", ["user_count", "percentage"], start, today)
    latest = _snapshot_day({day for day, *_ in version_rows}, today)
    for day, version, _, name, value in version_rows:
        if day == latest:
            versions[version][0 if name == "user_count" else 1] += value

    summed = rollups.summed(conn, start, today)
    per_model = conn.execute(
        select(summed.c.model, func.sum(summed.c.spend_cents), func.sum(summed.c.requests))
        .group_by(summed.c.model)
        .having(func.sum(summed.c.requests) > 0)
    ).all()
    efficiency = [
        ModelEfficiency(
            model=str(model),
            spend_cents=float(cents or 0),
            requests=int(count),
            cents_per_request=float(cents or 0) / int(count),
        )
        for model, cents, count in per_model
    ]
    efficiency.sort(key=lambda row: (-row.spend_cents, row.model))
    spend = sum(row.spend_cents for row in efficiency)
    accepted_lines = round(accepted)

    has_analytics = conn.execute(select(t.analytics_values.c.metric).limit(1)).first() is not None
    return Insights(
        days=days,
        start=start,
        end=today,
        dau=[(day, round(dau_by_day.get(day, 0))) for day in window],
        model_adoption={
            model: [(day, round(messages[model].get(day, 0))) for day in window]
            for model in top_models
        },
        model_efficiency=efficiency,
        accepted_lines=accepted_lines,
        cents_per_accepted_line=spend / accepted_lines if accepted_lines else None,
        mcp_tools=sorted(
            ((tool, server, round(usage)) for (tool, server), usage in mcp.items()),
            key=lambda row: (-row[2], row[0], row[1]),
        ),
        file_extensions=sorted(
            ((ext, round(files), round(lines)) for ext, (files, lines) in extensions.items()),
            key=lambda row: (-row[2], row[0]),
        ),
        client_versions=sorted(
            ((version, round(users), pct) for version, (users, pct) in versions.items()),
            key=lambda row: (-row[1], row[0]),
        ),
        has_analytics=has_analytics,
        client_versions_day=latest,
    )


def _snapshot_day(days: set[date], today: date) -> date | None:
    """The day a daily snapshot is read from: the latest complete one, else today.

    Today's figures are a day under way: the Analytics API counts the users seen so far, so
    under a 30-day range they showed 6 of 40 users on the client versions. The last full day
    is the truthful snapshot; today is shown only when it is all there is.
    """
    complete = [day for day in days if day < today]
    if complete:
        return max(complete)
    return max(days, default=None)


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


def member_detail(conn: Connection, email: str, *, days: int, today: date) -> MemberDetail:
    """Raises ``LookupError`` naming the email when the member is unknown.

    A member is known when the members listing has them or any usage event names them, so
    every row of the overview's table can be opened. A handful of queries on one member's
    rows use the (email, day) indexes; only the rank looks at the whole window, once.
    """
    start = _window_start(days, today)
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
        queries.as_day(day): (float(cents or 0), int(toks or 0), int(count))
        for day, cents, toks, count in conn.execute(
            select(ue.c.day, func.sum(spend), func.sum(tokens), func.count())
            .where(*mine)
            .group_by(ue.c.day)
        )
    }
    daily = [(day, *per_day.get(day, (0.0, 0, 0))) for day in _each_day(start, days)]
    models = sorted(
        (
            (str(model), int(count), float(cents or 0))
            for model, count, cents in conn.execute(
                select(ue.c.model, func.count(), func.sum(spend)).where(*mine).group_by(ue.c.model)
            )
        ),
        key=lambda row: (-row[2], -row[1], row[0]),
    )

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

    return MemberDetail(
        email=email,
        name=name,
        role=role,
        group=_memberships(conn).first_group.get(email, ""),
        is_removed=person is not None and person.removed_at is not None,
        days=days,
        start=start,
        end=today,
        spend_cents=sum(cents for _, cents, _, _ in daily),
        requests=sum(count for _, _, _, count in daily),
        tokens=sum(toks for _, _, toks, _ in daily),
        daily=daily,
        models=models,
        features=features,
        activity=activity,
        team_rank=rank,
    )


def billing_groups(conn: Connection) -> list[tuple[GroupOption, list[str]]]:
    """Every billing group with its current members' emails (for the settings screen).

    Groups come by name with the reserved Unassigned group last, since it is where members
    land by default rather than a group someone chose.
    """
    memberships = _memberships(conn)
    ordered = _by_name_unassigned_last(memberships.groups)
    result: list[tuple[GroupOption, list[str]]] = []
    for gid, name, _ in ordered:
        emails = memberships.emails.get(gid, [])
        result.append((GroupOption(id=gid, name=name, members=len(emails)), list(emails)))
    return result
