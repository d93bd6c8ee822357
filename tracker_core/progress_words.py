"""Collection waits in words, for every face of the tracker (streams: ``collector.stream_label``).

A collection held by Cursor's 20-requests-a-minute limit sits silent for up to a minute at a
time, and silence that long reads as a hang unless something says what is being waited for
and for how long.
"""

from __future__ import annotations

import math

from tracker_core.cursor_api import ApiWait

WORTH_SAYING_SECONDS = 1.0
"""Shorter waits go unmentioned: the limiter spaces requests by fractions of a second often."""


def worth_saying(wait: ApiWait) -> bool:
    """Whether a wait is long enough that someone watching would wonder about it."""
    return wait.seconds >= WORTH_SAYING_SECONDS


def whole_seconds(seconds: float) -> int:
    """Seconds as a person counts them: 0.2 s left is "1 s", never "0 s" while still waiting."""
    return max(1, math.ceil(seconds)) if seconds > 0 else 0


def wait_reason(wait: ApiWait) -> str:
    """Why the collection waits, without the duration ("for Cursor's rate limit (...)").

    A retry after a failure with no HTTP status (connection refused, no answer in time) has
    no status either: its problem, not the rate limit, is what is being waited out.
    """
    if wait.status is None and wait.problem is None:
        ceiling = f" ({wait.per_minute} requests/minute)" if wait.per_minute else ""
        api = "" if wait.api == "Admin" else f" {wait.api}"
        return f"for Cursor's{api} rate limit{ceiling}"
    if wait.status == 429:
        return "because Cursor answered 429 (too many requests); then retrying"
    # A timeout or a refused connection has no status but is a retry all the same, not the
    # rate limit: saying "rate limit" would send someone to look at the wrong problem.
    return f"to retry after {wait.problem or f'HTTP {wait.status}'}"


def wait_text(wait: ApiWait, seconds_left: float | None = None) -> str:
    """``waiting 12 s for Cursor's rate limit (20 requests/minute)``; ``seconds_left``
    replaces the wait's full length when a display counts down."""
    left = wait.seconds if seconds_left is None else seconds_left
    return f"waiting {whole_seconds(left)} s {wait_reason(wait)}"
