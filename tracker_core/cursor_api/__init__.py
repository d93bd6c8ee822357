"""Client of Cursor's Admin and Analytics APIs: rate-limited, retrying, windowed, typed.

The collector needs only :class:`CursorClient` and :class:`ClientOptions`; the limiter, the
retry helpers, the window splitting and the parsers are exported for tests and benchmarks.
"""

from __future__ import annotations

from tracker_core.cursor_api.client import (
    MAX_PAGES_PER_WINDOW,
    USER_AGENT,
    ApiWait,
    ClientOptions,
    CursorClient,
    RequestHook,
    RequestInfo,
    WaitHook,
)
from tracker_core.cursor_api.ratelimit import Grant, RateLimiter
from tracker_core.cursor_api.retry import RetryPolicy, is_retryable_status, parse_retry_after
from tracker_core.cursor_api.schemas import (
    SUPPORTED_ANALYTICS_METRICS,
    parse_analytics,
    parse_daily_usage,
    parse_groups,
    parse_members,
    parse_spend,
    parse_usage_events,
)
from tracker_core.cursor_api.windows import epoch_ms, split_days, split_windows

__all__ = [
    "MAX_PAGES_PER_WINDOW",
    "SUPPORTED_ANALYTICS_METRICS",
    "USER_AGENT",
    "ApiWait",
    "ClientOptions",
    "CursorClient",
    "Grant",
    "RateLimiter",
    "RequestHook",
    "RequestInfo",
    "RetryPolicy",
    "WaitHook",
    "epoch_ms",
    "is_retryable_status",
    "parse_analytics",
    "parse_daily_usage",
    "parse_groups",
    "parse_members",
    "parse_retry_after",
    "parse_spend",
    "parse_usage_events",
    "split_days",
    "split_windows",
]
