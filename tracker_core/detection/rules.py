"""The three detection layers as pure functions over zero-filled member usage.

Each layer takes the members, the settings, the UTC days to evaluate (yesterday, because Cursor
delivers events late, and today, which is partial) and the billing-cycle start, and returns
findings. Nothing here reads a clock or a database, so every firing point can be tested exactly.

All comparisons are strict ("above"), in cents internally; findings report dollars rounded to
cents for spend rules and counts otherwise.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Final

from tracker_core.detection.measures import median, top_model
from tracker_core.detection.model import (
    RULES,
    DayMeasure,
    Finding,
    MemberUsage,
    Rule,
    Severity,
)
from tracker_core.detection.settings import DetectionSettings

MIN_TEAM: Final = 5
"""Other active members a z-score, and active members a cycle median, need to mean anything."""
MIN_SPIKE_ACTIVE_DAYS: Final = 3
"""Active days in the lookback a personal average needs."""
MIN_SPIKE_AVERAGE_CENTS: Final = 100.0
"""A personal average under $1 makes any real day look like a spike."""
MIN_CYCLE_MEDIAN_CENTS: Final = 1_000.0
"""A team median under $10 makes any real cycle look like an outlier."""

Layer = Callable[[Sequence[MemberUsage], DetectionSettings, Sequence[date], date], list[Finding]]


# --- formatting ------------------------------------------------------------------------------


def _dollars(cents: float) -> float:
    return round(cents / 100.0, 2)


def _money(cents: float) -> str:
    return f"${_dollars(cents):,.2f}"


def _count(value: float) -> str:
    return f"{round(value):,}"


def _who(member: MemberUsage) -> str:
    return member.name.strip() or member.email


def _mostly(model: str | None, share: float | None) -> str:
    if model is None or share is None:
        return ""
    return f" (mostly {model}, {share:.0%})"


def _severity(ratio: float, fire_at: float, critical_factor: float) -> Severity:
    return "critical" if ratio > critical_factor * fire_at else "warning"


def _cycle_days(member: MemberUsage, cycle_start: date) -> list[date]:
    return [day for day in member.model_cents if day >= cycle_start]


def _finding(
    rule: Rule,
    member: MemberUsage,
    period: date,
    model_days: Iterable[date],
    *,
    value: float,
    threshold: float,
    severity: Severity,
    message: str,
    spend: bool,
) -> Finding:
    """One finding; spend values arrive in cents and leave in dollars."""
    model, share = top_model(member, model_days)
    if spend:
        message += _mostly(model, share)
    return Finding(
        rule=rule,
        email=member.email,
        name=member.name,
        period=period,
        value=_dollars(value) if spend else value,
        threshold=_dollars(threshold) if spend else threshold,
        severity=severity,
        message=message,
        top_model=model,
        top_model_share=None if share is None else round(share, 4),
    )


_EMPTY: Final = DayMeasure()


def _day(member: MemberUsage, day: date) -> DayMeasure:
    """Days outside the loaded window count as quiet days."""
    return member.days.get(day, _EMPTY)


def _eval_days(days: Sequence[date]) -> list[date]:
    return sorted(set(days))


def _before(day: date, count: int) -> list[date]:
    """The ``count`` days before ``day``, oldest first, ``day`` itself excluded."""
    return [day - timedelta(days=offset) for offset in range(count, 0, -1)]


def detection_window(
    settings: DetectionSettings, days: Sequence[date], cycle_start: date
) -> tuple[date, date]:
    """The ``[start, end]`` of usage the caller must load for these settings and days.

    It covers the z-score window and spike lookback before the earliest evaluated day, and the
    whole billing cycle, so cycle spend and the cycle's top model come from the same rows.
    """
    first, last = min(days), max(days)
    history = max(settings.zscore_window_days, settings.spike_lookback_days)
    return min(first - timedelta(days=history), cycle_start), last


# --- layer 1: thresholds ---------------------------------------------------------------------


def threshold_rules(
    members: Sequence[MemberUsage],
    settings: DetectionSettings,
    days: Sequence[date],
    cycle_start: date,
) -> list[Finding]:
    """Fixed caps set by the team; each is off while its setting is 0."""
    findings: list[Finding] = []
    cap_cents = settings.max_spend_per_cycle * 100.0
    for member in members:
        spent = member.cycle_spend_cents
        if cap_cents > 0 and spent > cap_cents:
            findings.append(
                _finding(
                    "spend_limit",
                    member,
                    cycle_start,
                    _cycle_days(member, cycle_start),
                    value=spent,
                    threshold=cap_cents,
                    severity=_severity(spent, cap_cents, 2.0),
                    message=f"{_who(member)} has spent {_money(spent)} this cycle,"
                    f" over the {_money(cap_cents)} cap",
                    spend=True,
                )
            )
        for day in _eval_days(days):
            findings.extend(_daily_caps(member, settings, day))
    return _sorted(findings)


def _daily_caps(member: MemberUsage, settings: DetectionSettings, day: date) -> list[Finding]:
    measure = _day(member, day)
    checks: tuple[tuple[Rule, int, int, str], ...] = (
        ("requests_limit", measure.requests, settings.max_requests_per_day, "made {} requests"),
        ("tokens_limit", measure.tokens, settings.max_tokens_per_day, "used {} tokens"),
    )
    findings: list[Finding] = []
    for rule, value, cap, verb in checks:
        if cap > 0 and value > cap:
            findings.append(
                _finding(
                    rule,
                    member,
                    day,
                    [day],
                    value=value,
                    threshold=cap,
                    severity=_severity(value, cap, 2.0),
                    message=f"{_who(member)} {verb.format(_count(value))} on {day.isoformat()},"
                    f" over the cap of {_count(cap)} a day",
                    spend=False,
                )
            )
    return findings


# --- layer 2: z-score against the rest of the team -------------------------------------------


@dataclass(frozen=True, slots=True)
class _Sums:
    """Exact count, sum and sum of squares of some active daily values.

    Exact (``Fraction``) so that removing one member's share from the team's totals gives the
    same mean and sample deviation ``statistics`` would compute on the others directly, without
    rescanning the whole team for every member.
    """

    n: int = 0
    total: Fraction = Fraction(0)
    squares: Fraction = Fraction(0)

    @staticmethod
    def of(values: Iterable[float]) -> _Sums:
        exact = [Fraction(value) for value in values]
        return _Sums(len(exact), sum(exact, Fraction(0)), sum((v * v for v in exact), Fraction(0)))

    def __add__(self, other: _Sums) -> _Sums:
        return _Sums(self.n + other.n, self.total + other.total, self.squares + other.squares)

    def __sub__(self, other: _Sums) -> _Sums:
        return _Sums(self.n - other.n, self.total - other.total, self.squares - other.squares)

    def mean_and_stdev(self) -> tuple[float, float]:
        """Mean and sample (n-1) standard deviation; needs ``n >= 2``."""
        mean = self.total / self.n
        spread = (self.squares - self.total * mean) / (self.n - 1)
        return float(mean), math.sqrt(spread) if spread > 0 else 0.0


@dataclass(frozen=True, slots=True)
class _Score:
    z: float
    mean: float
    stdev: float


def _zscores(
    members: Sequence[MemberUsage],
    values: Callable[[DayMeasure], float],
    day: date,
    window_days: int,
) -> dict[str, _Score]:
    """Each member's leave-one-out z-score for ``day`` against the window before it.

    The population is every (other member, day) value in the window where that member was
    active (value > 0). Members without enough active others get no score.
    """
    window = _before(day, window_days)
    own = {
        member.email: _Sums.of(v for d in window if (v := values(_day(member, d))) > 0)
        for member in members
    }
    team = sum(own.values(), _Sums())
    active = sum(1 for sums in own.values() if sums.n > 0)
    scores: dict[str, _Score] = {}
    for member in members:
        mine = own[member.email]
        if active - (1 if mine.n > 0 else 0) < MIN_TEAM:
            continue
        mean, stdev = (team - mine).mean_and_stdev()
        x = values(_day(member, day))
        scores[member.email] = _Score(_z(x, mean, stdev), mean, stdev)
    return scores


def _z(x: float, mean: float, stdev: float) -> float:
    """With no spread at all, anything above the others' common value is infinitely unusual."""
    if stdev > 0:
        return (x - mean) / stdev
    return math.inf if x > mean else 0.0


def zscore_rules(
    members: Sequence[MemberUsage],
    settings: DetectionSettings,
    days: Sequence[date],
    cycle_start: date,
) -> list[Finding]:
    """A day far above the rest of the team, in spend and in requests.

    Leave-one-out: the member is compared with the others only, so one outlier cannot hide
    itself by inflating the team's mean and deviation.
    """
    k = settings.zscore_multiplier
    floors: tuple[tuple[Rule, Callable[[DayMeasure], float], float], ...] = (
        ("zscore_spend", _spend, settings.min_daily_spend * 100.0),
        ("zscore_requests", _requests, float(settings.min_daily_requests)),
    )
    findings: list[Finding] = []
    for day in _eval_days(days):
        for rule, values, floor in floors:
            candidates = [m for m in members if values(_day(m, day)) >= floor]
            if not candidates:
                continue
            scores = _zscores(members, values, day, settings.zscore_window_days)
            for member in candidates:
                score = scores.get(member.email)
                if score is None or not score.z > k:
                    continue
                findings.append(_zscore_finding(rule, member, day, values, score, k))
    return _sorted(findings)


def _spend(measure: DayMeasure) -> float:
    return measure.spend_cents


def _requests(measure: DayMeasure) -> float:
    return float(measure.requests)


def _zscore_finding(
    rule: Rule,
    member: MemberUsage,
    day: date,
    values: Callable[[DayMeasure], float],
    score: _Score,
    k: float,
) -> Finding:
    spend = rule == "zscore_spend"
    x = values(_day(member, day))
    did = f"spent {_money(x)}" if spend else f"made {_count(x)} requests"
    mean = _money(score.mean) if spend else _count(score.mean)
    if math.isinf(score.z):
        against = f"above every other member's {mean} a day"
    elif spend:
        against = f"{score.z:.1f} standard deviations above the team mean of {mean}"
    else:
        against = f"{score.z:.1f} standard deviations above the team (mean {mean})"
    threshold = score.mean + k * score.stdev
    return _finding(
        rule,
        member,
        day,
        [day],
        value=x if spend else int(x),
        threshold=threshold if spend else round(threshold, 1),
        severity=_severity(score.z, k, 2.0),
        message=f"{_who(member)} {did} on {day.isoformat()}, {against}",
        spend=spend,
    )


# --- layer 3: trends -------------------------------------------------------------------------


def trend_rules(
    members: Sequence[MemberUsage],
    settings: DetectionSettings,
    days: Sequence[date],
    cycle_start: date,
) -> list[Finding]:
    """A member far above their own recent days, or far above the team over the cycle."""
    findings: list[Finding] = []
    for day in _eval_days(days):
        for member in members:
            spike = _spike(member, settings, day)
            if spike is not None:
                findings.append(spike)
    findings.extend(_cycle_outliers(members, settings, cycle_start))
    return _sorted(findings)


def _spike(member: MemberUsage, settings: DetectionSettings, day: date) -> Finding | None:
    """The day against the member's average over their active days in the lookback.

    Only active days count: a vacation or part-time week must not make an ordinary day look
    like a spike.
    """
    spent = _day(member, day).spend_cents
    if spent < settings.min_daily_spend * 100.0:
        return None
    active = [
        cents
        for d in _before(day, settings.spike_lookback_days)
        if (cents := _day(member, d).spend_cents) > 0
    ]
    if len(active) < MIN_SPIKE_ACTIVE_DAYS:
        return None
    average = statistics.fmean(active)
    if average < MIN_SPIKE_AVERAGE_CENTS:
        return None
    ratio = spent / average
    multiplier = settings.spike_multiplier
    if not ratio > multiplier:
        return None
    return _finding(
        "spend_spike",
        member,
        day,
        [day],
        value=spent,
        threshold=average * multiplier,
        severity=_severity(ratio, multiplier, 3.0),
        message=f"{_who(member)} spent {_money(spent)} on {day.isoformat()},"
        f" {ratio:.1f}x their usual {_money(average)} a day",
        spend=True,
    )


def _cycle_outliers(
    members: Sequence[MemberUsage], settings: DetectionSettings, cycle_start: date
) -> list[Finding]:
    """Cycle spend against the true median of everyone who spent this cycle, candidate included."""
    active = [m for m in members if m.cycle_spend_cents > 0]
    if len(active) < MIN_TEAM:
        return []
    team_median = median(m.cycle_spend_cents for m in active)
    if team_median < MIN_CYCLE_MEDIAN_CENTS:
        return []
    multiplier = settings.cycle_outlier_multiplier
    findings: list[Finding] = []
    for member in active:
        spent = member.cycle_spend_cents
        ratio = spent / team_median
        if not ratio > multiplier:
            continue
        findings.append(
            _finding(
                "cycle_outlier",
                member,
                cycle_start,
                _cycle_days(member, cycle_start),
                value=spent,
                threshold=team_median * multiplier,
                severity=_severity(ratio, multiplier, 3.0),
                message=f"{_who(member)} has spent {_money(spent)} this cycle,"
                f" {ratio:.1f}x the team median of {_money(team_median)}",
                spend=True,
            )
        )
    return findings


# --- all layers ------------------------------------------------------------------------------

LAYERS: Final[tuple[Layer, ...]] = (threshold_rules, zscore_rules, trend_rules)


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (RULES.index(f.rule), f.email, f.period))


def detect(
    members: Sequence[MemberUsage],
    settings: DetectionSettings,
    days: Sequence[date],
    cycle_start: date,
) -> list[Finding]:
    """Every finding of every layer, in rule order, then email, then period."""
    return _sorted(
        finding for layer in LAYERS for finding in layer(members, settings, days, cycle_start)
    )
