"""A three-member organisation written straight into a database: the budget tests' data.

Ana and Bo are in Platform, Cy in no group; each has Cursor's spend figure for the cycle
that started ``CYCLE_DAYS_AGO`` days before ``today``, so the figures are exact.
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
)
from tracker_core.storage import replace_groups, upsert_member_spend, upsert_members

CYCLE_DAYS_AGO = 17
"""Today is day 18 of the cycle."""
PLATFORM = "grp_platform"
SPEND_CENTS = {"ana@example.test": 90_000.0, "bo@example.test": 74_000.0, "cy@example.test": 0.0}
NAMES = {"ana@example.test": "Ana Silva", "bo@example.test": "Bo Chen", "cy@example.test": "Cy"}


def cycle_start(today: date) -> date:
    return today - timedelta(days=CYCLE_DAYS_AGO)


def seed(engine: Engine, today: date, spend: dict[str, float] | None = None) -> None:
    """Members, Platform and this cycle's spend (``spend`` replaces the default figures)."""
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
