"""A three-member organisation written straight into a database: the budget tests' data.

Ana and Bo are in Platform, Cy in no group; each has Cursor's spend figure for the cycle
that started ``CYCLE_DAYS_AGO`` days before ``today``, so the figures are exact. Usage events
(one a day, at noon, for the weeks before ``today``) give the forecast a daily rate to learn;
without them a member is forecast to spend nothing more.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from tracker_core.domain import (
    BillingGroup,
    GroupMembership,
    GroupsSnapshot,
    Member,
    MemberSpend,
    UsageEvent,
)
from tracker_core.storage import (
    insert_usage_events,
    replace_groups,
    upsert_member_spend,
    upsert_members,
)

CYCLE_DAYS_AGO = 17
"""Today is day 18 of the cycle."""
HISTORY_DAYS = 42
"""Days of usage events before today (the forecast learns from the last 28)."""
PLATFORM = "grp_platform"
SPEND_CENTS = {"ana@example.test": 90_000.0, "bo@example.test": 74_000.0, "cy@example.test": 0.0}
NAMES = {"ana@example.test": "Ana Silva", "bo@example.test": "Bo Chen", "cy@example.test": "Cy"}


def cycle_start(today: date) -> date:
    return today - timedelta(days=CYCLE_DAYS_AGO)


def seed(
    engine: Engine,
    today: date,
    spend: dict[str, float] | None = None,
    daily_cents: dict[str, float] | None = None,
) -> None:
    """Members, Platform and this cycle's spend (``spend`` replaces the default figures);
    ``daily_cents`` stores each member's usage of that much every day before today."""
    start = cycle_start(today)
    at = datetime(today.year, today.month, today.day, tzinfo=UTC)
    figures = {**SPEND_CENTS, **(spend or {})}
    with engine.begin() as conn:
        upsert_members(conn, [Member(email, NAMES[email], "member") for email in NAMES], seen_at=at)
        upsert_member_spend(
            conn,
            [
                MemberSpend(email, start, name=NAMES[email], spend_cents=cents)
                for email, cents in figures.items()
            ],
            collected_at=at,
        )
        insert_usage_events(conn, daily_events(today, daily_cents or {}))
        replace_groups(
            conn,
            GroupsSnapshot(
                groups=(BillingGroup(PLATFORM, "Platform", member_count=2),),
                memberships=(
                    GroupMembership(PLATFORM, "ana@example.test", name="Ana Silva"),
                    GroupMembership(PLATFORM, "bo@example.test", name="Bo Chen"),
                ),
                cycle_start=start,
                cycle_end=start + timedelta(days=30),
            ),
            collected_at=at,
        )


def daily_events(today: date, daily_cents: dict[str, float]) -> list[UsageEvent]:
    events = []
    for email, cents in daily_cents.items():
        for back in range(1, HISTORY_DAYS + 1):
            day = today - timedelta(days=back)
            noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
            events.append(
                UsageEvent(
                    id=f"{email}-{day}",
                    timestamp_ms=int(noon.timestamp() * 1000),
                    user_email=email,
                    model="claude-4-sonnet",
                    kind="Usage-based",
                    day=day,
                    charged_cents=cents,
                )
            )
    return events
