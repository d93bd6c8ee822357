"""The records the tracker collects, as plain frozen dataclasses.

These sit between the Cursor API client (which builds them from JSON) and the storage layer
(which writes them), so neither side knows the other's shapes. Money stays in cents, as the API
sends it, until it is shown to a person.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Generic, TypeVar

T = TypeVar("T")


def utc_day(timestamp_ms: int) -> date:
    """The UTC calendar day of an epoch-milliseconds timestamp (Cursor's days are UTC)."""
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).date()


def day_start_ms(day: date) -> int:
    """Epoch milliseconds of 00:00 UTC on ``day``."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Member:
    """One row of ``GET /teams/members``."""

    email: str
    name: str
    role: str
    is_removed: bool = False
    user_id: str | None = None
    """The API's id; documented as a number, seen as a string, so kept as text."""


@dataclass(frozen=True, slots=True)
class DailyUsage:
    """One member's activity on one UTC day (``POST /teams/daily-usage-data``)."""

    email: str
    day: date
    user_id: str | None = None
    is_active: bool = False
    total_lines_added: int = 0
    total_lines_deleted: int = 0
    accepted_lines_added: int = 0
    accepted_lines_deleted: int = 0
    total_applies: int = 0
    total_accepts: int = 0
    total_rejects: int = 0
    total_tabs_shown: int = 0
    total_tabs_accepted: int = 0
    composer_requests: int = 0
    chat_requests: int = 0
    agent_requests: int = 0
    cmdk_usages: int = 0
    subscription_included_reqs: int = 0
    api_key_reqs: int = 0
    usage_based_reqs: int = 0
    bugbot_usages: int = 0
    most_used_model: str | None = None
    apply_most_used_extension: str | None = None
    tab_most_used_extension: str | None = None
    client_version: str | None = None


@dataclass(frozen=True, slots=True)
class MemberSpend:
    """One member's spend in the current billing cycle (``POST /teams/spend``)."""

    email: str
    cycle_start: date
    """Day of ``subscriptionCycleStart`` (UTC); with the email, the row's identity."""
    name: str = ""
    role: str = ""
    user_id: str | None = None
    spend_cents: float = 0.0
    """On-demand spend this cycle, excluding included usage (the docs' definition)."""
    overall_spend_cents: float | None = None
    fast_premium_requests: int = 0
    hard_limit_override_dollars: float = 0.0
    monthly_limit_dollars: float | None = None


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One billable (or not) request from ``POST /teams/filtered-usage-events``.

    ``id`` is derived from the event's own fields (see :func:`usage_event_id`), so fetching the
    same event twice, as the collector's overlap window does on purpose, stores it once.
    """

    id: str
    timestamp_ms: int
    user_email: str
    model: str
    kind: str
    day: date
    max_mode: bool = False
    requests_costs: float = 0.0
    is_token_based_call: bool = False
    is_chargeable: bool = False
    is_headless: bool = False
    is_free_bugbot: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    token_cents: float | None = None
    """``tokenUsage.totalCents``: the model's cost before Cursor's fee."""
    charged_cents: float | None = None
    """Model cost plus Cursor's token fee; what ``/teams/spend`` reconciles with."""
    cursor_token_fee: float | None = None

    @property
    def spend_cents(self) -> float:
        """Spend as the product defines it: charged cents, else the model cost, else 0."""
        if self.charged_cents is not None:
            return self.charged_cents
        return self.token_cents or 0.0

    @property
    def tokens(self) -> int:
        """Input plus output tokens (cache reads and writes are not counted)."""
        return self.input_tokens + self.output_tokens


def usage_event_id(
    *,
    timestamp_ms: int,
    user_email: str,
    model: str,
    kind: str,
    max_mode: bool,
    requests_costs: float,
    is_token_based_call: bool,
    is_chargeable: bool,
    is_headless: bool,
    input_tokens: int,
    output_tokens: int,
    cache_write_tokens: int,
    cache_read_tokens: int,
    token_cents: float | None,
    charged_cents: float | None,
) -> str:
    """A stable identity for an event: the API gives none, so hash the fields that define it.

    Floats go through ``repr`` so ``1`` and ``1.0`` hash alike; the result is 32 hex digits.
    """
    parts = (
        str(timestamp_ms),
        user_email.lower(),
        model,
        kind,
        "1" if max_mode else "0",
        repr(float(requests_costs)),
        "1" if is_token_based_call else "0",
        "1" if is_chargeable else "0",
        "1" if is_headless else "0",
        str(input_tokens),
        str(output_tokens),
        str(cache_write_tokens),
        str(cache_read_tokens),
        "" if token_cents is None else repr(float(token_cents)),
        "" if charged_cents is None else repr(float(charged_cents)),
    )
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class BillingGroup:
    """A billing group of ``GET /teams/groups`` (the reserved Unassigned group included)."""

    id: str
    name: str
    type: str = "BILLING"
    directory_group_id: str | None = None
    member_count: int = 0
    spend_cents: float = 0.0
    is_unassigned: bool = False


@dataclass(frozen=True, slots=True)
class GroupMembership:
    """A member's place in a billing group; ``left_at`` set for former members."""

    group_id: str
    email: str
    user_id: str | None = None
    name: str = ""
    joined_at: datetime | None = None
    left_at: datetime | None = None
    spend_cents: float = 0.0


@dataclass(frozen=True, slots=True)
class GroupsSnapshot:
    """Everything one call to ``GET /teams/groups`` says about the current billing cycle."""

    groups: tuple[BillingGroup, ...] = ()
    memberships: tuple[GroupMembership, ...] = ()
    cycle_start: date | None = None
    cycle_end: date | None = None


ANALYTICS_METRICS: tuple[str, ...] = (
    "dau",
    "models",
    "agent-edits",
    "tabs",
    "mcp",
    "top-file-extensions",
    "client-versions",
    "commands",
    "plans",
)
"""The Analytics API team endpoints the collector reads (``/analytics/team/<metric>``)."""


@dataclass(frozen=True, slots=True)
class AnalyticsValue:
    """One number of an Analytics API team endpoint, in long form.

    The nine endpoints have different row shapes; flattening each row into
    (metric, day, dimension, subdimension, field) -> value lets one table hold them all and
    keeps every query plain SQL on SQLite and PostgreSQL alike. ``dimension`` is the row's key
    where it has one (model, tool name, file extension, client version, command), else ``""``;
    ``subdimension`` is the MCP server name for ``mcp``, else ``""``.
    """

    metric: str
    day: date
    field: str
    value: float
    dimension: str = ""
    subdimension: str = ""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """A page of records from a paginated endpoint, with the date window it belongs to.

    The collector commits a page, and advances a stream's high-water mark to ``window_end``
    only once the page with ``last_in_window`` set has been committed.
    """

    items: list[T]
    window_start: datetime
    window_end: datetime
    last_in_window: bool
    extra: dict[str, object] = field(default_factory=dict)
