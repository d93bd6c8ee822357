"""Reading incidents: the queue, one incident, its announcements, what a watcher has not seen.

Every reader shares one shape, :func:`view_query` (an incident joined with its anomaly and the
member's name), and one record, :class:`IncidentView`, which is an
:class:`~tracker_core.detection.model.Anomaly` with its incident's life around it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, case, func, literal, select

from tracker_core.detection.budgets import GROUP_SUBJECT_PREFIX, TEAM_LABEL, TEAM_SUBJECT
from tracker_core.detection.model import SEVERITY_RANK, Anomaly
from tracker_core.errors import TrackerError
from tracker_core.storage import tables as t
from tracker_core.storage.groups import effective_groups

INCIDENT_STATUSES: Final = t.INCIDENT_STATUSES


class IncidentError(TrackerError):
    """An incident command that cannot apply (unknown id, already resolved...)."""


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


def subject_name(email: Any) -> Any:
    """The name of an anomaly's subject: the member's, or for a budget alert filed under
    ``team`` or ``group:ID`` (see :mod:`tracker_core.detection.budgets`) the team's or the
    group's current name, so the queue and the alerts name the scope, not its key."""
    groups = effective_groups().subquery()
    group = (
        select(groups.c.name)
        .where(literal(GROUP_SUBJECT_PREFIX) + groups.c.id == email)
        .limit(1)
        .scalar_subquery()
    )
    return case((email == TEAM_SUBJECT, TEAM_LABEL), else_=group)


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
            func.coalesce(m.c.name, subject_name(a.c.email), "").label("name"),
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


def view_from_row(row: Any) -> IncidentView:
    return IncidentView(**row._mapping)


LARGEST_INCIDENT_ID: Final = 2**63 - 1
"""Ids are the database's 64-bit integers: a larger number names no incident (and would not
even fit the query)."""


def get_incident(conn: Connection, incident_id: int) -> IncidentView:
    if not 1 <= incident_id <= LARGEST_INCIDENT_ID:
        raise IncidentError(f"no incident #{incident_id}")
    row = conn.execute(view_query().where(t.incidents.c.id == incident_id)).first()
    if row is None:
        raise IncidentError(f"no incident #{incident_id}")
    return view_from_row(row)


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
    views = [view_from_row(row) for row in conn.execute(query)]
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


def state_fingerprint(conn: Connection) -> str:
    """A text that changes whenever any incident's figures may have: a new incident (the
    newest id), a step of its life (statuses only move forward, so a count per status moves),
    an anomaly updated or escalated (its severity counts, its newest update)."""
    i, a = t.incidents, t.anomalies
    statuses = conn.execute(
        select(i.c.status, func.count(), func.max(i.c.id)).group_by(i.c.status).order_by(i.c.status)
    ).all()
    anomalies = conn.execute(
        select(
            func.count(),
            func.sum(case((a.c.severity == "critical", 1), else_=0)),
            func.max(a.c.updated_at),
        )
    ).one()
    return "|".join(f"{status}:{n}:{top}" for status, n, top in statuses) + f"|{tuple(anomalies)}"


def opened_after(conn: Connection, incident_id: int) -> list[IncidentView]:
    """Incidents numbered above ``incident_id``, oldest first: what a watcher has not seen."""
    query = view_query().where(t.incidents.c.id > incident_id).order_by(t.incidents.c.id)
    return [view_from_row(row) for row in conn.execute(query)]
