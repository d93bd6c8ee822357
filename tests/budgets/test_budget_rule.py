"""The budget rule on hand-made standings: every threshold at, just below and just above its
firing point, the severities, the forecasted breach and the words of its messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from tracker_core.detection.budgets import BudgetStanding, budget_findings

CYCLE = date(2026, 11, 3)
BUDGET = 200_000.0
"""$2,000 in cents."""


def standing(spent: float, *, forecast: float | None = None, day: int = 18) -> BudgetStanding:
    return BudgetStanding(
        scope="group",
        key="grp_platform",
        label="Platform",
        budget_cents=BUDGET,
        spent_cents=spent,
        forecast_cents=forecast,
        day=day,
        length=30,
    )


def rules(spent: float, **kwargs: float | int | None) -> list[str]:
    return [f.rule for f in budget_findings([standing(spent, **kwargs)], CYCLE)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pct", "rule", "below"),
    [(50, "budget_50", []), (80, "budget_80", ["budget_50"]), (100, "budget_100", ["budget_80"])],
)
def test_each_threshold_fires_at_and_above_its_point_and_not_a_cent_below(
    pct: int, rule: str, below: list[str]
) -> None:
    at = BUDGET * pct / 100
    assert rules(at) == [rule]
    assert rules(at + 1) == [rule]
    assert rules(at - 1) == below


def test_only_the_highest_threshold_reached_is_found_and_it_is_filed_per_cycle() -> None:
    (found,) = budget_findings([standing(170_000)], CYCLE)
    assert found.rule == "budget_80"
    assert (found.email, found.period) == ("group:grp_platform", CYCLE)
    assert (found.value, found.threshold) == (1700.0, 1600.0)
    assert found.name == "Platform"


def test_the_full_budget_is_a_warning_until_110_percent_then_critical() -> None:
    def severity(spent: float) -> str:
        (found,) = budget_findings([standing(spent)], CYCLE)
        return found.severity

    assert severity(BUDGET) == "warning"
    assert severity(BUDGET * 1.1 - 1) == "warning"
    assert severity(BUDGET * 1.1) == "critical"
    assert severity(BUDGET * 3) == "critical"
    assert severity(BUDGET * 0.95) == "warning"  # 80 % stays a warning


def test_a_forecast_above_the_budget_fires_from_day_7_while_spend_is_below_it() -> None:
    assert rules(100_000, forecast=BUDGET + 1, day=7) == ["budget_50", "budget_forecast"]
    assert rules(100_000, forecast=BUDGET, day=7) == ["budget_50"]  # reaching it is no breach
    assert rules(100_000, forecast=BUDGET * 2, day=6) == ["budget_50"]  # too few days yet
    assert rules(BUDGET, forecast=BUDGET * 2, day=20) == ["budget_100"]  # spent says more
    assert rules(10_000, forecast=None, day=20) == []


def test_messages_speak_dollars_and_name_the_scope() -> None:
    found = budget_findings([standing(164_000, forecast=231_000)], CYCLE)
    assert [f.message for f in found] == [
        "Platform has spent $1,640 of its $2,000 budget (82 %) on day 18 of 30; forecast $2,310",
        "Platform is forecast to spend $2,310 by the cycle's end, 115 % of its $2,000 budget;"
        " spent $1,640 by day 18 of 30",
    ]
    member = replace(standing(30_000), scope="member", key="ana@example.test", label="Ana Silva")
    (told,) = budget_findings([replace(member, budget_cents=30_000)], CYCLE)
    assert told.email == "ana@example.test"
    assert told.message == "Ana Silva has spent $300 of their $300 budget (100 %) on day 18 of 30"


def test_a_budget_of_zero_is_off() -> None:
    assert budget_findings([replace(standing(50_000), budget_cents=0)], CYCLE) == []
