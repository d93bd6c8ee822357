"""The realistic organisation: heavy-tailed, with real lives, its planted anomalies still holding.

Every figure is recomputed from the served events (see :class:`Metrics`), so a generator that
drew a homogeneous team, or planted nothing, fails here.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.simulator.test_sim_org import Metrics, assert_anomalies_hold
from tracker_core.simulator import Scenario, generate_scenario

NOW = datetime(2025, 3, 12, tzinfo=UTC)
DAYS = 42


@pytest.fixture(scope="module")
def team() -> Scenario:
    return generate_scenario(users=100, days=DAYS, seed=7, now=NOW, realistic=True)


@pytest.fixture(scope="module")
def metrics(team: Scenario) -> Metrics:
    return Metrics(team, DAYS)


def _working_days(metrics: Metrics) -> list[date]:
    return [d for d in metrics.days if d.weekday() < 5]


def _typical(metrics: Metrics, email: str) -> float:
    """The member's median spend over the working days they were active."""
    active = [s for d in _working_days(metrics) if (s := metrics.spend[(email, d)]) > 0]
    return statistics.median(active) if active else 0.0


def test_spend_is_heavy_tailed_across_members(team: Scenario, metrics: Metrics) -> None:
    planted = {a["email"] for a in team.planted_anomalies}
    levels = sorted(
        level
        for email in metrics.emails
        if email not in planted and (level := _typical(metrics, email)) > 0
    )
    middle = statistics.median(levels)
    assert 1_200 < middle < 3_000, "a typical member spends about $18 on a working day"
    assert sum(1 for level in levels if level > 10_000) >= 2, "a few spend over $100 a day"
    assert levels[int(0.9 * len(levels))] > 3 * middle, "the top tenth spends several times more"


def test_real_lives_idle_seats_new_hires_part_timers_and_vacations(metrics: Metrics) -> None:
    weekdays = _working_days(metrics)
    idle = new_hires = part_timers = returns = 0
    for email in metrics.emails:
        active = [metrics.spend[(email, d)] > 0 or metrics.count[(email, d)] > 0 for d in weekdays]
        if not any(active):
            idle += 1
            continue
        first = active.index(True)
        if first >= 5:
            new_hires += 1
        worked = {d.weekday() for d, on in zip(weekdays, active, strict=True) if on}
        if len(worked) <= 3:
            part_timers += 1
        # A run of at least four quiet working days followed by work again: a vacation.
        runs = "".join("1" if on else "0" for on in active[first:]).strip("0")
        if "0000" in runs:
            returns += 1
    assert idle >= 1
    assert new_hires >= 2
    assert part_timers >= 2
    assert returns >= 5


def test_some_members_switch_models(team: Scenario, metrics: Metrics) -> None:
    """A member whose main model in the first third differs from the last third."""
    third = DAYS // 3
    early_days = set(metrics.days[:third])
    late_days = set(metrics.days[-third:])
    shares: dict[str, dict[str, list[int]]] = {}
    for event in team.events:
        day = datetime.fromtimestamp(int(event["timestamp"]) / 1000, UTC).date()
        slot = 0 if day in early_days else 1 if day in late_days else None
        if slot is None:
            continue
        counts = shares.setdefault(event["userEmail"], {}).setdefault(event["model"], [0, 0])
        counts[slot] += 1
    switched = 0
    for models in shares.values():
        early = max(models, key=lambda m: models[m][0])
        late = max(models, key=lambda m: models[m][1])
        if early != late and models[late][1] > 2 * models[late][0]:
            switched += 1
    assert switched >= 3


def test_planted_anomalies_still_hold_on_a_realistic_team(team: Scenario, metrics: Metrics) -> None:
    assert_anomalies_hold(team, metrics)


def test_realistic_is_reproducible_and_distinct_from_the_original() -> None:
    first = generate_scenario(users=20, days=14, seed=3, now=NOW, realistic=True)
    again = generate_scenario(users=20, days=14, seed=3, now=NOW + timedelta(hours=5, minutes=3))
    same = generate_scenario(users=20, days=14, seed=3, now=NOW, realistic=True)
    assert list(first.events) == list(same.events)
    assert first.planted_anomalies == same.planted_anomalies
    assert list(first.events) != list(again.events)
