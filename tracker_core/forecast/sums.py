"""The scope's cycle-end forecast from per-member sums a database adds up (pure: no I/O).

:func:`tracker_core.forecast.forecast_cycle` reads every member's spend day by day: tens of
thousands of values that the interpreter walks one at a time. A forecast of one scope (the
team, or one group filter's members: what the overview's cycle tile shows) needs less. The
rates of :mod:`.rates` are linear in a day's spend once the days' weights are fixed, so a
member's recency-weighted figures follow from a handful of sums over their days (per kind
of day: the weighted spend, its square and its product with the day's offset), and those
are ``GROUP BY`` aggregates the database computes while the interpreter does something else.

The figures are those of :func:`forecast_cycle`'s ``groups`` line for the same scope within
float rounding (the sums are added in another order), on the premise that a day's spend is
never negative (it is a cost): days before a member's first day with spend then add nothing.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import mul

from tracker_core.forecast.model import Forecast
from tracker_core.forecast.project import (
    _days_left,
    _ranged,
    cycle_days,
    elapsed_share,
    remaining_variance,
)
from tracker_core.forecast.rates import (
    LOOKBACK_DAYS,
    SETTLED_DAYS,
    TREND_EVIDENCE,
    Learning,
    Own,
    Rates,
    figures_over,
    holidays,
    is_weekend,
    learning,
    learning_days,
    series_rates,
    shrunk,
    team_prior,
)


@dataclass(frozen=True, slots=True)
class KindSums:
    """One member's sums over the learning days of one kind (weekday or weekend), ``w``
    each day's weight, ``t`` its offset from today and ``s`` the day's spend in dollars."""

    ws: float = 0.0
    """Σ w·s"""
    wss: float = 0.0
    """Σ w·s²"""
    wts: float = 0.0
    """Σ w·t·s"""


NO_SUMS = KindSums()


@dataclass(frozen=True, slots=True)
class MemberSums:
    """What the scope's forecast needs of one member with spend in the history."""

    first_active: date | None
    """The member's first day with spend in the history read (None: never spent)."""
    weekday: KindSums = NO_SUMS
    weekend: KindSums = NO_SUMS


def learning_table(
    team_by_day: Mapping[date, float], today: date, lookback: int = LOOKBACK_DAYS
) -> Learning:
    """The learning days every member of a forecast on ``today`` learns from, with their
    weights and offsets: the complete days of the lookback, less the team's holidays."""
    window = learning_days(today, lookback)
    quiet = holidays(team_by_day, window)
    return learning([day for day in window if day not in quiet], today)


@dataclass(frozen=True, slots=True)
class _Suffix:
    """The parts of :func:`figures_over` that depend only on a member's days, not their
    spend: worked out once per first day (at most one per learning day)."""

    days: int
    weights: tuple[float, float]
    """Σ w of the weekdays, of the weekend days."""
    counts: tuple[int, int]
    centre: float
    spread_x: float
    """Σ w·(t − centre)²"""
    dx_weights: tuple[float, float]
    """Σ w·(t − centre) of the weekdays, of the weekend days."""
    anchor: date


def _suffix(days: Learning) -> _Suffix | None:
    """As :func:`figures_over` computes them, in the same order (None: no days)."""
    weights = [0.0, 0.0]
    counts = [0, 0]
    for kind, w in zip(days.weekend, days.weights, strict=True):
        weights[kind] += w
        counts[kind] += 1
    total = weights[False] + weights[True]
    if not total:
        return None
    ws, xs = days.weights, days.offsets
    centre = sum(map(mul, ws, xs)) / total
    dxs = [x - centre for x in xs]
    dx_weights = [0.0, 0.0]
    for kind, w, dx in zip(days.weekend, ws, dxs, strict=True):
        dx_weights[kind] += w * dx
    return _Suffix(
        days=len(days.days),
        weights=(weights[False], weights[True]),
        counts=(counts[False], counts[True]),
        centre=centre,
        spread_x=sum(w * dx * dx for w, dx in zip(ws, dxs, strict=True)),
        dx_weights=(dx_weights[False], dx_weights[True]),
        anchor=days.today + timedelta(days=round(centre)),
    )


def own_from_sums(sums: MemberSums, days: _Suffix | None) -> Own:
    """:func:`figures_over` of a member from their sums over their days (``days``).

    With ``r`` a day's spend less its kind's mean ``m`` and ``dx`` its offset less the
    centre, the slope's numerator Σ w·dx·r is Σ w·t·s − centre·Σ w·s − Σ m·(Σ w·dx of the
    kind), and Σ w·r² is Σ (Σ w·s² − m·Σ w·s) over the kinds; the residual after the
    slope is Σ w·r² − slope·numerator.
    """
    if days is None:
        return Own(0.0, 0.0, 0, 0, 0.0)
    kinds = (sums.weekday, sums.weekend)
    means = [k.ws / w if w else 0.0 for k, w in zip(kinds, days.weights, strict=True)]
    total = days.weights[0] + days.weights[1]
    ws = kinds[0].ws + kinds[1].ws
    wts = kinds[0].wts + kinds[1].wts
    numerator = (
        wts - days.centre * ws - means[0] * days.dx_weights[0] - means[1] * days.dx_weights[1]
    )
    squares = max(0.0, sum(k.wss - m * k.ws for k, m in zip(kinds, means, strict=True)))
    spread_x = days.spread_x
    slope = numerator / spread_x if spread_x else 0.0
    residual = max(0.0, squares - slope * numerator) / total
    if days.days >= SETTLED_DAYS and spread_x and slope:
        error = residual / spread_x
        slope *= max(0.0, 1.0 - TREND_EVIDENCE * error / (slope * slope))
    else:
        slope = 0.0
    return Own(
        weekday=means[0],
        weekend=means[1],
        weekdays=days.counts[0],
        weekends=days.counts[1],
        variance=residual if slope else squares / total,
        trend=slope,
        anchor=days.anchor,
    )


def scope_forecast_from_sums(
    members: Mapping[str, MemberSums],
    scope: Container[str] | None,
    scope_by_day: Mapping[date, float],
    table: Learning,
    cycle_start: date,
    cycle_end: date,
    now: datetime,
) -> Forecast:
    """The forecast of the members in ``scope`` (None: everyone) taken together.

    ``members`` holds every member with spend in the history (the prior is the whole
    team's), ``scope_by_day`` the scope's spend per day over the history (the cycle's days
    through today among them: what the scope has spent), ``table`` the
    learning days (:func:`learning_table`). As :func:`forecast_cycle`'s line for a group
    of the same members: their spend so far, each member's rates over the days to come, and
    the wider of their summed variances and the scope's own days' spread.
    """
    today = now.date() if now.tzinfo is None else now.astimezone(UTC).date()
    days = cycle_days(cycle_start, cycle_end)
    rest_of_today = 1.0 - elapsed_share(now)
    suffixes: dict[int, _Suffix | None] = {}
    owns: dict[str, Own] = {}
    for email in sorted(members):
        first = members[email].first_active
        if first is None:
            continue
        at = _first_index(table, first)
        if at not in suffixes:
            suffixes[at] = _suffix(table.since(first))
        owns[email] = own_from_sums(members[email], suffixes[at])
    prior = team_prior(owns.values())
    left = _days_left(days, today, rest_of_today)
    listed = sorted(members if scope is None else (e for e in members if e in scope))
    rates = [shrunk(owns[email], prior, today) for email in listed if email in owns]
    spent = sum(scope_by_day.get(day, 0.0) for day in days if day <= today)
    path = _path(scope_by_day, rates, days, today, rest_of_today)
    series = series_rates(figures_over(scope_by_day, table))
    variance = max(
        sum(remaining_variance(rated, left) for rated in rates),
        remaining_variance(series, left) if series.days else 0.0,
    )
    return _ranged(spent, path, variance, days, today)


def _first_index(table: Learning, first: date) -> int:
    """How many learning days lie before ``first``: the key of the member's suffix."""
    return bisect_left(table.days, first)


def _path(
    spent_by_day: Mapping[date, float],
    rates: list[Rates],
    days: list[date],
    today: date,
    rest_of_today: float,
) -> tuple[float, ...]:
    """The scope's cumulative spend per cycle day: what was spent, then the members'
    expected days (a member on a trend day by day, the others by kind of day)."""
    flat = [rated for rated in rates if not rated.trend or rated.anchor is None]
    trending = [rated for rated in rates if rated.trend and rated.anchor is not None]
    weekday = sum(rated.weekday for rated in flat)
    weekend = sum(rated.weekend for rated in flat)
    path: list[float] = []
    running = 0.0
    for day in days:
        running += spent_by_day.get(day, 0.0)
        if day >= today:
            expected = (weekend if is_weekend(day) else weekday) + sum(
                rated.on(day) for rated in trending
            )
            running += rest_of_today * expected if day == today else expected
        path.append(running)
    return tuple(path)
