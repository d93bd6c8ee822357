"""What a collection says while it waits: the reason named must be the real one."""

from __future__ import annotations

from tracker_core.cursor_api import ApiWait
from tracker_core.progress_words import wait_text


def test_a_retry_after_a_failed_connection_is_not_called_the_rate_limit() -> None:
    refused = ApiWait("Admin", 3.2, 20, None, "ConnectError: [Errno 111] Connection refused")
    silent = ApiWait("Analytics", 12.0, 100, None, "no answer within 30 s")

    assert (
        wait_text(refused)
        == "waiting 4 s to retry after ConnectError: [Errno 111] Connection refused"
    )
    assert wait_text(silent) == "waiting 12 s to retry after no answer within 30 s"


def test_the_rate_limit_and_http_retries_keep_their_words() -> None:
    assert (
        wait_text(ApiWait("Admin", 40.0, 20))
        == "waiting 40 s for Cursor's rate limit (20 requests/minute)"
    )
    assert wait_text(ApiWait("Admin", 2.0, 20, 503, "HTTP 503")) == (
        "waiting 2 s to retry after HTTP 503"
    )
