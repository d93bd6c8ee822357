"""Building zero-filled member usage from plain rows, and the small helpers the rules share."""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker_core.detection.measures import (
    UsageRow,
    build_usage,
    calendar_days,
    center_spread_without,
    log_center_spread,
    median,
    onset_index,
    pace_before,
    robust_z,
    top_model,
)
from tracker_core.detection.model import DayMeasure, MemberUsage

START = date(2026, 11, 20)
END = date(2026, 11, 25)
CYCLE = date(2026, 11, 22)


def _build(
    rows: list[UsageRow],
    *,
    names: dict[str, str] | None = None,
    spend: dict[str, float] | None = None,
    removed: set[str] | None = None,
) -> dict[str, MemberUsage]:
    usage = build_usage(
        rows,
        names=names or {},
        cycle_spend_cents=spend or {},
        cycle_start=CYCLE,
        removed=removed or set(),
        start=START,
        end=END,
    )
    return {member.email: member for member in usage}


def test_calendar_days_include_both_ends() -> None:
    assert calendar_days(START, END) == [START + timedelta(days=n) for n in range(6)]
    assert calendar_days(END, END) == [END]


def test_every_day_of_the_window_is_zero_filled() -> None:
    rows: list[UsageRow] = [("a@x.io", date(2026, 11, 23), "gpt-5", 120.0, 3, 900)]
    members = _build(rows, names={"a@x.io": "Ana", "b@x.io": "Ben"})
    assert set(members) == {"a@x.io", "b@x.io"}
    ana = members["a@x.io"]
    assert list(ana.days) == calendar_days(START, END)
    assert ana.days[date(2026, 11, 23)] == DayMeasure(120.0, 3, 900)
    assert ana.days[date(2026, 11, 24)] == DayMeasure()
    assert all(m == DayMeasure() for m in members["b@x.io"].days.values())
    assert members["b@x.io"].name == "Ben"


def test_models_of_a_day_are_summed_and_kept_apart() -> None:
    day = date(2026, 11, 24)
    rows: list[UsageRow] = [
        ("a@x.io", day, "gpt-5", 100.0, 2, 10),
        ("a@x.io", day, "claude-4.1-opus", 300.5, 1, 20),
        ("a@x.io", day, "gpt-5", 50.0, 1, 5),
    ]
    ana = _build(rows)["a@x.io"]
    assert ana.days[day] == DayMeasure(450.5, 4, 35)
    assert ana.model_cents == {day: {"gpt-5": 150.0, "claude-4.1-opus": 300.5}}
    assert ana.name == ""


def test_cycle_spend_prefers_cursor_figure_and_falls_back_to_events() -> None:
    rows: list[UsageRow] = [
        ("a@x.io", date(2026, 11, 21), "m", 1_000.0, 1, 1),  # before the cycle
        ("a@x.io", date(2026, 11, 22), "m", 200.0, 1, 1),
        ("a@x.io", date(2026, 11, 25), "m", 300.0, 1, 1),
        ("b@x.io", date(2026, 11, 24), "m", 700.0, 1, 1),
    ]
    members = _build(rows, spend={"b@x.io": 9_999.0, "c@x.io": 50.0})
    assert members["a@x.io"].cycle_spend_cents == 500.0
    assert members["b@x.io"].cycle_spend_cents == 9_999.0
    # Known only from /teams/spend: that spend is real, so the member is kept.
    assert members["c@x.io"].cycle_spend_cents == 50.0
    assert all(m == DayMeasure() for m in members["c@x.io"].days.values())


def test_rows_outside_the_window_only_feed_the_cycle_fallback() -> None:
    early = date(2026, 11, 10)
    late = date(2026, 11, 26)
    usage = build_usage(
        [
            ("a@x.io", early, "m", 400.0, 1, 1),
            ("a@x.io", late, "m", 800.0, 1, 1),
            ("a@x.io", END, "m", 100.0, 1, 1),
        ],
        names={},
        cycle_spend_cents={},
        cycle_start=date(2026, 11, 1),
        removed=set(),
        start=START,
        end=END,
    )
    (ana,) = usage
    assert early not in ana.days and late not in ana.days
    assert set(ana.model_cents) == {END}
    assert ana.cycle_spend_cents == 500.0


def test_removed_members_are_flagged_and_output_is_sorted() -> None:
    rows: list[UsageRow] = [
        ("c@x.io", END, "m", 1.0, 1, 1),
        ("a@x.io", END, "m", 1.0, 1, 1),
    ]
    usage = build_usage(
        rows,
        names={"b@x.io": "Ben"},
        cycle_spend_cents={},
        cycle_start=CYCLE,
        removed={"c@x.io"},
        start=START,
        end=END,
    )
    assert [m.email for m in usage] == ["a@x.io", "b@x.io", "c@x.io"]
    assert [m.is_removed for m in usage] == [False, False, True]


def _with_models(model_cents: dict[date, dict[str, float]]) -> MemberUsage:
    return MemberUsage(email="a@x.io", name="Ana", days={}, model_cents=model_cents)


def test_top_model_by_spend_over_the_given_days() -> None:
    d1, d2 = date(2026, 11, 24), date(2026, 11, 25)
    usage = _with_models({d1: {"a-model": 300.0, "b-model": 100.0}, d2: {"b-model": 600.0}})
    assert top_model(usage, [d1]) == ("a-model", 0.75)
    assert top_model(usage, [d1, d2]) == ("b-model", 0.7)
    assert top_model(usage, [d2]) == ("b-model", 1.0)


def test_top_model_ties_and_empty_periods() -> None:
    d1 = date(2026, 11, 24)
    usage = _with_models({d1: {"zeta": 100.0, "alpha": 100.0}, END: {"x": 0.0}})
    assert top_model(usage, [d1]) == ("alpha", 0.5)
    assert top_model(usage, [END]) == (None, None)
    assert top_model(usage, [date(2026, 1, 1)]) == (None, None)
    assert top_model(usage, []) == (None, None)


@pytest.mark.parametrize(
    ("values", "threshold", "expected"),
    [
        ([1.0, 2.0, 3.0], 3.0, 2),  # reaching the threshold exactly is not crossing it
        ([1.0, 2.0, 3.0], 2.9, 1),
        ([5.0], 4.99, 0),
        ([0.0, 0.0, 1.0], 0.0, 2),
        ([1.0, 2.0], 3.0, None),
        ([], 0.0, None),
    ],
)
def test_onset_index(values: list[float], threshold: float, expected: int | None) -> None:
    assert onset_index(values, threshold) == expected


def test_median_is_a_true_median() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0, 3.0, 10.0]) == 2.5  # the upper middle (3) would overstate it
    assert median([7.0]) == 7.0
    assert median(iter([4.0, 1.0])) == 2.5
    assert median([1.0, 2.0, 3.0, 10.0]) == statistics.median([1, 2, 3, 10])
    with pytest.raises(ValueError):
        median([])


def test_log_center_spread_is_the_median_and_scaled_mad_of_the_logs() -> None:
    logs = [math.log(v) for v in (5_000.0, 8_000.0, 10_000.0, 12_500.0, 20_000.0, 9e9)]
    center, spread = log_center_spread(logs)
    # Six values: the median is halfway between the middle two; one absurd value moves nothing
    # but its own rank.
    assert center == pytest.approx((math.log(10_000.0) + math.log(12_500.0)) / 2)
    deviations = sorted(abs(v - center) for v in logs)
    assert spread == pytest.approx(1.4826 * (deviations[2] + deviations[3]) / 2)
    with pytest.raises(statistics.StatisticsError):
        log_center_spread([])


def test_robust_z() -> None:
    assert robust_z(3.0, 1.0, 0.5) == 4.0
    assert robust_z(0.0, 1.0, 0.5) == -2.0
    assert robust_z(1.0 + 1e-9, 1.0, 0.0) == math.inf
    assert robust_z(1.0, 1.0, 0.0) == 0.0


@settings(max_examples=300, deadline=None)
@given(
    team=st.lists(st.floats(min_value=-20, max_value=20), min_size=1, max_size=40),
    data=st.data(),
)
def test_leaving_a_member_out_equals_computing_on_the_others(
    team: list[float], data: st.DataObject
) -> None:
    """The fast leave-one-out median and MAD agree with the direct ones on every input."""
    own = data.draw(st.lists(st.sampled_from(team), max_size=len(team) - 1, unique_by=id))
    rest = list(team)
    for value in own:
        rest.remove(value)
    fast = center_spread_without(sorted(team), own)
    assert fast is not None
    center, spread = log_center_spread(rest)
    assert fast[0] == pytest.approx(center, abs=1e-12)
    assert fast[1] == pytest.approx(spread, abs=1e-9)
    assert center_spread_without([1.0], [1.0]) is None


def test_pace_before_cycle_sums_the_four_weeks_before_it_and_needs_three_active_days() -> None:
    before = CYCLE - timedelta(days=1)
    oldest = CYCLE - timedelta(days=28)
    rows: list[UsageRow] = [
        ("a@x.io", oldest, "m", 2_000.0, 1, 1),
        ("a@x.io", oldest, "n", 800.0, 1, 1),  # two models of one day: one active day
        ("a@x.io", before, "m", 2_800.0, 1, 1),
        ("a@x.io", CYCLE - timedelta(days=10), "", 5_600.0, 1, 1),
        ("a@x.io", oldest - timedelta(days=1), "m", 99_999.0, 1, 1),  # too old
        ("a@x.io", CYCLE, "m", 99_999.0, 1, 1),  # in the cycle
        ("b@x.io", before, "m", 2_800.0, 1, 1),
        ("b@x.io", oldest, "m", 2_800.0, 1, 1),
    ]
    members = _build(rows)
    assert members["a@x.io"].pace_before_cycle == 11_200.0 / 28
    assert members["b@x.io"].pace_before_cycle is None, "two active days say nothing usual"


def test_pace_before_cycle_counts_from_the_members_first_spend() -> None:
    """A member who joined ten days before the cycle spends $100 a day, not $100 x 10 / 28:
    counting the days before they were there would make their ordinary month look like a jump."""
    joined = CYCLE - timedelta(days=10)
    rows: list[UsageRow] = [
        ("a@x.io", joined + timedelta(days=n), "m", 2_000.0, 1, 1) for n in range(0, 10, 2)
    ]
    assert _build(rows)["a@x.io"].pace_before_cycle == 10_000.0 / 10


def test_a_pace_before_cycle_needs_a_week_since_the_first_spend() -> None:
    """A new hire's first days (here a runaway start) are not yet what is usual for them."""
    spent = {CYCLE - timedelta(days=n): 40_000.0 for n in (1, 2, 3, 4, 5, 6)}
    assert pace_before(spent, CYCLE) is None
    spent[CYCLE - timedelta(days=7)] = 40_000.0
    assert pace_before(spent, CYCLE) == 40_000.0
