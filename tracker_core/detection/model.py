"""The vocabulary detection speaks: rules, severities, daily measures, anomalies and findings.

These are plain frozen dataclasses shared by the pure rule functions
(:mod:`tracker_core.detection.rules`), the incident lifecycle that stores what they find and
the alert senders that announce it, so none of them depends on another's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Final, Literal, get_args

Rule = Literal[
    "spend_limit",
    "requests_limit",
    "tokens_limit",
    "zscore_spend",
    "zscore_requests",
    "spend_spike",
    "cycle_outlier",
    "budget_50",
    "budget_80",
    "budget_100",
    "budget_forecast",
]
RULES: Final[tuple[Rule, ...]] = get_args(Rule)
"""Every rule, in the order reports list them."""
CYCLE_RULES: Final[frozenset[Rule]] = frozenset(
    {"spend_limit", "cycle_outlier", "budget_50", "budget_80", "budget_100", "budget_forecast"}
)
"""Rules whose period is the billing cycle (they resolve themselves when the condition clears)."""
SPEND_RULES: Final[frozenset[Rule]] = frozenset(
    {
        "spend_limit",
        "zscore_spend",
        "spend_spike",
        "cycle_outlier",
        "budget_50",
        "budget_80",
        "budget_100",
        "budget_forecast",
    }
)
"""Rules whose value and threshold are dollars; the others count requests or tokens."""

Severity = Literal["warning", "critical"]
SEVERITY_RANK: Final[dict[str, int]] = {"warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class DayMeasure:
    """One member's usage on one UTC day, from their usage events."""

    spend_cents: float = 0.0
    requests: int = 0
    tokens: int = 0
    """Input plus output tokens."""


@dataclass(frozen=True, slots=True)
class MemberUsage:
    """One member's zero-filled daily usage over the detection window, and where it went.

    ``days`` holds every calendar day of the window, zero where nothing happened, so a quiet day
    counts as a quiet day rather than vanishing. ``model_cents`` gives spend per model per day,
    for naming the model behind an anomaly.
    """

    email: str
    name: str
    days: dict[date, DayMeasure]
    model_cents: dict[date, dict[str, float]] = field(default_factory=dict)
    cycle_spend_cents: float = 0.0
    """Spend in the current billing cycle: Cursor's ``/teams/spend`` figure when collected,
    else the sum of the events since the cycle start."""
    is_removed: bool = False
    pace_before_cycle: float | None = None
    """Spend per calendar day in the weeks before the cycle
    (:data:`~tracker_core.detection.measures.PERSONAL_LOOKBACK_DAYS`), or None when the member
    was active on fewer than ``MIN_PERSONAL_DAYS`` of them (a new hire): the member's own
    yardstick for the cycle outlier."""
    group: str = ""
    """The member's billing group as every face shows it (the effective group, local edits
    included; '' in none): messages name it, so an alert says whose team to ask."""


@dataclass(frozen=True, slots=True)
class Anomaly:
    """What one anomaly is: a rule firing for one member in one period, how far and how badly.

    Declared once and extended by every record that speaks of an anomaly (this run's
    :class:`Finding`, the incident queue's ``IncidentView``, the alert senders' ``AlertItem``),
    so a field added here reaches the detector, the queue and the alerts alike.

    ``value`` and ``threshold`` are dollars for spend rules (:data:`SPEND_RULES`) and counts
    otherwise; ``threshold`` is the firing point (value must be above it). ``period`` is the UTC
    day for daily rules and the cycle start day for cycle rules.
    """

    rule: Rule
    email: str
    name: str
    period: date
    value: float
    threshold: float
    severity: Severity
    message: str
    top_model: str | None = None
    top_model_share: float | None = None
    """Share (0..1) of the period's spend that went to ``top_model``."""

    @property
    def fingerprint(self) -> tuple[str, str, date]:
        """One anomaly per fingerprint, ever."""
        return (self.rule, self.email, self.period)

    def anomaly_fields(self) -> dict[str, Any]:
        """This record's :class:`Anomaly` part, to build another record of the same anomaly
        (or a row) without naming every field again."""
        return {spec.name: getattr(self, spec.name) for spec in fields(Anomaly)}

    def to_json(self) -> dict[str, Any]:
        """The finding as ``detect --json`` and the backtest list it."""
        return {
            "rule": self.rule,
            "email": self.email,
            "period": self.period.isoformat(),
            "value": self.value,
            "threshold": self.threshold,
            "severity": self.severity,
            "message": self.message,
        }

    def stored_fields(self) -> dict[str, Any]:
        """The columns of the anomalies table this record fills (all but the member's name,
        which the members table holds)."""
        return {name: getattr(self, name) for name in STORED_FIELDS}

    def revised_fields(self) -> dict[str, Any]:
        """What a later run's finding rewrites in the stored anomaly it continues: an episode's
        period follows its latest day, and its figures and message are the latest. The rule
        and member are the fingerprint's; the severity is the lifecycle's decision."""
        return {name: getattr(self, name) for name in REVISED_FIELDS}


REVISED_FIELDS = ("period", "value", "threshold", "message", "top_model", "top_model_share")
STORED_FIELDS = ("rule", "email", "severity", *REVISED_FIELDS)
"""The columns of the anomalies table that an :class:`Anomaly` carries."""


@dataclass(frozen=True, slots=True)
class Finding(Anomaly):
    """An anomaly as one detection run sees it, before the lifecycle matches it to a stored one."""
