"""Collection progress from the worker thread to the status line, via ``call_from_thread``.

A collection waiting on Cursor's rate limit can sit still for most of a minute; the status
line counts that wait down (the app redraws it every second while a collection runs), so the
console never looks hung while it is only being patient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic

from tracker_core.collector import StreamResult, stream_label
from tracker_core.cursor_api import ApiWait
from tracker_core.progress_words import wait_text, worth_saying


@dataclass(frozen=True)
class Activity:
    """What a long action is doing, and the wait it is in, if any."""

    text: str
    wait: ApiWait | None = None
    wait_until: float | None = None
    """When the wait ends, in ``monotonic()`` seconds."""

    def line(self, now: float) -> str:
        """The words for the status line at ``now``: the wait with its time left, while it lasts."""
        if self.wait is None or self.wait_until is None or now >= self.wait_until:
            return self.text
        return f"{self.text}: {wait_text(self.wait, self.wait_until - now)}"


IDLE = Activity("")


class TuiProgress:
    """The core's ``Progress`` protocol, turned into an :class:`Activity` on the UI thread."""

    def __init__(
        self, post: Callable[[Activity], None], clock: Callable[[], float] = monotonic
    ) -> None:
        self._post = post
        self._clock = clock
        self._totals: dict[str, int | None] = {}
        self._steps: dict[str, int] = {}
        self._text = "collecting…"

    def _say(self, text: str) -> None:
        self._text = text
        self._post(Activity(text))

    def stream_started(self, stream: str, total: int | None) -> None:
        self._totals[stream] = total
        self._steps[stream] = 0
        self._say(f"collecting {stream_label(stream)}…")

    def stream_advanced(self, stream: str, *, steps: int, fetched: int) -> None:
        self._steps[stream] = self._steps.get(stream, 0) + steps
        total = self._totals.get(stream)
        part = f" {self._steps[stream]}/{total}" if total and total > 1 else ""
        self._say(f"collecting {stream_label(stream)}{part}, {fetched:,} rows")

    def stream_finished(self, result: StreamResult) -> None:
        outcome = f"failed: {result.error}" if result.error else f"{result.fetched:,} rows"
        self._say(f"collected {stream_label(result.name)}: {outcome}")

    def waiting(self, wait: ApiWait) -> None:
        if worth_saying(wait):
            self._post(Activity(self._text, wait, self._clock() + wait.seconds))
