"""Response times over a window of incidents (their words: :func:`formatting.duration`).

The times follow the usual on-call definitions, measured from the usage event at which the
value crossed its threshold (the onset), not from when a run happened to notice:
MTTD = alert sent - onset, MTTI = acknowledged - alert sent, MTTR = resolved - onset. Each
incident's own times are :class:`~tracker_core.incidents.read.IncidentView` properties.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any

from sqlalchemy import Connection

from tracker_core.incidents.read import IncidentView, view_from_row, view_query
from tracker_core.storage import tables as t


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


def response_times(conn: Connection, *, since: datetime) -> ResponseTimes:
    """Averages over the incidents detected since ``since`` (the TUI's and daemon's tiles)."""
    rows = conn.execute(view_query().where(t.incidents.c.detected_at >= since))
    return average_response_times(view_from_row(row) for row in rows)
