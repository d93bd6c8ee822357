"""The console's pure formatting: the data-age stamp and money."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracker_tui.format import age, is_stale, money, money_short

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minutes", "text", "stale"),
    [
        (0, "collected just now", False),
        (1, "collected 1 minute ago", False),
        (12, "collected 12 minutes ago", False),
        (119, "collected 119 minutes ago", False),
        (120, "collected 2 hours ago", False),
        (121, "collected 2 hours ago", True),
        (60 * 72, "collected 3 days ago", True),
    ],
)
def test_age_and_staleness(minutes: int, text: str, stale: bool) -> None:
    since = NOW - timedelta(minutes=minutes)
    assert age(since, NOW) == text
    assert is_stale(since, NOW) is stale


def test_never_collected_is_stale() -> None:
    assert age(None, NOW) == "never collected"
    assert is_stale(None, NOW)


def test_money() -> None:
    assert money(123456) == "$1,234.56"
    assert money_short(123456) == "$1.2k"
    assert money_short(4_200_000) == "$42k"
    assert money_short(999) == "$10"
