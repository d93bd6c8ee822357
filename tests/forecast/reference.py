"""The forecast as first written, one member at a time: the oracle the fast path is held to.

A frozen copy of ``forecast_cycle`` and ``own_figures`` before they were made fast (one table of
the learning days' weights for every member, one walk of the team's days). Kept here, not in
the product, so the product has one way to compute a forecast and the tests a plain one to
check it against.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

from tracker_core.forecast.model import P10_Z, CycleForecast, Forecast
from tracker_core.forecast.rates import (
    LOOKBACK_DAYS,
    NO_RATES,
    SETTLED_DAYS,
    TREND_EVIDENCE,
    Own,
    Rates,
    holidays,
    is_weekend,
    learning_days,
    series_rates,
    shrunk,
    team_prior,
    weight,
)

History = Mapping[date, float]


def own_figures(history: Mapping[date, float], observed: Iterable[date], today: date) -> Own:
    """Recency-weighted means per kind of day, the trend around them and the spread left.

    The trend is a weighted least-squares slope of the days' spend around their kind's mean,
    shrunk toward none by how clearly the days show it (positive-part James-Stein: a slope
    within two of its standard errors counts for nothing), so a noisy member is forecast flat and
    a ramping one follows their ramp.
    """
    days = list(observed)
    sums = {False: 0.0, True: 0.0}
    weights = {False: 0.0, True: 0.0}
    counts = {False: 0, True: 0}
    for day in days:
        kind, w = is_weekend(day), weight(day, today)
        sums[kind] += w * history.get(day, 0.0)
        weights[kind] += w
        counts[kind] += 1
    means = {kind: sums[kind] / weights[kind] if weights[kind] else 0.0 for kind in sums}
    total = weights[False] + weights[True]
    if not total:
        return Own(0.0, 0.0, 0, 0, 0.0)
    points = [
        (
            weight(day, today),
            float((day - today).days),
            history.get(day, 0.0) - means[is_weekend(day)],
        )
        for day in days
    ]
    centre = sum(w * x for w, x, _ in points) / total
    spread_x = sum(w * (x - centre) ** 2 for w, x, _ in points)
    slope = sum(w * (x - centre) * r for w, x, r in points) / spread_x if spread_x else 0.0
    residual = sum(w * (r - slope * (x - centre)) ** 2 for w, x, r in points) / total
    if len(days) >= SETTLED_DAYS and spread_x and slope:
        error = residual / spread_x  # the slope's variance (weights as if counts)
        slope *= max(0.0, 1.0 - TREND_EVIDENCE * error / (slope * slope))
    else:
        slope = 0.0
    anchor = today + timedelta(days=round(centre))
    return Own(
        weekday=means[False],
        weekend=means[True],
        weekdays=counts[False],
        weekends=counts[True],
        variance=residual if slope else sum(w * r * r for w, _, r in points) / total,
        trend=slope,
        anchor=anchor,
    )


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
    path: list[float] = []
    running = 0.0
    left = 0.0  # days still to come, today's rest counting as its share
    for day in days:
        running += spent_by_day.get(day, 0.0)
        if day == today:
            running += rest_of_today * rates.on(day)
            left += rest_of_today
        elif day > today:
            running += rates.on(day)
            left += 1.0
        path.append(running)
    spent = sum(spent_by_day.get(day, 0.0) for day in days if day <= today)
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

    owns: dict[str, Own] = {}
    for email in emails:
        history = histories.get(email, {})
        active = [day for day, spend in history.items() if spend > 0]
        if not active:
            continue
        first = min(active)
        owns[email] = own_figures(history, [day for day in learnable if day >= first], today)
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

    def aggregate(scope: Iterable[str]) -> Forecast:
        listed = sorted(set(scope))
        by_day = _summed(histories, listed)
        # The group's days as one series: their spread includes what members share.
        series = series_rates(own_figures(by_day, learnable, today))
        variance = max(
            sum(variances.get(email, 0.0) for email in listed),
            remaining_variance(series, left) if series.days else 0.0,
        )
        return _summed_forecast([members[email] for email in listed], days, today, variance)

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
