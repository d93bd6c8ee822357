"""The forecast's fast path gives exactly the figures of the plain member-by-member one.

The organisation is the simulator's realistic one (heavy-tailed spend, part-timers, vacations,
new hires, idle seats, planted spikes) plus a ramping member, so holidays, the prior, trends
and members newer than the learning window are all exercised; the forecast is asked at several
instants of a cycle (its first morning, mid-cycle, its last evening) with overlapping groups.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.forecast.reference import forecast_cycle as reference_cycle
from tracker_core.domain import utc_day
from tracker_core.forecast import CycleForecast, forecast_cycle
from tracker_core.simulator import generate_scenario

NOW = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
START, END = date(2026, 11, 1), date(2026, 11, 30)


@pytest.fixture(scope="module")
def histories() -> dict[str, dict[date, float]]:
    scenario = generate_scenario(users=40, days=70, seed=7, now=NOW, realistic=True)
    store = scenario.events
    spend: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for row in range(len(store)):
        day = utc_day(store.timestamps[row])
        spend[store.emails[store.users[row]]][day] += store.spend_cents(row) / 100.0
    for member in scenario.members:
        spend[member["email"]]  # idle seats are forecast too
    ramp = START - timedelta(days=14)
    spend["ramp@x"] = {
        ramp + timedelta(days=d): 5.0 + 1.5 * d for d in range(45) if (ramp + timedelta(d)).day % 6
    }
    return {email: dict(days) for email, days in spend.items()}


def as_asked(
    histories: dict[str, dict[date, float]], now: datetime
) -> dict[str, dict[date, float]]:
    return {e: {d: s for d, s in days.items() if d <= now.date()} for e, days in histories.items()}


def assert_same(fast: CycleForecast, plain: CycleForecast) -> None:
    assert fast == plain  # every figure and every day of every path, to the last bit


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 1, 9, tzinfo=UTC),
        datetime(2026, 11, 15, 14, tzinfo=UTC),
        datetime(2026, 11, 30, 23, tzinfo=UTC),
    ],
)
def test_the_fast_forecast_equals_the_plain_one(
    histories: dict[str, dict[date, float]], now: datetime
) -> None:
    known = as_asked(histories, now)
    emails = sorted(known)
    groups = {
        "front": emails[::3],
        "back": [*emails[1::3], "ramp@x"],
        "everyone": emails,  # the team as a group: the same figures by another road
        "nobody": [],
        "new hire": ["newcomer@x"],  # in a group, no history at all
    }
    fast = forecast_cycle(known, START, END, now, groups=groups)
    assert_same(fast, reference_cycle(known, START, END, now, groups=groups))
    assert fast.groups["everyone"] == fast.team
    assert fast.team.expected > fast.team.spent > 0
