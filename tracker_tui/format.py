"""Pure text formatting for the console: money, counts, ages (no Textual, easy to test)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

STALE_AFTER = timedelta(hours=2)
"""Data older than this is shown in the warning style: hourly collection has stalled."""


def money(cents: float) -> str:
    """``$1,234.56``: exact enough for a table cell."""
    return f"${cents / 100:,.2f}"


def money_short(cents: float) -> str:
    """``$1.2k``: for tiles and chart ticks where width is scarce."""
    dollars = cents / 100
    if abs(dollars) >= 1_000_000:
        return f"${dollars / 1_000_000:.1f}M"
    if abs(dollars) >= 10_000:
        return f"${dollars / 1000:.0f}k"
    if abs(dollars) >= 1000:
        return f"${dollars / 1000:.1f}k"
    return f"${dollars:,.0f}"


def column_counts(values: Sequence[int]) -> list[str]:
    """A table column of counts, all in the unit of its largest value.

    ``1.0M`` above ``956,182`` reads as the smaller figure, and eyes compare a column by the
    length of its numbers: one unit per column (``0.9M`` under ``1.0M``) keeps the order
    visible. Below a million the counts are exact.
    """
    top = max((abs(value) for value in values), default=0)
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M")):
        if top >= size:
            return [f"{value / size:.1f}{suffix}" for value in values]
    return [f"{value:,}" for value in values]


def count(value: int) -> str:
    """``12,345`` under a million, ``1.2M`` above, for a tile or an axis tick (never a column)."""
    if abs(value) >= 1_000_000_000:
        return f"{value / 1_000_000_000:.1f}B"
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    return f"{value:,}"


def day(value: date | None) -> str:
    """ISO day or a dash, so empty cells still align."""
    return "—" if value is None else value.isoformat()


def instant(value: datetime | None) -> str:
    """``2026-11-20 14:05 UTC`` or a dash: incident timelines are read in UTC."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def age(since: datetime | None, now: datetime) -> str:
    """``collected 12 minutes ago``; the stamp at the top of every screen."""
    if since is None:
        return "never collected"
    seconds = max(0.0, (now - since).total_seconds())
    minutes = int(seconds // 60)
    if minutes < 1:
        return "collected just now"
    if minutes < 120:
        return f"collected {minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    if hours < 48:
        return f"collected {hours} hours ago"
    return f"collected {hours // 24} days ago"


def is_stale(since: datetime | None, now: datetime) -> bool:
    """Never collected, or longer ago than :data:`STALE_AFTER`."""
    return since is None or now - since > STALE_AFTER
