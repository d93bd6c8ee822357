"""``stats`` and the console's overview agree on every figure both show, on SQLite and PostgreSQL.

The team below is built to reach the edges where two computations of one figure drift
apart: events on the first and last second of the window and just outside it, a member in no
billing group, a removed member who spent in the window, spend from someone the members
listing never named, and a billing cycle that began inside the window (so the cycle's spend
is neither the window's nor the month's).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine

from tracker_core.domain import (
    BillingGroup,
    GroupMembership,
    GroupsSnapshot,
    Member,
    MemberSpend,
    UsageEvent,
    usage_event_id,
    utc_day,
)
from tracker_core.storage import (
    insert_usage_events,
    replace_groups,
    rollups,
    upsert_member_spend,
    upsert_members,
)
from tracker_core.views.overview import Overview, completed_overview, overview
from tracker_core.views.stats import TeamStats, team_stats

TODAY = date(2026, 11, 20)
DAYS = 10
START = TODAY - timedelta(days=DAYS - 1)  # 2026-11-11
CYCLE_START = date(2026, 11, 14)
"""Inside the window: the cycle's spend starts part way through it."""
NEXT_CYCLE = date(2026, 12, 14)
"""Cursor's ``cycleEnd``: the instant the next cycle begins."""
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)

ANA, BEN, CARA, DAN, EVE = (f"{who}@example.test" for who in ("ana", "ben", "cara", "dan", "eve"))
OPUS, SONNET, GPT = "claude-4.1-opus", "claude-4.5-sonnet", "gpt-5"
PLATFORM = "g-platform"


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def event(
    email: str, when: datetime, model: str, cents: float, *, charged: bool = True, tokens: int = 0
) -> UsageEvent:
    fields = {
        "timestamp_ms": int(when.timestamp() * 1000),
        "user_email": email,
        "model": model,
        "kind": "Usage-based",
        "max_mode": False,
        "requests_costs": 1.0,
        "is_token_based_call": True,
        "is_chargeable": True,
        "is_headless": False,
        "input_tokens": tokens,
        "output_tokens": tokens // 2,
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "token_cents": None if charged else float(cents),
        "charged_cents": float(cents) if charged else None,
    }
    ms = int(when.timestamp() * 1000)
    return UsageEvent(id=usage_event_id(**fields), day=utc_day(ms), **fields)  # type: ignore[arg-type]


EVENTS = [
    # Ana (Platform): the window's first second counts, the second before it does not.
    event(ANA, at(START, 0, 0, 0), SONNET, 120, tokens=1000),
    event(ANA, at(START - timedelta(days=1), 23, 59, 59), SONNET, 9000),
    event(ANA, at(CYCLE_START - timedelta(days=1), 23, 59, 59), OPUS, 310, tokens=400),
    event(ANA, at(CYCLE_START, 0, 0, 0), OPUS, 45, tokens=200),
    event(ANA, at(TODAY, 23, 59, 59), GPT, 7, tokens=10),
    # Ben (Platform): model cost only on one event; two models at the same spend.
    event(BEN, at(date(2026, 11, 12), 9), GPT, 50, tokens=300),
    event(BEN, at(date(2026, 11, 12), 10), SONNET, 50, charged=False, tokens=30),
    event(BEN, at(date(2026, 11, 17), 8), GPT, 12.5),
    # Cara was removed, but spent in the window (and after the cycle began).
    event(CARA, at(date(2026, 11, 15)), OPUS, 205, tokens=50),
    # Dan is in no group and idle; Eve was never listed but spent.
    event(EVE, at(date(2026, 11, 18), 3), SONNET, 33, tokens=70),
    # Tomorrow's event (a clock ahead somewhere) is outside the window.
    event(EVE, at(TODAY + timedelta(days=1), 0, 0, 0), SONNET, 4000),
]


@pytest.fixture(params=["from-events", "from-rollup"])
def team(db_engine: Engine, request: pytest.FixtureRequest) -> Engine:
    with db_engine.begin() as conn:
        upsert_members(
            conn,
            [Member(ANA, "Ana Silva", "owner"), Member(BEN, "", "member"), Member(DAN, "Dan", "")],
            seen_at=NOW,
        )
        upsert_members(conn, [Member(CARA, "Cara Diaz", "member", is_removed=True)], seen_at=NOW)
        insert_usage_events(conn, EVENTS)
        upsert_member_spend(conn, [MemberSpend(ANA, CYCLE_START)], collected_at=NOW)
        replace_groups(
            conn,
            GroupsSnapshot(
                groups=(BillingGroup(PLATFORM, "Platform"),),
                memberships=(
                    GroupMembership(PLATFORM, ANA),
                    GroupMembership(PLATFORM, BEN),
                    GroupMembership(PLATFORM, CARA),
                ),
                cycle_start=CYCLE_START,
                cycle_end=NEXT_CYCLE,
            ),
            collected_at=NOW,
        )
    if request.param == "from-rollup":
        assert rollups.refresh(db_engine) > 0
    return db_engine


def both(conn: Connection, group_id: str | None = None) -> tuple[TeamStats, Overview]:
    stats = team_stats(conn, days=DAYS, today=TODAY, group_id=group_id, now=NOW)
    view = overview(conn, days=DAYS, today=TODAY, group_id=group_id, now=NOW)
    return stats, view


def assert_agree(stats: TeamStats, view: Overview) -> None:
    assert (stats.start, stats.end, stats.days) == (view.start, view.end, view.days)
    assert stats.total_spend_cents == pytest.approx(view.spend_cents)
    assert (stats.requests, stats.tokens) == (view.requests, view.tokens)
    assert (stats.active_members, stats.members) == (view.active_members, view.total_members)
    assert [(d.day, d.spend_cents) for d in stats.daily] == [
        (d.day, pytest.approx(d.spend_cents)) for d in view.daily_spend
    ]
    assert [
        (u.email, u.name, u.spend_cents, u.requests, u.tokens, u.top_model) for u in stats.users
    ] == [
        (r.email, r.name, pytest.approx(r.spend_cents), r.requests, r.tokens, r.top_model)
        for r in view.members
    ]
    assert (stats.cycle_start, stats.cycle_spend_cents) == (
        view.cycle.start,
        pytest.approx(view.cycle.spend_cents),
    )
    # Cursor's cycleEnd is the next cycle's first instant; the overview shows the last day.
    assert stats.cycle_end == view.cycle.end + timedelta(days=1)
    # The JSON forms too: the daemon's /api/stats and /api/team-spend.
    as_json = stats.to_json()
    assert [{"day": d["day"], "spend": d["spend"]} for d in as_json["daily"]] == (
        view.team_spend_json()
    )
    assert as_json["total_spend"] == view.to_json()["spend"]
    assert as_json["cycle"]["spend"] == view.to_json()["cycle"]["spend"]


def test_stats_and_overview_agree_on_the_whole_team(team: Engine) -> None:
    with team.connect() as conn:
        cold = both(conn)
        remembered = both(conn)  # the second pair reads the view cache

    for stats, view in (cold, remembered):
        assert_agree(stats, view)
    stats, view = cold
    # Worked by hand, so agreeing on a wrong figure fails too.
    in_window = 120 + 310 + 45 + 7 + 50 + 50 + 12.5 + 205 + 33
    assert stats.total_spend_cents == pytest.approx(in_window)
    assert stats.cycle_spend_cents == pytest.approx(45 + 7 + 12.5 + 205 + 33)
    assert (stats.active_members, stats.members) == (4, 5)  # Dan idle; Eve never listed
    assert [u.email for u in stats.users] == [ANA, CARA, BEN, EVE, DAN]
    assert stats.requests == 9
    assert (view.cycle.end, view.cycle.day, view.cycle.length) == (date(2026, 12, 13), 7, 30)
    assert remembered[1] == view and remembered[0] == stats


def test_stats_and_overview_agree_on_a_group(team: Engine) -> None:
    with team.connect() as conn:
        stats, view = both(conn, PLATFORM)

    assert_agree(stats, view)
    # Platform: Ana, Ben and (removed) Cara; Dan and Eve are in no group.
    assert [u.email for u in stats.users] == [ANA, CARA, BEN]
    assert stats.total_spend_cents == pytest.approx(120 + 310 + 45 + 7 + 50 + 50 + 12.5 + 205)


@pytest.mark.parametrize("group_id", [None, PLATFORM])
def test_a_hurried_overview_completed_is_the_full_one(team: Engine, group_id: str | None) -> None:
    """The console's cold start paints a hurried overview, then completes it (the forecast)
    rather than reading it all again: the result is the overview, figure for figure."""
    with team.connect() as conn:
        first = overview(conn, days=DAYS, today=TODAY, group_id=group_id, now=NOW, hurried=True)
        assert first.pending and first.forecast is None
        completed = completed_overview(conn, first, now=NOW)
        full = overview(conn, days=DAYS, today=TODAY, group_id=group_id, now=NOW)
        assert completed_overview(conn, completed, now=NOW) is completed  # nothing to add
    assert not completed.pending and completed.forecast is not None
    assert any(row.badges for row in completed.members)
    assert completed == full
