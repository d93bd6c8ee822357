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
from typing import Final

from tracker_core.detection.measures import (
    MIN_PERSONAL_DAYS,
    PERSONAL_LOOKBACK_DAYS,
    center_spread_without,
    median,
    robust_z,
    top_model,
)
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
YOUNG_CYCLE_DAYS: Final = 7
"""Until a cycle has run a week, a few busy days weigh a lot against a member's pace (a heavy
user who worked its first weekend), so a cycle outlier must then be further above it."""
CYCLE_PERSONAL_MULTIPLIER: Final = 2.0
"""How far above what their own pace would have spent by now a cycle must be before the team
comparison may flag it: a doubling is news, a heavy spender's ordinary month is not."""

Layer = Callable[[Sequence[MemberUsage], DetectionSettings, Sequence[date], date], list[Finding]]


# --- formatting ------------------------------------------------------------------------------


def _dollars(cents: float) -> float:
    return round(cents / 100.0, 2)


def _money(cents: float) -> str:
    return f"${_dollars(cents):,.2f}"


def _count(value: float) -> str:
    return f"{round(value):,}"


def _who(member: MemberUsage) -> str:
    """The member as a message names them, with their billing group when they have one."""
    who = member.name.strip() or member.email
    return f"{who} ({member.group})" if member.group else who


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


def lookback_days(settings: DetectionSettings) -> int:
    """Days of history before the earliest evaluated day that the rules read."""
    return max(settings.zscore_window_days, settings.spike_lookback_days, PERSONAL_LOOKBACK_DAYS)


def detection_window(
    settings: DetectionSettings, days: Sequence[date], cycle_start: date
) -> tuple[date, date]:
    """The ``[start, end]`` of usage the caller must load for these settings and days.

    It covers the z-score window and spike lookback before the earliest evaluated day, and the
    whole billing cycle, so cycle spend and the cycle's top model come from the same rows.
    """
    first, last = min(days), max(days)
    history = lookback_days(settings)
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

PERSONAL_MULTIPLIER: Final = 4.0
"""How far above their own usual level a day must be before the team rule may flag it."""


@dataclass(frozen=True, slots=True)
class _Score:
    z: float
    """Robust z on the log scale: (ln x - team median) / team spread."""
    team_typical: float
    """The team's typical active day (the exponential of the median of the logs)."""
    team_point: float
    """The value at which z reaches the multiplier."""
    usual: float | None
    """The member's own usual active day, None without enough history."""


def _zscore(
    x: float,
    own_window: Sequence[float],
    own_history: Sequence[float],
    team: Sequence[float],
    active_others: int,
    k: float,
) -> _Score | None:
    """The member's day against the others' active days in the window, and their own usual.

    ``team`` holds the logs of every member's active days in the window, sorted; the
    member's own (``own_window``) are left out of it. On the log scale a team's spend is
    roughly normal (members' levels are log-normal: a few spend ten times the median every
    day), and median and MAD are not dragged by the outliers being looked for. None when fewer
    than :data:`MIN_TEAM` others were active.
    """
    if active_others < MIN_TEAM:
        return None
    stats = center_spread_without(team, own_window)
    if stats is None:
        return None
    center, spread = stats
    z = robust_z(math.log(x), center, spread)
    active = [v for v in own_history if v > 0]
    usual = median(active) if len(active) >= MIN_PERSONAL_DAYS else None
    return _Score(z, math.exp(center), math.exp(center + k * spread), usual)


def zscore_rules(
    members: Sequence[MemberUsage],
    settings: DetectionSettings,
    days: Sequence[date],
    cycle_start: date,
) -> list[Finding]:
    """A day far above the rest of the team and well above the member's own usual day.

    Two conditions, both needed (README, "The team rule"): the day's robust z-score on the
    log scale against the *other* members' active days in the window is above
    ``zscore_multiplier``, and the day is above :data:`PERSONAL_MULTIPLIER` times the member's
    own usual active day (the median over :data:`PERSONAL_LOOKBACK_DAYS`). A consistent heavy
    user is far from the team every day but not from themselves, so their ordinary days stay
    quiet; a member without enough history of their own (a new hire) is judged by the team
    alone.
    """
    floors: tuple[tuple[Rule, Callable[[DayMeasure], float], float], ...] = (
        ("zscore_spend", _spend, settings.min_daily_spend * 100.0),
        ("zscore_requests", _requests, float(settings.min_daily_requests)),
    )
    k = settings.zscore_multiplier
    findings: list[Finding] = []
    for day in _eval_days(days):
        window = _before(day, settings.zscore_window_days)
        history = _before(day, PERSONAL_LOOKBACK_DAYS)
        for rule, values, floor in floors:
            candidates = [(m, x) for m in members if (x := values(_day(m, day))) >= floor and x > 0]
            if not candidates:
                continue
            own = {
                m.email: [math.log(v) for d in window if (v := values(_day(m, d))) > 0]
                for m in members
            }
            team = sorted(v for logs in own.values() for v in logs)
            active = sum(1 for logs in own.values() if logs)
            for member, x in candidates:
                mine = own[member.email]
                others = active - (1 if mine else 0)
                score = _zscore(
                    x, mine, [values(_day(member, d)) for d in history], team, others, k
                )
                if score is None or not score.z > k:
                    continue
                if score.usual is not None and not x > PERSONAL_MULTIPLIER * score.usual:
                    continue
                findings.append(_zscore_finding(rule, member, day, x, score, k))
    return _sorted(findings)


def _spend(measure: DayMeasure) -> float:
    return measure.spend_cents


def _requests(measure: DayMeasure) -> float:
    return float(measure.requests)


def _zscore_finding(
    rule: Rule, member: MemberUsage, day: date, x: float, score: _Score, k: float
) -> Finding:
    spend = rule == "zscore_spend"

    def amount(value: float) -> str:
        return _money(value) if spend else f"{_count(value)} requests"

    did = f"spent {_money(x)}" if spend else f"made {_count(x)} requests"
    if math.isinf(score.z):
        against = f"above every other member's {amount(score.team_typical)} a day"
    else:
        against = (
            f"{score.z:.1f} robust deviations above the team's typical"
            f" {amount(score.team_typical)} a day"
        )
    if score.usual is None:
        own = "with no usual day of their own yet"
    else:
        own = f"{x / score.usual:.1f}x their usual {amount(score.usual)}"
    threshold = score.team_point
    if score.usual is not None:
        threshold = max(threshold, PERSONAL_MULTIPLIER * score.usual)
    return _finding(
        rule,
        member,
        day,
        [day],
        value=x if spend else int(x),
        threshold=threshold if spend else round(threshold, 1),
        severity=_severity(score.z, k, 2.0),
        message=f"{_who(member)} {did} on {day.isoformat()}, {against}, {own}",
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
    findings.extend(_cycle_outliers(members, settings, cycle_start, max(days)))
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
    members: Sequence[MemberUsage], settings: DetectionSettings, cycle_start: date, today: date
) -> list[Finding]:
    """Cycle spend far above the team's median and well above the member's own pace.

    Two conditions, both needed, as for the team rule: the cycle spend is above
    ``cycle_outlier_multiplier`` times the true median of everyone who spent this cycle
    (candidate included), and above :func:`personal_cycle_point`, what the member's own pace
    over the weeks before the cycle would have spent by this day of it. A member who spends
    twelve times the median every cycle is an outlier for the team but not for themselves, so
    they stay quiet; one whose spend jumps this cycle is both. A member without enough history
    of their own (a new hire) is judged by the team alone.
    """
    active = [m for m in members if m.cycle_spend_cents > 0]
    if len(active) < MIN_TEAM:
        return []
    team_median = median(m.cycle_spend_cents for m in active)
    if team_median < MIN_CYCLE_MEDIAN_CENTS:
        return []
    multiplier = settings.cycle_outlier_multiplier
    findings: list[Finding] = []
    elapsed = max(1, (today - cycle_start).days + 1)
    for member in active:
        spent = member.cycle_spend_cents
        ratio = spent / team_median
        if not ratio > multiplier:
            continue
        own = personal_cycle_point(member.pace_before_cycle, elapsed)
        if own is not None and not spent > own:
            continue
        threshold = team_median * multiplier
        if own is not None:
            threshold = max(threshold, own)
        findings.append(
            _finding(
                "cycle_outlier",
                member,
                cycle_start,
                _cycle_days(member, cycle_start),
                value=spent,
                threshold=threshold,
                severity=_severity(ratio, multiplier, 3.0),
                message=f"{_who(member)} has spent {_money(spent)} this cycle,"
                f" {ratio:.1f}x the team median of {_money(team_median)}",
                spend=True,
            )
        )
    return findings


def personal_cycle_point(pace: float | None, elapsed: int) -> float | None:
    """The cycle spend above which a member is unusual for themselves ``elapsed`` days in.

    Their pace before the cycle (spend per day over the :data:`PERSONAL_LOOKBACK_DAYS` before
    it) times the days elapsed is what an ordinary cycle of theirs would have cost by now;
    the cycle must exceed it :data:`CYCLE_PERSONAL_MULTIPLIER` times. In the cycle's first
    week (:data:`YOUNG_CYCLE_DAYS`) a few busy days weigh a lot against a month's average (a
    heavy user who worked the weekend), so the bar is then :data:`PERSONAL_MULTIPLIER`. None
    when the member has no pace of their own (a new hire): the team alone decides.
    """
    if pace is None:
        return None
    factor = PERSONAL_MULTIPLIER if elapsed < YOUNG_CYCLE_DAYS else CYCLE_PERSONAL_MULTIPLIER
    return factor * pace * elapsed


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
