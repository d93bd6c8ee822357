"""The simulated Cursor API over HTTP (aiohttp), for the demo and as the tests' peer.

It answers the Admin and Analytics endpoints the collector reads with the documented request
and response shapes (see the reference notes on the Cursor API), and it misbehaves the way the
real service can: a rolling per-minute rate limit per API, and, on request, injected faults
(server errors, 429s with both forms of ``Retry-After``, slow answers, truncated bodies). Faults
never change the data, so a client that retries gets the same page it asked for.

Limits chosen where Cursor documents none (all UNCONFIRMED upstream):

* ``filtered-usage-events``: ``pageSize`` defaults to 10 and is clamped to 1000; without
  dates it serves the 7 days up to the scenario's present.
* ``daily-usage-data``: ``pageSize`` (users per page) defaults to 100, clamped to 1000.
* ``spend``: ``pageSize`` defaults to 100, clamped to 1000.
* Date ranges longer than 30 days are refused (400) on daily usage, usage events and
  analytics; admin ranges are inclusive epoch milliseconds.

Outside Cursor's namespace, ``/_simulator/stats`` and ``/_simulator/scenario`` let tests see
what happened; they need no key and never fault.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import math
import random
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import formatdate
from functools import partial
from http import HTTPStatus
from typing import Any, Final, TextIO, TypedDict, Unpack

from aiohttp import web

from tracker_core.domain import ANALYTICS_METRICS, utc_day
from tracker_core.simulator.delivery import DeliveryView, LateDelivery
from tracker_core.simulator.scenario import (
    ANALYTICS_PARAM_METRIC,
    DAY_MS,
    JSONObject,
    Scenario,
    billing_cycle_start,
)

ADMIN_REQUESTS_PER_MINUTE: Final = 20
ANALYTICS_REQUESTS_PER_MINUTE: Final = 100
RATE_WINDOW_SECONDS: Final = 60.0
MAX_RANGE_DAYS: Final = 30
EVENTS_DEFAULT_PAGE_SIZE: Final = 10
EVENTS_MAX_PAGE_SIZE: Final = 1000
USERS_DEFAULT_PAGE_SIZE: Final = 100
USERS_MAX_PAGE_SIZE: Final = 1000
SPEND_DEFAULT_PAGE_SIZE: Final = 100
SPEND_MAX_PAGE_SIZE: Final = 1000
ANALYTICS_DEFAULT_DAYS: Final = 7
EVENTS_DEFAULT_DAYS: Final = 7

FAULT_KINDS: Final = ("server_error", "rate_limit", "slow", "truncated")
"""What an injected fault can be; ``/_simulator/stats`` counts them under these names."""

RATE_LIMIT_MESSAGE: Final = "Rate limit exceeded. Please try again later."
RANGE_MESSAGE: Final = f"Date range cannot exceed {MAX_RANGE_DAYS} days"
_SERVER_ERRORS: Final = (
    (500, "An unexpected error occurred"),
    (502, "Bad gateway"),
    (503, "Service temporarily unavailable"),
)
_ANALYTICS_CACHE_CONTROL: Final = "public, max-age=900"

_dumps = partial(json.dumps, separators=(",", ":"))


class SimulatorOptions(TypedDict, total=False):
    """Keyword options of :func:`make_simulator_app`, shared by the ways to run it."""

    api_key: str
    analytics_api_key: str | None
    rate_limits: bool
    fault_rate: float
    seed: int
    latency: float
    slow_seconds: float
    clock: Callable[[], float]
    late: LateDelivery | None
    present: Callable[[], int] | None


class RollingWindow:
    """Admits at most ``limit`` requests in any ``window`` seconds, as Cursor's per-minute limits.

    A rolling window (rather than a counter reset each minute) is the stricter reading, so a
    client that survives it survives the real service too.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._admitted: deque[float] = deque()

    def admit(self, now: float) -> float:
        """0 when the request may go ahead (and counts), else seconds until a slot frees."""
        admitted = self._admitted
        while admitted and admitted[0] <= now - self.window:
            admitted.popleft()
        if len(admitted) >= self.limit:
            return admitted[0] + self.window - now
        admitted.append(now)
        return 0.0


@dataclass
class SimulatorState:
    """Keys, limits, fault generator and counters of one running simulator."""

    api_key: str
    analytics_api_key: str | None
    rate_limits: bool
    fault_rate: float
    latency: float
    slow_seconds: float
    clock: Callable[[], float]
    rng: random.Random
    late: LateDelivery | None = None
    """Late delivery switched on by the server (a scenario file may switch it on itself)."""
    present: Callable[[], int] | None = None
    """The API's present (epoch ms), when a test or bench drives it; else the scenario's."""
    windows: dict[str, RollingWindow] = field(
        default_factory=lambda: {
            "admin": RollingWindow(ADMIN_REQUESTS_PER_MINUTE, RATE_WINDOW_SECONDS),
            "analytics": RollingWindow(ANALYTICS_REQUESTS_PER_MINUTE, RATE_WINDOW_SECONDS),
        }
    )
    requests: int = 0
    rate_limited: int = 0
    faults: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    admitted: list[tuple[str, float]] = field(default_factory=list)
    """``(api, clock())`` of each request let through the rate limit (every request when it
    is off), so a test can count requests per rolling minute as the server saw them."""
    event_queries: list[tuple[int, int, int]] = field(default_factory=list)
    """``(startDate, endDate, page)`` of each usage-events request answered, so a test can
    see which stretches a collector asked for (and that it did not ask twice)."""
    faults_by_kind: Counter[str] = field(default_factory=Counter)
    _server_error_turn: int = 0
    _retry_after_turn: int = 0

    def draw_fault(self) -> str | None:
        """Whether this request fails on purpose, and how; seeded, so runs repeat."""
        if self.fault_rate <= 0 or self.rng.random() >= self.fault_rate:
            return None
        kind = self.rng.choice(FAULT_KINDS)
        self.faults += 1
        self.faults_by_kind[kind] += 1
        return kind

    def next_server_error(self) -> tuple[int, str]:
        """500, 502 and 503 in turn, so a short run meets all three."""
        answer = _SERVER_ERRORS[self._server_error_turn % len(_SERVER_ERRORS)]
        self._server_error_turn += 1
        return answer

    def next_retry_after(self) -> str:
        """``Retry-After`` in its two legal forms in turn: delta-seconds, then an HTTP-date."""
        self._retry_after_turn += 1
        if self._retry_after_turn % 2:
            return "1"
        return formatdate(math.ceil(time.time()) + 1, usegmt=True)

    def stats(self) -> JSONObject:
        return {
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "faults": self.faults,
            "faults_by_kind": dict(self.faults_by_kind),
            "by_path": dict(self.by_path),
            "busiest_minute": self.busiest_minute(),
        }

    def busiest_minute(self) -> dict[str, int]:
        """Per API, the most requests let through in any rolling window of the rate limit:
        what a test of a shared quota measures, whoever sent them."""
        busiest: dict[str, int] = {}
        for api in ("admin", "analytics"):
            times = sorted(at for name, at in self.admitted if name == api)
            first = 0
            for last, at in enumerate(times):
                while at - times[first] >= RATE_WINDOW_SECONDS:
                    first += 1
                busiest[api] = max(busiest.get(api, 0), last - first + 1)
        return busiest


SCENARIO_KEY: Final = web.AppKey("simulator_scenario", Scenario)
STATE_KEY: Final = web.AppKey("simulator_state", SimulatorState)


class ApiFailure(Exception):
    """A request the simulated API refuses; becomes the documented error envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """Cursor's error envelope: ``{"error": <reason phrase>, "message": <text>}``."""
    return web.json_response(
        {"error": HTTPStatus(status).phrase, "message": message},
        status=status,
        headers=headers,
        dumps=_dumps,
    )


# ---------------------------------------------------------------------------------------------
# Authentication and the request pipeline


def _presented_key(request: web.Request, *, allow_bearer: bool) -> str | None:
    """The key a request carries: Basic with the key as user and an empty password."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, colon, password = decoded.partition(":")
        return user if colon and not password else None
    if allow_bearer and scheme.lower() == "bearer":
        return value.strip() or None
    return None


def _authorised(state: SimulatorState, request: web.Request, api: str) -> bool:
    presented = _presented_key(request, allow_bearer=api == "analytics")
    if presented is None:
        return False
    expected = state.api_key
    if api == "analytics" and state.analytics_api_key is not None:
        expected = state.analytics_api_key
    return hmac.compare_digest(presented.encode(), expected.encode())


_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _answer(handler: _Handler, request: web.Request) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiFailure as failure:
        return error_response(failure.status, failure.message)
    except web.HTTPException as exc:
        message = "Resource not found" if exc.status == 404 else exc.reason
        allow = exc.headers.get("Allow")
        return error_response(exc.status, message, headers={"Allow": allow} if allow else None)


def _etag_matches(header: str, etag: str | None) -> bool:
    if etag is None:
        return False
    offered = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in offered or etag in offered


@web.middleware
async def cursor_api_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Latency, authentication, the rate limit and injected faults, in that order."""
    if request.path.startswith("/_simulator/"):
        return await handler(request)
    state = request.app[STATE_KEY]
    state.requests += 1
    state.by_path[request.path] += 1
    if state.latency > 0:
        await asyncio.sleep(state.latency)
    api = "analytics" if request.path.startswith("/analytics/") else "admin"
    if not _authorised(state, request, api):
        return error_response(401, "Invalid API key")
    early: web.StreamResponse | None = None
    condition = request.headers.get("If-None-Match")
    if api == "analytics" and condition:
        # Cursor documents that 304 answers do not count against the limit.
        early = await _answer(handler, request)
        etag = early.headers.get("ETag")
        if early.status == 200 and _etag_matches(condition, etag):
            headers = {"Cache-Control": _ANALYTICS_CACHE_CONTROL, "ETag": etag or ""}
            return web.Response(status=304, headers=headers)
    now = state.clock()
    if state.rate_limits:
        wait = state.windows[api].admit(now)
        if wait > 0:
            state.rate_limited += 1
            retry = str(max(1, math.ceil(wait)))
            return error_response(429, RATE_LIMIT_MESSAGE, headers={"Retry-After": retry})
    state.admitted.append((api, now))
    fault = state.draw_fault()
    if fault == "server_error":
        return error_response(*state.next_server_error())
    if fault == "rate_limit":
        headers = {"Retry-After": state.next_retry_after()}
        return error_response(429, RATE_LIMIT_MESSAGE, headers=headers)
    response = early if early is not None else await _answer(handler, request)
    if fault == "slow":
        await asyncio.sleep(state.slow_seconds)
    elif fault == "truncated" and isinstance(response, web.Response) and response.status == 200:
        body = response.body
        if isinstance(body, bytes):
            return web.Response(
                body=body[: len(body) // 2], status=200, content_type="application/json"
            )
    return response


# ---------------------------------------------------------------------------------------------
# Request parsing


async def _json_body(request: web.Request) -> JSONObject:
    raw = await request.read()
    if not raw.strip():
        raise ApiFailure(400, "Request body must be a JSON object")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiFailure(400, "Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiFailure(400, "Request body must be a JSON object")
    return body


def _epoch_ms(body: JSONObject, key: str, default: int | None) -> int:
    value = body.get(key)
    if value is None:
        if default is None:
            raise ApiFailure(400, f"{key} is required (epoch milliseconds)")
        return default
    if isinstance(value, bool):
        raise ApiFailure(400, f"{key} must be epoch milliseconds")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ApiFailure(400, f"{key} must be epoch milliseconds")


def _positive_int(body: JSONObject, key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ApiFailure(400, f"{key} must be a positive integer")
    try:
        number = int(value)
    except ValueError as exc:
        raise ApiFailure(400, f"{key} must be a positive integer") from exc
    if number < 1 or number != float(value):
        raise ApiFailure(400, f"{key} must be a positive integer")
    return number


def _check_span(start_ms: int, end_ms: int) -> None:
    if end_ms < start_ms:
        raise ApiFailure(400, "startDate must not be after endDate")
    if end_ms - start_ms > MAX_RANGE_DAYS * DAY_MS:
        raise ApiFailure(400, RANGE_MESSAGE)


def _page_count(total: int, size: int) -> int:
    return -(-total // size)


def _present(request: web.Request) -> int:
    """The instant the API answers as of, in epoch milliseconds."""
    present = request.app[STATE_KEY].present
    return present() if present is not None else request.app[SCENARIO_KEY].now()


def _delivery(request: web.Request) -> DeliveryView | None:
    """The late-delivery view of the events, or None when every event shows at once."""
    scenario = request.app[SCENARIO_KEY]
    late = request.app[STATE_KEY].late or scenario.late
    return None if late is None else scenario.delivery(late)


def _json(payload: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(payload, headers=headers, dumps=_dumps)


# ---------------------------------------------------------------------------------------------
# Admin API


async def _members(request: web.Request) -> web.StreamResponse:
    return _json({"teamMembers": request.app[SCENARIO_KEY].members})


async def _daily_usage(request: web.Request) -> web.StreamResponse:
    scenario = request.app[SCENARIO_KEY]
    body = await _json_body(request)
    start = _epoch_ms(body, "startDate", None)
    end = _epoch_ms(body, "endDate", None)
    _check_span(start, end)
    first, last = utc_day(start), utc_day(end)
    period = {"startDate": start, "endDate": end}
    page, size = _positive_int(body, "page"), _positive_int(body, "pageSize")
    view = _delivery(request)
    activity = (
        None if view is None else scenario.visible_activity(first, last, view, _present(request))
    )
    if page is None and size is None:
        rows = scenario.daily_usage_rows(first, last, activity=activity)
        return _json({"data": rows, "period": period})
    page = page or 1
    size = min(size or USERS_DEFAULT_PAGE_SIZE, USERS_MAX_PAGE_SIZE)
    members = scenario.members
    pages = _page_count(len(members), size)
    chosen = members[(page - 1) * size : page * size]
    return _json(
        {
            "data": scenario.daily_usage_rows(first, last, chosen, activity),
            "period": period,
            "pagination": {
                "page": page,
                "pageSize": size,
                "totalUsers": len(members),
                "totalPages": pages,
                "hasNextPage": page < pages,
                "hasPreviousPage": page > 1,
            },
        }
    )


_SPEND_SORTS: Final = ("amount", "date", "user")


async def _spend(request: web.Request) -> web.StreamResponse:
    scenario = request.app[SCENARIO_KEY]
    body = await _json_body(request)
    search = body.get("searchTerm")
    if search is not None and not isinstance(search, str):
        raise ApiFailure(400, "searchTerm must be a string")
    sort_by = body.get("sortBy", "date")
    if sort_by not in _SPEND_SORTS:
        raise ApiFailure(400, "sortBy must be one of amount, date, user")
    direction = body.get("sortDirection", "desc")
    if direction not in ("asc", "desc"):
        raise ApiFailure(400, "sortDirection must be asc or desc")
    page = _positive_int(body, "page") or 1
    size = min(_positive_int(body, "pageSize") or SPEND_DEFAULT_PAGE_SIZE, SPEND_MAX_PAGE_SIZE)
    rows, cycle_start = scenario.spend_report(scenario.now())
    numbered = list(enumerate(rows))
    if search:
        needle = search.lower()
        numbered = [
            (n, row)
            for n, row in numbered
            if needle in str(row.get("email", "")).lower()
            or needle in str(row.get("name", "")).lower()
        ]
    numbered.sort(key=_spend_sort_key(sort_by), reverse=direction == "desc")
    pages = max(1, _page_count(len(numbered), size))
    chosen = [row for _, row in numbered[(page - 1) * size : page * size]]
    return _json(
        {
            "teamMemberSpend": chosen,
            "subscriptionCycleStart": cycle_start,
            "totalMembers": len(numbered),
            "totalPages": pages,
        }
    )


def _spend_sort_key(sort_by: str) -> Callable[[tuple[int, JSONObject]], tuple[Any, ...]]:
    """Order for ``sortBy``; ``date`` is membership order, the order the team was built in."""
    if sort_by == "amount":
        return lambda item: (float(item[1].get("spendCents") or 0), item[0])
    if sort_by == "user":
        return lambda item: (str(item[1].get("name") or item[1].get("email")).lower(), item[0])
    return lambda item: (item[0],)


async def _usage_events(request: web.Request) -> web.StreamResponse:
    scenario = request.app[SCENARIO_KEY]
    store = scenario.events
    body = await _json_body(request)
    end = _epoch_ms(body, "endDate", _present(request))
    start = _epoch_ms(body, "startDate", end - EVENTS_DEFAULT_DAYS * DAY_MS)
    _check_span(start, end)
    wanted = _filtered_email(scenario, body)
    page = _positive_int(body, "page") or 1
    size = min(_positive_int(body, "pageSize") or EVENTS_DEFAULT_PAGE_SIZE, EVENTS_MAX_PAGE_SIZE)
    request.app[STATE_KEY].event_queries.append((start, end, page))
    rows: Sequence[int]
    if wanted is None:
        rows = store.positions(start, end)
    else:
        user = store.find_user(wanted)
        rows = () if user is None else store.positions(start, end, user)
    view = _delivery(request)
    if view is not None:
        rows = view.visible(("events", wanted, start, end), rows, _present(request))
    total = len(rows)
    pages = _page_count(total, size)
    newest = total - (page - 1) * size
    oldest = max(0, total - page * size)
    events = [store.event(rows[i]) for i in range(newest - 1, oldest - 1, -1)]
    return _json(
        {
            "totalUsageEventsCount": total,
            "pagination": {
                "numPages": pages,
                "currentPage": page,
                "pageSize": size,
                "hasNextPage": page < pages,
                "hasPreviousPage": page > 1,
            },
            "usageEvents": events,
            "period": {"startDate": start, "endDate": end},
        }
    )


def _filtered_email(scenario: Scenario, body: JSONObject) -> str | None:
    """The member the request narrows to (by ``email`` and/or ``userId``), if any."""
    email = body.get("email")
    user_id = body.get("userId")
    if email is not None and (
        not isinstance(email, str) or scenario.member_position(email) is None
    ):
        raise ApiFailure(400, "Some users are not in the team")
    if user_id is not None:
        if isinstance(user_id, bool) or not isinstance(user_id, int | str):
            raise ApiFailure(400, "userId must be a number")
        member = scenario.member_by_id(user_id)
        if member is None:
            raise ApiFailure(400, "Some users are not in the team")
        by_id = str(member["email"])
        if email is not None and by_id.lower() != email.lower():
            raise ApiFailure(400, "email and userId name different members")
        return by_id
    return email


async def _groups(request: web.Request) -> web.StreamResponse:
    scenario = request.app[SCENARIO_KEY]
    cycle = request.query.get("billingCycle")
    if cycle is None:
        start = billing_cycle_start(scenario.now())
    else:
        try:
            start = date.fromisoformat(cycle).replace(day=1)
        except ValueError as exc:
            raise ApiFailure(400, "billingCycle must be a date as YYYY-MM-DD") from exc
    return _json(scenario.groups_report(start))


# ---------------------------------------------------------------------------------------------
# Analytics API


def _analytics_day(text: str | None, default: date, today: date, name: str) -> date:
    """A day in any form the Analytics API accepts: YYYY-MM-DD, ISO time, today, <n>d..."""
    if text is None or not text.strip():
        return default
    word = text.strip().lower()
    if word in ("now", "today"):
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    if word.endswith("d") and word[:-1].isascii() and word[:-1].isdigit():
        return today - timedelta(days=int(word[:-1]))
    try:
        if len(word) == 10:
            return date.fromisoformat(word)
        return datetime.fromisoformat(text.strip()).date()
    except ValueError as exc:
        raise ApiFailure(
            400, f"Invalid {name}: use YYYY-MM-DD, an ISO 8601 time, today, yesterday or <n>d"
        ) from exc


async def _analytics(request: web.Request) -> web.StreamResponse:
    scenario = request.app[SCENARIO_KEY]
    metric = request.match_info["metric"]
    if metric not in ANALYTICS_METRICS:
        raise ApiFailure(404, "Resource not found")
    today = utc_day(scenario.now())
    start = _analytics_day(
        request.query.get("startDate"),
        today - timedelta(days=ANALYTICS_DEFAULT_DAYS),
        today,
        "startDate",
    )
    end = _analytics_day(request.query.get("endDate"), today, today, "endDate")
    if end < start:
        raise ApiFailure(400, "startDate must not be after endDate")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ApiFailure(400, RANGE_MESSAGE)
    payload = {
        "data": scenario.analytics_rows(metric, start, end),
        "params": {
            "metric": ANALYTICS_PARAM_METRIC[metric],
            "teamId": scenario.team_id,
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
        },
    }
    body = _dumps(payload).encode()
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    return web.Response(
        body=body,
        content_type="application/json",
        headers={"ETag": etag, "Cache-Control": _ANALYTICS_CACHE_CONTROL},
    )


# ---------------------------------------------------------------------------------------------
# Introspection


async def _stats(request: web.Request) -> web.StreamResponse:
    return _json(request.app[STATE_KEY].stats())


async def _scenario_summary(request: web.Request) -> web.StreamResponse:
    return _json(request.app[SCENARIO_KEY].summary())


# ---------------------------------------------------------------------------------------------
# Building and running


def make_simulator_app(
    scenario: Scenario,
    *,
    api_key: str = "sim-key",
    analytics_api_key: str | None = None,
    rate_limits: bool = True,
    fault_rate: float = 0.0,
    seed: int = 0,
    latency: float = 0.0,
    slow_seconds: float = 3.0,
    clock: Callable[[], float] = time.monotonic,
    late: LateDelivery | None = None,
    present: Callable[[], int] | None = None,
) -> web.Application:
    """The simulator as an aiohttp application serving ``scenario``.

    ``fault_rate`` is the chance that a request (once past authentication and the rate
    limit) fails on purpose; ``seed`` fixes which ones. ``latency`` delays every answer, so a
    test can stop a client mid-run. ``clock`` drives the rate-limit window. ``late`` delivers
    each event some time after its timestamp (see :mod:`tracker_core.simulator.delivery`), as
    of ``present`` (epoch ms; the scenario's own present by default), so a scaled clock can
    replay a day of hourly collections in seconds.
    """
    if not 0.0 <= fault_rate <= 1.0:
        raise ValueError(f"fault_rate must be between 0 and 1, not {fault_rate}")
    if latency < 0 or slow_seconds < 0:
        raise ValueError("latency and slow_seconds must not be negative")
    if not api_key:
        raise ValueError("api_key must not be empty")
    app = web.Application(middlewares=[cursor_api_middleware])
    app[SCENARIO_KEY] = scenario
    app[STATE_KEY] = SimulatorState(
        api_key=api_key,
        analytics_api_key=analytics_api_key,
        rate_limits=rate_limits,
        fault_rate=fault_rate,
        latency=latency,
        slow_seconds=slow_seconds,
        clock=clock,
        rng=random.Random(seed),
        late=late,
        present=present,
    )
    app.router.add_get("/teams/members", _members)
    app.router.add_post("/teams/daily-usage-data", _daily_usage)
    app.router.add_post("/teams/spend", _spend)
    app.router.add_post("/teams/filtered-usage-events", _usage_events)
    app.router.add_get("/teams/groups", _groups)
    app.router.add_get("/analytics/team/{metric}", _analytics)
    app.router.add_get("/_simulator/stats", _stats)
    app.router.add_get("/_simulator/scenario", _scenario_summary)
    return app


def base_url(host: str, port: int) -> str:
    """``http://host:port``, bracketing IPv6 literals."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


async def _start(
    scenario: Scenario, host: str, port: int, options: SimulatorOptions
) -> tuple[web.AppRunner, int]:
    app = make_simulator_app(scenario, **options)
    # A short shutdown grace: slow or delayed answers must not hold up a stop.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, int(runner.addresses[0][1])


async def serve(
    scenario: Scenario,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    out: TextIO | None = None,
    **options: Unpack[SimulatorOptions],
) -> None:
    """Serve until SIGINT or SIGTERM; the first line on ``out`` (stdout) is the bound URL.

    Scripts start the simulator with ``--port 0`` and read that line to learn the port.
    """
    runner, bound = await _start(scenario, host, port, options)
    try:
        print(f"listening on {base_url(host, bound)}", file=out or sys.stdout, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            installed.append(signum)
        try:
            await stop.wait()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
    finally:
        await runner.cleanup()


class SimulatorThread:
    """The simulator on a free loopback port, in a thread with its own event loop.

    For the demo and for synchronous tests, which need a real server next to code that is not
    async (or runs its own loop).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **options: Unpack[SimulatorOptions],
    ) -> None:
        self.scenario = scenario
        self.host = host
        self.port = port
        self.url = ""
        self._options = options
        self._thread = threading.Thread(target=self._run, name="cursor-simulator", daemon=True)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def start(self, timeout: float = 30.0) -> str:
        """Start serving and return the base URL once the port is bound."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the simulator did not start in time")
        if self._error is not None:
            raise RuntimeError(f"the simulator failed to start: {self._error}") from self._error
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to finish."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            # The loop may close between the check and the call.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> SimulatorThread:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the starting thread, not lost
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        runner, bound = await _start(self.scenario, self.host, self.port, self._options)
        try:
            self._stop = asyncio.Event()
            self._loop = asyncio.get_running_loop()
            self.port = bound
            self.url = base_url(self.host, bound)
            self._ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()


@contextlib.contextmanager
def running_simulator(scenario: Scenario, **options: Unpack[SimulatorOptions]) -> Iterator[str]:
    """Run the simulator on a free loopback port for the ``with`` block; yields its base URL."""
    thread = SimulatorThread(scenario, **options)
    url = thread.start()
    try:
        yield url
    finally:
        thread.stop()
