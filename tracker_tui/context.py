"""What every screen needs from the app, as a protocol, so screens never import the app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from tracker_core.config import Settings
from tracker_core.service import Tracker
from tracker_tui.early import EarlyLoad


class TrackerContext(Protocol):
    """The parts of ``TrackerApp`` the screens use: the tracker, the clock, the loop."""

    tracker: Tracker
    """The core's seam: a screen's load is one call on it, in a thread worker."""
    settings: Settings
    clock: Callable[[], datetime]
    refresh_seconds: float
    """How often the screen in front reloads its data."""

    def load_finished(self) -> None:
        """A screen's data load ended (any outcome): the refresh loop may schedule the next."""

    def note_collected(self, when: datetime | None) -> None:
        """A load read when data was last collected: the stamp shows it, no query of its own."""

    def push_status(self) -> None:
        """Redraw the status line (data age, refresh state) of the screen in front."""

    def open_member(self, email: str) -> None:
        """Push the drilldown of ``email`` on the current mode's stack."""

    def open_incident(self, incident_id: int) -> None:
        """Show the incident queue with ``incident_id`` highlighted (from a drilldown)."""

    def claim_first_load(self, screen: object) -> EarlyLoad[Any] | None:
        """The load the app started as it was created, if it was for ``screen``, once."""
