"""The client against small real HTTP servers: paging, windows, auth, errors and retries."""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import socket
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web

from tracker_core.cursor_api import (
    USER_AGENT,
    ClientOptions,
    CursorClient,
    Grant,
    RateLimiter,
    RequestInfo,
)
from tracker_core.domain import Page, UsageEvent
from tracker_core.errors import (
    ApiAuthError,
    ApiError,
    ApiPlanError,
    ApiRequestError,
    ApiResponseError,
    ApiUnavailableError,
)

from .servers import ANALYTICS_KEY, KEY, Handler, Recorder, Seen, always, error, reply, serve

DAY_MS = 86_400_000
MEMBERS_OK = {"teamMembers": [{"id": 1, "email": "a@x.test", "name": "A", "role": "member"}]}


def options(base_url: str, **overrides: Any) -> ClientOptions:
    settings: dict[str, Any] = {
        "base_url": base_url,
        "admin_api_key": KEY,
        "backoff_base_seconds": 0.01,
        "backoff_max_seconds": 0.05,
        "admin_requests_per_minute": None,
        "analytics_requests_per_minute": None,
        "timeout_seconds": 5.0,
        "max_attempts": 4,
    }
    settings.update(overrides)
    return ClientOptions(**settings)


async def members_ok(seen: Seen) -> web.Response:
    return reply(MEMBERS_OK)


@asynccontextmanager
async def api(
    routes: Mapping[tuple[str, str], Handler],
    *,
    on_request: Callable[[RequestInfo], None] | None = None,
    admin_limiter: RateLimiter | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[CursorClient, Recorder]]:
    """A server with ``routes`` and a client of it, both closed on exit."""
    async with (
        serve(routes) as (url, log),
        CursorClient(
            options(url, **overrides), on_request=on_request, admin_limiter=admin_limiter
        ) as client,
    ):
        yield client, log


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


# ---------------------------------------------------------------- auth and simple endpoints


async def test_basic_auth_user_agent_and_members() -> None:
    async with api({("GET", "/teams/members"): members_ok}) as (client, log):
        members = await client.members()
    assert [m.email for m in members] == ["a@x.test"]
    [seen] = log.seen
    assert seen.headers["Authorization"] == basic(KEY)
    assert seen.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("cursor-usage-tracker/")


async def test_groups() -> None:
    async def groups(seen: Seen) -> web.Response:
        member = {"userId": "user_1", "email": "a@x.test", "joinedAt": "2025-03-01T00:00:00Z"}
        return reply(
            {
                "groups": [{"id": "group_1", "name": "Core", "currentMembers": [member]}],
                "unassignedGroup": {"id": "group_unassigned", "name": "Unassigned"},
                "billingCycle": {"cycleStart": "2025-03-01T00:00:00Z",
                                 "cycleEnd": "2025-04-01T00:00:00Z"},
            }
        )  # fmt: skip

    async with api({("GET", "/teams/groups"): groups}) as (client, _):
        snapshot = await client.groups()
    assert [g.id for g in snapshot.groups] == ["group_1", "group_unassigned"]
    assert snapshot.memberships[0].email == "a@x.test"
    assert snapshot.cycle_start == date(2025, 3, 1)


async def test_analytics_uses_its_own_key_and_splits_long_ranges() -> None:
    async def dau(seen: Seen) -> web.Response:
        first = date.fromisoformat(seen.query["startDate"])
        last = date.fromisoformat(seen.query["endDate"])
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return reply({"data": [{"date": d.isoformat(), "dau": 3} for d in days],
                      "params": {"metric": "dau"}})  # fmt: skip

    async with api({("GET", "/analytics/team/dau"): dau}, analytics_api_key=ANALYTICS_KEY) as (
        client,
        log,
    ):
        values = await client.analytics("dau", date(2025, 1, 1), date(2025, 2, 14))
    assert [(s.query["startDate"], s.query["endDate"]) for s in log.seen] == [
        ("2025-01-01", "2025-01-30"),
        ("2025-01-31", "2025-02-14"),
    ]
    assert {s.headers["Authorization"] for s in log.seen} == {basic(ANALYTICS_KEY)}
    assert len(values) == 45
    assert {v.day for v in values} == {date(2025, 1, 1) + timedelta(days=i) for i in range(45)}


async def test_analytics_defaults_to_the_admin_key() -> None:
    async def mcp(seen: Seen) -> web.Response:
        return reply({"data": [{"event_date": "2025-03-03", "tool_name": "t",
                                "mcp_server_name": "s", "usage": 9}]})  # fmt: skip

    async with api({("GET", "/analytics/team/mcp"): mcp}) as (client, log):
        [value] = await client.analytics("mcp", date(2025, 3, 3), date(2025, 3, 3))
        with pytest.raises(ValueError, match="unsupported analytics metric"):
            await client.analytics("bogus", date(2025, 3, 3), date(2025, 3, 3))
    assert (value.dimension, value.subdimension, value.value) == ("t", "s", 9.0)
    assert log.seen[0].headers["Authorization"] == basic(KEY)


# ---------------------------------------------------------------- pagination and windows


def event(stamp: int) -> dict[str, Any]:
    return {"timestamp": str(stamp), "userEmail": "a@x.test", "model": "gpt-5",
            "kind": "Usage-based", "requestsCosts": 1, "chargedCents": 2.5}  # fmt: skip


async def events_one_per_day(seen: Seen) -> web.Response:
    """An event at 01:00 UTC of every day inside [startDate, endDate), paged as asked."""
    body = seen.body
    assert isinstance(body, dict)
    start, end, page, size = body["startDate"], body["endDate"], body["page"], body["pageSize"]
    first = math.ceil(start / DAY_MS) * DAY_MS
    stamps = [t + 3_600_000 for t in range(first, end, DAY_MS) if t + 3_600_000 < end]
    pages = max(1, math.ceil(len(stamps) / size))
    chunk = stamps[(page - 1) * size : page * size]
    return reply(
        {
            "totalUsageEventsCount": len(stamps),
            "pagination": {"numPages": pages, "currentPage": page, "pageSize": size,
                           "hasNextPage": page < pages, "hasPreviousPage": page > 1},
            "usageEvents": [event(t) for t in chunk],
            "period": {"startDate": start, "endDate": end},
        }
    )  # fmt: skip


async def collect(pages: Any) -> list[Page[Any]]:
    return [page async for page in pages]


async def test_usage_events_every_page_of_every_window() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = datetime(2025, 2, 15, tzinfo=UTC)
    async with api(
        {("POST", "/teams/filtered-usage-events"): events_one_per_day}, events_page_size=8
    ) as (client, log):
        pages: list[Page[UsageEvent]] = await collect(client.usage_event_pages(start, end))
    middle = datetime(2025, 1, 31, tzinfo=UTC)
    assert [(p.window_start, p.window_end, len(p.items), p.last_in_window) for p in pages] == [
        (start, middle, 8, False),
        (start, middle, 8, False),
        (start, middle, 8, False),
        (start, middle, 6, True),
        (middle, end, 8, False),
        (middle, end, 7, True),
    ]
    events = [e for p in pages for e in p.items]
    assert len({e.id for e in events}) == 45
    assert sorted(e.day for e in events) == [
        date(2025, 1, 1) + timedelta(days=i) for i in range(45)
    ]
    bodies = [s.body for s in log.seen]
    assert bodies[0] == {"startDate": 1735689600000, "endDate": 1738281600000, "page": 1,
                         "pageSize": 8}  # fmt: skip
    assert [b["page"] for b in bodies if isinstance(b, dict)] == [1, 2, 3, 4, 1, 2]
    assert pages[0].extra["total_count"] == 30


async def test_window_days_override_and_empty_windows() -> None:
    async def nothing(seen: Seen) -> web.Response:
        return reply({"usageEvents": [], "pagination": {"numPages": 0, "currentPage": 1,
                                                        "hasNextPage": False}})  # fmt: skip

    start = datetime(2025, 1, 1, tzinfo=UTC)
    async with api({("POST", "/teams/filtered-usage-events"): nothing}) as (client, log):
        pages = await collect(
            client.usage_event_pages(start, start + timedelta(days=3), window_days=1)
        )
        capped = await collect(
            client.usage_event_pages(start, start + timedelta(days=60), window_days=90)
        )
        with pytest.raises(ValueError, match="window_days"):
            await collect(client.usage_event_pages(start, start, window_days=0))
    assert [(p.items, p.last_in_window) for p in pages] == [([], True)] * 3
    assert [p.window_end - p.window_start for p in pages] == [timedelta(days=1)] * 3
    assert [p.window_end - p.window_start for p in capped] == [timedelta(days=30)] * 2
    assert len(log.seen) == 5


async def test_daily_usage_sends_paging_and_follows_has_next_page() -> None:
    async def daily(seen: Seen) -> web.Response:
        body = seen.body
        assert isinstance(body, dict)
        page, size = body["page"], body["pageSize"]
        emails = [f"user{i}@x.test" for i in range(5)]
        chunk = emails[(page - 1) * size : page * size]
        day = datetime.fromtimestamp(body["startDate"] / 1000, UTC).date().isoformat()
        return reply({"data": [{"email": e, "day": day, "isActive": False} for e in chunk],
                      "pagination": {"page": page, "pageSize": size, "totalUsers": 5,
                                     "totalPages": 3, "hasNextPage": page < 3}})  # fmt: skip

    start = datetime(2025, 3, 1, tzinfo=UTC)
    async with api({("POST", "/teams/daily-usage-data"): daily}, daily_usage_page_size=2) as (
        client,
        log,
    ):
        pages = await collect(client.daily_usage_pages(start, start + timedelta(days=2)))
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert [p.last_in_window for p in pages] == [False, False, True]
    assert {r.email for p in pages for r in p.items} == {f"user{i}@x.test" for i in range(5)}
    assert all(isinstance(s.body, dict) and s.body["pageSize"] == 2 for s in log.seen)


async def test_spend_pages_until_total_pages() -> None:
    async def spend(seen: Seen) -> web.Response:
        body = seen.body
        assert isinstance(body, dict)
        page = body["page"]
        return reply({"teamMemberSpend": [{"email": f"p{page}@x.test", "spendCents": page}],
                      "subscriptionCycleStart": 1740787200000, "totalMembers": 3,
                      "totalPages": 3})  # fmt: skip

    async with api({("POST", "/teams/spend"): spend}) as (client, log):
        pages = await collect(client.spend_pages())
    assert [p.items[0].email for p in pages] == ["p1@x.test", "p2@x.test", "p3@x.test"]
    assert [p.last_in_window for p in pages] == [False, False, True]
    assert pages[0].items[0].cycle_start == date(2025, 3, 1)
    assert pages[0].extra["cycle_start"] == date(2025, 3, 1)
    assert next(s.body for s in log.seen) == {
        "page": 1, "pageSize": 100, "sortBy": "user", "sortDirection": "asc"}  # fmt: skip


async def test_a_server_that_ignores_paging_is_reported() -> None:
    async def same_page(seen: Seen) -> web.Response:
        return reply({"usageEvents": [event(1741003200123)],
                      "pagination": {"numPages": 99, "hasNextPage": True}})  # fmt: skip

    start = datetime(2025, 3, 1, tzinfo=UTC)
    async with api({("POST", "/teams/filtered-usage-events"): same_page}) as (client, log):
        seen_pages: list[Page[UsageEvent]] = []
        with pytest.raises(ApiResponseError, match="page 2 repeats page 1"):
            async for page in client.usage_event_pages(start, start + timedelta(days=1)):
                seen_pages.append(page)
    assert [p.last_in_window for p in seen_pages] == [False]  # the window never completed
    assert len(log.seen) == 2


async def test_endless_has_next_page_with_empty_pages_stops() -> None:
    async def endless(seen: Seen) -> web.Response:
        body = seen.body
        assert isinstance(body, dict)
        rows = [{"email": "a@x.test", "day": "2025-03-01"}] if body["page"] == 1 else []
        return reply({"data": rows, "pagination": {"hasNextPage": True}})

    start = datetime(2025, 3, 1, tzinfo=UTC)
    async with api({("POST", "/teams/daily-usage-data"): endless}) as (client, log):
        pages = await collect(client.daily_usage_pages(start, start + timedelta(days=1)))
    assert [(len(p.items), p.last_in_window) for p in pages] == [(1, False), (0, True)]
    assert len(log.seen) == 2


# ---------------------------------------------------------------- refusals (never retried)


async def test_401_names_the_api() -> None:
    async def unauthorized(seen: Seen) -> web.Response:
        return error(401, "Invalid API key")

    routes = {("GET", "/teams/members"): unauthorized, ("GET", "/analytics/team/dau"): unauthorized}
    async with api(routes) as (client, log):
        with pytest.raises(ApiAuthError) as admin:
            await client.members()
        with pytest.raises(ApiAuthError) as analytics:
            await client.analytics("dau", date(2025, 3, 1), date(2025, 3, 2))
    assert str(admin.value) == "Cursor Admin API rejected the key (401)"
    assert str(analytics.value) == "Cursor Analytics API rejected the key (401)"
    assert (admin.value.status, admin.value.endpoint) == (401, "GET /teams/members")
    assert len(log.seen) == 2


async def test_403_explains_the_plan() -> None:
    async def forbidden(seen: Seen) -> web.Response:
        return error(403, "Enterprise access required")

    async with api({("GET", "/teams/members"): forbidden}) as (client, log):
        with pytest.raises(ApiPlanError) as caught:
            await client.members()
    assert str(caught.value) == (
        "Cursor Admin API refused access (403): the team needs the Enterprise plan "
        "(Enterprise access required)"
    )
    assert len(log.seen) == 1


@pytest.mark.parametrize("status", [400, 404, 409])
async def test_other_4xx_are_not_retried(status: int) -> None:
    async def refused(seen: Seen) -> web.Response:
        return error(status, "Date range cannot exceed 30 days")

    start = datetime(2025, 3, 1, tzinfo=UTC)
    async with api({("POST", "/teams/daily-usage-data"): refused}) as (client, log):
        with pytest.raises(ApiRequestError) as caught:
            await collect(client.daily_usage_pages(start, start + timedelta(days=1)))
    assert str(caught.value) == (
        f"POST /teams/daily-usage-data was refused with HTTP {status}: "
        "Date range cannot exceed 30 days"
    )
    assert caught.value.status == status
    assert len(log.seen) == 1


# ---------------------------------------------------------------- retries


def first_fails(
    failure: Callable[[], web.Response] | None = None, *, times: int = 1, sleep: float = 0.0
) -> Handler:
    """A members handler that fails the first ``times`` requests, then answers normally."""

    async def handle(seen: Seen) -> web.StreamResponse:
        if seen.count <= times:
            if sleep:
                await asyncio.sleep(sleep)
            if failure is not None:
                return failure()
        return reply(MEMBERS_OK)

    return handle


async def test_429_retry_after_seconds_is_honoured() -> None:
    handler = first_fails(lambda: error(429, "Rate limit exceeded", {"Retry-After": "1"}))
    async with api({("GET", "/teams/members"): handler}) as (client, log):
        assert len(await client.members()) == 1
    first, second = log.seen
    assert 0.95 <= second.at - first.at < 2.0


async def test_429_retry_after_http_date_is_honoured() -> None:
    async def limited(seen: Seen) -> web.Response:
        if seen.count == 1:
            until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
            return error(429, "slow down", {"Retry-After": format_datetime(until, usegmt=True)})
        return reply(MEMBERS_OK)

    async with api({("GET", "/teams/members"): limited}) as (client, log):
        await client.members()
    first, second = log.seen
    # The date has whole seconds, so "now + 2 s" truncated means a wait of 1 to 2 s.
    assert 0.9 <= second.at - first.at < 2.5


async def test_429_pauses_other_callers_of_the_same_api() -> None:
    routes = {
        ("GET", "/teams/members"): first_fails(lambda: error(429, "x", {"Retry-After": "1"})),
        ("GET", "/teams/groups"): always(lambda: reply({"groups": []})),
    }
    async with api(routes) as (client, log):
        members = asyncio.create_task(client.members())
        await asyncio.sleep(0.3)  # the first call has been told to wait
        await client.groups()
        await members
    limited = log.to("/teams/members")[0]
    [groups] = log.to("/teams/groups")
    assert groups.at - limited.at >= 0.95


async def test_5xx_then_success_reports_each_attempt() -> None:
    infos: list[RequestInfo] = []
    handler = first_fails(lambda: error(503, "busy"), times=2)
    async with api({("GET", "/teams/members"): handler}, on_request=infos.append) as (client, log):
        assert len(await client.members()) == 1
    assert len(log.seen) == 3
    assert [(i.status, i.attempt, i.error) for i in infos] == [
        (503, 1, "HTTP 503"),
        (503, 2, "HTTP 503"),
        (200, 3, None),
    ]
    assert all(i.api == "Admin" and i.path == "/teams/members" for i in infos)


async def test_timeout_then_success() -> None:
    handler = first_fails(None, sleep=0.6)
    infos: list[RequestInfo] = []
    routes = {("GET", "/teams/members"): handler}
    async with api(routes, timeout_seconds=0.2, on_request=infos.append) as (client, log):
        assert len(await client.members()) == 1
    assert len(log.seen) == 2
    assert infos[0].status is None and infos[0].error == "no answer within 0.2 s"


async def test_truncated_json_then_success() -> None:
    def truncated() -> web.Response:
        return web.Response(text='{"teamMembers": [{"email"', content_type="application/json")

    async with api({("GET", "/teams/members"): first_fails(truncated)}) as (client, log):
        assert len(await client.members()) == 1
    assert len(log.seen) == 2


async def test_json_that_stays_broken_is_a_response_error() -> None:
    async def broken(seen: Seen) -> web.Response:
        return web.Response(text="<html>oops</html>", content_type="text/html")

    async with api({("GET", "/teams/members"): broken}, max_attempts=3) as (client, log):
        with pytest.raises(ApiResponseError, match=r"^GET /teams/members: .*not valid JSON"):
            await client.members()
    assert len(log.seen) == 3


async def test_attempts_are_bounded() -> None:
    async def down(seen: Seen) -> web.Response:
        return error(500, "An unexpected error occurred")

    async with api({("POST", "/teams/spend"): down}, max_attempts=5) as (client, log):
        with pytest.raises(ApiUnavailableError) as caught:
            await collect(client.spend_pages())
    assert len(log.seen) == 5
    message = str(caught.value)
    assert message.startswith("POST /teams/spend: the Cursor Admin API kept failing")
    assert "HTTP 500" in message and "5 attempts" in message
    assert caught.value.status == 500


async def test_a_retry_after_beyond_the_time_budget_fails_at_once() -> None:
    async def limited(seen: Seen) -> web.Response:
        return error(429, "x", {"Retry-After": "120"})

    async with api({("GET", "/teams/members"): limited}, max_retry_seconds=30) as (client, log):
        started = time.monotonic()
        with pytest.raises(ApiUnavailableError, match="asked to wait 120 s more"):
            await client.members()
    assert time.monotonic() - started < 1.0
    assert len(log.seen) == 1


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_connection_errors_are_retried_then_reported() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    async with CursorClient(options(url, max_attempts=3)) as client:
        with pytest.raises(ApiUnavailableError, match=r"ConnectError.* after 3 attempts"):
            await client.members()


async def test_the_limiter_spaces_requests() -> None:
    # The limiter's own clock, advanced only by its waits, so a busy machine cannot blur the
    # gaps: each request is noted at the limiter time it was let through, and counted when
    # the server has it.
    now = [0.0]

    async def wait(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    limiter = RateLimiter(2, period=60.0, margin=0.0, clock=lambda: now[0], sleep=wait)
    granted: list[float] = []
    hold = limiter.hold

    async def noted_hold(on_wait: Callable[[float], None] | None = None) -> Grant:
        grant = await hold(on_wait)
        granted.append(now[0])
        return grant

    limiter.hold = noted_hold  # type: ignore[method-assign]
    async with api({("GET", "/teams/members"): members_ok}, admin_limiter=limiter) as (client, log):
        await asyncio.gather(*(client.members() for _ in range(5)))
    assert len(log.seen) == 5
    # Two requests a minute: the third goes a whole period after the first was answered (on
    # this clock, at once), and so on; while both are in flight the third only looks again.
    assert granted[:2] == [0.0, 0.0]
    gaps = [later - earlier for earlier, later in zip(granted, granted[2:], strict=False)]
    assert len(gaps) == 3
    assert all(60.0 <= gap < 120.0 for gap in gaps), gaps


# ---------------------------------------------------------------- secrecy and options


async def test_the_key_never_appears(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    infos: list[RequestInfo] = []

    async def echo_key(seen: Seen) -> web.Response:
        return error(400, f"bad key {KEY}")

    async def down(seen: Seen) -> web.Response:
        return error(500, f"server saw {KEY}")

    routes = {
        ("GET", "/teams/members"): echo_key,
        ("GET", "/teams/groups"): down,
        ("GET", "/analytics/team/dau"): always(lambda: error(401, "no")),
    }
    failures: list[BaseException] = []
    calls: list[Callable[[CursorClient], Awaitable[object]]] = [
        lambda client: client.members(),
        lambda client: client.groups(),
        lambda client: client.analytics("dau", date(2025, 3, 1), date(2025, 3, 1)),
    ]
    settings: dict[str, Any] = {"analytics_api_key": ANALYTICS_KEY, "max_attempts": 2}
    async with api(routes, on_request=infos.append, **settings) as (client, _):
        for call in calls:
            with pytest.raises(ApiError) as caught:
                await call(client)
            failures.append(caught.value)
    texts = [repr(client), repr(client.options), str(client.options), repr(infos)]
    async with CursorClient(options(f"http://127.0.0.1:{closed_port()}", max_attempts=1)) as c:
        with pytest.raises(ApiUnavailableError) as refused:
            await c.members()
        failures.append(refused.value)
    assert "[redacted]" in str(failures[0])
    texts.append(caplog.text)
    for failure in failures:
        texts += [str(failure), repr(failure), "".join(traceback.format_exception(failure))]
    for text in texts:
        assert KEY not in text
        assert ANALYTICS_KEY not in text
        assert base64.b64encode(f"{KEY}:".encode()).decode() not in text


def test_options_hide_keys_and_check_values() -> None:
    opts = ClientOptions(admin_api_key=KEY, analytics_api_key=ANALYTICS_KEY)
    assert KEY not in repr(opts) and ANALYTICS_KEY not in repr(opts)
    assert opts.base_url == "https://api.cursor.com"
    assert (opts.admin_requests_per_minute, opts.analytics_requests_per_minute) == (20, 100)
    with pytest.raises(ValueError, match="admin_api_key is empty"):
        ClientOptions(admin_api_key=" ")
    with pytest.raises(ValueError, match="events_page_size"):
        ClientOptions(admin_api_key=KEY, events_page_size=0)
    with pytest.raises(ValueError, match="max_attempts"):
        ClientOptions(admin_api_key=KEY, max_attempts=0)
    with pytest.raises(ValueError, match="base_url"):
        ClientOptions(admin_api_key=KEY, base_url="api.cursor.com")
