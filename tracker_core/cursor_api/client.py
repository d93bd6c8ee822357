"""The async client of Cursor's Admin and Analytics APIs, as used by the collector.

One :class:`CursorClient` owns one HTTP connection pool and one rate limiter per API, so every
call of an API, however many run at once, shares that API's quota. Each method returns domain
records; the paginated ones are async iterators of :class:`~tracker_core.domain.Page` so the
collector can commit page by page instead of holding a whole backfill in memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Self, TypeVar

import httpx

from tracker_core import __version__
from tracker_core.cursor_api import schemas
from tracker_core.cursor_api.ratelimit import (
    Clock,
    GrantLedger,
    RateLimiter,
    Sleep,
    shared_limiter,
)
from tracker_core.cursor_api.retry import RetryPolicy, is_retryable_status, parse_retry_after
from tracker_core.cursor_api.windows import epoch_ms, split_days, split_windows
from tracker_core.domain import (
    AnalyticsValue,
    DailyUsage,
    GroupsSnapshot,
    Member,
    MemberSpend,
    Page,
    UsageEvent,
)
from tracker_core.errors import (
    ApiAuthError,
    ApiError,
    ApiPlanError,
    ApiRequestError,
    ApiResponseError,
    ApiUnavailableError,
)
from tracker_core.redact import redact
from tracker_core.text import printable

logger = logging.getLogger(__name__)

T = TypeVar("T")

USER_AGENT = f"cursor-usage-tracker/{__version__}"

MAX_PAGES_PER_WINDOW = 10_000
"""Far beyond any real team; only a server that never stops saying "next page" gets here."""

_RATE_PERIOD_SECONDS = 60.0


@dataclass(frozen=True, kw_only=True)
class ClientOptions:
    """Everything that tunes the client; the keys are kept out of ``repr``."""

    base_url: str = "https://api.cursor.com"
    admin_api_key: str = field(repr=False)
    analytics_api_key: str | None = field(default=None, repr=False)
    """None means the Admin key is used for the Analytics API too."""
    timeout_seconds: float = 30.0
    max_attempts: int = 8
    max_retry_seconds: float = 300.0
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    admin_requests_per_minute: int | None = 20
    analytics_requests_per_minute: int | None = 100
    events_page_size: int = 500
    daily_usage_page_size: int = 500
    spend_page_size: int = 100
    max_window_days: int = 30

    def __post_init__(self) -> None:
        # Messages name the option, never its value: two of the options are secrets.
        if not self.admin_api_key.strip():
            raise ValueError("admin_api_key is empty")
        if self.analytics_api_key is not None and not self.analytics_api_key.strip():
            raise ValueError("analytics_api_key is empty (leave it unset to use the Admin key)")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        if self.timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        for name in ("admin_requests_per_minute", "analytics_requests_per_minute"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, or None to disable the limiter")
        for name in (
            "events_page_size",
            "daily_usage_page_size",
            "spend_page_size",
            "max_window_days",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        RetryPolicy(  # validates the retry options with one set of rules
            max_attempts=self.max_attempts,
            max_seconds=self.max_retry_seconds,
            backoff_base=self.backoff_base_seconds,
            backoff_max=self.backoff_max_seconds,
        )

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            max_seconds=self.max_retry_seconds,
            backoff_base=self.backoff_base_seconds,
            backoff_max=self.backoff_max_seconds,
        )


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """One HTTP attempt, for progress displays and diagnostics (it never holds a key)."""

    api: str
    """``"Admin"`` or ``"Analytics"``."""
    method: str
    path: str
    status: int | None
    """None when no answer came (timeout, connection error)."""
    attempt: int
    elapsed: float
    """Seconds this attempt took, rate-limiter wait excluded."""
    error: str | None = None


RequestHook = Callable[[RequestInfo], None]


@dataclass(frozen=True, slots=True)
class ApiWait:
    """A pause before the next request, reported as it begins (progress displays say why)."""

    api: str
    """``"Admin"`` or ``"Analytics"``."""
    seconds: float
    per_minute: int | None
    """The client's own ceiling for this API (None: no ceiling)."""
    status: int | None = None
    """The HTTP status (429, 503...) being retried after; None with no ``problem``: the
    client's rate limit (a failed connection or a timeout has a problem and no status)."""
    problem: str | None = None
    """What went wrong when this is a retry (``"HTTP 503"``, ``"no answer within 30 s"``)."""


WaitHook = Callable[[ApiWait], None]


@dataclass(frozen=True, eq=False)
class _Api:
    """One of the two APIs: its name for messages, its credentials and its shared limiter."""

    name: str
    auth: httpx.BasicAuth = field(repr=False)
    limiter: RateLimiter = field(repr=False)
    key: str = field(default="", repr=False)
    """The API key, for the request ledger's per-team slots (stored there only as a hash)."""


class CursorClient:
    """Async client of the Cursor Admin and Analytics APIs.

    Use it as ``async with CursorClient(options) as client:``. By default every client of the
    same team (server and key) in this process shares one limiter per API (see
    :func:`~tracker_core.cursor_api.ratelimit.shared_limiter`), timed by ``limiter_clock`` and
    ``limiter_sleep`` (a scaled clock lets a test watch many rolling minutes of Cursor's quota
    go by in a few seconds); limiters passed in are used instead. With a ``ledger`` (the
    database's, see :mod:`tracker_core.storage.request_ledger`) every request also takes a
    slot of the quota shared with the other processes collecting into that database, timed
    by ``ledger_clock`` (epoch seconds: a clock every process agrees on).
    """

    def __init__(
        self,
        options: ClientOptions,
        *,
        on_request: RequestHook | None = None,
        on_wait: WaitHook | None = None,
        admin_limiter: RateLimiter | None = None,
        analytics_limiter: RateLimiter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter_clock: Clock = time.monotonic,
        limiter_sleep: Sleep = asyncio.sleep,
        ledger: GrantLedger | None = None,
        ledger_clock: Clock = time.time,
    ) -> None:
        self._options = options
        self._ledger = ledger
        self._ledger_clock = ledger_clock
        self._sleep = limiter_sleep
        self._policy = options.retry_policy
        self._on_request = on_request
        self._on_wait = on_wait
        self._corrections: list[schemas.Correction] = []
        analytics_key = options.analytics_api_key or options.admin_api_key
        self._secrets = tuple({options.admin_api_key, analytics_key})
        self._admin = _Api(
            "Admin",
            httpx.BasicAuth(options.admin_api_key, ""),
            admin_limiter
            or shared_limiter(
                "Admin",
                options.base_url,
                options.admin_api_key,
                options.admin_requests_per_minute,
                _RATE_PERIOD_SECONDS,
                clock=limiter_clock,
                sleep=limiter_sleep,
            ),
            options.admin_api_key,
        )
        self._analytics = _Api(
            "Analytics",
            httpx.BasicAuth(analytics_key, ""),
            analytics_limiter
            or shared_limiter(
                "Analytics",
                options.base_url,
                analytics_key,
                options.analytics_requests_per_minute,
                _RATE_PERIOD_SECONDS,
                clock=limiter_clock,
                sleep=limiter_sleep,
            ),
            analytics_key,
        )
        self._http = httpx.AsyncClient(
            base_url=options.base_url.rstrip("/"),
            timeout=httpx.Timeout(options.timeout_seconds),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"CursorClient(base_url={self._options.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def options(self) -> ClientOptions:
        return self._options

    def take_corrections(self) -> list[schemas.Correction]:
        """Values the parsers clamped, left out or skipped since the last call (see
        :data:`schemas.BOUNDS`); the collector asks after each stream to report them."""
        taken, self._corrections = self._corrections, []
        return taken

    # ----------------------------------------------------------------- endpoints

    async def members(self) -> list[Member]:
        """Every team member, removed ones included (``GET /teams/members``)."""
        data = await self._request(self._admin, "GET", "/teams/members")
        return schemas.parse_members(data, notes=self._corrections)

    async def spend_pages(self) -> AsyncIterator[Page[MemberSpend]]:
        """This billing cycle's spend per member (``POST /teams/spend``), page by page.

        The answer has no "next page" flag, only ``totalPages``. Sorting by user keeps rows from
        moving between pages while spend changes during the walk.
        """
        now = datetime.now(UTC)
        size = self._options.spend_page_size
        previous: list[MemberSpend] | None = None
        page_no = 1
        while True:
            data = await self._request(
                self._admin,
                "POST",
                "/teams/spend",
                body={"page": page_no, "pageSize": size, "sortBy": "user", "sortDirection": "asc"},
            )
            parsed = schemas.parse_spend(data, notes=self._corrections)
            total_pages = parsed.total_pages
            if total_pages is None:
                total_pages = (
                    math.ceil(parsed.total_members / size)
                    if parsed.total_members is not None
                    else page_no
                )
            _check_not_repeated(schemas.SPEND, page_no, parsed.items, previous)
            last = page_no >= total_pages or not parsed.items
            _check_page_budget(schemas.SPEND, page_no, last)
            yield Page(
                items=parsed.items,
                window_start=now,
                window_end=now,
                last_in_window=last,
                extra={
                    "page": page_no,
                    "total_pages": total_pages,
                    "total_members": parsed.total_members,
                    "cycle_start": parsed.cycle_start,
                },
            )
            if last:
                return
            previous = parsed.items
            page_no += 1

    async def daily_usage_pages(
        self, start: datetime, end: datetime
    ) -> AsyncIterator[Page[DailyUsage]]:
        """Per-member, per-day activity over ``[start, end]`` (``POST /teams/daily-usage-data``).

        ``page`` and ``pageSize`` are always sent: without them the API lists active members
        only, and removed or idle members' zero days would be missing.
        """
        for window_start, window_end in split_windows(start, end, self._options.max_window_days):
            async for page in self._window_pages(
                schemas.DAILY_USAGE,
                window_start,
                window_end,
                self._options.daily_usage_page_size,
                schemas.parse_daily_usage,
            ):
                yield page

    async def usage_event_pages(
        self, start: datetime, end: datetime, *, window_days: int | None = None
    ) -> AsyncIterator[Page[UsageEvent]]:
        """Usage events over ``[start, end]`` (``POST /teams/filtered-usage-events``).

        ``window_days`` asks for smaller windows than the API's limit (never larger), so a
        backfill commits its progress more often. Every window ends with a page flagged
        ``last_in_window``, empty if the window had no events, so the caller can always advance.
        """
        days = self._options.max_window_days
        if window_days is not None:
            if window_days < 1:
                raise ValueError(f"window_days must be at least 1, not {window_days}")
            days = min(window_days, days)
        for window_start, window_end in split_windows(start, end, days):
            async for page in self._window_pages(
                schemas.USAGE_EVENTS,
                window_start,
                window_end,
                self._options.events_page_size,
                schemas.parse_usage_events,
            ):
                yield page

    async def groups(self) -> GroupsSnapshot:
        """Billing groups of the current cycle with their members (``GET /teams/groups``)."""
        data = await self._request(self._admin, "GET", "/teams/groups")
        return schemas.parse_groups(data, notes=self._corrections)

    async def analytics(self, metric: str, start: date, end: date) -> list[AnalyticsValue]:
        """One Analytics API team metric over the days ``start..end``, in long form.

        Longer ranges than the API's 30 days are fetched window by window and concatenated.
        """
        if metric not in schemas.SUPPORTED_ANALYTICS_METRICS:
            raise ValueError(f"unsupported analytics metric {metric!r}")
        values: list[AnalyticsValue] = []
        for window_start, window_end in split_days(start, end, self._options.max_window_days):
            data = await self._request(
                self._analytics,
                "GET",
                f"/analytics/team/{metric}",
                params={"startDate": window_start.isoformat(), "endDate": window_end.isoformat()},
            )
            values.extend(schemas.parse_analytics(metric, data, self._corrections))
        return values

    # ----------------------------------------------------------------- pagination

    async def _window_pages(
        self,
        endpoint: str,
        window_start: datetime,
        window_end: datetime,
        page_size: int,
        parse: Callable[[object, str, list[schemas.Correction]], schemas.PaginatedItems[T]],
    ) -> AsyncIterator[Page[T]]:
        """Every page of one date window of an Admin POST endpoint paginated by ``hasNextPage``."""
        method, path = endpoint.split(" ", 1)
        previous: list[T] | None = None
        page_no = 1
        while True:
            body = {
                "startDate": epoch_ms(window_start),
                "endDate": epoch_ms(window_end),
                "page": page_no,
                "pageSize": page_size,
            }
            data = await self._request(self._admin, method, path, body=body)
            parsed = parse(data, endpoint, self._corrections)
            _check_not_repeated(endpoint, page_no, parsed.items, previous)
            # An empty page ends the window whatever the flag says: a server that keeps
            # answering hasNextPage with nothing in it would otherwise be walked forever.
            last = not parsed.items or not _has_next(parsed.pagination, page_no)
            _check_page_budget(endpoint, page_no, last)
            yield Page(
                items=parsed.items,
                window_start=window_start,
                window_end=window_end,
                last_in_window=last,
                extra={
                    "page": page_no,
                    "total_pages": parsed.pagination.total_pages,
                    "total_count": parsed.pagination.total_count,
                },
            )
            if last:
                return
            previous = parsed.items
            page_no += 1

    # ----------------------------------------------------------------- transport

    async def _request(
        self,
        api: _Api,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
    ) -> object:
        """One call with the limiter, retries and error mapping; returns the parsed JSON."""
        endpoint = f"{method} {path}"
        policy = self._policy
        first_sent: float | None = None
        attempt = 0
        while True:
            attempt += 1
            grant = await api.limiter.hold(on_wait=self._limit_hook(api))
            try:
                slot = await self._take_shared_slot(api)
            except BaseException:
                api.limiter.release(grant)
                raise
            sent = time.monotonic()
            if first_sent is None:
                first_sent = sent
            status: int | None = None
            retry_after: float | None = None
            invalid_json = False
            failure: BaseException | None = None
            try:
                try:
                    response = await self._http.request(
                        method, path, params=params, json=body, auth=api.auth
                    )
                finally:
                    api.limiter.release(grant)
                    self._settle_shared_slot(api, slot)
            except httpx.UnsupportedProtocol as exc:
                raise ApiRequestError(
                    f"{endpoint}: the base URL cannot be used ({self._scrub(str(exc))})",
                    endpoint=endpoint,
                ) from None
            except httpx.TimeoutException as exc:
                failure = exc
                problem = f"no answer within {self._options.timeout_seconds:g} s"
            except (httpx.TransportError, httpx.DecodingError) as exc:
                # DecodingError: a body cut off inside its gzip stream, a truncated answer too.
                failure = exc
                problem = self._scrub(f"{type(exc).__name__}: {exc}".rstrip(": "))
            else:
                status = response.status_code
                if 200 <= status <= 299:
                    try:
                        data: object = json.loads(response.content)
                    except ValueError:
                        invalid_json = True
                        problem = f"HTTP {status} with a body that is not valid JSON"
                    else:
                        self._report(api, method, path, status, attempt, sent, None)
                        return data
                elif is_retryable_status(status):
                    problem = f"HTTP {status}"
                    # Honoured on a 503 as well: overload was what the header was first meant for.
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                else:
                    refusal = self._refusal(api, endpoint, response)
                    self._report(api, method, path, status, attempt, sent, str(refusal))
                    raise refusal
            self._report(api, method, path, status, attempt, sent, problem)
            spent = time.monotonic() - first_sent
            delay = policy.next_delay(attempt=attempt, spent=spent, retry_after=retry_after)
            if delay is None:
                raise self._gave_up(
                    api, endpoint, status, problem, attempt, spent, retry_after, invalid_json
                ) from failure
            if status == 429:
                # Everyone calling this API waits too: the quota is the team's, not this call's.
                api.limiter.pause(delay)
            logger.info(
                "%s: %s; attempt %d of %d, retrying in %.2f s",
                endpoint,
                problem,
                attempt,
                policy.max_attempts,
                delay,
            )
            if self._on_wait is not None:
                self._on_wait(ApiWait(api.name, delay, api.limiter.max_requests, status, problem))
            await asyncio.sleep(delay)

    async def _take_shared_slot(self, api: _Api) -> object | None:
        """Wait for a slot of the quota other processes share through the ledger, if any: it
        counts as in flight for as long as a request may take, until its answer dates it."""
        ceiling = api.limiter.max_requests
        if self._ledger is None or ceiling is None:
            return None
        hook = self._limit_hook(api)
        while True:
            wait, slot = self._ledger.take(
                api.name,
                api.key,
                ceiling,
                api.limiter.window_seconds,
                self._ledger_clock,
                in_flight_seconds=self._options.timeout_seconds,
            )
            if wait <= 0:
                return slot
            if hook is not None:
                hook(wait)
            await self._sleep(wait)

    def _settle_shared_slot(self, api: _Api, slot: object | None) -> None:
        if self._ledger is not None and slot is not None:
            self._ledger.settle(slot, api.limiter.window_seconds, self._ledger_clock)

    def _limit_hook(self, api: _Api) -> Callable[[float], None] | None:
        """The limiter's wait report, as an :class:`ApiWait` naming the API and its ceiling."""
        hook = self._on_wait
        if hook is None:
            return None
        return lambda seconds: hook(ApiWait(api.name, seconds, api.limiter.max_requests))

    def _report(
        self,
        api: _Api,
        method: str,
        path: str,
        status: int | None,
        attempt: int,
        sent: float,
        error: str | None,
    ) -> None:
        if self._on_request is not None:
            elapsed = time.monotonic() - sent
            self._on_request(RequestInfo(api.name, method, path, status, attempt, elapsed, error))

    def _refusal(self, api: _Api, endpoint: str, response: httpx.Response) -> ApiError:
        status = response.status_code
        detail = self._scrub(_body_message(response))
        if status == 401:
            return ApiAuthError(
                f"Cursor {api.name} API rejected the key (401)", endpoint=endpoint, status=status
            )
        if status == 403:
            suffix = f" ({detail})" if detail else ""
            return ApiPlanError(
                f"Cursor {api.name} API refused access (403): "
                f"the team needs the Enterprise plan{suffix}",
                endpoint=endpoint,
                status=status,
            )
        suffix = f": {detail}" if detail else ""
        return ApiRequestError(
            f"{endpoint} was refused with HTTP {status}{suffix}", endpoint=endpoint, status=status
        )

    def _gave_up(
        self,
        api: _Api,
        endpoint: str,
        status: int | None,
        problem: str,
        attempts: int,
        spent: float,
        retry_after: float | None,
        invalid_json: bool,
    ) -> ApiError:
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''} in {spent:.1f} s"
        if invalid_json:
            return ApiResponseError(
                f"{endpoint}: the answer was not valid JSON ({problem}) after {tries}",
                endpoint=endpoint,
                status=status,
            )
        message = (
            f"{endpoint}: the Cursor {api.name} API kept failing (last: {problem}) after {tries}"
        )
        if retry_after is not None and attempts < self._policy.max_attempts:
            message += (
                f"; it asked to wait {retry_after:g} s more, beyond the "
                f"{self._policy.max_seconds:g} s retry budget"
            )
        return ApiUnavailableError(message, endpoint=endpoint, status=status)

    def _scrub(self, text: str) -> str:
        """Blank out the keys, in clear or Basic-auth form, in text that came from elsewhere
        (a body that echoes the request, an exception).

        NUL characters go too: the text ends up in the run's record, and PostgreSQL refuses
        them in any text column (the whole run's record would be lost with it). So do the other
        control characters: the record is printed, and an escape sequence in a server's body
        would run in the terminal of whoever reads it.
        """
        return redact(printable(text), self._secrets, mask="[redacted]")


def _has_next(pagination: schemas.Pagination, page_no: int) -> bool:
    if pagination.has_next_page is not None:
        return pagination.has_next_page
    if pagination.total_pages is not None:
        return page_no < pagination.total_pages
    return False


def _check_not_repeated(
    endpoint: str, page_no: int, items: Sequence[object], previous: Sequence[object] | None
) -> None:
    # A server that ignores ``page`` returns page 1 forever; stopping quietly would lose data.
    if previous is not None and items and list(items) == list(previous):
        raise ApiResponseError(
            f"{endpoint}: page {page_no} repeats page {page_no - 1}; the server ignores paging",
            endpoint=endpoint,
        )


def _check_page_budget(endpoint: str, page_no: int, last: bool) -> None:
    if not last and page_no >= MAX_PAGES_PER_WINDOW:
        raise ApiResponseError(
            f"{endpoint}: still announcing more pages after {page_no}; giving up",
            endpoint=endpoint,
        )


def _body_message(response: httpx.Response) -> str:
    """The ``message`` of Cursor's error envelope, or a short start of a non-JSON body."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(data, dict):
        for key in ("message", "error"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:300]
    return ""
