"""The insights: adoption from the Analytics API tables, efficiency from the events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from tracker_core.cycle import as_day, current_cycle
from tracker_core.storage import rollups
from tracker_core.storage import tables as t
from tracker_core.views._shared import dollars, each_day, iso_day, window_start
from tracker_core.views.exhaustion import PlanExhaustion, plan_exhaustion


def rate(cents: float) -> float:
    """A cost per unit (request, line) in dollars: often a fraction of a cent, so kept to a
    hundredth of a cent rather than rounded to cents as amounts are."""
    return round(cents / 100.0, 4)


ADOPTION_MODELS = 6
"""Models the adoption chart follows (most messages first)."""


@dataclass(frozen=True)
class DailyCount:
    day: date
    count: int

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "count": self.count}


@dataclass(frozen=True)
class ModelAdoption:
    """Messages to one model per day over the window, zero-filled."""

    model: str
    daily: list[DailyCount]

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "daily": [day.to_json() for day in self.daily]}


@dataclass(frozen=True)
class ModelEfficiency:
    model: str
    spend_cents: float
    requests: int
    cents_per_request: float

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "spend": dollars(self.spend_cents),
            "requests": self.requests,
            "spend_per_request": rate(self.cents_per_request),
        }


@dataclass(frozen=True)
class McpToolUse:
    tool: str
    server: str
    uses: int

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "server": self.server, "uses": self.uses}


@dataclass(frozen=True)
class FileExtension:
    extension: str
    files: int
    lines_accepted: int

    def to_json(self) -> dict[str, Any]:
        return {
            "extension": self.extension,
            "files": self.files,
            "lines_accepted": self.lines_accepted,
        }


@dataclass(frozen=True)
class ClientVersion:
    version: str
    users: int
    share: float
    """As the API reports it: a fraction of 1 (some sources give percents)."""

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "users": self.users, "share": self.share}


@dataclass(frozen=True)
class Insights:
    """Adoption and efficiency over the window; every list is in the order it is shown."""

    days: int
    start: date
    end: date
    dau: list[DailyCount]
    """Daily active users, zero-filled over the window."""
    model_adoption: list[ModelAdoption]
    """The top models by messages over the window, most first."""
    model_efficiency: list[ModelEfficiency]
    """From usage events, by spend, highest first."""
    accepted_lines: int
    """Lines accepted (agent edits plus tabs) over the window."""
    cents_per_accepted_line: float | None
    mcp_tools: list[McpToolUse]
    """Most used first."""
    file_extensions: list[FileExtension]
    """By lines accepted, highest first."""
    client_versions: list[ClientVersion]
    """On ``client_versions_day``, by users, most first."""
    has_analytics: bool
    """False when no Analytics API data is stored: the screen says what to collect."""
    client_versions_day: date | None = None
    """The day the versions are counted on: the latest complete (UTC) day in the window that
    has any, or today, partial, when no earlier day does; None without any."""
    plan_exhaustion: PlanExhaustion | None = None
    """Who ran out of included usage this billing cycle (the cycle, whatever the window)."""

    @property
    def client_versions_partial(self) -> bool:
        """True when the versions are today's, a day still under way (and under-counted)."""
        return self.client_versions_day is not None and self.client_versions_day >= self.end

    def to_json(self) -> dict[str, Any]:
        """The daemon's ``/api/analytics``."""
        per_line = self.cents_per_accepted_line
        return {
            "days": self.days,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "has_analytics": self.has_analytics,
            "dau": [day.to_json() for day in self.dau],
            "model_adoption": [model.to_json() for model in self.model_adoption],
            "model_efficiency": [model.to_json() for model in self.model_efficiency],
            "accepted_lines": self.accepted_lines,
            "spend_per_accepted_line": None if per_line is None else rate(per_line),
            "mcp_tools": [tool.to_json() for tool in self.mcp_tools],
            "file_extensions": [ext.to_json() for ext in self.file_extensions],
            "client_versions": [version.to_json() for version in self.client_versions],
            "client_versions_day": iso_day(self.client_versions_day),
            "client_versions_partial": self.client_versions_partial,
            "plan_exhaustion": (
                None if self.plan_exhaustion is None else self.plan_exhaustion.to_json()
            ),
        }


@dataclass(frozen=True)
class _Value:
    """One stored Analytics value."""

    day: date
    dimension: str
    subdimension: str
    field: str
    value: float


def _analytics(
    conn: Connection, metric: str, fields: Sequence[str], start: date, end: date
) -> list[_Value]:
    """One Analytics metric's values over a window."""
    av = t.analytics_values
    rows = conn.execute(
        select(av.c.day, av.c.dimension, av.c.subdimension, av.c.field, av.c.value).where(
            av.c.metric == metric, av.c.field.in_(fields), av.c.day.between(start, end)
        )
    )
    return [
        _Value(as_day(day), str(dim), str(sub), str(name), float(value or 0))
        for day, dim, sub, name, value in rows
    ]


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


def _efficiency(conn: Connection, start: date, today: date) -> list[ModelEfficiency]:
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
    return efficiency


def insights(conn: Connection, *, days: int, today: date) -> Insights:
    """Adoption from the Analytics API tables, efficiency from the events, over the window.

    Client versions are a snapshot, not a sum: the latest complete day within the window
    that has any is shown (today's only when no earlier day has any), and named. The
    Analytics tables are small (a few rows per day), so they are read as rows and summed
    here; the events' spend comes from their rollup.
    """
    start = window_start(days, today)
    window = each_day(start, days)

    dau_by_day: dict[date, float] = defaultdict(float)
    for row in _analytics(conn, "dau", ["dau"], start, today):
        dau_by_day[row.day] += row.value

    messages: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for row in _analytics(conn, "models", ["messages"], start, today):
        messages[row.dimension][row.day] += row.value
    top_models = sorted(messages, key=lambda model: (-sum(messages[model].values()), model))

    accepted = sum(
        row.value
        for metric in ("agent-edits", "tabs")
        for row in _analytics(conn, metric, ["total_lines_accepted"], start, today)
    )

    mcp: dict[tuple[str, str], float] = defaultdict(float)
    for row in _analytics(conn, "mcp", ["usage"], start, today):
        mcp[(row.dimension, row.subdimension)] += row.value
    tools = [McpToolUse(tool, server, round(uses)) for (tool, server), uses in mcp.items()]
    tools.sort(key=lambda use: (-use.uses, use.tool, use.server))

    files: dict[str, float] = defaultdict(float)
    lines: dict[str, float] = defaultdict(float)
    ext_fields = ["total_files", "total_lines_accepted"]
    for row in _analytics(conn, "top-file-extensions", ext_fields, start, today):
        (files if row.field == "total_files" else lines)[row.dimension] += row.value
    extensions = [
        FileExtension(ext, round(files[ext]), round(lines[ext])) for ext in files.keys() | lines
    ]
    extensions.sort(key=lambda ext: (-ext.lines_accepted, ext.extension))

    users: dict[str, float] = defaultdict(float)
    shares: dict[str, float] = defaultdict(float)
    version_rows = _analytics(conn, "client-versions", ["user_count", "percentage"], start, today)
    latest = _snapshot_day({row.day for row in version_rows}, today)
    for row in version_rows:
        if row.day == latest:
            (users if row.field == "user_count" else shares)[row.dimension] += row.value
    versions = [
        ClientVersion(version, round(users[version]), shares[version])
        for version in users.keys() | shares
    ]
    versions.sort(key=lambda version: (-version.users, version.version))

    efficiency = _efficiency(conn, start, today)
    spend = sum(row.spend_cents for row in efficiency)
    accepted_lines = round(accepted)

    has_analytics = conn.execute(select(t.analytics_values.c.metric).limit(1)).first() is not None
    return Insights(
        days=days,
        start=start,
        end=today,
        dau=[DailyCount(day, round(dau_by_day.get(day, 0))) for day in window],
        model_adoption=[
            ModelAdoption(
                model, [DailyCount(day, round(messages[model].get(day, 0))) for day in window]
            )
            for model in top_models[:ADOPTION_MODELS]
        ],
        model_efficiency=efficiency,
        accepted_lines=accepted_lines,
        cents_per_accepted_line=spend / accepted_lines if accepted_lines else None,
        mcp_tools=tools,
        file_extensions=extensions,
        client_versions=versions,
        has_analytics=has_analytics,
        client_versions_day=latest,
        plan_exhaustion=plan_exhaustion(conn, current_cycle(conn, today), today),
    )
