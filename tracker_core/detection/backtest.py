"""A backtest's result: what detection would have found and announced, day by day.

Pure bookkeeping over findings, shared by ``detect --backtest`` and any face that shows the
same summary (the console's settings screen, the daemon), so they all count alike. A finding
is what a day's run saw; an announcement is what it would have told people (a new incident
or an escalation), the figure that decides whether a team mutes its alerts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tracker_core.detection.model import RULES, Finding
from tracker_core.detection.settings import DetectionSettings, SettingValue


@dataclass(frozen=True, slots=True)
class BacktestDay:
    """One replayed run, as of the end of ``day``."""

    day: date
    findings: tuple[Finding, ...]
    announced: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class Backtest:
    """Every replayed day, oldest first, with the settings they ran under."""

    settings: DetectionSettings
    changes: dict[str, SettingValue] = field(default_factory=dict)
    """The proposed values that differ from the stored settings (``--set``)."""
    days: tuple[BacktestDay, ...] = ()

    def count_by(self, what: str, key: str) -> Counter[str]:
        """Counts of ``findings`` or ``announced`` over all days, by ``rule`` or ``email``."""
        counts: Counter[str] = Counter()
        for day in self.days:
            for finding in getattr(day, what):
                counts[getattr(finding, key)] += 1
        return counts

    @property
    def total_findings(self) -> int:
        return sum(len(day.findings) for day in self.days)

    @property
    def total_announced(self) -> int:
        return sum(len(day.announced) for day in self.days)

    def to_json(self) -> dict[str, Any]:
        def rows(key: str) -> dict[str, dict[str, int]]:
            found, told = self.count_by("findings", key), self.count_by("announced", key)
            names = sorted(found, key=RULES.index) if key == "rule" else sorted(found)
            return {name: {"findings": found[name], "announced": told[name]} for name in names}

        return {
            "settings": self.settings.to_json(),
            "changes": self.changes,
            "days": [
                {
                    "day": day.day.isoformat(),
                    "findings": [_short(f) for f in day.findings],
                    "announced": [_short(f) for f in day.announced],
                }
                for day in self.days
            ],
            "totals": {
                "days": len(self.days),
                "findings": self.total_findings,
                "announced": self.total_announced,
                "by_rule": rows("rule"),
                "by_member": rows("email"),
            },
        }


def summary_line(result: Backtest) -> str:
    """One line a face can show under the settings being edited: what they would have raised."""
    changes = ", ".join(f"{key}={value:g}" for key, value in result.changes.items())
    told = result.count_by("announced", "rule")
    rules = ", ".join(f"{rule} {told[rule]}" for rule in sorted(told, key=RULES.index))
    return (
        f"Backtest of the last {len(result.days)} days with "
        + (changes or "the stored settings")
        + f": {result.total_announced} alerts announced ({result.total_findings} findings)"
        + (f": {rules}." if rules else ".")
    )


def _short(finding: Finding) -> dict[str, Any]:
    """A finding as ``detect --json`` lists it, without its message: a backtest lists
    thousands, and the figures say what the message would."""
    listed = finding.to_json()
    del listed["message"]
    return listed
