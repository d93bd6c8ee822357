"""The incident lifecycle: anomalies in, incidents through open, alerted, acknowledged, resolved.

Each finding of a detection run is matched to its stored anomaly by fingerprint (rule, member,
period). There is one anomaly per fingerprint, ever: a new fingerprint opens an anomaly and its
incident and queues its announcements; a known one is updated in place, and a warning that
turns critical is escalated and announced once more. A fingerprint a person resolved stays
resolved for its period. Cycle rules resolve themselves, incident included, when their
condition clears; daily anomalies wait for a person.

The response times follow the usual on-call definitions, measured from the usage event at
which the value crossed its threshold (the onset), not from when a run happened to notice:
MTTD = alert sent - onset, MTTI = acknowledged - alert sent, MTTR = resolved - onset.

Functions take a SQLAlchemy connection inside the caller's transaction, so one detection run
commits (or, dry, rolls back) as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import fmean
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select, update

from tracker_core.detection.model import CYCLE_RULES, SEVERITY_RANK, Anomaly, Finding
from tracker_core.errors import TrackerError
from tracker_core.storage import tables as t

INCIDENT_STATUSES: Final = t.INCIDENT_STATUSES
CHANNELS: Final = ("slack", "email")


class IncidentError(TrackerError):
    """An incident command that cannot apply (unknown id, already resolved...)."""


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


@dataclass(frozen=True, kw_only=True)
class IncidentView(Anomaly):
    """An incident with its anomaly, as the queue and the JSON outputs show it."""

    id: int
    anomaly_id: int
    status: str
    onset_at: datetime
    detected_at: datetime
    alerted_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None

    @property
    def mttd(self) -> timedelta | None:
        """Time to detect: from the onset to the first alert that was delivered."""
        return None if self.alerted_at is None else self.alerted_at - self.onset_at

    @property
    def mtti(self) -> timedelta | None:
        """Time to investigate: from the alert to a person acknowledging it."""
        if self.alerted_at is None or self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.alerted_at

    @property
    def mttr(self) -> timedelta | None:
        """Time to resolve: from the onset to the resolution."""
        return None if self.resolved_at is None else self.resolved_at - self.onset_at

    def to_json(self) -> dict[str, Any]:
        def instant(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        def minutes(value: timedelta | None) -> float | None:
            return None if value is None else round(value.total_seconds() / 60, 1)

        return {
            "id": self.id,
            "anomaly_id": self.anomaly_id,
            "status": self.status,
            "rule": self.rule,
            "email": self.email,
            "name": self.name,
            "period": self.period.isoformat(),
            "value": self.value,
            "threshold": self.threshold,
            "severity": self.severity,
            "message": self.message,
            "top_model": self.top_model,
            "onset_at": instant(self.onset_at),
            "detected_at": instant(self.detected_at),
            "alerted_at": instant(self.alerted_at),
            "acknowledged_at": instant(self.acknowledged_at),
            "resolved_at": instant(self.resolved_at),
            "resolved_by": self.resolved_by,
            "mttd_minutes": minutes(self.mttd),
            "mtti_minutes": minutes(self.mtti),
            "mttr_minutes": minutes(self.mttr),
        }


@dataclass(frozen=True)
class ResponseTimes:
    """Average MTTD, MTTI and MTTR over the incidents detected in a window."""

    incidents: int
    mttd: timedelta | None
    mtti: timedelta | None
    mttr: timedelta | None

    def to_json(self) -> dict[str, Any]:
        def minutes(value: timedelta | None) -> float | None:
            return None if value is None else round(value.total_seconds() / 60, 1)

        return {
            "incidents": self.incidents,
            "mttd_minutes": minutes(self.mttd),
            "mtti_minutes": minutes(self.mtti),
            "mttr_minutes": minutes(self.mttr),
        }


def average_response_times(incidents: Iterable[IncidentView]) -> ResponseTimes:
    """Each average over the incidents that have reached that point (pure, for any window)."""
    views = list(incidents)

    def mean(values: list[timedelta | None]) -> timedelta | None:
        present = [v.total_seconds() for v in values if v is not None]
        return timedelta(seconds=fmean(present)) if present else None

    return ResponseTimes(
        incidents=len(views),
        mttd=mean([v.mttd for v in views]),
        mtti=mean([v.mtti for v in views]),
        mttr=mean([v.mttr for v in views]),
    )


def format_duration(value: timedelta | None) -> str:
    """``42m``, ``3.5h``, ``2.1d``, or ``n/a``: short enough for a tile or a table cell."""
    if value is None:
        return "n/a"
    minutes = value.total_seconds() / 60
    if minutes < 60:
        return f"{minutes:.0f}m"
    if minutes < 24 * 60:
        return f"{minutes / 60:.1f}h"
    return f"{minutes / 1440:.1f}d"


# --- applying a detection run ----------------------------------------------------------------


def apply_findings(
    conn: Connection,
    findings: Sequence[Finding],
    *,
    onsets: Mapping[tuple[str, str, date], datetime],
    now: datetime,
    channels: Mapping[str, bool],
    cycle_start: date,
    cycle_rules_evaluable: Iterable[str] = CYCLE_RULES,
) -> LifecycleResult:
    """Store one run's findings and close what no longer holds.

    ``onsets`` gives each new fingerprint's onset (the detection time is used when missing).
    ``channels`` says which alert channels are configured: an unconfigured one gets its
    announcement recorded as skipped, so the queue shows why nobody was told. Cycle anomalies
    of a rule listed in ``cycle_rules_evaluable`` that this run did not find, or of an earlier
    cycle, are resolved automatically; a rule that could not be evaluated (too few active
    members, say) resolves nothing, since silence is not evidence.
    """
    result = LifecycleResult()
    a, i = t.anomalies, t.incidents
    existing = {
        (row.rule, row.email, row.period): row
        for row in conn.execute(
            select(a, i.c.id.label("incident_id"), i.c.status.label("incident_status"))
            .join(i, i.c.anomaly_id == a.c.id)
            .where(
                a.c.period.in_(sorted({f.period for f in findings}) or [cycle_start])
                | (a.c.status == "open")
            )
        )
    }
    seen: set[tuple[str, str, date]] = set()
    for finding in findings:
        key = finding.fingerprint
        if key in seen:
            continue
        seen.add(key)
        row = existing.get(key)
        if row is None:
            result.new.append(_open(conn, finding, onsets.get(key, now), now, channels))
            continue
        if row.status == "resolved" and row.resolved_by == "person":
            result.suppressed += 1
            continue
        escalated = SEVERITY_RANK[finding.severity] > SEVERITY_RANK[row.severity]
        severity = finding.severity if escalated else row.severity
        unchanged = (
            row.status == "open"
            and (row.value, row.threshold, row.message)
            == (finding.value, finding.threshold, finding.message)
            and not escalated
        )
        if unchanged:
            continue
        conn.execute(
            update(a)
            .where(a.c.id == row.id)
            .values(
                value=finding.value,
                threshold=finding.threshold,
                severity=severity,
                message=finding.message,
                top_model=finding.top_model,
                top_model_share=finding.top_model_share,
                status="open",
                resolved_at=None,
                resolved_by=None,
                updated_at=now,
            )
        )
        if row.status == "resolved":
            # A cycle rule that cleared and came back: the same incident picks up again.
            conn.execute(
                update(i)
                .where(i.c.id == row.incident_id)
                .values(
                    status=_reopened_status(conn, row.incident_id),
                    resolved_at=None,
                    resolved_by=None,
                )
            )
        if escalated:
            _queue(conn, row.incident_id, "escalated", now, channels)
        result.updated.append(
            AnomalyChange(row.id, row.incident_id, finding, is_new=False, escalated=escalated)
        )

    evaluable = set(cycle_rules_evaluable)
    for key, row in existing.items():
        if row.status != "open" or row.rule not in CYCLE_RULES or key in seen:
            continue
        if row.period != cycle_start or row.rule in evaluable:
            _resolve(conn, row.id, row.incident_id, now, by="auto")
            result.resolved += 1
    return result


def _open(
    conn: Connection,
    finding: Finding,
    onset: datetime,
    now: datetime,
    channels: Mapping[str, bool],
) -> AnomalyChange:
    anomaly_id = conn.execute(
        insert(t.anomalies)
        .values(
            rule=finding.rule,
            email=finding.email,
            period=finding.period,
            value=finding.value,
            threshold=finding.threshold,
            severity=finding.severity,
            message=finding.message,
            top_model=finding.top_model,
            top_model_share=finding.top_model_share,
            status="open",
            detected_at=now,
            updated_at=now,
        )
        .returning(t.anomalies.c.id)
    ).scalar_one()
    incident_id = conn.execute(
        insert(t.incidents)
        .values(anomaly_id=anomaly_id, status="open", onset_at=min(onset, now), detected_at=now)
        .returning(t.incidents.c.id)
    ).scalar_one()
    _queue(conn, incident_id, "new", now, channels)
    return AnomalyChange(anomaly_id, incident_id, finding, is_new=True)


def _queue(
    conn: Connection, incident_id: int, reason: str, now: datetime, channels: Mapping[str, bool]
) -> None:
    for channel in CHANNELS:
        configured = channels.get(channel, False)
        conn.execute(
            insert(t.alert_outbox).values(
                incident_id=incident_id,
                channel=channel,
                reason=reason,
                status="pending" if configured else "skipped",
                attempts=0,
                last_error=None if configured else f"{channel} alerts are not configured",
                created_at=now,
                next_attempt_at=now,
            )
        )


def _reopened_status(conn: Connection, incident_id: int) -> str:
    row = conn.execute(
        select(t.incidents.c.alerted_at, t.incidents.c.acknowledged_at).where(
            t.incidents.c.id == incident_id
        )
    ).one()
    if row.acknowledged_at is not None:
        return "acknowledged"
    return "alerted" if row.alerted_at is not None else "open"


def _resolve(
    conn: Connection, anomaly_id: int, incident_id: int, now: datetime, *, by: str
) -> None:
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


# --- a person's actions ----------------------------------------------------------------------


def acknowledge(conn: Connection, incident_id: int, *, now: datetime) -> IncidentView:
    """A person has seen the incident and is on it; the first acknowledgement's time counts.

    Acknowledging and resolving are both idempotent: repeating either changes nothing and is
    no error (two people acting on the same alert both succeed). Acknowledging a resolved
    incident is an error: it cannot go back to being worked on.
    """
    view = get_incident(conn, incident_id)
    if view.status == "resolved":
        raise IncidentError(f"incident #{incident_id} is already resolved")
    if view.status != "acknowledged":
        conn.execute(
            update(t.incidents)
            .where(t.incidents.c.id == incident_id)
            .values(status="acknowledged", acknowledged_at=view.acknowledged_at or now)
        )
    return get_incident(conn, incident_id)


def resolve(conn: Connection, incident_id: int, *, now: datetime) -> IncidentView:
    """A person closes the incident and its anomaly; that fingerprint is not raised again.

    Resolving a resolved incident changes nothing (its first resolution keeps its time and
    author), like a repeated acknowledgement.
    """
    view = get_incident(conn, incident_id)
    if view.status == "resolved":
        return view
    _resolve(conn, view.anomaly_id, incident_id, now, by="person")
    # Announcements still waiting would only tell people about something already handled.
    conn.execute(
        update(t.alert_outbox)
        .where(t.alert_outbox.c.incident_id == incident_id)
        .where(t.alert_outbox.c.status.in_(("pending", "failed")))
        .values(status="skipped", last_error="resolved before it was delivered")
    )
    return get_incident(conn, incident_id)


def mark_alerted(conn: Connection, incident_ids: Iterable[int], *, now: datetime) -> None:
    """Record the first delivered alert of each incident (later deliveries keep that time)."""
    ids = sorted(set(incident_ids))
    if not ids:
        return
    i = t.incidents
    conn.execute(
        update(i).where(i.c.id.in_(ids)).where(i.c.alerted_at.is_(None)).values(alerted_at=now)
    )
    conn.execute(
        update(i).where(i.c.id.in_(ids)).where(i.c.status == "open").values(status="alerted")
    )


# --- reading ---------------------------------------------------------------------------------


def view_query() -> Any:
    """Incidents joined with their anomaly and member name: the one shape every reader uses."""
    a, i, m = t.anomalies, t.incidents, t.members
    return (
        select(
            i.c.id,
            i.c.anomaly_id,
            i.c.status,
            a.c.rule,
            a.c.email,
            func.coalesce(m.c.name, "").label("name"),
            a.c.period,
            a.c.value,
            a.c.threshold,
            a.c.severity,
            a.c.message,
            a.c.top_model,
            a.c.top_model_share,
            i.c.onset_at,
            i.c.detected_at,
            i.c.alerted_at,
            i.c.acknowledged_at,
            i.c.resolved_at,
            i.c.resolved_by,
        )
        .join(a, a.c.id == i.c.anomaly_id)
        .outerjoin(m, m.c.email == a.c.email)
    )


def _view(row: Any) -> IncidentView:
    return IncidentView(**row._mapping)


def get_incident(conn: Connection, incident_id: int) -> IncidentView:
    row = conn.execute(view_query().where(t.incidents.c.id == incident_id)).first()
    if row is None:
        raise IncidentError(f"no incident #{incident_id}")
    return _view(row)


def list_incidents(
    conn: Connection, *, status: str | None = None, email: str | None = None
) -> list[IncidentView]:
    """Incidents worst first: unresolved before resolved, critical before warning, newest first.

    ``status`` is one of :data:`INCIDENT_STATUSES`, or ``active`` for every unresolved one.
    """
    query = view_query()
    if status == "active":
        query = query.where(t.incidents.c.status != "resolved")
    elif status is not None:
        if status not in INCIDENT_STATUSES:
            raise IncidentError(
                f"unknown status {status!r}: use one of active, {', '.join(INCIDENT_STATUSES)}"
            )
        query = query.where(t.incidents.c.status == status)
    if email is not None:
        query = query.where(t.anomalies.c.email == email)
    views = [_view(row) for row in conn.execute(query)]
    views.sort(
        key=lambda v: (
            v.status == "resolved",
            -SEVERITY_RANK.get(v.severity, 0),
            -v.detected_at.timestamp(),
            -v.id,
        )
    )
    return views


@dataclass(frozen=True)
class Announcement:
    """One announcement of an incident on one channel: the answer to "was anybody told?".

    ``status`` is the outbox's: ``pending`` (the next dispatch sends it), ``sent``, ``failed``
    (``last_error`` says why; retried from ``next_attempt_at``) or ``skipped`` (``last_error``
    says why: the channel is not configured, or the incident was resolved first).
    """

    incident_id: int
    channel: str
    reason: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    next_attempt_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "reason": self.reason,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.last_error,
            "sent_at": None if self.sent_at is None else self.sent_at.isoformat(),
            "next_attempt_at": (
                None if self.status in ("sent", "skipped") else self.next_attempt_at.isoformat()
            ),
        }


def alert_summary(announced: Sequence[Announcement]) -> str:
    """Each channel's latest word in a few cells: ``slack sent, email off``."""
    latest = {item.channel: item for item in announced}
    words = {"sent": "sent", "skipped": "off", "pending": "due"}

    def word(item: Announcement) -> str:
        if item.status == "failed":
            return f"failed x{item.attempts}"
        return words.get(item.status, item.status)

    return ", ".join(f"{channel} {word(item)}" for channel, item in latest.items()) or "none"


ANNOUNCEMENT_CHUNK: Final = 500
"""Incident ids per query: well inside every database's limit on bound parameters."""


def announcements(conn: Connection, incident_ids: Iterable[int]) -> dict[int, list[Announcement]]:
    """Each incident's announcements, oldest first; an incident never announced maps to []."""
    o = t.alert_outbox
    ids = sorted(set(incident_ids))
    found: dict[int, list[Announcement]] = {incident: [] for incident in ids}
    for first in range(0, len(ids), ANNOUNCEMENT_CHUNK):
        rows = conn.execute(
            select(
                o.c.incident_id,
                o.c.channel,
                o.c.reason,
                o.c.status,
                o.c.attempts,
                o.c.last_error,
                o.c.sent_at,
                o.c.next_attempt_at,
            )
            .where(o.c.incident_id.in_(ids[first : first + ANNOUNCEMENT_CHUNK]))
            .order_by(o.c.incident_id, o.c.created_at, o.c.id)
        )
        for row in rows:
            found[row.incident_id].append(Announcement(**row._mapping))
    return found


def newest_incident_id(conn: Connection) -> int:
    """The highest incident number so far (0 before the first): a watcher's starting mark."""
    return int(conn.execute(select(func.coalesce(func.max(t.incidents.c.id), 0))).scalar_one())


def opened_after(conn: Connection, incident_id: int) -> list[IncidentView]:
    """Incidents numbered above ``incident_id``, oldest first: what a watcher has not seen."""
    query = view_query().where(t.incidents.c.id > incident_id).order_by(t.incidents.c.id)
    return [_view(row) for row in conn.execute(query)]


def response_times(conn: Connection, *, since: datetime) -> ResponseTimes:
    """Averages over the incidents detected since ``since`` (the TUI's and daemon's tiles)."""
    rows = conn.execute(view_query().where(t.incidents.c.detected_at >= since))
    return average_response_times(_view(row) for row in rows)
