"""What the console says when incidents open while it is on screen.

A manager leaves the console open in a terminal while the daemon (or cron) collects and
detects. The figures refresh by themselves, but a new incident should not wait for somebody to
notice that a tile changed: each refresh looks for incidents numbered above the last one seen
and turns them into notifications, batched like the Slack alerts so a burst stays readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from textual.notifications import SeverityLevel

from tracker_core.formatting import display_name
from tracker_core.incidents import IncidentView

ONE_BY_ONE: Final = 3
"""Up to this many new incidents get a notification each; more get one summary."""
NOTICE_SECONDS: Final = 12.0
"""Long enough to read a message over a slow SSH link, short enough not to pile up."""


@dataclass(frozen=True)
class Notice:
    """One notification: its title, its text and how loud it is."""

    title: str
    message: str
    severity: SeverityLevel


def _loudness(views: Sequence[IncidentView]) -> SeverityLevel:
    return "error" if any(view.severity == "critical" for view in views) else "warning"


def new_incident_notices(views: Sequence[IncidentView]) -> list[Notice]:
    """Notifications for incidents opened since the last look; resolved ones are news no more."""
    fresh = [view for view in views if view.status != "resolved"]
    if len(fresh) <= ONE_BY_ONE:
        return [
            Notice(
                f"New {view.severity} incident #{view.id}",
                view.message,
                _loudness([view]),
            )
            for view in fresh
        ]
    critical = sum(view.severity == "critical" for view in fresh)
    who = sorted({display_name(view.name, view.email) for view in fresh})
    names = ", ".join(who[:4]) + (f" and {len(who) - 4} more" if len(who) > 4 else "")
    return [
        Notice(
            f"{len(fresh)} new incidents",
            f"{critical} critical, {len(fresh) - critical} warning: {names}."
            " Press 4 for the queue.",
            _loudness(fresh),
        )
    ]
