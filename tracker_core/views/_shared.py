"""What the views share: the window, group scopes, memberships and the events' figures.

The events are the only large table, so one module reads them (:func:`window_usage`) and
every view that shows a figure of the window (``stats``, the overview, the daemon's team
spend and model costs) is built from what it returns: the same figure cannot come out
differently on two faces. The whole team's result is remembered in the view cache
(``storage.cache``) until the events change.
"""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from tracker_core.cycle import as_day
from tracker_core.storage import cache, rollups
from tracker_core.storage import tables as t
from tracker_core.storage.groups import (
    PARENT_PREFIX,
    PARENT_SEPARATOR,
    UNASSIGNED_FILTER,
    effective_groups,
    effective_members,
    group_filter,
)

DEFAULT_DAYS = 30
"""The window every face opens with (the console's overview, the daemon's pages)."""


# --- JSON forms ------------------------------------------------------------------------------


def dollars(cents: float) -> float:
    """Cents to dollars with cents precision, as every JSON output reports money."""
    return round(cents / 100.0, 2)


def iso_day(day: date | None) -> str | None:
    """A day as ``YYYY-MM-DD`` (None stays None)."""
    return day.isoformat() if day is not None else None


def iso_instant(at: datetime | None) -> str | None:
    """An instant as ISO 8601 in UTC (None stays None); a naive value is taken as UTC."""
    if at is None:
        return None
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat()


# --- the window ------------------------------------------------------------------------------


def window_start(days: int, today: date) -> date:
    """First day of the ``days`` UTC days ending ``today``; a window needs at least one day."""
    if days < 1:
        raise ValueError(f"a window needs at least one day, not {days}")
    return today - timedelta(days=days - 1)


def each_day(start: date, days: int) -> list[date]:
    return [start + timedelta(days=offset) for offset in range(days)]


# --- groups ----------------------------------------------------------------------------------


def group_scope(email: ColumnElement[str], group_id: str | None) -> list[ColumnElement[bool]]:
    """The filter on ``email`` that keeps a group filter's current members (none for the team).

    ``group_id`` is a group's id, ``parent:NAME`` or ``unassigned``; the effective groups
    (Cursor's with the local changes over them) decide, as on every face.
    """
    return group_filter(email, group_id)


@dataclass(frozen=True)
class StoredGroup:
    id: str
    name: str
    is_unassigned: bool
    source: str = "cursor"
    """``cursor`` for Cursor's groups (perhaps renamed here), ``local`` for one created here."""


class _Outside:
    """Every email except some: the scope of ``unassigned``, which no finite list names."""

    def __init__(self, excluded: set[str]) -> None:
        self._excluded = excluded

    def __contains__(self, email: object) -> bool:
        return email not in self._excluded


@dataclass(frozen=True)
class Memberships:
    """Billing groups and current memberships, read once and shared by every figure.

    These are the effective groups (``storage.groups``): a local rename, creation or
    assignment is already applied.
    """

    groups: list[StoredGroup]
    """Every group, by name, the reserved Unassigned group last: where members land by
    default rather than a group someone chose, and still one a manager filters by (it can
    hold the team's big spenders)."""
    emails: dict[str, list[str]]
    """Group id -> its current members' emails, sorted."""
    first_group: dict[str, str]
    """Email -> name of the first (by name) non-unassigned group the member is in now."""

    def scope(self, spec: str | None) -> Container[str] | None:
        """The emails a group filter keeps (see :func:`group_scope`); None for the team."""
        if spec is None:
            return None
        if spec == UNASSIGNED_FILTER:
            return _Outside(set(self.first_group))
        if spec.startswith(PARENT_PREFIX):
            parent = spec.removeprefix(PARENT_PREFIX)
            return {
                email
                for group in self.groups
                if group.name == parent or group.name.startswith(parent + PARENT_SEPARATOR)
                for email in self.emails.get(group.id, [])
            }
        return set(self.emails.get(spec, []))


def memberships(conn: Connection) -> Memberships:
    listed = effective_groups().subquery()
    by_name = [
        StoredGroup(str(gid), str(name), bool(unassigned), str(source))
        for gid, name, unassigned, source in conn.execute(
            select(listed).order_by(listed.c.name, listed.c.id)
        )
    ]
    emails: dict[str, list[str]] = {group.id: [] for group in by_name}
    placed = effective_members().subquery()
    rows = conn.execute(select(placed).order_by(placed.c.email)).all()
    for email, gid in rows:
        if str(gid) in emails:  # an assignment to a group deleted since places nobody
            emails[str(gid)].append(str(email))
    first_group: dict[str, str] = {}
    # Groups are visited by name, so the first one seen for a member is their first by name.
    for group in by_name:
        if group.is_unassigned:
            continue
        for email in emails[group.id]:
            first_group.setdefault(email, group.name)
    return Memberships(
        groups=sorted(by_name, key=lambda group: group.is_unassigned),  # stable: names kept
        emails=emails,
        first_group=first_group,
    )


# --- the events' figures ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserUsage:
    spend_cents: float
    requests: int
    tokens: int
    last_active: date | None
    """The member's latest event day within the window."""
    top_model: str | None
    """The model the member spent most on (then used most, then by name)."""


IDLE = UserUsage(spend_cents=0.0, requests=0, tokens=0, last_active=None, top_model=None)
"""A member without events in the window."""


@dataclass(frozen=True, slots=True)
class ModelUsage:
    spend_cents: float
    requests: int
    users: int
    """Members who used the model in the window."""


@dataclass(frozen=True, slots=True)
class DayUsage:
    spend_cents: float
    requests: int
    active_users: int


QUIET_DAY = DayUsage(spend_cents=0.0, requests=0, active_users=0)
"""A day without events."""


@dataclass(frozen=True)
class WindowUsage:
    """Every figure of a window that comes from the events: the only part that scans them."""

    users: dict[str, UserUsage]
    """Members with events in the window."""
    models: dict[str, ModelUsage]
    days: dict[date, DayUsage]
    """Days of the window with events (days without any left out)."""
    cycle_spend_cents: float
    """Spend from the cycle's first day to the window's last."""

    @property
    def spend_cents(self) -> float:
        return sum(used.spend_cents for used in self.users.values())

    @property
    def requests(self) -> int:
        return sum(used.requests for used in self.users.values())

    @property
    def tokens(self) -> int:
        return sum(used.tokens for used in self.users.values())

    def to_cache(self) -> str:
        return json.dumps(
            {
                "users": {
                    email: [
                        u.spend_cents,
                        u.requests,
                        u.tokens,
                        iso_day(u.last_active),
                        u.top_model,
                    ]
                    for email, u in self.users.items()
                },
                "models": {
                    model: [m.spend_cents, m.requests, m.users] for model, m in self.models.items()
                },
                "days": {
                    day.isoformat(): [d.spend_cents, d.requests, d.active_users]
                    for day, d in self.days.items()
                },
                "cycle_spend_cents": self.cycle_spend_cents,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_cache(cls, body: str) -> WindowUsage:
        data = json.loads(body)
        return cls(
            users={
                email: UserUsage(
                    spend_cents=float(spend),
                    requests=int(requests),
                    tokens=int(tokens),
                    last_active=date.fromisoformat(last) if last else None,
                    top_model=top,
                )
                for email, (spend, requests, tokens, last, top) in data["users"].items()
            },
            models={
                str(model): ModelUsage(float(spend), int(requests), int(users))
                for model, (spend, requests, users) in data["models"].items()
            },
            days={
                date.fromisoformat(day): DayUsage(float(spend), int(requests), int(active))
                for day, (spend, requests, active) in data["days"].items()
            },
            cycle_spend_cents=float(data["cycle_spend_cents"]),
        )


def _scan(
    conn: Connection, start: date, today: date, cycle_start: date, group_id: str | None
) -> WindowUsage:
    """Two grouped queries over the window (and the cycle's days); nothing per member.

    They read the usage rollup (``storage.rollups``): the per-member sums its whole weeks
    where it can, a row per member and model, the per-day sums its days.
    """
    window = rollups.summed_by_week(conn, start, today)
    per_user_model = conn.execute(
        select(
            window.c.user_email,
            window.c.model,
            func.sum(window.c.spend_cents),
            func.sum(window.c.requests),
            func.sum(window.c.tokens),
            func.max(window.c.day),
        )
        .where(*group_scope(window.c.user_email, group_id))
        .group_by(window.c.user_email, window.c.model)
    ).all()
    # One pass per day over the window and the cycle together: the cycle's spend is the sum
    # of its days, so it needs no scan of its own (it used to take a tenth of a cold start).
    first = min(start, cycle_start)
    span = rollups.summed_by_member(conn, first, today)  # a row per member and day
    per_day = [
        (as_day(day), DayUsage(float(cents or 0), int(count or 0), int(active)))
        for day, cents, count, active in conn.execute(
            select(
                span.c.day,
                func.sum(span.c.spend_cents),
                func.sum(span.c.requests),
                func.count(),
            )
            .where(*group_scope(span.c.user_email, group_id))
            .group_by(span.c.day)
        ).all()
    ]

    # email -> [spend, requests, tokens, last day]; email -> best (spend, requests, model).
    figures: dict[str, list[Any]] = {}
    models: dict[str, list[Any]] = {}
    top_model: dict[str, tuple[float, int, str]] = {}
    parsed: dict[Any, date] = {}  # a window holds a few dozen days, and rows by the thousand
    for email, model, cents, count, tokens, last_day in per_user_model:
        email, model = str(email), str(model)
        cents, count = float(cents or 0), int(count or 0)
        mine = figures.setdefault(email, [0.0, 0, 0, None])
        mine[0] += cents
        mine[1] += count
        mine[2] += int(tokens or 0)
        day = parsed.get(last_day)
        if day is None:
            day = parsed[last_day] = as_day(last_day)
        mine[3] = day if mine[3] is None or day > mine[3] else mine[3]
        used = models.setdefault(model, [0.0, 0, 0])
        used[0] += cents
        used[1] += count
        used[2] += 1
        candidate = (cents, count, model)
        if email not in top_model or candidate > top_model[email]:
            top_model[email] = candidate
    return WindowUsage(
        users={
            email: UserUsage(
                spend_cents=cents,
                requests=requests,
                tokens=tokens,
                last_active=last,
                top_model=top_model[email][2] if email in top_model else None,
            )
            for email, (cents, requests, tokens, last) in figures.items()
        },
        models={model: ModelUsage(*used) for model, used in models.items()},
        days={day: used for day, used in per_day if day >= start},
        cycle_spend_cents=sum(used.spend_cents for day, used in per_day if day >= cycle_start),
    )


def _cache_key(start: date, today: date, cycle_start: date, conn: Connection) -> tuple[str, str]:
    """The view-cache key of a window and the fingerprint of the data it is summed from."""
    key = f"overview:{(today - start).days + 1}"
    return key, f"{start}:{today}:{cycle_start}:{cache.events_fingerprint(conn)}"


def remembered_usage(
    conn: Connection, start: date, today: date, cycle_start: date
) -> WindowUsage | None:
    """The whole team's figures when the view cache holds them for the same events."""
    key, fingerprint = _cache_key(start, today, cycle_start, conn)
    body = cache.recall(conn, key, fingerprint)
    if body is None:
        return None
    try:
        return WindowUsage.from_cache(body)
    except (ValueError, KeyError, TypeError):
        return None  # written by another version of the tracker: recomputed and replaced


def window_usage(
    conn: Connection,
    start: date,
    today: date,
    cycle_start: date,
    group_id: str | None,
    now: datetime | None = None,
) -> WindowUsage:
    """The window's figures: recalled for the whole team when remembered, else scanned.

    A scan of the whole team is remembered (stamped ``now``) for the next face that asks.
    """
    if group_id is not None:
        return _scan(conn, start, today, cycle_start, group_id)
    recalled = remembered_usage(conn, start, today, cycle_start)
    if recalled is not None:
        return recalled
    usage = _scan(conn, start, today, cycle_start, None)
    key, fingerprint = _cache_key(start, today, cycle_start, conn)
    cache.remember(conn.engine, key, fingerprint, usage.to_cache(), now or datetime.now(UTC))
    return usage


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    is_removed: bool


def people(conn: Connection, scope: Container[str] | None) -> dict[str, Person]:
    """The members listing (within ``scope`` when given), by email."""
    m = t.members
    # Fetched whole (``all``): row by row, SQLAlchemy's per-row overhead would cost more than
    # the query, and the start of the console waits for this one.
    return {
        str(email): Person(str(name or ""), str(role or ""), bool(removed))
        for email, name, role, removed in conn.execute(
            select(m.c.email, m.c.name, m.c.role, m.c.removed_at.is_not(None))
        ).all()
        if scope is None or email in scope
    }


def in_scope(listed: dict[str, Person], usage: WindowUsage) -> list[str]:
    """Members a window's tables list: everyone on the team now, plus anyone (removed since,
    or never listed) whose spend is in the window, so the active figure is always a part of
    the member figure. Ordered by spend, then requests (highest first), then email."""
    on_team = {email for email, person in listed.items() if not person.is_removed}
    emails = on_team | usage.users.keys()

    def order(email: str) -> tuple[float, int, str]:
        used = usage.users.get(email, IDLE)
        return (-used.spend_cents, -used.requests, email)

    return sorted(emails, key=order)
