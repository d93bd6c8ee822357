"""A scope's forecast from per-member sums gives the frozen reference's figures.

The sums are what the database adds up for the overview (``views.forecast``); here they are
added up in plain Python from the same realistic organisation as ``test_fast_path`` (holidays,
a ramping member, new hires, idle seats), so the algebra is checked on every case it meets,
apart from the database. Equal within float rounding: the sums add the days in another order.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.forecast.reference import forecast_cycle as reference_cycle
from tests.forecast.test_fast_path import END, START, as_asked, histories
from tracker_core.forecast.model import Forecast
from tracker_core.forecast.rates import Learning
from tracker_core.forecast.sums import (
    KindSums,
    MemberSums,
    learning_table,
    scope_forecast_from_sums,
)

__all__ = ["histories"]  # the module's fixture, shared


def member_sums(history: dict[date, float], table: Learning) -> MemberSums:
    """What ``views.forecast`` asks the database for, one member, day by day."""
    active = [day for day, spend in history.items() if spend > 0]
    kinds = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    for day, weekend, w, t in zip(
        table.days, table.weekend, table.weights, table.offsets, strict=True
    ):
        s = history.get(day, 0.0)
        kinds[weekend][0] += w * s
        kinds[weekend][1] += w * s * s
        kinds[weekend][2] += w * t * s
    return MemberSums(
        first_active=min(active) if active else None,
        weekday=KindSums(*kinds[False]),
        weekend=KindSums(*kinds[True]),
    )


def assert_close(summed: Forecast, plain: Forecast) -> None:
    assert summed.start == plain.start
    assert summed.path == pytest.approx(plain.path, rel=1e-9, abs=1e-9)
    for key in ("spent", "expected", "low", "high"):
        assert getattr(summed, key) == pytest.approx(getattr(plain, key), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 1, 9, tzinfo=UTC),
        datetime(2026, 11, 15, 14, tzinfo=UTC),
        datetime(2026, 11, 30, 23, tzinfo=UTC),
    ],
)
def test_a_scopes_forecast_from_sums_is_the_references(
    histories: dict[str, dict[date, float]], now: datetime
) -> None:
    known = as_asked(histories, now)
    emails = sorted(known)
    today = now.date()
    team_by_day: dict[date, float] = {}
    for history in known.values():
        for day, spend in history.items():
            team_by_day[day] = team_by_day.get(day, 0.0) + spend
    table = learning_table(team_by_day, today)
    sums = {email: member_sums(known[email], table) for email in emails}
    scopes = {"front": emails[::3], "back": [*emails[1::3], "ramp@x"], "nobody": []}
    plain = reference_cycle(known, START, END, now, groups=scopes)
    trending = plain.members["ramp@x"].expected - plain.members["ramp@x"].spent
    assert trending > 0  # the trend's arithmetic is exercised
    assert_close(
        scope_forecast_from_sums(sums, None, team_by_day, table, START, END, now), plain.team
    )
    for name, scope in scopes.items():
        by_day: dict[date, float] = {}
        for email in set(scope):  # a member listed twice counts once
            for day, spend in known.get(email, {}).items():
                by_day[day] = by_day.get(day, 0.0) + spend
        summed = scope_forecast_from_sums(sums, set(scope), by_day, table, START, END, now)
        assert_close(summed, plain.groups[name])
