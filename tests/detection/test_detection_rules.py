"""The detection rules at, just below and just above every firing point, and every guard.

Members are built from daily series ending on the evaluated day ``DAY``; numbers are chosen so
means, deviations and medians are exact and the boundaries can be hit precisely.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker_core.detection.measures import UsageRow, build_usage
from tracker_core.detection.model import RULES, DayMeasure, Finding, MemberUsage
from tracker_core.detection.rules import (
    detect,
    detection_window,
    personal_cycle_point,
    threshold_rules,
    trend_rules,
    zscore_rules,
)
from tracker_core.detection.settings import DetectionSettings

DAY = date(2026, 11, 25)
YESTERDAY = DAY - timedelta(days=1)
CYCLE = date(2026, 11, 1)
WINDOW = [DAY - timedelta(days=n) for n in range(60, -1, -1)]
"""Every day a test member has, oldest first: zero-filled like the real thing."""

OFF = DetectionSettings()
ONE_DAY_Z = DetectionSettings(zscore_window_days=1)
"""A z-score over one day of five members: mean and deviation come out exact."""


def member(
    email: str,
    spend: Sequence[float] = (),
    requests: Sequence[int] = (),
    tokens: Sequence[int] = (),
    *,
    name: str | None = None,
    cycle: float | None = None,
    models: dict[date, dict[str, float]] | None = None,
    removed: bool = False,
) -> MemberUsage:
    """A member whose series end on ``DAY`` (the last value is that day's)."""

    def series(values: Sequence[float]) -> dict[date, float]:
        return {DAY - timedelta(days=len(values) - 1 - i): v for i, v in enumerate(values)}

    spend_by_day, requests_by_day, tokens_by_day = series(spend), series(requests), series(tokens)
    days = {
        day: DayMeasure(
            spend_cents=spend_by_day.get(day, 0.0),
            requests=int(requests_by_day.get(day, 0)),
            tokens=int(tokens_by_day.get(day, 0)),
        )
        for day in WINDOW
    }
    if models is None:
        models = {day: {"gpt-5": cents} for day, cents in spend_by_day.items() if cents > 0}
    if cycle is None:
        cycle = sum(cents for day, cents in spend_by_day.items() if day >= CYCLE)
    return MemberUsage(
        email=email,
        name=email.split("@")[0].title() if name is None else name,
        days=days,
        model_cents=models,
        cycle_spend_cents=cycle,
        is_removed=removed,
    )


def rules_of(findings: list[Finding]) -> list[tuple[str, str, date]]:
    return [(f.rule, f.email, f.period) for f in findings]


# --- thresholds ------------------------------------------------------------------------------

SPEND_CAP = DetectionSettings(max_spend_per_cycle=500)


@pytest.mark.parametrize(
    ("cycle_cents", "expected"),
    [
        (49_999.0, None),
        (50_000.0, None),  # at the cap: firing is strictly above
        (50_001.0, "warning"),
        (100_000.0, "warning"),  # exactly twice the cap is not yet critical
        (100_001.0, "critical"),
    ],
)
def test_spend_limit_firing_point_and_severity(cycle_cents: float, expected: str | None) -> None:
    found = threshold_rules([member("d@x.io", cycle=cycle_cents)], SPEND_CAP, [DAY], CYCLE)
    if expected is None:
        assert found == []
    else:
        (finding,) = found
        assert (finding.rule, finding.period, finding.severity) == ("spend_limit", CYCLE, expected)
        assert finding.value == round(cycle_cents / 100, 2)
        assert finding.threshold == 500.0


def test_spend_limit_message() -> None:
    dana = member("dana@x.io", name="Dana Ortiz", cycle=83_000.0, models={})
    (finding,) = threshold_rules([dana], SPEND_CAP, [DAY], CYCLE)
    assert finding.message == "Dana Ortiz has spent $830.00 this cycle, over the $500.00 cap"
    assert (finding.top_model, finding.top_model_share) == (None, None)


def test_spend_limit_top_model_comes_from_the_cycle_days_only() -> None:
    before = CYCLE - timedelta(days=1)
    models = {before: {"old-model": 1e6}, CYCLE: {"gpt-5": 400.0, "o3": 100.0}}
    dana = member("d@x.io", name="Dana Ortiz", cycle=83_000.0, models=models)
    (finding,) = threshold_rules([dana], SPEND_CAP, [DAY], CYCLE)
    assert (finding.top_model, finding.top_model_share) == ("gpt-5", 0.8)
    assert finding.message.endswith("over the $500.00 cap (mostly gpt-5, 80%)")


def test_spend_limit_is_off_at_zero() -> None:
    assert threshold_rules([member("d@x.io", cycle=1e9)], OFF, [DAY], CYCLE) == []


@pytest.mark.parametrize(
    ("requests", "expected"),
    [(999, None), (1_000, None), (1_001, "warning"), (2_000, "warning"), (2_001, "critical")],
)
def test_requests_limit_firing_point_and_severity(requests: int, expected: str | None) -> None:
    caps = DetectionSettings(max_requests_per_day=1_000)
    found = threshold_rules([member("c@x.io", requests=[requests])], caps, [DAY], CYCLE)
    if expected is None:
        assert found == []
    else:
        (finding,) = found
        assert (finding.rule, finding.period, finding.severity) == ("requests_limit", DAY, expected)
        assert (finding.value, finding.threshold) == (requests, 1_000)


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        (9_999_999, None),
        (10_000_000, None),
        (10_000_001, "warning"),
        (20_000_000, "warning"),
        (20_000_001, "critical"),
    ],
)
def test_tokens_limit_firing_point_and_severity(tokens: int, expected: str | None) -> None:
    caps = DetectionSettings(max_tokens_per_day=10_000_000)
    found = threshold_rules([member("c@x.io", tokens=[tokens])], caps, [DAY], CYCLE)
    if expected is None:
        assert found == []
    else:
        (finding,) = found
        assert (finding.rule, finding.severity, finding.value) == ("tokens_limit", expected, tokens)


def test_daily_caps_are_off_at_zero() -> None:
    heavy = member("c@x.io", requests=[10**6], tokens=[10**9])
    assert threshold_rules([heavy], OFF, [DAY], CYCLE) == []


def test_daily_caps_check_each_given_day() -> None:
    caps = DetectionSettings(max_requests_per_day=1_000, max_tokens_per_day=5_000)
    chen = member("chen@x.io", name="Chen Lee", requests=[2_310, 1_200], tokens=[6_000, 100])
    found = threshold_rules([chen], caps, [DAY, YESTERDAY], CYCLE)
    assert rules_of(found) == [
        ("requests_limit", "chen@x.io", YESTERDAY),
        ("requests_limit", "chen@x.io", DAY),
        ("tokens_limit", "chen@x.io", YESTERDAY),
    ]
    assert found[0].message == (
        "Chen Lee made 2,310 requests on 2026-11-24, over the cap of 1,000 a day"
    )
    assert (
        found[2].message == "Chen Lee used 6,000 tokens on 2026-11-24, over the cap of 5,000 a day"
    )


# --- z-score ---------------------------------------------------------------------------------

OTHERS_SPEND = [5_000.0, 8_000.0, 10_000.0, 12_500.0, 20_000.0]
"""On the log scale: median ln $100, absolute deviations 0, ln 1.25 (twice), ln 2 (twice), so
the MAD is exactly ln 1.25 and the team spread is 1.4826 ln 1.25."""
SPREAD = 1.4826 * math.log(1.25)
SPEND_POINT = 10_000.0 * math.exp(2.5 * SPREAD)
"""Where z on the log scale reaches 2.5: about $228.67."""
SPEND_CRITICAL = 10_000.0 * math.exp(5.0 * SPREAD)


def spend_team(today: float, *, others: Sequence[float] = OTHERS_SPEND) -> list[MemberUsage]:
    """Five others active yesterday, and the candidate, quiet yesterday, spending ``today``."""
    team = [member(f"o{i}@x.io", spend=[v, 0.0]) for i, v in enumerate(others)]
    return [*team, member("ana@x.io", name="Ana Silva", spend=[0.0, today])]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (SPEND_POINT - 1, None),
        (SPEND_POINT + 1, "warning"),
        (SPEND_CRITICAL - 1, "warning"),  # z just under 5 = 2k: not yet critical
        (SPEND_CRITICAL + 1, "critical"),
    ],
)
def test_zscore_spend_firing_point_and_severity(today: float, expected: str | None) -> None:
    found = zscore_rules(spend_team(today), ONE_DAY_Z, [DAY], CYCLE)
    if expected is None:
        assert found == []
    else:
        (finding,) = found
        assert (finding.rule, finding.email, finding.period) == ("zscore_spend", "ana@x.io", DAY)
        assert finding.severity == expected
        assert finding.value == round(today / 100, 2)
        assert finding.threshold == round(SPEND_POINT / 100, 2)


def test_zscore_spend_message() -> None:
    (finding,) = zscore_rules(spend_team(30_000.0), ONE_DAY_Z, [DAY], CYCLE)
    z = math.log(3.0) / SPREAD
    assert f"{z:.1f}" == "3.3"
    assert finding.message == (
        "Ana Silva spent $300.00 on 2026-11-25, 3.3 robust deviations above the team's typical"
        " $100.00 a day, with no usual day of their own yet (mostly gpt-5, 100%)"
    )


OTHERS_REQUESTS = [50, 80, 100, 125, 200]
"""The same shape as the spend team: typical 100 requests, firing point about 228.7."""


def request_team(today: int) -> list[MemberUsage]:
    team = [member(f"o{i}@x.io", requests=[v, 0]) for i, v in enumerate(OTHERS_REQUESTS)]
    return [*team, member("chen@x.io", name="Chen Lee", requests=[0, today])]


@pytest.mark.parametrize(
    ("today", "expected"),
    [(228, None), (229, "warning"), (522, "warning"), (523, "critical")],
)
def test_zscore_requests_firing_point_and_severity(today: int, expected: str | None) -> None:
    found = zscore_rules(request_team(today), ONE_DAY_Z, [DAY], CYCLE)
    if expected is None:
        assert found == []
    else:
        (finding,) = found
        assert (finding.rule, finding.severity) == ("zscore_requests", expected)
        assert (finding.value, finding.threshold) == (today, 228.7)


def test_zscore_requests_message() -> None:
    (finding,) = zscore_rules(request_team(300), ONE_DAY_Z, [DAY], CYCLE)
    assert finding.message == (
        "Chen Lee made 300 requests on 2026-11-25, 3.3 robust deviations above the team's"
        " typical 100 requests a day, with no usual day of their own yet"
    )


def test_zscore_needs_five_other_active_members() -> None:
    four = spend_team(100_000.0, others=OTHERS_SPEND[:4])
    assert zscore_rules(four, ONE_DAY_Z, [DAY], CYCLE) == []
    # A fifth member who was quiet in the window is not an active member either.
    quiet = [*four, member("quiet@x.io", spend=[20_000.0, 0.0, 0.0, 0.0])]
    assert zscore_rules(quiet, ONE_DAY_Z, [DAY], CYCLE) == []
    assert len(zscore_rules(spend_team(100_000.0), ONE_DAY_Z, [DAY], CYCLE)) == 1


def test_zscore_spend_floor() -> None:
    low = [900.0, 900.0, 1_000.0, 1_100.0, 1_100.0]  # mean $10: $49.99 is far above it
    assert zscore_rules(spend_team(4_999.0, others=low), ONE_DAY_Z, [DAY], CYCLE) == []
    (finding,) = zscore_rules(spend_team(5_000.0, others=low), ONE_DAY_Z, [DAY], CYCLE)
    assert finding.rule == "zscore_spend"
    no_floor = DetectionSettings(zscore_window_days=1, min_daily_spend=0)
    assert len(zscore_rules(spend_team(4_999.0, others=low), no_floor, [DAY], CYCLE)) == 1


def test_zscore_requests_floor() -> None:
    team = [member(f"o{i}@x.io", requests=[v, 0]) for i, v in enumerate([9, 9, 10, 11, 11])]
    below = [*team, member("c@x.io", requests=[0, 99])]
    at = [*team, member("c@x.io", requests=[0, 100])]
    assert zscore_rules(below, ONE_DAY_Z, [DAY], CYCLE) == []
    assert rules_of(zscore_rules(at, ONE_DAY_Z, [DAY], CYCLE)) == [
        ("zscore_requests", "c@x.io", DAY)
    ]


def test_zscore_with_no_spread_fires_on_anything_above_the_others() -> None:
    flat = [10_000.0] * 5
    (finding,) = zscore_rules(spend_team(10_001.0, others=flat), ONE_DAY_Z, [DAY], CYCLE)
    assert finding.severity == "critical"
    assert finding.threshold == 100.0
    assert finding.message == (
        "Ana Silva spent $100.01 on 2026-11-25, above every other member's $100.00 a day,"
        " with no usual day of their own yet (mostly gpt-5, 100%)"
    )
    assert zscore_rules(spend_team(10_000.0, others=flat), ONE_DAY_Z, [DAY], CYCLE) == []
    # Still subject to the floor.
    tiny = [1_000.0] * 5
    assert zscore_rules(spend_team(4_000.0, others=tiny), ONE_DAY_Z, [DAY], CYCLE) == []


def test_zscore_median_and_mad_on_the_log_scale_are_not_dragged_by_a_whale() -> None:
    """A whale among the others would inflate a mean and deviation enough to hide a spike."""
    others = [*OTHERS_SPEND, 500_000.0]
    found = zscore_rules(spend_team(80_000.0, others=others), ONE_DAY_Z, [DAY], CYCLE)
    assert rules_of(found) == [("zscore_spend", "ana@x.io", DAY)]
    linear_z = (80_000.0 - statistics.fmean(others)) / statistics.stdev(others)
    assert linear_z < 0, "the original's mean and deviation would not even see it"


def test_a_consistent_heavy_user_is_flagged_only_above_their_own_usual_day() -> None:
    """Far from the team every day is who a heavy user is; far from themselves is news."""
    week = 30
    others = [
        member(f"o{i}@x.io", spend=[10_000.0 + 500.0 * ((i + d) % 3 - 1) for d in range(week)])
        for i in range(5)
    ]

    def heavy(today: float) -> MemberUsage:
        return member("whale@x.io", spend=[100_000.0] * (week - 1) + [today])

    assert zscore_rules([*others, heavy(100_000.0)], OFF, [DAY], CYCLE) == []
    # At exactly four times their usual day: not above it.
    assert zscore_rules([*others, heavy(400_000.0)], OFF, [DAY], CYCLE) == []
    (finding,) = zscore_rules([*others, heavy(400_001.0)], OFF, [DAY], CYCLE)
    assert (finding.rule, finding.email) == ("zscore_spend", "whale@x.io")
    assert finding.threshold == 4_000.0, "the firing point is the higher of the two conditions"
    assert finding.message.endswith("4.0x their usual $1,000.00 (mostly gpt-5, 100%)")


def test_the_usual_day_is_the_median_of_active_days_in_four_weeks() -> None:
    """Quiet days do not lower it, days older than four weeks do not count, three are needed."""
    others = [member(f"o{i}@x.io", spend=[v] * 10) for i, v in enumerate(OTHERS_SPEND)]
    old_heavy = [500_000.0] * 10 + [0.0] * 20  # more than 28 days before DAY
    recent = [0.0] * 25 + [10_000.0, 0.0, 12_000.0, 0.0, 20_000.0]
    ana = member("ana@x.io", spend=[*old_heavy, *recent, 48_001.0])
    (finding,) = zscore_rules([*others, ana], OFF, [DAY], CYCLE)
    assert finding.message.endswith("4.0x their usual $120.00 (mostly gpt-5, 100%)")
    ana = member("ana@x.io", spend=[*old_heavy, *recent, 48_000.0])
    assert zscore_rules([*others, ana], OFF, [DAY], CYCLE) == []
    # Two active days are no usual day: the team alone decides.
    ana = member("ana@x.io", spend=[*old_heavy, *recent[:-1], 0.0, 30_000.0])
    (finding,) = zscore_rules([*others, ana], OFF, [DAY], CYCLE)
    assert "with no usual day of their own yet" in finding.message


def test_zscore_population_is_active_member_days_in_the_window_before_the_day() -> None:
    """Every (other member, day) with activity counts; zero days and older days do not."""
    settings = DetectionSettings(zscore_window_days=3)
    others = [
        member("o0@x.io", spend=[99_999.0, 8_000.0, 0.0, 12_000.0, 0.0]),
        member("o1@x.io", spend=[0.0, 9_000.0, 10_000.0, 0.0, 0.0]),
        member("o2@x.io", spend=[0.0, 0.0, 11_000.0, 0.0, 0.0]),
        member("o3@x.io", spend=[0.0, 10_000.0, 0.0, 0.0, 0.0]),
        member("o4@x.io", spend=[0.0, 0.0, 0.0, 10_500.0, 0.0]),
    ]
    population = [8_000.0, 12_000.0, 9_000.0, 10_000.0, 11_000.0, 10_000.0, 10_500.0]
    logs = [math.log(v) for v in population]
    center = statistics.median(logs)
    spread = 1.4826 * statistics.median(abs(v - center) for v in logs)
    ana = member("ana@x.io", spend=[0.0, 0.0, 0.0, 0.0, 50_000.0])
    (finding,) = zscore_rules([*others, ana], settings, [DAY], CYCLE)
    assert finding.threshold == round(math.exp(center + 2.5 * spread) / 100, 2)
    z = (math.log(50_000.0) - center) / spread
    assert f"{z:.1f} robust deviations above the team's typical $100.00 a day" in (finding.message)


def test_zscore_evaluates_yesterday_and_today() -> None:
    team = [member(f"o{i}@x.io", spend=[v, v, v]) for i, v in enumerate(OTHERS_SPEND)]
    ana = member("ana@x.io", spend=[0.0, 50_000.0, 50_000.0])
    found = zscore_rules([*team, ana], ONE_DAY_Z, [DAY, YESTERDAY], CYCLE)
    assert rules_of(found) == [
        ("zscore_spend", "ana@x.io", YESTERDAY),
        ("zscore_spend", "ana@x.io", DAY),
    ]


# --- spend spike -----------------------------------------------------------------------------


def spiker(today: float, lookback: Sequence[float] | None = None) -> MemberUsage:
    """Seven days before ``DAY`` averaging $40 on their five active days, then ``today``."""
    past = [4_000.0, 4_000.0, 5_000.0, 0.0, 0.0, 3_000.0, 4_000.0] if lookback is None else lookback
    return member("ana@x.io", spend=[*past, today])


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (19_999.0, None),
        (20_000.0, None),  # 5x exactly: not above
        (20_001.0, "warning"),
        (60_000.0, "warning"),  # 15x = 3 x the multiplier: not yet critical
        (60_001.0, "critical"),
    ],
)
def test_spend_spike_firing_point_and_severity(today: float, expected: str | None) -> None:
    found = trend_rules([spiker(today)], OFF, [DAY], CYCLE)
    if expected is None:
        assert found == []
    else:
        (finding,) = found
        assert (finding.rule, finding.period, finding.severity) == ("spend_spike", DAY, expected)
        assert finding.value == round(today / 100, 2)
        assert finding.threshold == 200.0


def test_spend_spike_message() -> None:
    models = {DAY: {"claude-4.1-opus": 36_326.4, "gpt-5": 4_953.6}}
    ana = member("ana@x.io", name="Ana Silva", spend=[4_310.0] * 7 + [41_280.0], models=models)
    (finding,) = trend_rules([ana], OFF, [DAY], CYCLE)
    assert finding.message == (
        "Ana Silva spent $412.80 on 2026-11-25, 9.6x their usual $43.10 a day"
        " (mostly claude-4.1-opus, 88%)"
    )
    assert finding.top_model == "claude-4.1-opus"
    assert finding.top_model_share == pytest.approx(0.88)


def test_spend_spike_vacation_days_do_not_lower_the_average() -> None:
    """Three active days at $40 and four days off: the usual day is $40, not $17.14."""
    vacation = [4_000.0, 4_000.0, 4_000.0, 0.0, 0.0, 0.0, 0.0]
    assert trend_rules([spiker(15_000.0, vacation)], OFF, [DAY], CYCLE) == []
    (finding,) = trend_rules([spiker(20_001.0, vacation)], OFF, [DAY], CYCLE)
    assert finding.threshold == 200.0


def test_spend_spike_needs_three_active_days() -> None:
    two = [0.0, 0.0, 0.0, 0.0, 0.0, 4_000.0, 4_000.0]
    three = [0.0, 0.0, 0.0, 0.0, 4_000.0, 4_000.0, 4_000.0]
    assert trend_rules([spiker(100_000.0, two)], OFF, [DAY], CYCLE) == []
    assert len(trend_rules([spiker(100_000.0, three)], OFF, [DAY], CYCLE)) == 1


def test_spend_spike_needs_an_average_of_a_dollar() -> None:
    assert trend_rules([spiker(6_000.0, [99.0] * 7)], OFF, [DAY], CYCLE) == []
    (finding,) = trend_rules([spiker(6_000.0, [100.0] * 7)], OFF, [DAY], CYCLE)
    assert finding.threshold == 5.0


def test_spend_spike_floor() -> None:
    usual = [500.0] * 7  # $5 a day: $49.99 is ten times that, but under the $50 floor
    assert trend_rules([spiker(4_999.0, usual)], OFF, [DAY], CYCLE) == []
    assert len(trend_rules([spiker(5_000.0, usual)], OFF, [DAY], CYCLE)) == 1
    no_floor = DetectionSettings(min_daily_spend=0)
    assert len(trend_rules([spiker(4_999.0, usual)], no_floor, [DAY], CYCLE)) == 1


def test_spend_spike_looks_back_only_the_configured_days() -> None:
    old_heavy = [90_000.0, 90_000.0, 90_000.0, 0.0, 4_000.0, 4_000.0, 4_000.0]
    short = DetectionSettings(spike_lookback_days=3)
    assert len(trend_rules([spiker(30_000.0, old_heavy)], short, [DAY], CYCLE)) == 1
    assert trend_rules([spiker(30_000.0, old_heavy)], OFF, [DAY], CYCLE) == []


def test_spend_spike_multiplier_setting() -> None:
    three_x = DetectionSettings(spike_multiplier=3)
    assert len(trend_rules([spiker(12_001.0)], three_x, [DAY], CYCLE)) == 1
    assert trend_rules([spiker(12_000.0)], three_x, [DAY], CYCLE) == []


# --- cycle outlier ---------------------------------------------------------------------------

TEAM_CYCLE = [10_000.0, 10_000.0, 11_200.0, 12_000.0]
"""With one bigger spender the median of five is $112: the firing point is $1,120."""


def cycle_team(candidate: float, others: Sequence[float] = TEAM_CYCLE) -> list[MemberUsage]:
    team = [member(f"o{i}@x.io", cycle=v, models={}) for i, v in enumerate(others)]
    return [*team, member("ben@x.io", name="Ben Ibrahim", cycle=candidate, models={})]


@pytest.mark.parametrize(
    ("cycle_cents", "expected"),
    [
        (111_999.0, None),
        (112_000.0, None),  # 10x exactly: not above
        (112_001.0, "warning"),
        (336_000.0, "warning"),  # 30x: not yet critical
        (336_001.0, "critical"),
    ],
)
def test_cycle_outlier_firing_point_and_severity(cycle_cents: float, expected: str | None) -> None:
    found = trend_rules(cycle_team(cycle_cents), OFF, [DAY], CYCLE)
    if expected is None:
        assert found == []
    else:
        (finding,) = found
        assert (finding.rule, finding.period, finding.severity) == (
            "cycle_outlier",
            CYCLE,
            expected,
        )
        assert finding.value == round(cycle_cents / 100, 2)
        assert finding.threshold == 1_120.0


def test_cycle_outlier_message() -> None:
    team = cycle_team(158_846.0)
    models = {CYCLE: {"claude-4.1-opus": 91.0, "gpt-5": 9.0}, CYCLE - timedelta(days=3): {"x": 1e9}}
    team[-1] = member("ben@x.io", name="Ben Ibrahim", cycle=158_846.0, models=models)
    (finding,) = trend_rules(team, OFF, [DAY], CYCLE)
    assert finding.message == (
        "Ben Ibrahim has spent $1,588.46 this cycle, 14.2x the team median of $112.00"
        " (mostly claude-4.1-opus, 91%)"
    )


def test_cycle_outlier_needs_five_active_members() -> None:
    assert trend_rules(cycle_team(1e7, TEAM_CYCLE[:3]), OFF, [DAY], CYCLE) == []
    idle = [member("idle@x.io", cycle=0.0)]
    assert trend_rules([*cycle_team(1e7, TEAM_CYCLE[:3]), *idle], OFF, [DAY], CYCLE) == []
    assert len(trend_rules(cycle_team(1e7, TEAM_CYCLE), OFF, [DAY], CYCLE)) == 1


def test_cycle_outlier_needs_a_median_of_ten_dollars() -> None:
    assert trend_rules(cycle_team(1e6, [999.0] * 4), OFF, [DAY], CYCLE) == []
    (finding,) = trend_rules(cycle_team(1e6, [1_000.0] * 4), OFF, [DAY], CYCLE)
    assert finding.threshold == 100.0


def test_cycle_outlier_uses_a_true_median_for_an_even_count() -> None:
    """Six members: the median is the mean of $30 and $50, not the upper $50."""
    team = cycle_team(45_000.0, [1_000.0, 2_000.0, 3_000.0, 5_000.0, 7_000.0])
    (finding,) = trend_rules(team, OFF, [DAY], CYCLE)
    assert finding.threshold == 400.0
    assert "11.2x the team median of $40.00" in finding.message


def test_cycle_outlier_multiplier_setting() -> None:
    five = DetectionSettings(cycle_outlier_multiplier=5)
    assert len(trend_rules(cycle_team(56_001.0), five, [DAY], CYCLE)) == 1
    assert trend_rules(cycle_team(56_000.0), five, [DAY], CYCLE) == []


def test_in_its_first_week_a_cycle_outlier_needs_a_pace_above_the_members_own() -> None:
    """On a cycle's first days a heavy user ten times the few active is no news."""
    young = DAY - timedelta(days=5)  # DAY is the cycle's 6th day

    def ben(cycle_cents: float, pace: float | None) -> MemberUsage:
        usage = member("ben@x.io", cycle=cycle_cents, models={})
        return replace(usage, pace_before_cycle=pace)

    team = [member(f"o{i}@x.io", cycle=v, models={}) for i, v in enumerate(TEAM_CYCLE)]
    # Ben spent $400 a day before the cycle: four times that, over its 6 days so far.
    pace_point = 4.0 * 40_000.0 * 6
    assert trend_rules([*team, ben(pace_point, 40_000.0)], OFF, [DAY], young) == []
    (finding,) = trend_rules([*team, ben(pace_point + 1, 40_000.0)], OFF, [DAY], young)
    assert (finding.rule, finding.email) == ("cycle_outlier", "ben@x.io")
    # Without weeks of his own before the cycle (a new hire) the team alone decides.
    assert rules_of(trend_rules([*team, ben(200_000.0, None)], OFF, [DAY], young)) == [
        ("cycle_outlier", "ben@x.io", young)
    ]
    # From the cycle's second week the team median is the team's, and it alone decides.
    week_old = DAY - timedelta(days=6)
    assert rules_of(trend_rules([*team, ben(pace_point, 40_000.0)], OFF, [DAY], week_old)) == [
        ("cycle_outlier", "ben@x.io", week_old)
    ]


def _heavy(cycle_cents: float, pace: float | None) -> MemberUsage:
    """Ben, who spent ``pace`` cents a day in the weeks before the cycle (None: a new hire)."""
    return replace(member("ben@x.io", cycle=cycle_cents, models={}), pace_before_cycle=pace)


DAYS_IN = (DAY - CYCLE).days + 1
"""DAY is the cycle's 25th day."""


def test_a_consistent_heavy_spender_is_not_a_cycle_outlier() -> None:
    """Twelve times the team median every cycle is who Ben is, not news."""
    team = [member(f"o{i}@x.io", cycle=v, models={}) for i, v in enumerate(TEAM_CYCLE)]
    # $112 median -> Ben's usual cycle at $53.76 a day is 12x it by the 25th day.
    pace = 12 * 11_200.0 / DAYS_IN
    assert trend_rules([*team, _heavy(12 * 11_200.0, pace)], OFF, [DAY], CYCLE) == []
    # Even a somewhat busier month than usual (1.5x his own pace) stays quiet.
    assert trend_rules([*team, _heavy(18 * 11_200.0, pace)], OFF, [DAY], CYCLE) == []


def test_a_heavy_spender_doubling_this_cycle_is_a_cycle_outlier() -> None:
    team = [member(f"o{i}@x.io", cycle=v, models={}) for i, v in enumerate(TEAM_CYCLE)]
    pace = 12 * 11_200.0 / DAYS_IN
    own_point = 2 * 12 * 11_200.0
    assert trend_rules([*team, _heavy(own_point, pace)], OFF, [DAY], CYCLE) == []
    (finding,) = trend_rules([*team, _heavy(own_point + 1, pace)], OFF, [DAY], CYCLE)
    assert (finding.rule, finding.email, finding.severity) == (
        "cycle_outlier",
        "ben@x.io",
        "warning",
    )
    # The firing point reported is the higher of the team's and his own.
    assert finding.threshold == round(own_point / 100, 2)
    assert "24.0x the team median of $112.00" in finding.message


def test_a_new_member_without_a_pace_of_their_own_is_judged_against_the_team() -> None:
    team = [member(f"o{i}@x.io", cycle=v, models={}) for i, v in enumerate(TEAM_CYCLE)]
    assert trend_rules([*team, _heavy(112_000.0, None)], OFF, [DAY], CYCLE) == []
    (finding,) = trend_rules([*team, _heavy(112_001.0, None)], OFF, [DAY], CYCLE)
    assert (finding.rule, finding.threshold) == ("cycle_outlier", 1_120.0)


@pytest.mark.parametrize(
    ("pace", "elapsed", "expected"),
    [
        (None, 20, None),
        (1_000.0, 20, 2.0 * 1_000.0 * 20),  # from the second week: twice their own pace
        (1_000.0, 7, 2.0 * 1_000.0 * 7),
        (1_000.0, 6, 4.0 * 1_000.0 * 6),  # first week: four times
        (1_000.0, 1, 4.0 * 1_000.0),
    ],
)
def test_personal_cycle_point(pace: float | None, elapsed: int, expected: float | None) -> None:
    assert personal_cycle_point(pace, elapsed) == expected


# --- all layers ------------------------------------------------------------------------------


def test_removed_members_are_still_evaluated() -> None:
    gone = member("gone@x.io", cycle=83_000.0, removed=True)
    assert rules_of(threshold_rules([gone], SPEND_CAP, [DAY], CYCLE)) == [
        ("spend_limit", "gone@x.io", CYCLE)
    ]


def test_message_falls_back_to_the_email_without_a_name() -> None:
    (finding,) = threshold_rules([member("d@x.io", name=" ", cycle=83_000.0)], SPEND_CAP, [], CYCLE)
    assert finding.message.startswith("d@x.io has spent $830.00 this cycle")


def steady(email: str, i: int, *, requests_yesterday: int | None = None) -> MemberUsage:
    """Eight ordinary days: about $100 and 300 requests a day."""
    wobble = [(i + d) % 3 - 1 for d in range(8)]
    requests = [300 + 10 * w for w in wobble]
    if requests_yesterday is not None:
        requests[-2] = requests_yesterday
    return member(email, spend=[10_000.0 + 500.0 * w for w in wobble], requests=requests)


def test_detect_runs_every_layer_in_a_deterministic_order() -> None:
    settings = DetectionSettings(
        max_spend_per_cycle=1_000, max_requests_per_day=1_000, max_tokens_per_day=10_000
    )
    team = [steady(f"o{i}@x.io", i) for i in range(6)]
    bob = steady("bob@x.io", 6, requests_yesterday=2_000)
    amy = member(
        "amy@x.io",
        spend=[4_000.0] * 6 + [0.0, 200_000.0],
        requests=[300] * 6 + [0, 5_000],
        tokens=[0] * 7 + [50_000],
        cycle=2_000_000.0,  # Cursor's figure for the whole cycle
    )
    found = detect([*team, amy, bob], settings, [DAY, YESTERDAY], CYCLE)
    assert rules_of(found) == [
        ("spend_limit", "amy@x.io", CYCLE),
        ("requests_limit", "amy@x.io", DAY),
        ("requests_limit", "bob@x.io", YESTERDAY),
        ("tokens_limit", "amy@x.io", DAY),
        ("zscore_spend", "amy@x.io", DAY),
        ("zscore_requests", "amy@x.io", DAY),
        ("zscore_requests", "bob@x.io", YESTERDAY),
        ("spend_spike", "amy@x.io", DAY),
        ("cycle_outlier", "amy@x.io", CYCLE),
    ]
    assert found == detect(
        [bob, amy, *reversed(team)], settings, [YESTERDAY, DAY, YESTERDAY], CYCLE
    )
    parts = [
        layer([*team, amy, bob], settings, [DAY, YESTERDAY], CYCLE)
        for layer in (threshold_rules, zscore_rules, trend_rules)
    ]
    assert sorted(found, key=lambda f: (RULES.index(f.rule), f.email, f.period)) == found
    assert sum(len(p) for p in parts) == len(found)


def test_detection_window_covers_history_and_cycle() -> None:
    """The z-score window, the spike look-back, four weeks of the member's own days, the cycle.

    The four weeks before the cycle are read too, but summed (``pace_before_cycle``)."""
    settings = DetectionSettings(zscore_window_days=14, spike_lookback_days=7)
    october = date(2026, 10, 1)
    assert detection_window(settings, [DAY, YESTERDAY], october) == (october, DAY)
    late_cycle = date(2026, 11, 20)
    assert detection_window(settings, [DAY, YESTERDAY], late_cycle) == (
        YESTERDAY - timedelta(days=28),
        DAY,
    )
    long = DetectionSettings(zscore_window_days=60)
    assert detection_window(long, [DAY, YESTERDAY], late_cycle) == (
        YESTERDAY - timedelta(days=60),
        DAY,
    )


# --- property: an ordinary team raises nothing -----------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(min_value=6, max_value=30),
    base_spend=st.floats(min_value=5_000.0, max_value=200_000.0),
    base_requests=st.integers(min_value=150, max_value=5_000),
    rnd=st.randoms(use_true_random=False),
)
def test_a_team_of_similar_members_raises_nothing(
    size: int, base_spend: float, base_requests: int, rnd: random.Random
) -> None:
    """Everyone within ±20% of a common base every day raises nothing with default settings.

    Each day the team's values are spread evenly over the band (with a little jitter) and dealt
    out in a random order: independent draws could by chance bunch up into a team with almost
    no spread, against which anyone would rightly stand out.
    """
    days = [DAY - timedelta(days=n) for n in range(13, -1, -1)]
    rows: list[UsageRow] = []
    for day in days:
        shares = _spread(size, rnd)
        counts = _spread(size, rnd)
        for i in range(size):
            spend, requests = base_spend * shares[i], round(base_requests * counts[i])
            rows.append((f"m{i:02d}@x.io", day, "gpt-5", spend, requests, requests * 1_000))
    members = build_usage(
        rows,
        names={},
        cycle_spend_cents={},
        cycle_start=days[0],
        removed=set(),
        start=days[0],
        end=DAY,
    )
    assert detect(members, DetectionSettings(), [YESTERDAY, DAY], days[0]) == []


def _spread(size: int, rnd: random.Random) -> list[float]:
    """``size`` factors evenly spaced over 0.8..1.2, jittered by up to 1%, in random order."""
    factors = [
        min(1.2, max(0.8, 0.8 + 0.4 * i / (size - 1) + rnd.uniform(-0.01, 0.01)))
        for i in range(size)
    ]
    rnd.shuffle(factors)
    return factors
