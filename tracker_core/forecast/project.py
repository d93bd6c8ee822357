"""The cycle-end forecast of members, billing groups and the team (pure: no clock, no I/O).

For each member the cycle so far is what they spent; the rest of today and every later day
of the cycle add their learned rate for that kind of day (:mod:`.rates`). Today counts only
for the part of it still to come, so a forecast made at 09:00 neither takes the morning's
spend for a whole day nor adds a whole day on top of it.

The range is a normal p10-p90 around the expectation: the days still to come vary as the
member's days did (variance grows with the days left) and the rate itself is known only as
well as the days behind it (variance grows with the square of the days left, shrinking as
days are observed). A group's range is not the sum of its members' p10s and p90s: members'
days largely offset each other, so their variances add; where members move together (the
group's own summed days vary more than that), the group's own spread is taken instead.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

from tracker_core.forecast.model import P10_Z, CycleForecast, Forecast
from tracker_core.forecast.rates import (
    LOOKBACK_DAYS,
    NO_RATES,
    Own,
    Rates,
    figures_over,
    holidays,
    learning,
    learning_days,
    series_rates,
    shrunk,
    team_prior,
)

History = Mapping[date, float]
"""One member's spend in dollars per UTC day (days without spend may be left out)."""


def elapsed_share(now: datetime) -> float:
    """How much of ``now``'s UTC day has passed (0 at midnight); naive means UTC."""
    at = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    midnight = datetime(at.year, at.month, at.day, tzinfo=UTC)
    return (at - midnight).total_seconds() / 86400.0


def cycle_days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def _project(
    spent_by_day: Mapping[date, float],
    rates: Rates,
    days: list[date],
    today: date,
    rest_of_today: float,
) -> Forecast:
    """Spend through now plus the rates over what is left of the cycle."""
    spends = [spent_by_day.get(day, 0.0) for day in days] if spent_by_day else [0.0] * len(days)
    path: list[float] = []
    running = 0.0
    left = 0.0  # days still to come, today's rest counting as its share
    spent_days = 0
    for day, spend in zip(days, spends, strict=True):
        running += spend
        if day < today:
            spent_days += 1
        elif day == today:
            running += rest_of_today * rates.on(day)
            left += rest_of_today
            spent_days += 1
        else:
            running += rates.on(day)
            left += 1.0
        path.append(running)
    spent = sum(spends[:spent_days])
    return _ranged(spent, tuple(path), remaining_variance(rates, left), days, today)


def _ranged(
    spent: float, path: tuple[float, ...], variance: float, days: list[date], today: date
) -> Forecast:
    """A forecast whose p10-p90 lies :data:`P10_Z` deviations either side of the path's end
    (never below what is spent)."""
    expected = path[-1] if path else 0.0
    spread = P10_Z * math.sqrt(max(variance, 0.0))
    return Forecast(
        spent=spent,
        expected=expected,
        low=max(spent, expected - spread),
        high=expected + spread,
        start=days[0] if days else today,
        path=path,
    )


def remaining_variance(rates: Rates, left: float) -> float:
    """The variance of the spend of ``left`` days to come: the days' own spread plus the
    uncertainty of the rate, which a longer history narrows."""
    return rates.variance * left + rates.rate_variance * left * left


def forecast_cycle(
    histories: Mapping[str, History],
    cycle_start: date,
    cycle_end: date,
    now: datetime,
    *,
    groups: Mapping[str, Collection[str]] | None = None,
    lookback: int = LOOKBACK_DAYS,
) -> CycleForecast:
    """Forecast the cycle ``cycle_start``..``cycle_end`` (its last day) as of ``now``.

    ``histories`` holds each member's spend per day in dollars: the cycle so far and the
    weeks before it (up to ``lookback`` complete days before today are learned from).
    ``groups`` maps a group's name to its members' emails; a member in none still counts
    for the team. A member with no spend at all is forecast to spend nothing: an idle seat
    is not a new member.
    """
    today = now.date() if now.tzinfo is None else now.astimezone(UTC).date()
    days = cycle_days(cycle_start, cycle_end)
    rest_of_today = 1.0 - elapsed_share(now)
    groups = groups or {}
    emails = sorted(set(histories) | {email for listed in groups.values() for email in listed})
    window = learning_days(today, lookback)

    team_by_day = _summed(histories, emails)
    quiet = holidays(team_by_day, window)
    learnable = [day for day in window if day not in quiet]

    # The learning days' weights once for everyone; a member's own days are their suffix.
    table = learning(learnable, today)
    owns: dict[str, Own] = {}
    for email in emails:
        history = histories.get(email, {})
        active = [day for day, spend in history.items() if spend > 0]
        if not active:
            continue
        owns[email] = figures_over(history, table.since(min(active)))
    prior = team_prior(owns.values())

    left = _days_left(days, today, rest_of_today)
    rates = {email: shrunk(own, prior, today) for email, own in owns.items()}
    members = {
        email: _project(
            histories.get(email, {}), rates.get(email, NO_RATES), days, today, rest_of_today
        )
        for email in emails
    }
    variances = {email: remaining_variance(rated, left) for email, rated in rates.items()}
    # The team's days are summed already; a group listing the same members is the same sum.
    summed_days: dict[tuple[str, ...], dict[date, float]] = {tuple(emails): team_by_day}
    aggregates: dict[tuple[str, ...], Forecast] = {}

    def aggregate(scope: Iterable[str]) -> Forecast:
        listed = tuple(sorted(set(scope)))
        if (known := aggregates.get(listed)) is not None:
            return known
        by_day = summed_days.get(listed)
        if by_day is None:
            by_day = _summed(histories, listed)
        # The group's days as one series: their spread includes what members share.
        series = series_rates(figures_over(by_day, table))
        variance = max(
            sum(variances.get(email, 0.0) for email in listed),
            remaining_variance(series, left) if series.days else 0.0,
        )
        aggregates[listed] = _summed_forecast(
            [members[email] for email in listed], days, today, variance
        )
        return aggregates[listed]

    length = len(days)
    return CycleForecast(
        cycle_start=cycle_start,
        cycle_end=cycle_end,
        today=today,
        day=min(max((today - cycle_start).days + 1, 1), max(length, 1)),
        length=length,
        team=aggregate(emails),
        groups={name: aggregate(listed) for name, listed in groups.items()},
        members=members,
    )


def _summed(histories: Mapping[str, History], emails: Iterable[str]) -> dict[date, float]:
    total: dict[date, float] = {}
    for email in emails:
        for day, spend in histories.get(email, {}).items():
            total[day] = total.get(day, 0.0) + spend
    return total


def _summed_forecast(
    forecasts: list[Forecast], days: list[date], today: date, variance: float
) -> Forecast:
    """Members' forecasts added up (a group's expectation is the sum of its members'), with
    the group's own range."""
    spent = sum(forecast.spent for forecast in forecasts)
    if forecasts:
        path = tuple(sum(values) for values in zip(*(f.path for f in forecasts), strict=True))
    else:
        path = tuple(0.0 for _ in days)
    return _ranged(spent, path, variance, days, today)


def _days_left(days: list[date], today: date, rest_of_today: float) -> float:
    return sum(rest_of_today if day == today else 1.0 for day in days if day >= today)
