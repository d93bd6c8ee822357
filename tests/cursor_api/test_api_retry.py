"""Retry-After parsing and the bounded retry policy."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker_core.cursor_api import RetryPolicy, is_retryable_status, parse_retry_after

NOW = datetime(2025, 3, 3, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        (" 12 ", 12.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Mon, 03 Mar 2025 12:00:30 GMT", 30.0),
        ("Mon, 03 Mar 2025 11:59:00 GMT", 0.0),  # in the past: go now
        ("Mon, 03 Mar 2025 12:01:00 -0000", 60.0),
        ("Monday, 03-Mar-25 12:00:10 GMT", 10.0),  # obsolete RFC 850 form
        (None, None),
        ("", None),
        ("soon", None),
        ("-3", None),
        ("nan", None),
        ("inf", None),
        ("Mon, 99 Foo 2025 12:00:00 GMT", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_parse_retry_after_http_date_against_the_real_clock() -> None:
    header = format_datetime(datetime.now(UTC).replace(microsecond=0), usegmt=True)
    value = parse_retry_after(header)
    assert value is not None and 0.0 <= value <= 1.0


@given(attempt=st.integers(1, 200), seed=st.integers(0, 2**32))
def test_backoff_is_full_jitter_under_the_cap(attempt: int, seed: int) -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=8.0)
    delay = policy.backoff(attempt, random.Random(seed))
    assert 0.0 <= delay <= min(8.0, 0.5 * 2 ** (attempt - 1))


def test_next_delay_bounds() -> None:
    policy = RetryPolicy(max_attempts=3, max_seconds=10.0, backoff_base=1.0, backoff_max=4.0)
    assert policy.next_delay(attempt=1, spent=0.0, retry_after=2.5) == 2.5
    delay = policy.next_delay(attempt=2, spent=0.0, retry_after=None)
    assert delay is not None and 0.0 <= delay <= 2.0
    assert policy.next_delay(attempt=3, spent=0.0, retry_after=0.0) is None  # attempts used up
    assert policy.next_delay(attempt=1, spent=8.0, retry_after=3.0) is None  # time budget
    assert policy.next_delay(attempt=1, spent=0.0, retry_after=600.0) is None


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(backoff_base=-1)


def test_retryable_statuses() -> None:
    assert [s for s in (200, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504) if
            is_retryable_status(s)] == [429, 500, 502, 503, 504]  # fmt: skip
