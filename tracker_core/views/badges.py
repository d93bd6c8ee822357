"""The badges of a window: the stored figures :mod:`tracker_core.badges` needs, read once.

The cut-offs are relative to the whole team (a group filter narrows the rows a face shows,
not the population a member is compared with), so a member wears the same badges on every
face and under every filter. Two reads feed them:

* daily usage, grouped by member and most used model (small: a row per member and day);
* the usage events that read the cache, summed per member (a scan of the window's events,
  so its result is remembered in the view cache until the events change, like the
  overview's own figures).

Spend per member comes from the window's figures every face already has
(``_shared.window_usage``), so a badge's spend is the spend the table shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, case, func, select

from tracker_core.badges import (
    MemberActivity,
    MemberBadges,
    TeamNorms,
    Tier,
    member_badges,
    most_used_model,
    tier_counts,
)
from tracker_core.cycle import current_cycle
from tracker_core.storage import cache, rollups
from tracker_core.storage import tables as t
from tracker_core.views._shared import WindowUsage, window_usage

CacheReads = dict[str, tuple[int, int]]
"""Email -> (cache-read tokens, requests that read the cache) over the window."""


@dataclass(frozen=True)
class WindowBadges:
    """Every member's badge inputs over a window, with the team's cut-offs."""

    period_days: int
    norms: TeamNorms
    activity: dict[str, MemberActivity]
    """Members with daily usage or spend in the window."""

    def of(self, email: str) -> MemberBadges:
        """A member's badges; one without activity in the window has Low Usage only."""
        member = self.activity.get(email) or MemberActivity(email, 0, 0.0, 0, 0, 0)
        return member_badges(member, self.norms, self.period_days)

    def tier_counts(self, emails: Iterable[str] | None = None) -> dict[Tier, int]:
        """Members per adoption tier (of ``emails``, else of everyone active)."""
        chosen = self.activity if emails is None else emails
        return tier_counts({email: self.of(email) for email in chosen})


def _cache_key(start: date, today: date, conn: Connection) -> tuple[str, str]:
    return (
        f"cache-reads:{(today - start).days + 1}",
        f"{start}:{today}:{cache.events_fingerprint(conn)}",
    )


def _scan_cache_reads(conn: Connection, start: date, today: date) -> CacheReads:
    """The window's cache reads per member from the member-day rollup, and from the events
    for the days it has not summed yet (a row per member and day instead of per event)."""
    days = rollups.summed_by_member(conn, start, today)
    rows = conn.execute(
        select(days.c.user_email, func.sum(days.c.cache_read_tokens), func.sum(days.c.cache_reads))
        .where(days.c.cache_reads > 0)
        .group_by(days.c.user_email)
    ).all()
    return {str(email): (int(tokens or 0), int(count)) for email, tokens, count in rows}


def remembered_cache_reads(conn: Connection, start: date, today: date) -> CacheReads | None:
    """The window's cache reads when the view cache holds them for the same events."""
    key, fingerprint = _cache_key(start, today, conn)
    body = cache.recall(conn, key, fingerprint)
    if body is None:
        return None
    try:
        return {
            str(email): (int(tokens), int(count))
            for email, (tokens, count) in json.loads(body).items()
        }
    except (ValueError, TypeError, AttributeError):
        return None  # written by another version: recomputed and replaced


def cache_reads(conn: Connection, start: date, today: date, now: datetime) -> CacheReads:
    """The window's cache reads, recalled when remembered, else scanned and remembered."""
    recalled = remembered_cache_reads(conn, start, today)
    if recalled is not None:
        return recalled
    scanned = _scan_cache_reads(conn, start, today)
    key, fingerprint = _cache_key(start, today, conn)
    body = json.dumps({email: list(pair) for email, pair in scanned.items()})
    cache.remember(conn.engine, key, fingerprint, body, now)
    return scanned


def window_badges(
    conn: Connection, start: date, today: date, team: WindowUsage, reads: CacheReads
) -> WindowBadges:
    """The badges of the window from ``start`` to ``today``; ``team`` is the whole team's
    window figures (not a group's: the cut-offs are the team's)."""
    du = t.daily_usage
    active = case((du.c.agent_requests > 0, 1), else_=0)
    rows = conn.execute(
        select(
            du.c.email,
            du.c.most_used_model,
            func.coalesce(func.sum(du.c.agent_requests), 0),
            func.coalesce(func.sum(du.c.total_accepts), 0),
            func.coalesce(func.sum(du.c.total_applies), 0),
            func.coalesce(func.sum(active), 0),
            func.count(),
        )
        .where(du.c.day.between(start, today))
        .group_by(du.c.email, du.c.most_used_model)
    ).all()
    sums: dict[str, list[int]] = {}
    models: dict[str, list[tuple[str | None, int, int]]] = {}
    for email, model, requests, accepts, applies, days, named in rows:
        mine = sums.setdefault(str(email), [0, 0, 0, 0])
        mine[0] += int(requests)
        mine[1] += int(accepts)
        mine[2] += int(applies)
        mine[3] += int(days)
        # Each day names one model, so a model's rows count its days; its requests are those
        # days' agent requests (Cursor reports no split per model).
        models.setdefault(str(email), []).append((model, int(requests), int(named)))
    activity: dict[str, MemberActivity] = {}
    for email in sums.keys() | team.users.keys():
        requests, accepts, applies, days = sums.get(email, [0, 0, 0, 0])
        tokens, reading = reads.get(email, (0, 0))
        used = team.users.get(email)
        activity[email] = MemberActivity(
            email=email,
            agent_requests=requests,
            spend_cents=used.spend_cents if used is not None else 0.0,
            active_days=days,
            accepts=accepts,
            applies=applies,
            model=most_used_model(models.get(email, [])),
            cache_read_tokens=tokens,
            cache_read_requests=reading,
        )
    period = (today - start).days + 1
    return WindowBadges(period, TeamNorms.of(activity.values()), activity)


def read_badges(
    conn: Connection,
    start: date,
    today: date,
    now: datetime,
    *,
    team: WindowUsage | None = None,
) -> WindowBadges:
    """Every member's badges from ``start`` to ``today`` (a window, or a cycle so far).

    ``team`` is the whole team's window figures when the caller has them already; without
    them they are read (remembered by the view cache for the common windows).
    """
    if team is None:
        team = window_usage(conn, start, today, current_cycle(conn, today).start, None, now)
    return window_badges(conn, start, today, team, cache_reads(conn, start, today, now))
