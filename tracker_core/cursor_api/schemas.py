"""Turning the Cursor APIs' JSON into :mod:`tracker_core.domain` records.

Two rules pull in opposite directions. Where the public record is unsure (a member id that is a
number in the docs and a string in the wild, optional flags older answers lack, integers that
arrive as floats, a timestamp sent as a string) the parser accepts every plausible form, because
rejecting a good answer stops collection for nothing. Where a field is the identity or the point
of a record (an email, a day, a timestamp, the list itself) a missing or wrong value raises
:class:`~tracker_core.errors.ApiResponseError` naming the endpoint and the exact field path, so
a change on Cursor's side is reported instead of being stored as silent garbage.

A third rule covers values of the right type that no real team produces (a token count of
2^63, a charge of 1e308 cents, a NUL inside a name): one of them must neither stop collection
nor reach the database, where it would break a column type or every later sum. :data:`BOUNDS`
says, field by field, what is plausible and what happens outside: the value is clamped to the
bound or left out; text loses its NUL characters and is shortened; a record whose identity is
unusable (an email longer than any mailbox) is skipped. Each such change is noted as a
:class:`Correction`, so the collector can say in its summary what it did not store as sent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Generic, TypeGuard, TypeVar

from tracker_core.domain import (
    AnalyticsValue,
    BillingGroup,
    DailyUsage,
    GroupMembership,
    GroupsSnapshot,
    Member,
    MemberSpend,
    UsageEvent,
    usage_event_id,
    utc_day,
)
from tracker_core.errors import ApiResponseError
from tracker_core.text import printable

MEMBERS = "GET /teams/members"
SPEND = "POST /teams/spend"
DAILY_USAGE = "POST /teams/daily-usage-data"
USAGE_EVENTS = "POST /teams/filtered-usage-events"
GROUPS = "GET /teams/groups"

# Epoch milliseconds between 2000 and 2100: anything outside is seconds, microseconds or noise.
_MIN_EPOCH_MS = 946_684_800_000
_MAX_EPOCH_MS = 4_102_444_800_000

_UNASSIGNED_GROUP_ID = "group_unassigned"


@dataclass(frozen=True, slots=True)
class Bound:
    """The plausible range of one numeric field and what to do with a value outside it.

    ``clamp`` stores the nearest bound (a count: the record stays useful and the extreme shows);
    otherwise the value is left out, which for an optional amount means "unknown" (a charge of
    1e308 cents is not a large charge, it is no information).
    """

    low: float
    high: float
    clamp: bool


MAX_TOKENS = 10**12
"""Tokens of one kind in one request: a thousand times the largest context window sold today,
and low enough that millions of such events still sum inside a 64-bit integer."""
MAX_EVENT_CENTS = 10**8
"""One request charged a million dollars: anything above is a fault, not a bill."""
MAX_MEMBER_CENTS = 10**11
"""A member's or a group's spend in one cycle: a billion dollars."""
MAX_DAILY_COUNT = 10**9
"""Lines, requests or tabs of one member in one day; below 2^31 so 32-bit columns hold it."""
MAX_ANALYTICS_VALUE = 10**15
"""Any Analytics API figure: far above a team's, far below a float sum's overflow."""
MAX_TEXT = 1000
"""Characters kept of a name, model, label or id: enough for any real one, and short enough
for PostgreSQL's index rows (2,704 bytes) when the text is part of a key."""
MAX_EMAIL = 320
"""The longest address RFC 3696 allows; a longer "email" identifies nobody."""

_DAILY_COUNTS: tuple[tuple[str, str], ...] = (
    ("total_lines_added", "totalLinesAdded"),
    ("total_lines_deleted", "totalLinesDeleted"),
    ("accepted_lines_added", "acceptedLinesAdded"),
    ("accepted_lines_deleted", "acceptedLinesDeleted"),
    ("total_applies", "totalApplies"),
    ("total_accepts", "totalAccepts"),
    ("total_rejects", "totalRejects"),
    ("total_tabs_shown", "totalTabsShown"),
    ("total_tabs_accepted", "totalTabsAccepted"),
    ("composer_requests", "composerRequests"),
    ("chat_requests", "chatRequests"),
    ("agent_requests", "agentRequests"),
    ("cmdk_usages", "cmdkUsages"),
    ("subscription_included_reqs", "subscriptionIncludedReqs"),
    ("api_key_reqs", "apiKeyReqs"),
    ("usage_based_reqs", "usageBasedReqs"),
    ("bugbot_usages", "bugbotUsages"),
)

_COUNT = Bound(0, MAX_DAILY_COUNT, clamp=True)
_TOKENS = Bound(0, MAX_TOKENS, clamp=True)
_EVENT_CENTS = Bound(0, MAX_EVENT_CENTS, clamp=False)
_MEMBER_CENTS = Bound(0, MAX_MEMBER_CENTS, clamp=True)
_DOLLARS = Bound(0, MAX_MEMBER_CENTS / 100, clamp=True)
_ANY = Bound(-MAX_ANALYTICS_VALUE, MAX_ANALYTICS_VALUE, clamp=False)
"""Numbers not listed below: pagination figures, analytics values."""

BOUNDS: dict[str, Bound] = {
    # POST /teams/filtered-usage-events
    "inputTokens": _TOKENS,
    "outputTokens": _TOKENS,
    "cacheWriteTokens": _TOKENS,
    "cacheReadTokens": _TOKENS,
    "totalCents": _EVENT_CENTS,
    "chargedCents": _EVENT_CENTS,
    "cursorTokenFee": _EVENT_CENTS,
    "requestsCosts": Bound(0, 10**6, clamp=True),
    # POST /teams/spend, GET /teams/groups
    "spendCents": _MEMBER_CENTS,
    "overallSpendCents": Bound(0, MAX_MEMBER_CENTS, clamp=False),
    "fastPremiumRequests": _COUNT,
    "hardLimitOverrideDollars": _DOLLARS,
    "monthlyLimitDollars": Bound(0, MAX_MEMBER_CENTS / 100, clamp=False),
    "memberCount": _COUNT,
    # POST /teams/daily-usage-data
    **{key: _COUNT for _, key in _DAILY_COUNTS},
}
"""Plausible bounds of every numeric field the tracker stores, by its name in the API."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Pagination:
    """What an answer says about the pages after it; any part may be missing."""

    has_next_page: bool | None = None
    total_pages: int | None = None
    current_page: int | None = None
    total_count: int | None = None


@dataclass(frozen=True, slots=True)
class PaginatedItems(Generic[T]):
    """The records of one answer and what it says about the next pages."""

    items: list[T]
    pagination: Pagination


@dataclass(frozen=True, slots=True)
class SpendPage:
    """One page of ``/teams/spend``, which paginates by ``totalPages`` only."""

    items: list[MemberSpend]
    cycle_start: date
    total_pages: int | None
    total_members: int | None


@dataclass(frozen=True, slots=True)
class Correction:
    """One value not stored as the API sent it: where it was, what it was, what was done."""

    endpoint: str
    field: str
    value: str
    """The value as sent, shortened and escaped (``repr``), safe to print and to store."""
    action: str

    def __str__(self) -> str:
        return f"{self.endpoint}: {self.field} = {self.value}: {self.action}"

    def to_json(self) -> dict[str, str]:
        return {
            "endpoint": self.endpoint,
            "field": self.field,
            "value": self.value,
            "action": self.action,
        }


class _SkipRecord(Exception):
    """Raised inside one record's parsing when the record as a whole cannot be kept."""


def _show(value: object) -> str:
    if isinstance(value, int) and abs(value) >= 10**40:
        # repr of a 4,000-digit integer is slow and useless; its size is what matters.
        return f"{'-' if value < 0 else ''}an integer of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bound_text(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _is_number(value: object) -> TypeGuard[int | float]:
    # bool is an int subclass, but true/false is never a count or an amount.
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Obj:
    """One JSON object being read, remembering where it sits so errors can say exactly that."""

    def __init__(
        self, endpoint: str, path: str, data: object, notes: list[Correction] | None = None
    ) -> None:
        if not isinstance(data, dict):
            where = path or "the answer"
            raise ApiResponseError(
                f"{endpoint}: {where} is not a JSON object ({_show(data)})", endpoint=endpoint
            )
        self.endpoint = endpoint
        self.path = path
        self.data: Mapping[str, object] = data
        self.notes: list[Correction] = [] if notes is None else notes

    def note(self, key: str, value: object, action: str) -> None:
        self.notes.append(Correction(self.endpoint, self.where(key), _show(value), action))

    def clean(self, key: str, value: str, limit: int = MAX_TEXT) -> str:
        """Text fit for every database and terminal: no NUL or other control character, valid
        Unicode, at most ``limit`` characters."""
        text = value
        if "\x00" in text:
            text = text.replace("\x00", "")
            self.note(key, value, "NUL characters removed")
        if printable(text) != text:
            # Stored as sent, an escape sequence in a name would run in every terminal that
            # prints it; nothing Cursor names (people, models, groups) needs one.
            text = printable(text)
            self.note(key, value, "control characters removed")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates ("\ud800" in the JSON) are valid JSON and invalid Unicode.
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            self.note(key, value, "invalid characters replaced")
        if len(text) > limit:
            text = text[:limit]
            self.note(key, value, f"shortened to {limit:,} characters")
        return text

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, problem: str) -> ApiResponseError:
        return ApiResponseError(
            f"{self.endpoint}: {self.where(key)} {problem}", endpoint=self.endpoint
        )

    def get(self, key: str) -> object:
        """The value, with JSON null read as absent."""
        return self.data.get(key)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def _raw_text(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise self.fail(key, "is missing")
        if not isinstance(value, str):
            raise self.fail(key, f"is not a string ({_show(value)})")
        return value

    def text(self, key: str) -> str:
        return self.clean(key, self._raw_text(key))

    def email(self, key: str) -> str:
        raw = self._raw_text(key)
        if len(raw) > MAX_EMAIL:
            self.note(key, raw, f"longer than {MAX_EMAIL} characters: record skipped")
            raise _SkipRecord
        value = self.clean(key, raw).strip().lower()
        if not value:
            raise self.fail(key, "is empty")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"is not a string ({_show(value)})")
        return self.clean(key, value)

    def label(self, key: str) -> str:
        """A name-like field where numbers are tolerated (a model or version named ``1.7``)."""
        value = self.get(key)
        if value is None:
            raise self.fail(key, "is missing")
        if isinstance(value, str):
            return self.clean(key, value)
        if _is_number(value):
            return self.clean(key, _show(value))
        raise self.fail(key, f"is not a string ({_show(value)})")

    def ident(self, key: str) -> str | None:
        """An id documented as a number and seen as a string: kept as text either way."""
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return self.clean(key, value)
        if isinstance(value, int) and not isinstance(value, bool):
            return self.clean(key, _show(value))
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        raise self.fail(key, f"is not an id ({_show(value)})")

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"is not a boolean ({_show(value)})")
        return value

    def opt_number(self, key: str) -> float | None:
        """A number within its :data:`BOUNDS`; outside, clamped or left out, and noted."""
        value = self.get(key)
        if value is None:
            return None
        if not _is_number(value):
            raise self.fail(key, f"is not a number ({_show(value)})")
        return self.bounded(key, value, BOUNDS.get(key, _ANY))

    def bounded(self, key: str, value: int | float, bound: Bound) -> float | None:
        # Compared before any float(): an integer of 400 digits has no float.
        if isinstance(value, float) and math.isnan(value):
            self.note(key, value, "not a number: left out")
            return None
        if bound.low <= value <= bound.high:
            return float(value)
        outside = f"outside {_bound_text(bound.low)} to {_bound_text(bound.high)}"
        if not bound.clamp:
            self.note(key, value, f"{outside}: left out")
            return None
        nearest = bound.low if value < bound.low else bound.high
        self.note(key, value, f"{outside}: clamped to {_bound_text(nearest)}")
        return float(nearest)

    def number(self, key: str, default: float = 0.0) -> float:
        value = self.opt_number(key)
        return default if value is None else value

    def opt_count(self, key: str) -> int | None:
        value = self.opt_number(key)
        return None if value is None else round(value)

    def count(self, key: str, default: int = 0) -> int:
        value = self.opt_count(key)
        return default if value is None else value

    def epoch_ms(self, key: str) -> int:
        """Epoch milliseconds sent as a number or as a string of digits."""
        value = self.get(key)
        if value is None:
            raise self.fail(key, "is missing")
        millis: int | None = None
        if isinstance(value, str):
            text = value.strip()
            if text.isascii() and text.isdigit() and len(text) <= 20:
                millis = int(text)
        elif isinstance(value, int) and not isinstance(value, bool):
            millis = value
        elif isinstance(value, float) and math.isfinite(value):
            millis = round(value)
        if millis is None or not _MIN_EPOCH_MS <= millis <= _MAX_EPOCH_MS:
            raise self.fail(key, f"is not epoch milliseconds ({_show(value)})")
        return millis

    def iso_day(self, key: str) -> date:
        text = self.text(key)
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise self.fail(key, f"is not a YYYY-MM-DD date ({_show(text)})") from None

    def opt_instant(self, key: str) -> datetime | None:
        """An ISO 8601 instant (naive read as UTC) or epoch milliseconds."""
        value = self.get(key)
        if value is None:
            return None
        if _is_number(value) or (isinstance(value, str) and value.strip().isdigit()):
            return datetime.fromtimestamp(self.epoch_ms(key) / 1000, tz=UTC)
        if not isinstance(value, str):
            raise self.fail(key, f"is not a date-time ({_show(value)})")
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise self.fail(key, f"is not an ISO 8601 date-time ({_show(value)})") from None
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    def child(self, key: str) -> _Obj | None:
        value = self.get(key)
        return None if value is None else _Obj(self.endpoint, self.where(key), value, self.notes)

    def objects(self, key: str, *, required: bool = True) -> Iterator[_Obj]:
        value = self.get(key)
        if value is None:
            if required:
                raise self.fail(key, "is missing")
            return
        if not isinstance(value, list):
            raise self.fail(key, f"is not a list ({_show(value)})")
        base = self.where(key)
        for index, item in enumerate(value):
            yield _Obj(self.endpoint, f"{base}[{index}]", item, self.notes)

    def records(self, key: str, build: Callable[[_Obj], T], *, required: bool = True) -> list[T]:
        """``build`` applied to every object of the list, less the records it skipped."""
        kept: list[T] = []
        for row in self.objects(key, required=required):
            try:
                kept.append(build(row))
            except _SkipRecord:
                continue
        return kept

    def pagination(self) -> Pagination:
        block = self.child("pagination")
        if block is None:
            return Pagination()
        return Pagination(
            has_next_page=block.flag("hasNextPage") if block.has("hasNextPage") else None,
            total_pages=_first_count(block, "totalPages", "numPages"),
            current_page=_first_count(block, "currentPage", "page"),
            total_count=_first_count(block, "totalUsers", "totalCount", "totalItems"),
        )


def _first_count(block: _Obj, *keys: str) -> int | None:
    for key in keys:
        value = block.opt_count(key)
        if value is not None:
            return value
    return None


def _member(row: _Obj) -> Member:
    return Member(
        email=row.email("email"),
        name=row.opt_text("name") or "",
        role=row.opt_text("role") or "",
        is_removed=row.flag("isRemoved"),
        user_id=row.ident("id"),
    )


def parse_members(
    payload: object, endpoint: str = MEMBERS, notes: list[Correction] | None = None
) -> list[Member]:
    """``notes``, when given, receives a :class:`Correction` per value not kept as sent."""
    return _Obj(endpoint, "", payload, notes).records("teamMembers", _member)


def _daily_row(row: _Obj) -> DailyUsage:
    if row.has("day"):
        day = row.iso_day("day")
    elif row.has("date"):
        day = utc_day(row.epoch_ms("date"))
    else:
        raise row.fail("day", "is missing (and there is no date either)")
    counts = {name: row.count(key) for name, key in _DAILY_COUNTS}
    # Rows without isActive come from the unpaginated form, which lists active members only;
    # judging by the activity itself is right for both forms.
    is_active = row.flag("isActive", default=any(counts.values()))
    return DailyUsage(
        email=row.email("email"),
        day=day,
        user_id=row.ident("userId"),
        is_active=is_active,
        most_used_model=row.opt_text("mostUsedModel"),
        apply_most_used_extension=row.opt_text("applyMostUsedExtension"),
        tab_most_used_extension=row.opt_text("tabMostUsedExtension"),
        client_version=row.opt_text("clientVersion"),
        **counts,
    )


def parse_daily_usage(
    payload: object, endpoint: str = DAILY_USAGE, notes: list[Correction] | None = None
) -> PaginatedItems[DailyUsage]:
    root = _Obj(endpoint, "", payload, notes)
    items = root.records("data", _daily_row)
    return PaginatedItems(items=items, pagination=root.pagination())


def parse_spend(
    payload: object, endpoint: str = SPEND, notes: list[Correction] | None = None
) -> SpendPage:
    root = _Obj(endpoint, "", payload, notes)
    cycle_start = utc_day(root.epoch_ms("subscriptionCycleStart"))

    def spend(row: _Obj) -> MemberSpend:
        return MemberSpend(
            email=row.email("email"),
            cycle_start=cycle_start,
            name=row.opt_text("name") or "",
            role=row.opt_text("role") or "",
            user_id=row.ident("userId"),
            spend_cents=row.number("spendCents"),
            overall_spend_cents=row.opt_number("overallSpendCents"),
            fast_premium_requests=row.count("fastPremiumRequests"),
            hard_limit_override_dollars=row.number("hardLimitOverrideDollars"),
            monthly_limit_dollars=row.opt_number("monthlyLimitDollars"),
        )

    items = root.records("teamMemberSpend", spend)
    return SpendPage(
        items=items,
        cycle_start=cycle_start,
        total_pages=root.opt_count("totalPages"),
        total_members=root.opt_count("totalMembers"),
    )


def _usage_event(row: _Obj) -> UsageEvent:
    timestamp_ms = row.epoch_ms("timestamp")
    user_email = row.email("userEmail")
    model = row.opt_text("model") or ""
    kind = row.opt_text("kind") or ""
    tokens = row.child("tokenUsage")
    input_tokens = tokens.count("inputTokens") if tokens else 0
    output_tokens = tokens.count("outputTokens") if tokens else 0
    cache_write_tokens = tokens.count("cacheWriteTokens") if tokens else 0
    cache_read_tokens = tokens.count("cacheReadTokens") if tokens else 0
    token_cents = tokens.opt_number("totalCents") if tokens else None
    charged_cents = row.opt_number("chargedCents")
    max_mode = row.flag("maxMode")
    requests_costs = row.number("requestsCosts")
    is_token_based_call = row.flag("isTokenBasedCall")
    is_chargeable = row.flag("isChargeable")
    is_headless = row.flag("isHeadless")
    event_id = usage_event_id(
        timestamp_ms=timestamp_ms,
        user_email=user_email,
        model=model,
        kind=kind,
        max_mode=max_mode,
        requests_costs=requests_costs,
        is_token_based_call=is_token_based_call,
        is_chargeable=is_chargeable,
        is_headless=is_headless,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_write_tokens=cache_write_tokens,
        cache_read_tokens=cache_read_tokens,
        token_cents=token_cents,
        charged_cents=charged_cents,
    )
    return UsageEvent(
        id=event_id,
        timestamp_ms=timestamp_ms,
        user_email=user_email,
        model=model,
        kind=kind,
        day=utc_day(timestamp_ms),
        max_mode=max_mode,
        requests_costs=requests_costs,
        is_token_based_call=is_token_based_call,
        is_chargeable=is_chargeable,
        is_headless=is_headless,
        is_free_bugbot=row.flag("isFreeBugbot"),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_write_tokens=cache_write_tokens,
        cache_read_tokens=cache_read_tokens,
        token_cents=token_cents,
        charged_cents=charged_cents,
        cursor_token_fee=row.opt_number("cursorTokenFee"),
    )


def parse_usage_events(
    payload: object, endpoint: str = USAGE_EVENTS, notes: list[Correction] | None = None
) -> PaginatedItems[UsageEvent]:
    root = _Obj(endpoint, "", payload, notes)
    items = root.records("usageEvents", _usage_event)
    pagination = root.pagination()
    if pagination.total_count is None:
        total = root.opt_count("totalUsageEventsCount")
        pagination = Pagination(
            has_next_page=pagination.has_next_page,
            total_pages=pagination.total_pages,
            current_page=pagination.current_page,
            total_count=total,
        )
    return PaginatedItems(items=items, pagination=pagination)


def _cycle_day(block: _Obj, key: str) -> date | None:
    moment = block.opt_instant(key)
    return None if moment is None else moment.date()


def _group(row: _Obj, *, unassigned: bool) -> tuple[BillingGroup, list[GroupMembership]]:
    group_id = row.ident("id") or (_UNASSIGNED_GROUP_ID if unassigned else None)
    if group_id is None:
        raise row.fail("id", "is missing")
    memberships: list[GroupMembership] = []
    for key, former in (("currentMembers", False), ("formerMembers", True)):

        def membership(member: _Obj, former: bool = former) -> GroupMembership:
            return GroupMembership(
                group_id=group_id,
                email=member.email("email"),
                user_id=member.ident("userId"),
                name=member.opt_text("name") or "",
                joined_at=member.opt_instant("joinedAt"),
                # A current member has not left, whatever a stray leftAt says.
                left_at=member.opt_instant("leftAt") if former else None,
                spend_cents=member.number("spendCents"),
            )

        memberships.extend(row.records(key, membership, required=False))
    current = sum(1 for m in memberships if m.left_at is None)
    group = BillingGroup(
        id=group_id,
        name=row.opt_text("name") or ("Unassigned" if unassigned else ""),
        type=row.opt_text("type") or "BILLING",
        directory_group_id=row.opt_text("directoryGroupId"),
        member_count=row.count("memberCount", default=current),
        spend_cents=row.number("spendCents"),
        is_unassigned=unassigned,
    )
    return group, memberships


def parse_groups(
    payload: object, endpoint: str = GROUPS, notes: list[Correction] | None = None
) -> GroupsSnapshot:
    root = _Obj(endpoint, "", payload, notes)
    groups: list[BillingGroup] = []
    memberships: list[GroupMembership] = []
    rows = [(row, False) for row in root.objects("groups")]
    unassigned = root.child("unassignedGroup")
    if unassigned is not None:
        rows.append((unassigned, True))
    for row, is_unassigned in rows:
        group, members = _group(row, unassigned=is_unassigned)
        groups.append(group)
        memberships.extend(members)
    cycle = root.child("billingCycle")
    return GroupsSnapshot(
        groups=tuple(groups),
        memberships=tuple(memberships),
        cycle_start=_cycle_day(cycle, "cycleStart") if cycle else None,
        cycle_end=_cycle_day(cycle, "cycleEnd") if cycle else None,
    )


@dataclass(frozen=True, slots=True)
class _MetricShape:
    """Where a metric's rows keep their day and their dimensions; every other number is a field."""

    date_key: str
    dimension: str | None = None
    subdimension: str | None = None
    breakdown: str | None = None
    """A nested ``{name: {field: number}}`` object whose names become the dimension."""


_ANALYTICS_SHAPES: dict[str, _MetricShape] = {
    "dau": _MetricShape("date"),
    "models": _MetricShape("date", breakdown="model_breakdown"),
    "agent-edits": _MetricShape("event_date"),
    "tabs": _MetricShape("event_date"),
    "mcp": _MetricShape("event_date", dimension="tool_name", subdimension="mcp_server_name"),
    "top-file-extensions": _MetricShape("event_date", dimension="file_extension"),
    "client-versions": _MetricShape("event_date", dimension="client_version"),
    "commands": _MetricShape("event_date", dimension="command_name"),
    "plans": _MetricShape("event_date", dimension="model"),
    "skills": _MetricShape("event_date", dimension="skill_name"),
    "ask-mode": _MetricShape("event_date", dimension="model"),
}

SUPPORTED_ANALYTICS_METRICS: tuple[str, ...] = tuple(_ANALYTICS_SHAPES)

_DATE_KEYS = ("event_date", "date")


def analytics_endpoint(metric: str) -> str:
    return f"GET /analytics/team/{metric}"


def _numbers(row: _Obj, skip: set[str]) -> Iterator[tuple[str, float]]:
    for key, value in row.data.items():
        if key in skip or not _is_number(value):
            continue
        number = row.bounded(key, value, _ANY)
        if number is not None:
            yield row.clean(key, key), number


def _analytics_row(metric: str, shape: _MetricShape, row: _Obj) -> Iterator[AnalyticsValue]:
    date_key = shape.date_key if row.has(shape.date_key) else None
    if date_key is None:
        date_key = next((key for key in _DATE_KEYS if row.has(key)), shape.date_key)
    day = row.iso_day(date_key)
    dimension = row.label(shape.dimension) if shape.dimension else ""
    subdimension = ""
    if shape.subdimension and row.has(shape.subdimension):
        subdimension = row.label(shape.subdimension)
    skip = {*_DATE_KEYS, *(k for k in (shape.dimension, shape.subdimension) if k)}
    for name, value in _numbers(row, skip):
        yield AnalyticsValue(metric, day, name, value, dimension, subdimension)
    if shape.breakdown is None:
        return
    breakdown = row.child(shape.breakdown)
    if breakdown is None:
        return
    for name in breakdown.data:
        inner = breakdown.child(name)
        if inner is None:
            continue
        dimension = breakdown.clean(name, name)
        for field, value in _numbers(inner, set()):
            yield AnalyticsValue(metric, day, field, value, dimension, "")


def parse_analytics(
    metric: str, payload: object, notes: list[Correction] | None = None
) -> list[AnalyticsValue]:
    """Rows of ``/analytics/team/<metric>`` in long form: one value per (day, dimension, field)."""
    shape = _ANALYTICS_SHAPES.get(metric)
    if shape is None:
        raise ValueError(f"unsupported analytics metric {metric!r}")
    root = _Obj(analytics_endpoint(metric), "", payload, notes)
    rows = root.records("data", lambda row: list(_analytics_row(metric, shape, row)))
    return [value for values in rows for value in values]
