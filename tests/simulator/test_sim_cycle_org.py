"""The generated organisation's billing cycle: included usage running out, a limit, a ramp.

The plan-exhaustion notice, the members-limited message, the cycle summary and the forecast
need an organisation in which these happen, read back through the API's own vocabulary
(daily usage, spend rows, event kinds) as the collector will read them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from tracker_core.simulator import (
    Scenario,
    ScenarioError,
    generate_scenario,
    load_scenario,
    scenario_from_dict,
)
from tracker_core.simulator.org import MODELS, days_with_previous_cycle
from tracker_core.simulator.scenario import dump_scenario

NOW = datetime(2025, 3, 20, tzinfo=UTC)
CYCLE = date(2025, 3, 1)
PREVIOUS = date(2025, 2, 1)
PLAN_MODELS = {model.name for model in MODELS if model.included}
"""Models always billed to the plan (Auto, cursor-small), whatever is left of it."""


@pytest.fixture(scope="module")
def team() -> Scenario:
    return generate_scenario(
        users=30, days=days_with_previous_cycle(NOW), seed=7, now=NOW, realistic=True
    )


def _day(event: dict[str, object]) -> date:
    return datetime.fromtimestamp(int(str(event["timestamp"])) / 1000, UTC).date()


def _exhausted_on(team: Scenario, first: date, last: date) -> dict[str, int]:
    """Cycle day (1-based) of each member's first usage-based request, from daily usage."""
    found: dict[str, int] = {}
    for row in team.daily_usage_rows(first, last):
        if row["usageBasedReqs"] > 0 and row["email"] not in found:
            found[row["email"]] = (date.fromisoformat(row["day"]) - first).days + 1
    return found


def test_the_demo_window_holds_the_whole_previous_cycle(team: Scenario) -> None:
    assert days_with_previous_cycle(NOW) == 48
    assert days_with_previous_cycle(datetime(2025, 1, 1, 23, tzinfo=UTC)) == 32
    first = min(_day(event) for event in team.events)
    assert first == PREVIOUS


def test_members_run_out_of_included_usage_on_different_days(team: Scenario) -> None:
    this_cycle = _exhausted_on(team, CYCLE, NOW.date())
    buckets = {
        next(name for name, top in (("1-3", 3), ("4-7", 7), ("8-14", 14), ("15+", 99)) if d <= top)
        for d in this_cycle.values()
    }
    assert len(this_cycle) >= 10
    assert len(buckets) >= 3, sorted(this_cycle.values())
    # The included usage starts again with each cycle: last cycle's exhaustion is its own.
    last_cycle = _exhausted_on(team, PREVIOUS, CYCLE - timedelta(days=1))
    assert sorted(last_cycle.values()) != sorted(this_cycle.values())
    late = [email for email, day in this_cycle.items() if day >= 4]
    assert late
    # Before running out a member's premium requests are included in the plan; from then on
    # they are usage-based. (Spend counts both: it is what the usage cost.)
    kinds: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for event in team.events:
        email, day = event["userEmail"], _day(event)
        if email in late and day >= CYCLE and event["model"] not in PLAN_MODELS:
            kinds[email].append((day, event["kind"]))
    for email in late:
        ran_out = CYCLE + timedelta(days=this_cycle[email] - 1)
        billed = [(d, k) for d, k in kinds[email] if k != "Errored, Not Charged"]
        before = [k for d, k in billed if d < ran_out]
        after = [k for d, k in billed if d > ran_out]
        assert before and all(k == "Included in Business" for k in before)
        assert after and all(k == "Usage-based" for k in after)


def test_a_member_is_stopped_at_their_spend_limit(team: Scenario) -> None:
    [planted] = [a for a in team.planted_anomalies if a["kind"] == "spend_limited"]
    rows, _ = team.spend_report(team.now())
    limited = [row for row in rows if row["monthlyLimitDollars"] is not None]
    assert [row["email"] for row in limited] == [planted["email"]]
    [row] = limited
    limit = row["monthlyLimitDollars"] * 100
    assert row["spendCents"] >= limit
    charged = sorted(
        (int(e["timestamp"]), float(e.get("chargedCents") or 0))
        for e in team.events
        if e["userEmail"] == planted["email"] and _day(e) >= CYCLE
    )
    # Every request was made below the limit: Cursor refused the ones after it was reached.
    assert sum(cents for _, cents in charged[:-1]) < limit


def test_a_saved_scenario_keeps_its_spend_limits(team: Scenario, tmp_path: Path) -> None:
    path = tmp_path / "team.json"
    with path.open("w", encoding="utf-8") as handle:
        dump_scenario(team, handle)
    again = load_scenario(path)
    assert again.spend_limits == team.spend_limits
    assert again.planted_anomalies == team.planted_anomalies


def test_a_ramping_member_spends_more_week_after_week(team: Scenario) -> None:
    [planted] = [a for a in team.planted_anomalies if a["kind"] == "ramp"]
    assert planted["email"] not in team.normal_members
    weekly: dict[int, float] = defaultdict(float)
    for event in team.events:
        if event["userEmail"] == planted["email"]:
            weekly[(_day(event) - PREVIOUS).days // 7] += float(event.get("chargedCents") or 0)
    weeks = [weekly[n] for n in range(6)]
    assert weeks[5] > 2 * weeks[0], weeks
    assert sum(a < b for a, b in pairwise(weeks)) >= 4, weeks


@pytest.mark.parametrize(
    ("limits", "part"),
    [
        ({"nobody@example.test": 10}, "spendLimits.nobody@example.test: not in teamMembers"),
        ({"lee@example.test": -1}, "spendLimits.lee@example.test: expected dollars, 0 or more"),
        ({"lee@example.test": "ten"}, "spendLimits.lee@example.test: expected dollars"),
        (["lee@example.test"], "spendLimits: expected an object"),
    ],
)
def test_a_bad_spend_limit_is_named(limits: object, part: str) -> None:
    member = {"id": 1, "name": "Lee Park", "email": "lee@example.test", "role": "member"}
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict({"teamMembers": [member], "usageEvents": [], "spendLimits": limits})
    assert part in str(caught.value)
    good = scenario_from_dict(
        {"teamMembers": [member], "usageEvents": [], "spendLimits": {"Lee@example.test": 0}}
    )
    [row] = good.spend_report(good.now())[0]
    assert row["monthlyLimitDollars"] == 0
