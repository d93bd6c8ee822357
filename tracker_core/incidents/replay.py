"""The incident lifecycle replayed in memory: what a run of days would have announced.

A backtest must count what people would have been told, not what the rules saw: a condition
found again on the next run is no new alert. So the replay feeds each day's findings through
the same pure :func:`tracker_core.incidents.lifecycle.plan` the detector uses, keeping the
anomalies it would have stored in a dictionary instead of a database. Every channel counts as
configured, so each announcement is counted once per incident, not once per channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from tracker_core.detection.model import CYCLE_RULES, Finding
from tracker_core.incidents.lifecycle import KnownAnomaly, Opening, plan
from tracker_core.incidents.lifecycle import moved as lifecycle_moved

_ALL_CHANNELS = {"slack": True, "email": True}


@dataclass
class Replay:
    """The anomalies a replay has stored so far, by fingerprint."""

    known: dict[tuple[str, str, date], KnownAnomaly] = field(default_factory=dict)
    _next_id: int = 1

    def run(
        self,
        findings: Sequence[Finding],
        *,
        now: datetime,
        cycle_start: date,
        cycle_rules_evaluable: Iterable[str] = CYCLE_RULES,
        days: Sequence[date] = (),
    ) -> list[Finding]:
        """Apply one run's findings; the findings it would have announced (new or escalated)."""
        decided = plan(
            self.known.values(),
            findings,
            onsets={},
            now=now,
            channels=_ALL_CHANNELS,
            cycle_start=cycle_start,
            cycle_rules_evaluable=cycle_rules_evaluable,
            days=days,
        )
        opened: dict[Opening, int] = {}
        for opening in decided.opens:
            known = self._store(opening.finding)
            opened[opening] = known.incident_id
        escalated: dict[int, Finding] = {}
        for change in decided.updates:
            row, finding = change.known, change.finding
            current = next(k for k in self.known.values() if k.anomaly_id == row.anomaly_id)
            del self.known[current.fingerprint]
            moved = lifecycle_moved(current, change)
            self.known[moved.fingerprint] = moved
            if change.escalated:
                escalated[row.incident_id] = finding
        for row in decided.resolves:
            current = next(k for k in self.known.values() if k.anomaly_id == row.anomaly_id)
            self.known[current.fingerprint] = replace(
                current, status="resolved", resolved_by="auto"
            )
        announced: list[Finding] = []
        seen: set[int] = set()
        for alert in decided.alerts:
            subject = alert.subject
            incident = opened[subject] if isinstance(subject, Opening) else subject
            if incident in seen:
                continue
            seen.add(incident)
            if isinstance(subject, Opening):
                announced.append(subject.finding)
            else:
                announced.append(escalated[incident])
        return announced

    def _store(self, finding: Finding) -> KnownAnomaly:
        known = KnownAnomaly(
            **finding.anomaly_fields(),
            anomaly_id=self._next_id,
            incident_id=self._next_id,
            status="open",
            alerted=True,
        )
        self._next_id += 1
        self.known[known.fingerprint] = known
        return known
