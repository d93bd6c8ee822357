"""Collection progress from the worker thread to the status line, via ``call_from_thread``."""

from __future__ import annotations

from collections.abc import Callable

from tracker_core.collector import StreamResult, stream_label


class TuiProgress:
    """The core's ``Progress`` protocol, turned into one line of text on the UI thread."""

    def __init__(self, post: Callable[[str], None]) -> None:
        self._post = post
        self._totals: dict[str, int | None] = {}
        self._steps: dict[str, int] = {}

    def stream_started(self, stream: str, total: int | None) -> None:
        self._totals[stream] = total
        self._steps[stream] = 0
        self._post(f"collecting {stream_label(stream)}…")

    def stream_advanced(self, stream: str, *, steps: int, fetched: int) -> None:
        self._steps[stream] = self._steps.get(stream, 0) + steps
        total = self._totals.get(stream)
        part = f" {self._steps[stream]}/{total}" if total else ""
        self._post(f"collecting {stream_label(stream)}{part}: {fetched:,} rows")

    def stream_finished(self, result: StreamResult) -> None:
        outcome = f"failed: {result.error}" if result.error else f"{result.fetched:,} rows"
        self._post(f"collected {stream_label(result.name)}: {outcome}")
