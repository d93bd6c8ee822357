"""What the console's screens (and the daemon's pages) show, read from the database.

One function per screen area, each returning plain frozen dataclasses, so the TUI and the
HTTP daemon are thin faces on the same figures and never write SQL of their own. Spend is the
product's single definition (``queries.SPEND_CENTS``): usage events' charged cents. Money is
in cents until a face formats it; days are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Connection


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
    """Last day of the cycle (Cursor's when known, else the day before the next month)."""
    day: int
    """Today's 1-based day number in the cycle."""
    length: int
    spend_cents: float
    projected_cents: float
    """Spend so far scaled to the whole cycle at the pace so far."""


@dataclass(frozen=True)
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
    """(version, users, percentage) on the latest day that has any, by users."""
    has_analytics: bool
    """False when no Analytics API data is stored: the screen says what to collect."""


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


