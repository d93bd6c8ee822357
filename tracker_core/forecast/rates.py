"""What a member spends on a weekday and on a weekend day, learned from their recent days.

Pure arithmetic over ``{day: dollars}`` histories. Recent days weigh more (a member whose use
grows is followed within a week or two); days the whole team was away (a holiday week) teach
nothing about the days to come and are left out; a member with few days of their own leans on
the team's rates (a prior), so a new member's first quiet or busy day does not decide the
rest of their cycle.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import repeat
from operator import mul
from statistics import median, pvariance

LOOKBACK_DAYS = 28
"""Complete days before today a rate is learned from: four of each weekday."""
HALF_LIFE_DAYS = 7.0
"""A day this many days older weighs half as much."""
TREND_DAYS = 14
"""Days after today a member's trend is followed; the rate holds after them."""
TREND_EVIDENCE = 4.0
"""A slope counts only as far as it stands out from its standard error by more than the
square root of this (two standard errors): a vacation or a one-off busy week must not read
as a ramp."""
PRIOR_DAYS = 1.5
"""The team's relative spread counts as this many days of a member's own, for a member
whose days are too few to tell their own spread."""
HOLIDAY_SHARE = 0.3
"""A weekday on which the team spent under this share of its usual weekday is a holiday."""
MIN_USUAL_DAYS = 5
"""Weekdays needed before the team's usual weekday (and so a holiday) can be told."""
SETTLED_DAYS = 7
"""Observed days that make a member's rates part of the team's prior."""
DEFAULT_CV = 1.0
"""A day's spread relative to its mean where the team gives nothing to learn it from."""


def is_weekend(day: date) -> bool:
    return day.weekday() >= 5


def weight(day: date, today: date) -> float:
    """How much ``day`` counts when learning a rate on ``today``."""
    return float(0.5 ** ((today - day).days / HALF_LIFE_DAYS))


@dataclass(frozen=True)
class Own:
    """A series' own figures over its observed days, before any prior."""

    weekday: float
    weekend: float
    weekdays: int
    """Observed weekdays (raw count: how much the weekday mean is worth)."""
    weekends: int
    variance: float
    """Weighted variance of a day's spend around its kind's mean (and trend)."""
    trend: float = 0.0
    """Dollars a day more each day, already shrunk by how clearly the days show it."""
    anchor: date | None = None
    """The days' weighted mean day: where the means hold before the trend moves them."""

    @property
    def days(self) -> int:
        return self.weekdays + self.weekends


@dataclass(frozen=True)
class Rates:
    """A member's (or a group's) expected spend per day of each kind, and a day's spread."""

    weekday: float
    weekend: float
    variance: float
    """Variance of one day's spend around its rate."""
    days: int
    """Observed days behind the rates: the fewer, the less the rates themselves are known."""
    rate_variance: float = 0.0
    """Variance of the rate itself: how little the days behind it (and the team) pin it."""
    trend: float = 0.0
    anchor: date | None = None
    trend_until: date | None = None
    """The last day the trend is followed: after it the rate holds (growth does not go on
    for ever, and a trend guessed wrong should not run away)."""

    def on(self, day: date) -> float:
        """The expected spend of ``day``: its kind's rate moved along the trend, never
        below nothing."""
        base = self.weekend if is_weekend(day) else self.weekday
        if not self.trend or self.anchor is None:
            return base
        until = day if self.trend_until is None else min(day, self.trend_until)
        return max(0.0, base + self.trend * (until - self.anchor).days)


NO_RATES = Rates(weekday=0.0, weekend=0.0, variance=0.0, days=0)


def learning_days(today: date, lookback: int = LOOKBACK_DAYS) -> list[date]:
    """The complete days before ``today`` a rate may learn from, oldest first."""
    return [today - timedelta(days=back) for back in range(lookback, 0, -1)]


def holidays(totals: Mapping[date, float], days: Sequence[date]) -> set[date]:
    """Weekdays among ``days`` on which the team spent far less than on its usual weekday.

    A holiday week is not what the rest of the cycle looks like; without enough weekdays to
    know the usual one, no day is called a holiday.
    """
    weekdays = [day for day in days if not is_weekend(day)]
    if len(weekdays) < MIN_USUAL_DAYS:
        return set()
    usual = median(totals.get(day, 0.0) for day in weekdays)
    if usual <= 0:
        return set()
    return {day for day in weekdays if totals.get(day, 0.0) < HOLIDAY_SHARE * usual}


@dataclass(frozen=True)
class Learning:
    """The learning days with each one's kind, weight and offset from today, worked out once.

    Every member and group of a forecast learns from the same days, so the powers and day
    arithmetic are paid once per forecast rather than once per member and day.
    """

    today: date
    days: tuple[date, ...]
    weekend: tuple[bool, ...]
    weights: tuple[float, ...]
    offsets: tuple[float, ...]
    """Each day's distance from today in days (negative: the days are before it)."""

    def since(self, first: date) -> Learning:
        """The days from ``first`` on (the days are in order): a member's own days."""
        at = bisect_left(self.days, first)
        return Learning(
            self.today,
            self.days[at:],
            self.weekend[at:],
            self.weights[at:],
            self.offsets[at:],
        )


def learning(observed: Iterable[date], today: date) -> Learning:
    days = tuple(observed)
    return Learning(
        today,
        days,
        tuple(is_weekend(day) for day in days),
        tuple(weight(day, today) for day in days),
        tuple(float((day - today).days) for day in days),
    )


def own_figures(history: Mapping[date, float], observed: Iterable[date], today: date) -> Own:
    """Recency-weighted means per kind of day, the trend around them and the spread left
    (:func:`figures_over` on ``observed``)."""
    return figures_over(history, learning(observed, today))


def figures_over(history: Mapping[date, float], days: Learning) -> Own:
    """Recency-weighted means per kind of day, the trend around them and the spread left.

    The trend is a weighted least-squares slope of the days' spend around their kind's mean,
    shrunk toward none by how clearly the days show it (positive-part James-Stein: a slope
    within two of its standard errors counts for nothing), so a noisy member is forecast flat and
    a ramping one follows their ramp.
    """
    sums = {False: 0.0, True: 0.0}
    weights = {False: 0.0, True: 0.0}
    counts = {False: 0, True: 0}
    spends = [history.get(day, 0.0) for day in days.days]
    for kind, w, spend in zip(days.weekend, days.weights, spends, strict=True):
        sums[kind] += w * spend
        weights[kind] += w
        counts[kind] += 1
    means = {kind: sums[kind] / weights[kind] if weights[kind] else 0.0 for kind in sums}
    total = weights[False] + weights[True]
    if not total:
        return Own(0.0, 0.0, 0, 0, 0.0)
    # Column by column through sum(): the same products added in the same order as a walk
    # over the days would, at a fraction of the interpreter's cost.
    ws, xs = days.weights, days.offsets
    rs = [spend - means[kind] for kind, spend in zip(days.weekend, spends, strict=True)]
    centre = sum(map(mul, ws, xs)) / total
    dxs = [x - centre for x in xs]
    wdxs = list(map(mul, ws, dxs))
    spread_x = sum(map(mul, ws, map(pow, dxs, repeat(2))))
    slope = sum(map(mul, wdxs, rs)) / spread_x if spread_x else 0.0
    misses = [r - slope * dx for r, dx in zip(rs, dxs, strict=True)]
    residual = sum(map(mul, ws, map(pow, misses, repeat(2)))) / total
    if len(rs) >= SETTLED_DAYS and spread_x and slope:
        error = residual / spread_x  # the slope's variance (weights as if counts)
        slope *= max(0.0, 1.0 - TREND_EVIDENCE * error / (slope * slope))
    else:
        slope = 0.0
    anchor = days.today + timedelta(days=round(centre))
    return Own(
        weekday=means[False],
        weekend=means[True],
        weekdays=counts[False],
        weekends=counts[True],
        variance=residual if slope else sum(map(mul, map(mul, ws, rs), rs)) / total,
        trend=slope,
        anchor=anchor,
    )


@dataclass(frozen=True)
class Prior:
    """The team's typical member: what a member without days of their own is taken to do."""

    weekday: float
    weekend_ratio: float
    """Weekend rate over weekday rate."""
    cv: float
    """A day's standard deviation over its mean."""
    weekday_variance: float = 0.0
    """How much settled members' weekday rates differ (dollars squared)."""
    spread_between: float = 0.0
    """How much settled members' levels differ, as the variance of their logarithms: the
    team's levels are heavy-tailed, so members differ by factors, not by dollars."""


def team_prior(figures: Iterable[Own]) -> Prior:
    """The settled members' mean weekday rate, weekend ratio and median relative spread, and
    how much members differ (what tells a new member's few days from the team's norm)."""
    listed = list(figures)
    # Members with a week of their own make the prior; new ones only when nobody has a week.
    settled = [own for own in listed if own.days >= SETTLED_DAYS]
    listed = settled or listed
    weekday_rates = [own.weekday for own in listed if own.weekdays]
    both = [own for own in listed if own.weekdays and own.weekends]
    weekday_sum = sum(own.weekday for own in both)
    ratio = sum(own.weekend for own in both) / weekday_sum if weekday_sum > 0 else 1.0
    spreads = [math.sqrt(own.variance) / level for own in listed if (level := _level(own)) > 0]
    logs = [math.log(level) for own in listed if (level := _level(own)) > 0]
    return Prior(
        weekday=sum(weekday_rates) / len(weekday_rates) if weekday_rates else 0.0,
        weekend_ratio=ratio,
        cv=median(spreads) if spreads else DEFAULT_CV,
        weekday_variance=pvariance(weekday_rates) if len(weekday_rates) > 1 else 0.0,
        spread_between=pvariance(logs) if len(logs) > 1 else 0.0,
    )


def _level(own: Own) -> float:
    """A member's mean day over a week of five weekdays and two weekend days."""
    return (5 * own.weekday + 2 * own.weekend) / 7


def own_share(between: float, noise: float, days: int) -> float:
    """How much a member's own mean counts against the team's (empirical Bayes, in relative
    terms): all of it when members differ far more than the member's days blur it, little
    when a few noisy days are all there is, none without days.

    ``between`` is the variance of the members' log levels, ``noise`` a day's squared
    coefficient of variation: scale-free both, so a heavy member's noisy dollars do not read
    as more doubt than a light member's.
    """
    if days == 0:
        return 0.0
    blur = noise / days
    return between / (between + blur) if between + blur > 0 else 1.0


def shrunk(own: Own, prior: Prior, today: date) -> Rates:
    """A member's rates: their own, pulled toward the team's as far as their days leave
    them uncertain (:func:`own_share`).

    The weekend's prior is the member's own weekday rate at the team's weekend ratio, so a
    heavy member new on a Friday is not expected to spend the team's average on Saturday.
    A day's spread is the member's own, filled in from the team's relative spread while
    they have few days (:data:`PRIOR_DAYS`); the rate's own uncertainty is what the team's
    spread leaves after the member's days.
    """
    own_level = _level(own) if own.days else prior.weekday
    prior_variance = (prior.cv * own_level) ** 2
    variance = (own.days * own.variance + PRIOR_DAYS * prior_variance) / (own.days + PRIOR_DAYS)
    noise = prior.cv * prior.cv
    on_weekdays = own_share(prior.spread_between, noise, own.weekdays)
    weekday = on_weekdays * own.weekday + (1 - on_weekdays) * prior.weekday
    on_weekends = own_share(prior.spread_between, noise, own.weekends)
    weekend = on_weekends * own.weekend + (1 - on_weekends) * weekday * prior.weekend_ratio
    # What the team's spread leaves unknown of the rate after the member's own days.
    rate_variance = (1 - on_weekdays) * prior.weekday_variance + (
        on_weekdays * variance / own.weekdays if own.weekdays else 0.0
    )
    return Rates(
        weekday=weekday,
        weekend=weekend,
        variance=variance,
        days=own.days,
        rate_variance=rate_variance,
        trend=own.trend,
        anchor=own.anchor,
        trend_until=today + timedelta(days=TREND_DAYS),
    )


def series_rates(own: Own) -> Rates:
    """A group's or the team's rates from its own summed days, without a prior."""
    return Rates(
        own.weekday,
        own.weekend,
        own.variance,
        own.days,
        rate_variance=own.variance / own.days if own.days else 0.0,
    )
