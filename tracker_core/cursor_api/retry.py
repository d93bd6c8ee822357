"""When to try a Cursor API call again, and how long to wait first.

The seed tool retried a 429 forever, by recursion, read Retry-After only as whole seconds and
did not retry anything else. This module holds the decisions that replace it: which answers are
worth another attempt, how to read Retry-After in both of its HTTP forms, and a policy bounded
by attempts and by total time.

The loop that applies the policy lives in :mod:`tracker_core.cursor_api.client` and is written
by hand rather than with tenacity: each attempt has to take a rate-limiter slot, a 429 has to
pause the other callers of the same API, a truncated 2xx body must be retried but reported as a
response error when retries run out, and the final message has to name the last status, the
attempts and the time spent. Expressed as tenacity callbacks that is more code than the loop
and harder to follow.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_MAX_EXPONENT = 62
"""Caps ``2 ** attempt`` so huge attempt counts cannot overflow a float."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a Retry-After header, or None when absent or unreadable.

    RFC 9110 allows a delay in seconds or an HTTP date. A date in the past means "now" (0).
    Fractional seconds are accepted because some servers send them; negative, infinite or
    garbage values are ignored so the caller falls back to its own backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or seconds < 0:
            return None
        return seconds
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # parsedate_to_datetime returns a naive value for "-0000"; HTTP dates are GMT.
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max((when - reference).total_seconds(), 0.0)


def is_retryable_status(status: int) -> bool:
    """429 (rate limited) and 5xx may succeed later; every other status is final."""
    return status == 429 or 500 <= status <= 599


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how much total time, and how long to back off between attempts."""

    max_attempts: int = 8
    max_seconds: float = 300.0
    backoff_base: float = 1.0
    backoff_max: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_seconds < 0 or self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("retry times must not be negative")

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Exponential backoff with full jitter after failed attempt number ``attempt`` (1-based).

        Full jitter (a uniform draw up to the exponential ceiling) spreads out clients that
        failed together, so they do not come back in lockstep and fail together again.
        """
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** min(attempt - 1, _MAX_EXPONENT))
        return (rng or random).uniform(0.0, ceiling)

    def next_delay(
        self,
        *,
        attempt: int,
        spent: float,
        retry_after: float | None,
        rng: random.Random | None = None,
    ) -> float | None:
        """The wait before another attempt, or None to give up.

        The server's Retry-After wins over our backoff: it knows when the quota resets. A wait
        that would overrun the time budget ends the retries now rather than sleeping first and
        failing anyway.
        """
        if attempt >= self.max_attempts:
            return None
        delay = retry_after if retry_after is not None else self.backoff(attempt, rng)
        if spent + delay > self.max_seconds:
            return None
        return delay
