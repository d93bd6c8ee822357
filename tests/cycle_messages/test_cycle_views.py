"""Plan exhaustion, members limited and the cycle summary on a real database (both dialects).

The figures are worked out by hand in ``tests/cycle_messages/team.py``.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, delete, update

from tests.cycle_messages.team import ANA, BEN, CARA, CYCLE, LAST_CYCLE, TODAY, store_team
from tracker_core.alerting.cycle_messages import change_text
from tracker_core.badges import Tier
from tracker_core.cycle import current_cycle
from tracker_core.storage import tables as t
from tracker_core.views.cycle_summary import (
    change_percent,
    cycle_summary,
    days_remaining,
    previous_cycle_start,
)
from tracker_core.views.exhaustion import exhaustion_stats, members_limited, plan_exhaustion
from tracker_core.views.insights import insights


def test_exhaustion_stats_bucket_every_edge() -> None:
    stats = exhaustion_stats([1, 3, 4, 7, 8, 14, 15, 30])
    assert [(b.label, b.members) for b in stats.buckets] == [
        ("Day 1-3", 2),
        ("Day 4-7", 2),
        ("Day 8-14", 2),
        ("Day 15+", 2),
    ]
    assert stats.average_day == 10.2
    assert stats.median_day == 7.5
    empty = exhaustion_stats([])
    assert (empty.average_day, empty.median_day) == (None, None)
    assert [b.members for b in empty.buckets] == [0, 0, 0, 0]


def test_cycle_arithmetic() -> None:
    assert previous_cycle_start(date(2026, 11, 1)) == date(2026, 10, 1)
    assert previous_cycle_start(date(2026, 1, 15)) == date(2025, 12, 15)
    assert previous_cycle_start(date(2026, 3, 31)) == date(2026, 2, 28)
    assert change_percent(4500, 6000) == -25
    assert change_percent(6600, 6000) == 10
    assert change_percent(100, 0) is None


@pytest.mark.parametrize(
    ("change", "shown"),
    [(12, " (+12% ↑)"), (-25, " (-25% ↓)"), (0, " (0%)"), (None, "")],
)
def test_the_change_from_the_last_cycle_has_a_sign_only_when_it_moved(
    change: int | None, shown: str
) -> None:
    # A cycle 0.4 % under the last rounds to 0: "+0%" would read as a rise.
    assert change_text(change) == shown
    assert change_percent(99_600, 100_000) == 0


def test_plan_exhaustion_counts_this_cycle_only(db_engine: Engine) -> None:
    store_team(db_engine)
    with db_engine.connect() as conn:
        cycle = current_cycle(conn, TODAY)
        view = plan_exhaustion(conn, cycle, TODAY)
    assert cycle.start == CYCLE
    # Ana also ran out on October 1st: this cycle she ran out on its 2nd day.
    assert [(m.email, m.cycle_day, m.day) for m in view.members] == [
        (ANA, 2, date(2026, 11, 2)),
        (BEN, 5, date(2026, 11, 5)),
        (CARA, 16, date(2026, 11, 16)),
    ]
    assert view.members[0].name == "Ana Silva"
    assert view.members[0].usage_based_requests == 2 * 27
    assert view.active_members == 4
    assert [b.members for b in view.stats.buckets] == [1, 1, 0, 1]
    assert (view.stats.average_day, view.stats.median_day) == (7.7, 5.0)
    assert view.to_json()["exhausted"] == 3


def test_a_member_removed_since_counts_neither_as_a_seat_nor_as_run_out(
    db_engine: Engine,
) -> None:
    """The summary's seats and its plan exhaustion count the same people: Cara ran out on
    day 16, then left."""
    store_team(db_engine)
    with db_engine.begin() as conn:
        conn.execute(update(t.members).where(t.members.c.email == CARA).values(is_removed=True))
    with db_engine.connect() as conn:
        cycle = current_cycle(conn, TODAY)
        view = plan_exhaustion(conn, cycle, TODAY)
        summary = cycle_summary(conn, TODAY)
    assert [m.email for m in view.members] == [ANA, BEN]
    assert view.active_members == 3 == summary.seats_active
    assert summary.exhaustion.active_members <= summary.seats_active


def test_members_limited_by_cursor(db_engine: Engine) -> None:
    store_team(db_engine)
    with db_engine.connect() as conn:
        limited = members_limited(conn, current_cycle(conn, TODAY))
    assert [(m.email, m.limit_dollars, m.spend_cents) for m in limited] == [(BEN, 10.0, 1000.0)]
    assert limited[0].to_json() == {"email": BEN, "name": "Ben Ito", "spend": 10.0, "limit": 10.0}


def test_cycle_summary(db_engine: Engine) -> None:
    store_team(db_engine)
    with db_engine.connect() as conn:
        summary = cycle_summary(conn, TODAY)
    assert summary.days_remaining == 3
    assert summary.spend_cents == pytest.approx(4500)
    assert summary.previous_start == LAST_CYCLE
    assert summary.previous_spend_cents == pytest.approx(6000)
    assert summary.change_percent == -25
    assert (summary.seats_active, summary.seats_total, summary.unused_seats) == (4, 5, 1)
    assert [(s.email, s.spend_cents) for s in summary.top_spenders] == [
        (ANA, pytest.approx(3000)),
        (BEN, pytest.approx(1000)),
        (CARA, pytest.approx(500)),
    ]
    assert len(summary.exhaustion.members) == 3
    assert [m.email for m in summary.limited] == [BEN]
    # Every active member made 5 agent requests on each of the 28 days, nothing applied:
    # 0 + 40 (the team's own 90th percentile) + 20 (every day) = 60 points, High.
    assert summary.adoption[Tier.HIGH] == 4 and sum(summary.adoption.values()) == 4
    data = summary.to_json()
    assert data["adoption"] == {"AI-Native": 0, "High": 4, "Moderate": 0, "Low": 0, "Manual": 0}
    assert data["spend"] == 45.0 and data["previous_spend"] == 60.0
    assert data["seats"] == {"active": 4, "total": 5, "unused": 1}


def test_a_member_removed_since_it_was_active_holds_no_seat(db_engine: Engine) -> None:
    """Cara worked this cycle and then left: four seats, three of them active (never more
    active seats than seats)."""
    store_team(db_engine)
    with db_engine.begin() as conn:
        conn.execute(update(t.members).where(t.members.c.email == CARA).values(is_removed=True))
    with db_engine.connect() as conn:
        summary = cycle_summary(conn, TODAY)
    assert (summary.seats_active, summary.seats_total, summary.unused_seats) == (3, 4, 1)


def test_no_comparison_with_a_last_cycle_not_stored_whole(db_engine: Engine) -> None:
    store_team(db_engine)
    with db_engine.begin() as conn:
        conn.execute(delete(t.daily_usage).where(t.daily_usage.c.day == LAST_CYCLE))
    with db_engine.connect() as conn:
        summary = cycle_summary(conn, TODAY)
    assert summary.previous_spend_cents is None
    assert summary.change_percent is None


def test_days_remaining_counts_today() -> None:
    from tracker_core.cycle import bounds

    cycle = bounds(CYCLE, None)
    assert days_remaining(cycle, date(2026, 11, 30)) == 1
    assert days_remaining(cycle, date(2026, 11, 27)) == 4
    assert days_remaining(cycle, date(2026, 12, 1)) == 0


def test_insights_carry_the_cycles_plan_exhaustion(db_engine: Engine) -> None:
    store_team(db_engine)
    with db_engine.connect() as conn:
        view = insights(conn, days=7, today=TODAY)
    assert view.plan_exhaustion is not None
    assert [m.email for m in view.plan_exhaustion.members] == [ANA, BEN, CARA]
    assert view.to_json()["plan_exhaustion"]["buckets"][3] == {
        "label": "Day 15+",
        "from": 15,
        "to": None,
        "members": 1,
    }
    assert TODAY - timedelta(days=6) == view.start
