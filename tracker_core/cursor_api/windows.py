"""Splitting a date range into the windows the Cursor APIs accept in one request.

The Admin usage endpoints and the Analytics API reject ranges longer than 30 days; the seed tool
sent no end date at all, so a first run after a long gap asked for more than the API allows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime, in exact integer arithmetic (no float rounding)."""
    _require_aware(moment, "moment")
    return (moment - _EPOCH) // _ONE_MS


def split_windows(start: datetime, end: datetime, max_days: int) -> list[tuple[datetime, datetime]]:
    """Consecutive windows of at most ``max_days`` days that exactly tile ``[start, end]``.

    Each window starts where the previous one ended, so nothing falls between two requests. An
    instant on a shared boundary may be returned by both requests (the API's end date may be
    inclusive); that is harmless because every record is upserted by its identity.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    if max_days < 1:
        raise ValueError(f"max_days must be at least 1, not {max_days}")
    if start > end:
        raise ValueError(f"start {start.isoformat()} is after end {end.isoformat()}")
    step = timedelta(days=max_days)
    windows: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        stop = min(cursor + step, end)
        windows.append((cursor, stop))
        cursor = stop
    return windows


def split_days(start: date, end: date, max_days: int) -> list[tuple[date, date]]:
    """Consecutive inclusive day ranges of at most ``max_days`` days covering ``start..end``.

    Counting both ends keeps each range within the limit whether the API measures a range as
    ``end - start`` or as the number of days it contains.
    """
    if max_days < 1:
        raise ValueError(f"max_days must be at least 1, not {max_days}")
    if start > end:
        raise ValueError(f"start {start.isoformat()} is after end {end.isoformat()}")
    span = timedelta(days=max_days - 1)
    windows: list[tuple[date, date]] = []
    cursor = start
    while True:
        stop = min(cursor + span, end)
        windows.append((cursor, stop))
        if stop >= end:
            return windows
        cursor = stop + timedelta(days=1)


def _require_aware(moment: datetime, name: str) -> None:
    # A naive datetime would be read as local time and shift every window by the UTC offset.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
