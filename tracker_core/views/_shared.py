"""What the views share: the window, group scopes, memberships and the events' figures.

The events are the only large table, so one module reads them (:func:`window_usage`) and
every view that shows a figure of the window (``stats``, the overview, the daemon's team
spend and model costs) is built from what it returns: the same figure cannot come out
differently on two faces. The whole team's result is remembered in the view cache
(``storage.cache``) until the events change.
"""

from __future__ import annotations

import json
from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, literal, null, select, union_all

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
    """The model the member spent most on (then used most, then the first by name)."""


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


def _by_code_point(column: ColumnElement[str], conn: Connection) -> ColumnElement[str]:
    """``column`` compared character by character, as Python compares strings: SQLite's
    default collation does; PostgreSQL's follows the database's locale unless told."""
    return column.collate("C") if conn.dialect.name == "postgresql" else column


def _member_and_model_sums(
    conn: Connection, start: date, today: date, group_id: str | None
) -> Sequence[Any]:
    """The window's sums per member (with their top model) and per model, in one statement.

    Rows of (is_model, email or model, top model, spend, requests, tokens or users, last
    day). Both kinds are sums of the same per-member-and-model sums, which the database
    adds up once and keeps for both; the members' top model is picked there too, so a team
    of thousands returns a row per member, not one per member and model.
    """
    window = rollups.summed_by_week(conn, start, today)
    pairs = (
        select(
            window.c.user_email.label("email"),
            window.c.model.label("model"),
            func.sum(window.c.spend_cents).label("spend"),
            func.sum(window.c.requests).label("requests"),
            func.sum(window.c.tokens).label("tokens"),
            func.max(window.c.day).label("last_day"),
        )
        .where(*group_scope(window.c.user_email, group_id))
        .group_by(window.c.user_email, window.c.model)
        .cte("pairs")
    )
    member = pairs.c.email
    ranked = select(
        pairs.c.email,
        pairs.c.model,
        func.sum(pairs.c.spend).over(partition_by=member).label("spend"),
        func.sum(pairs.c.requests).over(partition_by=member).label("requests"),
        func.sum(pairs.c.tokens).over(partition_by=member).label("tokens"),
        func.max(pairs.c.last_day).over(partition_by=member).label("last_day"),
        # The top model: most spend, then most requests, then the first by name, as the
        # detection's top model and the badges' most used model break their ties.
        func.row_number()
        .over(
            partition_by=pairs.c.email,
            order_by=(
                func.coalesce(pairs.c.spend, 0).desc(),
                func.coalesce(pairs.c.requests, 0).desc(),
                _by_code_point(pairs.c.model, conn),
            ),
        )
        .label("place"),
    ).subquery("ranked")
    members = select(
        literal(False).label("is_model"),
        ranked.c.email.label("name"),
        ranked.c.model.label("top_model"),
        ranked.c.spend,
        ranked.c.requests,
        ranked.c.tokens.label("count"),
        ranked.c.last_day,
    ).where(ranked.c.place == 1)
    models = select(
        literal(True).label("is_model"),
        pairs.c.model.label("name"),
        null().label("top_model"),
        func.sum(pairs.c.spend),
        func.sum(pairs.c.requests),
        func.count().label("count"),
        null().label("last_day"),
    ).group_by(pairs.c.model)
    return conn.execute(union_all(members, models)).all()


def _scan(
    conn: Connection, start: date, today: date, cycle_start: date, group_id: str | None
) -> WindowUsage:
    """Two grouped queries over the window (and the cycle's days); nothing per member.

    They read the usage rollup (``storage.rollups``): the per-member sums its whole weeks
    where it can, the per-day sums its days.
    """
    users: dict[str, UserUsage] = {}
    models: dict[str, ModelUsage] = {}
    parsed: dict[Any, date] = {}  # a window holds a few dozen days, and rows by the thousand
    for is_model, name, top, cents, count, tokens, last_day in _member_and_model_sums(
        conn, start, today, group_id
    ):
        if is_model:
            models[str(name)] = ModelUsage(float(cents or 0), int(count or 0), int(tokens))
            continue
        day = parsed.get(last_day)
        if day is None:
            day = parsed[last_day] = as_day(last_day)
        users[str(name)] = UserUsage(
            spend_cents=float(cents or 0),
            requests=int(count or 0),
            tokens=int(tokens or 0),
            last_active=day,
            top_model=str(top),
        )
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
    return WindowUsage(
        users=users,
        models=models,
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
