"""Date windows: they must tile the requested range exactly and respect the API's 30 days."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker_core.cursor_api import epoch_ms, split_days, split_windows

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(start=moments, length=st.timedeltas(timedelta(0), timedelta(days=400)),
       max_days=st.integers(1, 45))  # fmt: skip
def test_windows_tile_the_range(start: datetime, length: timedelta, max_days: int) -> None:
    end = start + length
    windows = split_windows(start, end, max_days)
    if start == end:
        assert windows == []
        return
    assert windows[0][0] == start
    assert windows[-1][1] == end
    for (_, previous_end), (next_start, _) in itertools.pairwise(windows):
        assert previous_end == next_start  # no gap, no overlap
    for window_start, window_end in windows:
        assert window_start < window_end
        assert window_end - window_start <= timedelta(days=max_days)
    # As few windows as the limit allows: all but the last are full.
    assert all(e - s == timedelta(days=max_days) for s, e in windows[:-1])


@given(start=st.dates(date(2020, 1, 1), date(2030, 1, 1)), length=st.integers(0, 400),
       max_days=st.integers(1, 45))  # fmt: skip
def test_day_windows_cover_each_day_once(start: date, length: int, max_days: int) -> None:
    end = start + timedelta(days=length)
    windows = split_days(start, end, max_days)
    covered = [s + timedelta(days=i) for s, e in windows for i in range((e - s).days + 1)]
    assert covered == [start + timedelta(days=i) for i in range(length + 1)]
    assert all((e - s).days + 1 <= max_days for s, e in windows)


def test_window_arguments_are_checked() -> None:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        split_windows(datetime(2025, 3, 1), now, 30)
    with pytest.raises(ValueError, match="after end"):
        split_windows(now, now - timedelta(seconds=1), 30)
    with pytest.raises(ValueError, match="max_days"):
        split_windows(now, now, 0)
    with pytest.raises(ValueError, match="after end"):
        split_days(date(2025, 3, 2), date(2025, 3, 1), 30)


def test_epoch_ms_is_exact_and_zone_independent() -> None:
    moment = datetime(2025, 3, 3, 12, 0, 0, 123999, tzinfo=UTC)
    assert epoch_ms(moment) == 1741003200123
    shifted = moment.astimezone(timezone(timedelta(hours=-8)))
    assert epoch_ms(shifted) == 1741003200123
