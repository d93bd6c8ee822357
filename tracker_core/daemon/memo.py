"""JSON answers kept, encoded, until the data they were computed from changes.

``/api/stats`` sums every usage event of its window (tens of milliseconds on a team of
thousands), while the data changes only when a collection stores something. Each answer is
kept under its request (route and parameters) with the Tracker's data fingerprint; a request
reads the fingerprint (one small query) and gets the kept bytes when it still matches. The
first request after a change computes the new answer and waits for it; requests arriving
while it computes get the previous answer, so no caller queues behind a recomputation while a
collection changes the data batch after batch (an answer is at most one computation old).
Only the most recent few answers are kept, so memory stays flat whatever parameters callers
send.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

MAX_ENTRIES = 32


class JsonMemo:
    """Encoded answers by request key, each valid for one data fingerprint."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max = max_entries
        self._entries: OrderedDict[Hashable, tuple[str, bytes]] = OrderedDict()
        self._flights: dict[tuple[Hashable, str], asyncio.Task[bytes]] = {}

    async def get(
        self, key: Hashable, fingerprint: str, compute: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        """The answer kept for ``key`` at ``fingerprint``, else ``compute()``'s (then kept)."""
        kept = self._entries.get(key)
        if kept is not None and kept[0] == fingerprint:
            self._entries.move_to_end(key)
            return kept[1]
        if kept is not None and any(k == key for k, _ in self._flights):
            # Another caller is already computing the newer answer: the previous one (current
            # until a moment ago) now, rather than a queue behind a recomputation that the
            # next batch of a running collection would start over.
            return kept[1]
        flight = self._flights.get((key, fingerprint))
        if flight is None:
            flight = asyncio.ensure_future(compute())
            self._flights[(key, fingerprint)] = flight
            flight.add_done_callback(lambda done: self._landed(key, fingerprint, done))
        # Shielded: one caller going away does not cancel the others' computation.
        return await asyncio.shield(flight)

    def _landed(self, key: Hashable, fingerprint: str, flight: asyncio.Task[bytes]) -> None:
        self._flights.pop((key, fingerprint), None)
        if flight.cancelled() or flight.exception() is not None:
            return
        self._entries[key] = (fingerprint, flight.result())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
