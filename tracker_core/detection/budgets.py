"""Budget alerts: 50 / 80 / 100 % of a budget spent, and a forecasted breach (pure).

One detection run hands in each budget's standing (what its scope spent this cycle, its
forecast, the cycle's day) and gets back the findings to announce. A finding's period is the
cycle's first day and its rule names the threshold, so the incident lifecycle keeps one
anomaly per (threshold, scope, cycle): each threshold is announced at most once per cycle,
across repeated runs and restarts, and again in the next cycle.

Only the highest threshold reached is found: a scope that jumps from 40 % to 85 % in one run
is told about 80 %, not about 50 % as well, and the lower threshold's anomaly, no longer
found, resolves itself (it was superseded). A forecasted breach is found only before the
budget is actually reached (after that the 100 % alert says more), and only from
:data:`MIN_FORECAST_DAY`, when a cycle has days enough to project from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

from tracker_core.detection.model import Finding, Rule, Severity

THRESHOLDS: Final[tuple[tuple[Rule, int], ...]] = (
    ("budget_100", 100),
    ("budget_80", 80),
    ("budget_50", 50),
)
"""Each actual-spend rule and the percentage of the budget at which it fires, highest first."""
FORECAST_RULE: Final[Rule] = "budget_forecast"
BUDGET_RULES: Final[frozenset[Rule]] = frozenset({rule for rule, _ in THRESHOLDS} | {FORECAST_RULE})
CRITICAL_SHARE: Final = 1.1
"""Spend at or above this share of the budget is critical (the original's 110 %)."""
MIN_FORECAST_DAY: Final = 7
"""The first cycle day whose forecast may raise an alert: fewer days project too little."""

TEAM_SUBJECT: Final = "team"
"""The ``email`` of a team budget's anomaly (the original's team-level user)."""
TEAM_LABEL: Final = "The team"
"""How messages, lists and the incident queue name the team's budget."""
GROUP_SUBJECT_PREFIX: Final = "group:"


def subject_of(scope: str, key: str) -> str:
    """The anomaly ``email`` a budget's alerts are filed under: ``team``, ``group:ID`` or the
    member's email (so a member's budget alerts are in their own history)."""
    if scope == "team":
        return TEAM_SUBJECT
    if scope == "group":
        return GROUP_SUBJECT_PREFIX + key
    return key


@dataclass(frozen=True, slots=True)
class BudgetStanding:
    """One budget and where its scope stands in the current cycle (money in cents)."""

    scope: str
    """``team``, ``group`` or ``member``."""
    key: str
    """Empty for the team, the group's id or the member's email."""
    label: str
    """How messages name the scope: "The team", the group's name, the member's name."""
    budget_cents: float
    spent_cents: float
    forecast_cents: float | None
    """The cycle-end forecast, None when none could be made."""
    day: int
    """Today's 1-based day of the cycle."""
    length: int
    """Days in the cycle."""

    @property
    def subject(self) -> str:
        return subject_of(self.scope, self.key)

    @property
    def percent(self) -> int:
        """Whole percent of the budget spent, rounded down (99.9 % is not yet 100 %)."""
        return whole_percent(self.spent_cents, self.budget_cents)

    @property
    def forecast_percent(self) -> int | None:
        if self.forecast_cents is None:
            return None
        return whole_percent(self.forecast_cents, self.budget_cents)


def whole_percent(part: float, whole: float) -> int:
    """``part`` as a whole percentage of ``whole``, rounded down; 0 for no whole."""
    if whole <= 0:
        return 0
    return math.floor(part * 100 / whole + 1e-9)


def dollars(cents: float) -> str:
    """Whole dollars for a sentence: ``$1,640`` (rounded to the nearest dollar)."""
    rounded = round(cents / 100)
    return f"-${-rounded:,}" if rounded < 0 else f"${rounded:,}"


def _possessive(standing: BudgetStanding) -> str:
    return "their" if standing.scope == "member" else "its"


def _forecast_clause(standing: BudgetStanding) -> str:
    if standing.forecast_cents is None:
        return ""
    return f"; forecast {dollars(standing.forecast_cents)}"


def spent_message(standing: BudgetStanding) -> str:
    """``Platform has spent $1,640 of its $2,000 budget (82 %) on day 18 of 30; forecast
    $2,310``."""
    return (
        f"{standing.label} has spent {dollars(standing.spent_cents)} of "
        f"{_possessive(standing)} {dollars(standing.budget_cents)} budget "
        f"({standing.percent} %) on day {standing.day} of {standing.length}"
        + _forecast_clause(standing)
    )


def forecast_message(standing: BudgetStanding) -> str:
    forecast = standing.forecast_cents or 0.0
    return (
        f"{standing.label} is forecast to spend {dollars(forecast)} by the cycle's end, "
        f"{standing.forecast_percent} % of {_possessive(standing)} "
        f"{dollars(standing.budget_cents)} budget; spent {dollars(standing.spent_cents)} "
        f"by day {standing.day} of {standing.length}"
    )


def _severity(spent_cents: float, budget_cents: float) -> Severity:
    return "critical" if spent_cents >= CRITICAL_SHARE * budget_cents - 1e-9 else "warning"


def _finding(
    standing: BudgetStanding,
    rule: Rule,
    cycle_start: date,
    *,
    value_cents: float,
    threshold_cents: float,
    severity: Severity,
    message: str,
) -> Finding:
    return Finding(
        rule=rule,
        email=standing.subject,
        name=standing.label,
        period=cycle_start,
        value=round(value_cents) / 100,
        threshold=round(threshold_cents) / 100,
        severity=severity,
        message=message,
    )


def budget_findings(standings: Iterable[BudgetStanding], cycle_start: date) -> list[Finding]:
    """What each budget's standing calls for this run (see the module's docstring).

    A threshold fires when spend reaches it (``>=``, as the original's budget alert). The
    100 % alert is critical from :data:`CRITICAL_SHARE` of the budget, so a scope that goes
    on spending is told once more (the lifecycle's escalation); 50 % and 80 % are warnings.
    A budget of 0 or less is off.
    """
    findings: list[Finding] = []
    for standing in standings:
        budget = standing.budget_cents
        if budget <= 0:
            continue
        reached = next(
            ((rule, pct) for rule, pct in THRESHOLDS if standing.spent_cents * 100 >= budget * pct),
            None,
        )
        if reached is not None:
            rule, pct = reached
            severity: Severity = (
                _severity(standing.spent_cents, budget) if pct == 100 else "warning"
            )
            findings.append(
                _finding(
                    standing,
                    rule,
                    cycle_start,
                    value_cents=standing.spent_cents,
                    threshold_cents=budget * pct / 100,
                    severity=severity,
                    message=spent_message(standing),
                )
            )
        forecast = standing.forecast_cents
        if (
            forecast is not None
            and forecast > budget
            and standing.spent_cents < budget
            and standing.day >= MIN_FORECAST_DAY
        ):
            findings.append(
                _finding(
                    standing,
                    FORECAST_RULE,
                    cycle_start,
                    value_cents=forecast,
                    threshold_cents=budget,
                    severity="warning",
                    message=forecast_message(standing),
                )
            )
    return sorted(findings, key=lambda f: (f.email, f.rule))
