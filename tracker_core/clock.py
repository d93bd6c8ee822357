"""The one source of "now" for the tracker, and a clock tests can set and advance.

Collection stamps, detection periods, lease expiry, alert retries and the console's data age
all ask a :class:`Clock` rather than ``datetime.now``, so a test runs them on a fixed or
scaled clock instead of sleeping. Every clock answers an aware UTC datetime: comparing it with
stored (naive UTC or aware) values never mixes zones. This module imports nothing of the
tracker, so any layer (storage included) may use it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A callable answering the current instant as an aware UTC datetime."""

    def __call__(self) -> datetime: ...


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class FixedClock:
    """A clock that stands still until told otherwise: set it, or advance it.

    A naive start is taken as UTC, as storage keeps instants; an aware one is converted.
    """

    def __init__(self, start: datetime) -> None:
        self.now = _utc(start)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (backwards too: a test of a clock that was set back)."""
        self.now = _utc(moment)

    def advance(self, by: timedelta | None = None, /, **units: float) -> datetime:
        """Move on by ``by`` or by ``timedelta(**units)`` (``advance(minutes=5)``); the new now."""
        self.now += (by or timedelta()) + timedelta(**units)
        return self.now
