"""The bounds of a generated organisation, shared by the generator and the command line.

They live outside ``tracker_core.simulator`` because importing that package starts aiohttp
(a fifth of a second), which every command would pay just to build its argument parser.
"""

from __future__ import annotations

from typing import Final

MIN_USERS: Final = 10
"""Fewer members leave no room to plant every kind of anomaly next to ordinary members."""
MAX_USERS: Final = 10_000
"""Far beyond any demo; keeps generation to seconds and memory to tens of megabytes."""
MIN_DAYS: Final = 9
"""A spike on yesterday needs the seven days before it inside the window."""
MAX_DAYS: Final = 365
"""The collector backfills at most a year (``collector.backfill_days``), so the demo could
not collect more history than this."""
MAX_TOKEN_COUNT: Final = 10**12
"""Tokens of one kind in one usage event: a trillion is far beyond any real request, and
sums over millions of such events still fit the 64-bit columns they are stored in."""
