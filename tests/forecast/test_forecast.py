"""The forecast on hand-made histories: every expected figure is worked out from the data.

The cycle is November 2026 (Sunday the 1st to Monday the 30th); "now" is the start of Sunday
the 15th unless a test says otherwise, so 14 days are spent and 16 are to come, of which 11
are weekdays and 5 weekend days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tracker_core.forecast import CycleForecast, Forecast, crossing_day, forecast_cycle

START, END = date(2026, 11, 1), date(2026, 11, 30)
NOW = datetime(2026, 11, 15, tzinfo=UTC)
TODAY = NOW.date()
SPENT_DAYS, LEFT_DAYS, LEFT_WEEKDAYS, LEFT_WEEKENDS = 14, 16, 11, 5


def days_before(today: date, count: int) -> list[date]:
    return [today - timedelta(days=back) for back in range(count, 0, -1)]


def steady(per_day: float, *, until: date = TODAY, days: int = 42) -> dict[date, float]:
    return {day: per_day for day in days_before(until, days)}


def weekdays_only(per_day: float, *, until: date = TODAY, days: int = 42) -> dict[date, float]:
    return {day: per_day for day in days_before(until, days) if day.weekday() < 5}


def forecast(histories: dict[str, dict[date, float]], **kwargs: object) -> CycleForecast:
    now = kwargs.pop("now", NOW)
    assert isinstance(now, datetime)
    return forecast_cycle(histories, START, END, now, **kwargs)  # type: ignore[arg-type]


def straight_line(spent: float, day: int = SPENT_DAYS, length: int = 30) -> float:
    return spent / day * length


def test_a_steady_member_ends_the_cycle_at_their_daily_rate() -> None:
    result = forecast({"ana@x": steady(10.0)})
    ana = result.members["ana@x"]
    assert ana.spent == pytest.approx(140.0)
    assert ana.expected == pytest.approx(300.0)
    assert ana.low <= ana.expected <= ana.high
    assert result.team.expected == pytest.approx(300.0)
    assert (result.day, result.length) == (15, 30)


def test_a_weekday_only_member_is_not_expected_to_spend_at_weekends() -> None:
    history = weekdays_only(20.0)
    ana = forecast({"ana@x": history}).members["ana@x"]
    spent = sum(spend for day, spend in history.items() if day >= START)
    assert ana.spent == pytest.approx(spent) == pytest.approx(20.0 * 10)  # 10 weekdays so far
    assert ana.expected == pytest.approx(spent + 20.0 * LEFT_WEEKDAYS)
    assert ana.expected != pytest.approx(straight_line(spent))


def test_weekend_rates_come_from_the_team_when_a_member_has_no_weekend_yet() -> None:
    """A member who started on Monday the 9th has no weekend of their own on Saturday the
    14th: the team's weekend-to-weekday ratio (a half here) stands in, at the member's own
    weekday level, which their five busy days pull well above the team's."""
    saturday = datetime(2026, 11, 14, tzinfo=UTC)
    team = {
        f"m{i}@x": {
            d: (level if d.weekday() < 5 else level / 2) * (1.2 if k % 2 else 0.8)
            for k, d in enumerate(steady(1.0))
        }
        for i, level in enumerate((6.0, 9.0, 12.0, 15.0))
    }
    newcomer = {date(2026, 11, 9) + timedelta(days=k): 40.0 for k in range(5)}
    new = forecast({**team, "new@x": newcomer}, now=saturday).members["new@x"]
    monday, saturday_after = date(2026, 11, 16), date(2026, 11, 21)
    weekday_rate = new.on(monday) - new.on(monday - timedelta(days=1))
    weekend_rate = new.on(saturday_after) - new.on(saturday_after - timedelta(days=1))
    assert 10.5 * 1.5 < weekday_rate < 40.0  # above the team's mean weekday, below their own
    assert weekend_rate == pytest.approx(weekday_rate / 2, rel=0.02)


def test_a_ramping_member_is_followed_beyond_the_straight_line() -> None:
    """Spend grows by a dollar a day: the recent days weigh more than the old ones."""
    history = {day: float(k + 1) for k, day in enumerate(days_before(TODAY, 42))}
    ana = forecast({"ana@x": history}).members["ana@x"]
    truth = ana.spent + sum(43.0 + k for k in range(LEFT_DAYS))
    flat_mean = sum(history[day] for day in days_before(TODAY, 28)) / 28
    assert ana.expected > straight_line(ana.spent)
    assert ana.expected > ana.spent + flat_mean * LEFT_DAYS
    assert abs(ana.expected - truth) < abs(straight_line(ana.spent) - truth) / 2


def test_a_new_member_leans_on_the_team_and_has_a_wider_range() -> None:
    """One $40 day against a team whose members spend $10 to $13 with days 20 % either side:
    the forecast sits between, and its range is wider than a settled member's."""
    team = {
        f"m{i}@x": {
            d: (10.0 + i) * (1.2 if k % 2 else 0.8) for k, d in enumerate(days_before(TODAY, 42))
        }
        for i in range(4)
    }
    result = forecast({**team, "new@x": {TODAY - timedelta(days=1): 40.0}})
    new = result.members["new@x"]
    per_day = (new.expected - new.spent) / LEFT_DAYS
    assert 11.5 < per_day < 40.0
    old = result.members["m0@x"]
    assert (new.high - new.low) / new.expected > (old.high - old.low) / old.expected


def test_an_idle_seat_is_forecast_to_spend_nothing() -> None:
    result = forecast({"ana@x": steady(10.0)}, groups={"Eng": ["ana@x", "idle@x"]})
    idle = result.members["idle@x"]
    assert (idle.spent, idle.expected, idle.low, idle.high) == (0.0, 0.0, 0.0, 0.0)
    assert result.groups["Eng"].expected == pytest.approx(300.0)


def test_a_holiday_week_does_not_drag_the_rest_of_the_cycle_down() -> None:
    normal = {f"m{i}@x": weekdays_only(10.0) for i in range(3)}
    holiday = {
        email: {
            day: spend
            for day, spend in history.items()
            if not date(2026, 11, 9) <= day <= date(2026, 11, 13)
        }
        for email, history in normal.items()
    }
    usual = forecast(normal).team
    away = forecast(holiday).team
    assert away.spent == pytest.approx(usual.spent - 3 * 5 * 10.0)
    assert away.expected - away.spent == pytest.approx(usual.expected - usual.spent)


def test_todays_partial_day_is_not_taken_as_a_whole_one() -> None:
    """At noon, half of today's $10 is spent: the forecast is the midnight one, not $5 or
    $10 more."""
    at_midnight = forecast({"ana@x": steady(10.0)}).members["ana@x"]
    noon = NOW + timedelta(hours=12)
    history = {**steady(10.0), TODAY: 5.0}
    at_noon = forecast({"ana@x": history}, now=noon).members["ana@x"]
    assert at_noon.spent == pytest.approx(145.0)
    assert at_noon.expected == pytest.approx(at_midnight.expected) == pytest.approx(300.0)


def test_an_empty_team_forecasts_nothing() -> None:
    result = forecast({}, groups={"Eng": []})
    for nothing in (result.team, result.groups["Eng"]):
        assert (nothing.spent, nothing.expected, nothing.low, nothing.high) == (0, 0, 0, 0)
        assert crossing_day(nothing, 1.0) is None
    assert result.members == {}


def test_a_groups_range_is_narrower_than_the_sum_of_its_members_ranges() -> None:
    """Ten members whose days vary independently: the group's p10-p90 is well inside the
    sum of theirs, yet still a range."""
    histories = {
        f"m{i}@x": {
            day: 5.0 + 10.0 * ((k * 7 + i * 3) % 5 == 0)
            for k, day in enumerate(days_before(TODAY, 42))
        }
        for i in range(10)
    }
    result = forecast(histories, groups={"Eng": list(histories)})
    group = result.groups["Eng"]
    summed_high = sum(member.high for member in result.members.values())
    summed_low = sum(member.low for member in result.members.values())
    assert group.expected == pytest.approx(sum(m.expected for m in result.members.values()))
    assert summed_low < group.low < group.expected < group.high < summed_high


def test_the_range_narrows_as_the_cycle_goes_on() -> None:
    history = {day: 5.0 + 10.0 * (k % 3 == 0) for k, day in enumerate(days_before(END, 60))}
    early = forecast({"a@x": history}, now=datetime(2026, 11, 5, tzinfo=UTC)).members["a@x"]
    late = forecast({"a@x": history}, now=datetime(2026, 11, 25, tzinfo=UTC)).members["a@x"]
    assert 0 < late.high - late.low < early.high - early.low
    assert early.low >= early.spent


def test_a_budget_is_crossed_on_the_day_the_expected_pace_reaches_it() -> None:
    ana = forecast({"ana@x": steady(10.0)}).members["ana@x"]
    assert crossing_day(ana, 200.0) == date(2026, 11, 20)  # $10 a day: $200 after day 20
    assert crossing_day(ana, 300.0) == END
    assert crossing_day(ana, 300.01) is None
    assert crossing_day(ana, 0.0) is None


def test_a_budget_already_crossed_gives_the_day_it_was() -> None:
    history = {**steady(10.0), date(2026, 11, 3): 100.0}
    ana = forecast({"ana@x": history}).members["ana@x"]
    assert crossing_day(ana, 110.0) == date(2026, 11, 3)  # 10 + 10 + 100 by the 3rd


def test_a_forecast_after_the_cycle_is_what_was_spent() -> None:
    result = forecast(
        {"ana@x": steady(10.0, until=END + timedelta(days=1))},
        now=datetime(2026, 12, 2, tzinfo=UTC),
    )
    ana: Forecast = result.members["ana@x"]
    assert ana.spent == ana.expected == ana.low == ana.high == pytest.approx(300.0)
    assert (result.day, result.length) == (30, 30)
