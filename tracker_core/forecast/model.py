"""The forecast's results: small frozen records a face or the budgets can read as they are.

Money here is in dollars (as the daily histories given to :func:`forecast_cycle` are), since
budgets are set in dollars and nothing below rounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

P10_Z = 1.2815515655446004
"""The standard normal's 90th percentile: p10 and p90 lie this many deviations either side."""


@dataclass(frozen=True)
class Forecast:
    """Where one member's, group's or the team's spend ends the cycle.

    ``low`` and ``high`` are the p10 and p90 of the cycle-end spend; ``low`` is never below
    what was already spent.
    """

    spent: float
    """Spent from the cycle's first day through now (today's part included)."""
    expected: float
    """The expected cycle-end spend."""
    low: float
    high: float
    start: date
    """The cycle's first day: the day of ``path[0]``."""
    path: tuple[float, ...]
    """Cumulative spend at the end of each day of the cycle: what was spent for the days
    before today, the expectation from today on (its last value is ``expected``)."""

    def on(self, day: date) -> float:
        """The cumulative spend the path gives at the end of ``day`` (0 before the cycle)."""
        index = (day - self.start).days
        if index < 0 or not self.path:
            return 0.0
        return self.path[min(index, len(self.path) - 1)]


def crossing_day(forecast: Forecast, budget: float) -> date | None:
    """The first day of the cycle whose cumulative spend reaches ``budget`` dollars.

    A day already past when spend crossed it then; a later day when the expected pace
    crosses it then; None when the cycle ends below the budget (or the budget is not
    positive: nothing to cross).
    """
    if budget <= 0:
        return None
    for offset, cumulative in enumerate(forecast.path):
        if cumulative >= budget:
            return forecast.start + timedelta(days=offset)
    return None


@dataclass(frozen=True)
class CycleForecast:
    """The forecast of one cycle for the team, each billing group and each member."""

    cycle_start: date
    cycle_end: date
    """The cycle's last day."""
    today: date
    day: int
    """Today's 1-based day number in the cycle (clamped to the cycle)."""
    length: int
    team: Forecast
    groups: Mapping[str, Forecast]
    """By group name, as given."""
    members: Mapping[str, Forecast]
    """By email: every member of the histories and of the groups."""
