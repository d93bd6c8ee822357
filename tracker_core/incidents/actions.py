"""What a person (or a delivered alert) does to an incident: acknowledge, resolve, alerted.

Each takes the caller's connection; callers open it with ``storage.begin_write``, since every
action reads the incident before it writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, update

from tracker_core.incidents.read import IncidentError, IncidentView, get_incident
from tracker_core.incidents.store import close
from tracker_core.storage import tables as t


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
    close(conn, view.anomaly_id, incident_id, now, by="person")
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
