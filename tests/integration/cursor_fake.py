"""A stand-in Cursor that answers every collected endpoint with payloads a test chooses.

The simulator only serves organisations it can generate; hostile answers (token counts of
2^63, NUL in names, NaN charges) need a server that sends exactly what it is given. It is a
real HTTP server (tests/cursor_api/servers.py), so the client parses real bodies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.cursor_api.servers import KEY, Handler, Seen, error, reply, serve
from tracker_core.collector import CollectionSummary, SilentProgress
from tracker_core.config import CollectorSettings, CursorSettings, DatabaseSettings, Settings
from tracker_core.cursor_api.schemas import SUPPORTED_ANALYTICS_METRICS
from tracker_core.jobs.collect import collect_once


@dataclass
class Answers:
    """What the fake Cursor answers; change the fields between collections."""

    members: list[Any] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    daily: list[Any] = field(default_factory=list)
    spend: list[Any] = field(default_factory=list)
    groups: list[Any] = field(default_factory=list)
    analytics: list[Any] = field(default_factory=list)
    """Rows of ``/analytics/team/dau``; the other metrics answer no rows."""
    cycle_start_ms: int = 1_767_225_600_000
    refusals: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Paths answered with an error instead: ``{path: (status, message)}``."""
    asked: list[str] = field(default_factory=list)
    """The path of every request received, in order."""


def _routes(answers: Answers) -> dict[tuple[str, str], Handler]:
    def answer(make: Any) -> Handler:
        async def handle(seen: Seen) -> web.StreamResponse:
            answers.asked.append(seen.path)
            if seen.path in answers.refusals:
                status, message = answers.refusals[seen.path]
                return error(status, message)
            return reply(make())

        return handle

    page = {"hasNextPage": False}
    routes: dict[tuple[str, str], Handler] = {
        ("GET", "/teams/members"): answer(lambda: {"teamMembers": answers.members}),
        ("POST", "/teams/filtered-usage-events"): answer(
            lambda: {"usageEvents": answers.events, "pagination": page}
        ),
        ("POST", "/teams/daily-usage-data"): answer(
            lambda: {"data": answers.daily, "pagination": page}
        ),
        ("POST", "/teams/spend"): answer(
            lambda: {
                "teamMemberSpend": answers.spend,
                "subscriptionCycleStart": answers.cycle_start_ms,
                "totalPages": 1,
            }
        ),
        ("GET", "/teams/groups"): answer(lambda: {"groups": answers.groups}),
    }
    for metric in SUPPORTED_ANALYTICS_METRICS:
        rows = (lambda: answers.analytics) if metric == "dau" else (lambda: [])
        routes[("GET", f"/analytics/team/{metric}")] = answer(lambda rows=rows: {"data": rows()})
    return routes


def settings_for(api_url: str, db_url: str) -> Settings:
    return Settings(
        cursor=CursorSettings.model_validate(
            {
                "admin_api_key": KEY,
                "api_url": api_url,
                "max_attempts": 1,
                "admin_requests_per_minute": 10_000,
                "analytics_requests_per_minute": 10_000,
            }
        ),
        database=DatabaseSettings(url=db_url),
        collector=CollectorSettings(backfill_days=2, events_window_days=7),
    )


@asynccontextmanager
async def fake_cursor(answers: Answers) -> AsyncIterator[str]:
    """Serve ``answers`` on a free loopback port; yields the base URL."""
    async with serve(_routes(answers)) as (url, _):
        yield url


async def collect(api_url: str, db_url: str) -> CollectionSummary:
    """One collection pass from the fake into ``db_url``, as ``cursor-tracker collect`` runs it."""
    return await collect_once(settings_for(api_url, db_url), SilentProgress())
