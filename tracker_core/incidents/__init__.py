"""The incident lifecycle: anomalies in, incidents through open, alerted, acknowledged, resolved.

- :mod:`.lifecycle` decides, purely, what a detection run does to the stored anomalies (open,
  update, escalate, resolve, announce); :mod:`.store` reads its inputs and writes its plan in
  the caller's transaction.
- :mod:`.actions`: a person acknowledges or resolves; a delivered alert marks its incident.
- :mod:`.read`: the queue, one incident, its announcements, incidents opened since a mark.
- :mod:`.metrics`: MTTD, MTTI and MTTR over a window.

The faces and jobs import these names from here.
"""

# The response times' words are the core's one duration format, kept here under its old name.
from tracker_core.incidents.actions import acknowledge, mark_alerted, resolve
from tracker_core.incidents.lifecycle import CHANNELS, LifecyclePlan, plan
from tracker_core.incidents.metrics import (
    ResponseTimes,
    average_response_times,
    response_times,
)
from tracker_core.incidents.read import (
    ANNOUNCEMENT_CHUNK,
    INCIDENT_STATUSES,
    LARGEST_INCIDENT_ID,
    Announcement,
    IncidentError,
    IncidentView,
    alert_summary,
    announcements,
    get_incident,
    list_incidents,
    newest_incident_id,
    opened_after,
    state_fingerprint,
    view_query,
)
from tracker_core.incidents.store import AnomalyChange, LifecycleResult, apply_findings

__all__ = [
    "ANNOUNCEMENT_CHUNK",
    "CHANNELS",
    "INCIDENT_STATUSES",
    "LARGEST_INCIDENT_ID",
    "Announcement",
    "AnomalyChange",
    "IncidentError",
    "IncidentView",
    "LifecyclePlan",
    "LifecycleResult",
    "ResponseTimes",
    "acknowledge",
    "alert_summary",
    "announcements",
    "apply_findings",
    "average_response_times",
    "get_incident",
    "list_incidents",
    "mark_alerted",
    "newest_incident_id",
    "opened_after",
    "plan",
    "resolve",
    "response_times",
    "state_fingerprint",
    "view_query",
]
