"""A detection run's effect on the stored anomalies: read what is known, carry out the plan.

The decisions are :func:`tracker_core.incidents.lifecycle.plan`'s; this module only reads its
inputs and writes its outcome. Everything happens on the caller's connection, inside the
caller's transaction (opened with ``storage.begin_write``: the run reads, then writes what it
read about), so one detection run commits, or, dry, rolls back, as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Connection, func, insert, select, update

from tracker_core.detection.model import CYCLE_RULES, STORED_FIELDS, Finding
from tracker_core.incidents.lifecycle import KnownAnomaly, LifecyclePlan, Opening, plan
from tracker_core.storage import tables as t


@dataclass(frozen=True)
class AnomalyChange:
    """What one run did to one anomaly, for the ``detect`` report and the alert queue."""

    anomaly_id: int
    incident_id: int
    finding: Finding
    is_new: bool
    escalated: bool = False


@dataclass
class LifecycleResult:
    """Counts of one run's effect on the stored anomalies."""

    new: list[AnomalyChange] = field(default_factory=list)
    updated: list[AnomalyChange] = field(default_factory=list)
    resolved: int = 0
    suppressed: int = 0
    """Findings whose fingerprint a person already resolved."""


def apply_findings(
    conn: Connection,
    findings: Sequence[Finding],
    *,
    onsets: Mapping[tuple[str, str, date], datetime],
    now: datetime,
    channels: Mapping[str, bool],
    cycle_start: date,
    cycle_rules_evaluable: Iterable[str] = CYCLE_RULES,
    days: Sequence[date] = (),
) -> LifecycleResult:
    """Store one run's findings and close what no longer holds (see :func:`lifecycle.plan`)."""
    decided = plan(
        read_known(conn, findings, cycle_start=cycle_start),
        findings,
        onsets=onsets,
        now=now,
        channels=channels,
        cycle_start=cycle_start,
        cycle_rules_evaluable=cycle_rules_evaluable,
        days=days,
    )
    return carry_out(conn, decided, now=now)


def read_known(
    conn: Connection, findings: Sequence[Finding], *, cycle_start: date
) -> list[KnownAnomaly]:
    """The stored anomalies a run may touch: those of the findings' periods and every open one."""
    a, i, m = t.anomalies, t.incidents, t.members
    rows = conn.execute(
        select(
            a,
            func.coalesce(m.c.name, "").label("member_name"),
            i.c.id.label("incident_id"),
            i.c.alerted_at,
            i.c.acknowledged_at,
        )
        .join(i, i.c.anomaly_id == a.c.id)
        .outerjoin(m, m.c.email == a.c.email)
        .where(
            a.c.period.in_(sorted({f.period for f in findings}) or [cycle_start])
            | (a.c.status == "open")
        )
    )
    return [
        KnownAnomaly(
            **{name: getattr(row, name) for name in STORED_FIELDS},
            name=row.member_name,
            anomaly_id=row.id,
            incident_id=row.incident_id,
            status=row.status,
            resolved_by=row.resolved_by,
            alerted=row.alerted_at is not None,
            acknowledged=row.acknowledged_at is not None,
        )
        for row in rows
    ]


def carry_out(conn: Connection, decided: LifecyclePlan, *, now: datetime) -> LifecycleResult:
    """Write a plan: new anomalies and incidents, updates, resolutions, then the outbox rows."""
    result = LifecycleResult(resolved=len(decided.resolves), suppressed=decided.suppressed)
    opened: dict[Opening, int] = {}
    for opening in decided.opens:
        anomaly_id, incident_id = _open(conn, opening, now)
        opened[opening] = incident_id
        result.new.append(AnomalyChange(anomaly_id, incident_id, opening.finding, is_new=True))
    a, i = t.anomalies, t.incidents
    for change in decided.updates:
        row, finding = change.known, change.finding
        conn.execute(
            update(a)
            .where(a.c.id == row.anomaly_id)
            .values(
                **finding.revised_fields(),
                severity=change.severity,
                status="open",
                resolved_at=None,
                resolved_by=None,
                updated_at=now,
            )
        )
        if change.reopened_as is not None:
            conn.execute(
                update(i)
                .where(i.c.id == row.incident_id)
                .values(status=change.reopened_as, resolved_at=None, resolved_by=None)
            )
        result.updated.append(
            AnomalyChange(
                row.anomaly_id, row.incident_id, finding, is_new=False, escalated=change.escalated
            )
        )
    for row in decided.resolves:
        close(conn, row.anomaly_id, row.incident_id, now, by="auto")
    for alert in decided.alerts:
        subject = alert.subject
        conn.execute(
            insert(t.alert_outbox).values(
                incident_id=opened[subject] if isinstance(subject, Opening) else subject,
                channel=alert.channel,
                reason=alert.reason,
                status="pending" if alert.skipped is None else "skipped",
                attempts=0,
                last_error=alert.skipped,
                created_at=now,
                next_attempt_at=now,
            )
        )
    return result


def _open(conn: Connection, opening: Opening, now: datetime) -> tuple[int, int]:
    finding = opening.finding
    anomaly_id = conn.execute(
        insert(t.anomalies)
        .values(
            **finding.stored_fields(),
            status="open",
            detected_at=now,
            updated_at=now,
        )
        .returning(t.anomalies.c.id)
    ).scalar_one()
    incident_id = conn.execute(
        insert(t.incidents)
        .values(anomaly_id=anomaly_id, status="open", onset_at=opening.onset_at, detected_at=now)
        .returning(t.incidents.c.id)
    ).scalar_one()
    return int(anomaly_id), int(incident_id)


def close(conn: Connection, anomaly_id: int, incident_id: int, now: datetime, *, by: str) -> None:
    """Resolve an anomaly and its incident together, ``by`` a person or automatically."""
    conn.execute(
        update(t.anomalies)
        .where(t.anomalies.c.id == anomaly_id)
        .values(status="resolved", resolved_at=now, resolved_by=by, updated_at=now)
    )
    conn.execute(
        update(t.incidents)
        .where(t.incidents.c.id == incident_id)
        .values(status="resolved", resolved_at=now, resolved_by=by)
    )
