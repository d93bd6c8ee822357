"""The simulator's data: one organisation, written in the Cursor API's own vocabulary.

A scenario is a JSON object whose parts have the shapes of the API's answers (``teamMembers``,
``usageEvents``, ...), so anyone who knows the API can write one by hand, and a generated one
can be read side by side with the documentation. This module checks such a file, keeps its
usage events in compact columns (a large organisation has hundreds of thousands of them, and
a dict per event would cost over a kilobyte each), answers time-range queries on them by
bisection, and derives the parts a scenario may leave out (daily usage, spend, billing groups,
analytics) from the events, following the rules in CONTRACT.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import IO, Any, Final

from tracker_core.domain import ANALYTICS_METRICS, day_start_ms, utc_day
from tracker_core.errors import ConfigError
from tracker_core.simulator.delivery import DeliveryError, DeliveryView, LateDelivery
from tracker_core.simulator_limits import MAX_TOKEN_COUNT

JSONObject = dict[str, Any]

DAY_MS: Final = 86_400_000
EPOCH_DAY: Final = date(1970, 1, 1)
DEFAULT_TEAM_ID: Final = 777

ANOMALY_KINDS: Final = ("spend_spike", "team_outlier", "cycle_outlier", "request_flood")
"""The kinds of anomaly a generated scenario plants (``plantedAnomalies[].kind``)."""

PATTERN_KINDS: Final = ("ramp", "spend_limited")
"""Planted behaviours that are not anomalies a rule must fire on, listed beside them: a member
whose spend grows through the window (what a forecast must follow) and one Cursor stopped at
their spend limit. Detection checks filter on :data:`ANOMALY_KINDS`."""

PLANTED_KINDS: Final = ANOMALY_KINDS + PATTERN_KINDS

UNASSIGNED_GROUP_ID: Final = "group_unassigned"

ANALYTICS_DATE_FIELD: Final[Mapping[str, str]] = {
    metric: ("date" if metric in ("dau", "models") else "event_date")
    for metric in ANALYTICS_METRICS
}
"""Which field of an analytics row carries its day: two endpoints say ``date``, the rest not."""

ANALYTICS_PARAM_METRIC: Final[Mapping[str, str]] = {
    metric: ("top-files" if metric == "top-file-extensions" else metric)
    for metric in ANALYTICS_METRICS
}
"""``params.metric`` of each endpoint; the file-extension endpoint names itself differently."""


class ScenarioError(ConfigError, ValueError):
    """A scenario is unusable; the message names the file and the offending part."""


# ---------------------------------------------------------------------------------------------
# Small helpers


def epoch_day(timestamp_ms: int) -> int:
    """Days since 1970-01-01 of a UTC instant: a cheap integer key for a calendar day."""
    return timestamp_ms // DAY_MS


def day_from_number(number: int) -> date:
    """The calendar day of an :func:`epoch_day` number."""
    return EPOCH_DAY + timedelta(days=number)


def day_number(day: date) -> int:
    """The :func:`epoch_day` number of a calendar day."""
    return (day - EPOCH_DAY).days


def iso_ms(timestamp_ms: int) -> str:
    """An instant as the API writes ISO times: UTC, milliseconds, ``Z``."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp_ms % 1000:03d}Z"


def billing_cycle_start(now_ms: int) -> date:
    """The first day of the month holding ``now_ms``: the simulator's billing cycle."""
    return utc_day(now_ms).replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def stable_fraction(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``.

    Derived numbers that the events do not determine (lines of code, tab acceptances) must be
    the same in every run and for every request, so they come from a hash, not a generator.
    """
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def public_user_id(email: str) -> str:
    """The ``user_…`` form of a member id that billing groups use, stable per email."""
    number = int.from_bytes(hashlib.blake2b(email.lower().encode(), digest_size=8).digest())
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    chars = []
    while number:
        number, rest = divmod(number, 62)
        chars.append(alphabet[rest])
    return "user_" + "".join(reversed(chars))


def _number_out(value: float) -> float | int:
    """Integral floats go out as integers, as the API writes counts like ``requestsCosts: 2``."""
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_day(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Usage events in columns

# Bits of EventStore.flags: the event's booleans, plus whether it carries tokenUsage.
FLAG_MAX_MODE: Final = 1
FLAG_TOKEN_BASED: Final = 2
FLAG_CHARGEABLE: Final = 4
FLAG_HEADLESS: Final = 8
FLAG_FREE_BUGBOT: Final = 16
FLAG_HAS_TOKEN_USAGE: Final = 32

_EVENT_FLAGS: Final = (
    ("maxMode", FLAG_MAX_MODE),
    ("isTokenBasedCall", FLAG_TOKEN_BASED),
    ("isChargeable", FLAG_CHARGEABLE),
    ("isHeadless", FLAG_HEADLESS),
    ("isFreeBugbot", FLAG_FREE_BUGBOT),
)
_EVENT_OPTIONAL_NUMBERS: Final = ("requestsCosts", "chargedCents", "cursorTokenFee")
_TOKEN_COUNTS: Final = ("inputTokens", "outputTokens", "cacheWriteTokens", "cacheReadTokens")
_TOKEN_NUMBERS: Final = ("totalCents", "discountPercentOff")

_CANONICAL_BASE: Final = frozenset(
    {
        "timestamp",
        "userEmail",
        "model",
        "kind",
        "maxMode",
        "requestsCosts",
        "isTokenBasedCall",
        "isChargeable",
        "isHeadless",
        "chargedCents",
        "isFreeBugbot",
    }
)
_CANONICAL_KEYS: Final = {
    (False, False): _CANONICAL_BASE,
    (True, False): _CANONICAL_BASE | {"tokenUsage"},
    (False, True): _CANONICAL_BASE | {"cursorTokenFee"},
    (True, True): _CANONICAL_BASE | {"tokenUsage", "cursorTokenFee"},
}
_CANONICAL_TOKEN_KEYS: Final = frozenset({*_TOKEN_COUNTS, "totalCents"})


def event_problem(event: Mapping[str, Any]) -> str | None:
    """What is wrong with one ``usageEvents[]`` object, as ``field: message``, or None."""
    timestamp = event.get("timestamp")
    if not (
        isinstance(timestamp, str)
        and timestamp.isascii()
        and timestamp.isdigit()
        and len(timestamp) <= 16
    ):
        return "timestamp: expected a string of epoch milliseconds"
    for key in ("userEmail", "model", "kind"):
        value = event.get(key)
        if not isinstance(value, str) or not value:
            return f"{key}: expected a non-empty string"
    for key, _ in _EVENT_FLAGS:
        if key in event and not isinstance(event[key], bool):
            return f"{key}: expected true or false"
    for key in _EVENT_OPTIONAL_NUMBERS:
        if event.get(key) is not None and not _is_number(event[key]):
            return f"{key}: expected a number"
    usage = event.get("tokenUsage")
    if usage is None:
        return None
    if not isinstance(usage, dict):
        return "tokenUsage: expected an object"
    for key in _TOKEN_COUNTS:
        value = usage.get(key)
        if value is not None and not (
            _is_number(value) and 0 <= value <= MAX_TOKEN_COUNT and float(value).is_integer()
        ):
            return f"tokenUsage.{key}: expected a whole number between 0 and {MAX_TOKEN_COUNT}"
    for key in _TOKEN_NUMBERS:
        if usage.get(key) is not None and not _is_number(usage[key]):
            return f"tokenUsage.{key}: expected a number"
    return None


def _is_canonical(event: Mapping[str, Any]) -> bool:
    """Whether the columns can rebuild ``event`` exactly (same keys, same values)."""
    usage = event.get("tokenUsage")
    fee = event.get("cursorTokenFee")
    if event.keys() != _CANONICAL_KEYS[("tokenUsage" in event, "cursorTokenFee" in event)]:
        return False
    if str(int(event["timestamp"])) != event["timestamp"]:
        return False
    if any(not isinstance(event[key], bool) for key, _ in _EVENT_FLAGS):
        return False
    if not (_is_number(event["requestsCosts"]) and _is_number(event["chargedCents"])):
        return False
    if "cursorTokenFee" in event and not _is_number(fee):
        return False
    if "tokenUsage" not in event:
        return True
    if not isinstance(usage, dict):
        return False
    keys = usage.keys()
    if keys != _CANONICAL_TOKEN_KEYS and keys != _CANONICAL_TOKEN_KEYS | {"discountPercentOff"}:
        return False
    return all(type(usage[key]) is int for key in _TOKEN_COUNTS) and all(
        _is_number(usage[key]) for key in keys if key not in _TOKEN_COUNTS
    )


class EventStore:
    """Usage events as parallel typed arrays, sorted by time once :meth:`finish` has run.

    An event costs about 90 bytes here instead of well over a kilobyte as a dict. Events whose
    JSON the columns cannot rebuild exactly (missing or extra fields, nulls) are also kept
    verbatim, so the simulator serves a hand-written scenario exactly as written.
    """

    def __init__(self) -> None:
        self.emails: list[str] = []
        self._email_ids: dict[str, int] = {}
        self.models: list[str] = []
        self._model_ids: dict[str, int] = {}
        self.kinds: list[str] = []
        self._kind_ids: dict[str, int] = {}
        self.timestamps: array[int] = array("q")
        self.users: array[int] = array("i")
        self.model_ids: array[int] = array("H")
        self.kind_ids: array[int] = array("H")
        self.flags: array[int] = array("B")
        self.requests_costs: array[float] = array("d")
        self.input_tokens: array[int] = array("q")
        self.output_tokens: array[int] = array("q")
        self.cache_write_tokens: array[int] = array("q")
        self.cache_read_tokens: array[int] = array("q")
        self.token_cents: array[float] = array("d")
        """``tokenUsage.totalCents``; NaN when absent."""
        self.charged_cents: array[float] = array("d")
        """NaN when absent."""
        self.token_fees: array[float] = array("d")
        """``cursorTokenFee``; NaN when absent."""
        self._discounts: dict[int, float] = {}
        self._verbatim: dict[int, JSONObject] = {}
        self._by_user: list[array[int]] = []
        self._finished = False

    # -- building

    def user_id(self, email: str) -> int:
        """The column value for ``email`` (case-insensitive), interning it on first use."""
        key = email.lower()
        found = self._email_ids.get(key)
        if found is None:
            found = self._email_ids[key] = len(self.emails)
            self.emails.append(email)
        return found

    def find_user(self, email: str) -> int | None:
        """The column value for ``email``, or None when it has no events."""
        return self._email_ids.get(email.lower())

    def model_id(self, model: str) -> int:
        """The column value for a model name, interning it on first use."""
        found = self._model_ids.get(model)
        if found is None:
            found = self._model_ids[model] = len(self.models)
            self.models.append(model)
        return found

    def kind_id(self, kind: str) -> int:
        """The column value for an event kind, interning it on first use."""
        found = self._kind_ids.get(kind)
        if found is None:
            found = self._kind_ids[kind] = len(self.kinds)
            self.kinds.append(kind)
        return found

    def add_row(
        self,
        timestamp_ms: int,
        user: int,
        model: int,
        kind: int,
        flags: int,
        requests_costs: float,
        input_tokens: int,
        output_tokens: int,
        cache_write_tokens: int,
        cache_read_tokens: int,
        token_cents: float,
        charged_cents: float,
        token_fee: float,
    ) -> int:
        """Append one event given as column values (the generator's fast path); its row."""
        self.timestamps.append(timestamp_ms)
        self.users.append(user)
        self.model_ids.append(model)
        self.kind_ids.append(kind)
        self.flags.append(flags)
        self.requests_costs.append(requests_costs)
        self.input_tokens.append(input_tokens)
        self.output_tokens.append(output_tokens)
        self.cache_write_tokens.append(cache_write_tokens)
        self.cache_read_tokens.append(cache_read_tokens)
        self.token_cents.append(token_cents)
        self.charged_cents.append(charged_cents)
        self.token_fees.append(token_fee)
        self._finished = False
        return len(self.timestamps) - 1

    def add_event(self, event: Mapping[str, Any]) -> int:
        """Append one API-shaped event that :func:`event_problem` accepted; its row."""
        flags = 0
        for key, bit in _EVENT_FLAGS:
            if event.get(key) is True:
                flags |= bit
        usage = event.get("tokenUsage")
        counts = [0, 0, 0, 0]
        total = math.nan
        discount = None
        if isinstance(usage, dict):
            flags |= FLAG_HAS_TOKEN_USAGE
            counts = [int(usage.get(key) or 0) for key in _TOKEN_COUNTS]
            if usage.get("totalCents") is not None:
                total = float(usage["totalCents"])
            if usage.get("discountPercentOff") is not None:
                discount = float(usage["discountPercentOff"])
        row = self.add_row(
            int(event["timestamp"]),
            self.user_id(event["userEmail"]),
            self.model_id(event["model"]),
            self.kind_id(event["kind"]),
            flags,
            float(event.get("requestsCosts") or 0.0),
            counts[0],
            counts[1],
            counts[2],
            counts[3],
            total,
            _float_or_nan(event.get("chargedCents")),
            _float_or_nan(event.get("cursorTokenFee")),
        )
        if discount is not None:
            self._discounts[row] = discount
        if not _is_canonical(event):
            self._verbatim[row] = dict(event)
        return row

    def finish(self, order: Sequence[int] | None = None) -> None:
        """Keep the rows ``order`` lists (all by default), sorted by time, and index them.

        Ties keep their order in ``order``, so a file's order survives among equal timestamps.
        """
        count = len(self.timestamps)
        rows: Sequence[int] = range(count) if order is None else order
        stamp = self.timestamps.__getitem__
        in_time_order = all(stamp(a) <= stamp(b) for a, b in pairwise(rows))
        identity = order is None or (
            len(order) == count and all(a == b for a, b in zip(order, range(count), strict=True))
        )
        if not in_time_order:
            rows = sorted(rows, key=stamp)
        if not (identity and in_time_order):
            self._reorder(rows)
        self._by_user = [array("i") for _ in self.emails]
        by_user = self._by_user
        for row, user in enumerate(self.users):
            by_user[user].append(row)
        self._finished = True

    def _reorder(self, rows: Sequence[int]) -> None:
        for name in (
            "timestamps",
            "users",
            "model_ids",
            "kind_ids",
            "flags",
            "requests_costs",
            "input_tokens",
            "output_tokens",
            "cache_write_tokens",
            "cache_read_tokens",
            "token_cents",
            "charged_cents",
            "token_fees",
        ):
            column = getattr(self, name)
            setattr(self, name, array(column.typecode, map(column.__getitem__, rows)))
        if self._discounts or self._verbatim:
            new_row = {old: new for new, old in enumerate(rows)}
            self._discounts = {
                new_row[old]: value for old, value in self._discounts.items() if old in new_row
            }
            self._verbatim = {
                new_row[old]: value for old, value in self._verbatim.items() if old in new_row
            }

    # -- reading

    def __len__(self) -> int:
        return len(self.timestamps)

    def positions(self, start_ms: int, end_ms: int, user: int | None = None) -> Sequence[int]:
        """Rows with ``start_ms <= timestamp <= end_ms``, oldest first, in O(log n).

        With ``user`` the answer is a view on that member's own index, so filtering by member
        costs no more than the page that is read from it.
        """
        if not self._finished:
            raise RuntimeError("EventStore.finish() must run before queries")
        if user is None:
            low = bisect_left(self.timestamps, start_ms)
            high = bisect_right(self.timestamps, end_ms)
            return range(low, max(low, high))
        rows = self._by_user[user]
        stamp = self.timestamps.__getitem__
        low = bisect_left(rows, start_ms, key=stamp)
        high = bisect_right(rows, end_ms, key=stamp)
        return memoryview(rows)[low : max(low, high)]

    def user_rows(self, user: int) -> Sequence[int]:
        """All rows of one member, oldest first."""
        return self._by_user[user]

    def spend_cents(self, row: int) -> float:
        """The product's spend of one event: charged cents, else model cost, else 0."""
        charged = self.charged_cents[row]
        if charged == charged:
            return charged
        total = self.token_cents[row]
        return total if total == total else 0.0

    def event(self, row: int) -> JSONObject:
        """One event in the API's JSON shape."""
        verbatim = self._verbatim.get(row)
        if verbatim is not None:
            return verbatim
        flags = self.flags[row]
        event: JSONObject = {
            "timestamp": str(self.timestamps[row]),
            "userEmail": self.emails[self.users[row]],
            "model": self.models[self.model_ids[row]],
            "kind": self.kinds[self.kind_ids[row]],
            "maxMode": bool(flags & FLAG_MAX_MODE),
            "requestsCosts": _number_out(self.requests_costs[row]),
            "isTokenBasedCall": bool(flags & FLAG_TOKEN_BASED),
            "isChargeable": bool(flags & FLAG_CHARGEABLE),
            "isHeadless": bool(flags & FLAG_HEADLESS),
        }
        if flags & FLAG_HAS_TOKEN_USAGE:
            usage: JSONObject = {
                "inputTokens": self.input_tokens[row],
                "outputTokens": self.output_tokens[row],
                "cacheWriteTokens": self.cache_write_tokens[row],
                "cacheReadTokens": self.cache_read_tokens[row],
                "totalCents": _number_out(self.token_cents[row]),
            }
            discount = self._discounts.get(row)
            if discount is not None:
                usage["discountPercentOff"] = _number_out(discount)
            event["tokenUsage"] = usage
        event["chargedCents"] = _number_out(self.charged_cents[row])
        fee = self.token_fees[row]
        if fee == fee:
            event["cursorTokenFee"] = _number_out(fee)
        event["isFreeBugbot"] = bool(flags & FLAG_FREE_BUGBOT)
        return event

    def __iter__(self) -> Iterator[JSONObject]:
        return (self.event(row) for row in range(len(self)))


def _float_or_nan(value: object) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


# ---------------------------------------------------------------------------------------------
# Per member, per day activity: what every derived answer is computed from


@dataclass(slots=True)
class DayActivity:
    """One member's usage events on one UTC day, summed."""

    events: int = 0
    usage_based: int = 0
    api_key: int = 0
    headless: int = 0
    bugbot: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    spend_cents: float = 0.0
    """Charged cents (model cost where no charge is given): the product's spend."""
    included_cents: float = 0.0
    """Model cost of events not charged on demand: usage the plan includes."""
    included_requests: float = 0.0
    models: dict[str, int] = field(default_factory=dict)

    def most_used_model(self) -> str | None:
        if not self.models:
            return None
        return max(self.models.items(), key=lambda item: (item[1], item[0]))[0]


def _kind_category(kind: str) -> str:
    """Which daily-usage request counter an event kind feeds.

    The counters count raw events, so every event lands in exactly one of them: on-demand
    kinds in ``usageBasedReqs``, API-key kinds in ``apiKeyReqs``, the rest (included,
    errored, free) in ``subscriptionIncludedReqs``.
    """
    lowered = kind.lower()
    if "api key" in lowered or "api-key" in lowered:
        return "api_key"
    if "usage-based" in lowered or "usage based" in lowered or "on-demand" in lowered:
        return "usage_based"
    return "included"


# ---------------------------------------------------------------------------------------------
# Billing groups layout (what the generator decides; the report is computed from the events)


@dataclass(frozen=True, slots=True)
class GroupSeat:
    """A member's place in a billing group; ``left_at`` set once they left it."""

    email: str
    joined_at: datetime
    left_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class GroupLayout:
    """A billing group and who sits in it; spend comes from the events at report time."""

    id: str
    name: str
    created_at: datetime
    seats: tuple[GroupSeat, ...] = ()


def _iso(moment: datetime) -> str:
    return iso_ms(int(moment.timestamp() * 1000))


# ---------------------------------------------------------------------------------------------
# The scenario


class Scenario:
    """An organisation the simulator serves: members, events, and the optional API parts.

    Optional parts left as None (or analytics metrics left out) are derived from the events on
    demand, so the events stay the single source of every number.
    """

    def __init__(
        self,
        *,
        members: list[JSONObject],
        events: EventStore,
        daily_usage: list[JSONObject] | None = None,
        spend: JSONObject | None = None,
        groups: JSONObject | None = None,
        analytics: dict[str, list[JSONObject]] | None = None,
        planted_anomalies: list[JSONObject] | None = None,
        normal_members: list[str] | None = None,
        now_ms: int | None = None,
        team_id: int = DEFAULT_TEAM_ID,
        late: LateDelivery | None = None,
        spend_limits: Mapping[str, float] | None = None,
    ) -> None:
        self.members = members
        self.events = events
        self.daily_usage = daily_usage
        self.spend = spend
        self.groups = groups
        self.analytics: dict[str, list[JSONObject]] = dict(analytics or {})
        self.planted_anomalies = list(planted_anomalies or [])
        self.normal_members = list(normal_members or [])
        self.now_ms = now_ms
        """The scenario's present; None means the wall clock at the time of each request."""
        self.team_id = team_id
        self.late = late
        """Late delivery asked for by the scenario file (the server may also switch it on)."""
        limits = spend_limits or {}
        self.spend_limits = {email.lower(): dollars for email, dollars in limits.items()}
        """Members' monthly spend limits in dollars (``spendLimits``), as ``/teams/spend``
        reports them in ``monthlyLimitDollars``; members not listed have none."""
        self._member_index = {str(m["email"]).lower(): i for i, m in enumerate(members)}
        missing = [e for e in events.emails if e.lower() not in self._member_index]
        if missing:
            raise ScenarioError(f"usage events of {missing[0]!r}, who is not in teamMembers")
        self._member_of_user = [self._member_index[e.lower()] for e in events.emails]
        self._activity: dict[int, dict[int, DayActivity]] | None = None
        self._derived_analytics: dict[str, list[JSONObject]] | None = None
        self._usage_index: dict[tuple[str, str], JSONObject] | None = None
        self._delivery: tuple[LateDelivery, DeliveryView] | None = None

    # -- basics

    def now(self) -> int:
        """The scenario's present in epoch milliseconds."""
        if self.now_ms is not None:
            return self.now_ms
        return int(datetime.now(UTC).timestamp() * 1000)

    def member_position(self, email: str) -> int | None:
        """Index of the member with ``email`` (case-insensitive) in :attr:`members`."""
        return self._member_index.get(email.lower())

    def member_by_id(self, user_id: object) -> JSONObject | None:
        """The member whose ``id`` equals ``user_id`` (numbers and their text compare equal)."""
        wanted = str(user_id)
        for member in self.members:
            if str(member.get("id")) == wanted:
                return member
        return None

    def summary(self) -> JSONObject:
        """What a test or a person needs to know about the scenario, without its events."""
        stamps = self.events.timestamps
        return {
            "members": len(self.members),
            "removedMembers": sum(1 for m in self.members if m.get("isRemoved") is True),
            "usageEvents": len(self.events),
            "firstEvent": iso_ms(stamps[0]) if stamps else None,
            "lastEvent": iso_ms(stamps[-1]) if stamps else None,
            "now": None if self.now_ms is None else iso_ms(self.now_ms),
            "teamId": self.team_id,
            "plantedAnomalies": self.planted_anomalies,
            "normalMembers": self.normal_members,
        }

    # -- activity

    def activity(self) -> Mapping[int, Mapping[int, DayActivity]]:
        """Activity by :func:`epoch_day` number, then by member index; computed once."""
        if self._activity is None:
            self._activity = self._compute_activity()
        return self._activity

    def delivery(self, late: LateDelivery) -> DeliveryView:
        """The events as delivered late under ``late``; built once per distribution."""
        view = self._delivery
        if view is None or view[0] != late:
            view = self._delivery = (late, DeliveryView(self.events.timestamps, late))
        return view[1]

    def visible_activity(
        self, first: date, last: date, view: DeliveryView, now_ms: int
    ) -> dict[int, dict[int, DayActivity]]:
        """Activity of the days ``first..last`` counting only the events delivered by now."""
        start = day_start_ms(first)
        end = day_start_ms(last) + DAY_MS - 1
        store = self.events

        def rows_of(user: int) -> Sequence[int]:
            return view.visible(
                ("user", user, start, end), store.positions(start, end, user), now_ms
            )

        return self._compute_activity(rows_of)

    def _compute_activity(
        self, rows_of: Callable[[int], Sequence[int]] | None = None
    ) -> dict[int, dict[int, DayActivity]]:
        store = self.events
        rows_of = rows_of or store.user_rows
        stamps = store.timestamps
        categories = [_kind_category(kind) for kind in store.kinds]
        result: dict[int, dict[int, DayActivity]] = {}
        for user, member in enumerate(self._member_of_user):
            current_day = -1
            act = DayActivity()
            for row in rows_of(user):
                day = stamps[row] // DAY_MS
                if day != current_day:
                    current_day = day
                    act = result.setdefault(day, {}).setdefault(member, DayActivity())
                flags = store.flags[row]
                act.events += 1
                category = categories[store.kind_ids[row]]
                if category == "usage_based":
                    act.usage_based += 1
                elif category == "api_key":
                    act.api_key += 1
                if flags & FLAG_HEADLESS:
                    act.headless += 1
                if flags & FLAG_FREE_BUGBOT:
                    act.bugbot += 1
                act.input_tokens += store.input_tokens[row]
                act.output_tokens += store.output_tokens[row]
                spend = store.spend_cents(row)
                act.spend_cents += spend
                if not flags & FLAG_CHARGEABLE:
                    total = store.token_cents[row]
                    if total == total:
                        act.included_cents += total
                    act.included_requests += store.requests_costs[row]
                model = store.models[store.model_ids[row]]
                act.models[model] = act.models.get(model, 0) + 1
        return result

    def member_spend(self, first_day: int, last_day: int) -> list[float]:
        """Spend in cents per member index over a span of :func:`epoch_day` numbers."""
        totals = [0.0] * len(self.members)
        for day, per_member in self.activity().items():
            if first_day <= day <= last_day:
                for member, act in per_member.items():
                    totals[member] += act.spend_cents
        return totals

    # -- /teams/daily-usage-data

    def daily_usage_rows(
        self,
        first: date,
        last: date,
        members: Sequence[JSONObject] | None = None,
        activity: Mapping[int, Mapping[int, DayActivity]] | None = None,
    ) -> list[JSONObject]:
        """Daily-usage rows for the days ``first..last``.

        Without ``members``: the active rows only, as the API answers unpaginated requests.
        With ``members``: one row per listed member per day, inactive days zero-filled, as the
        paginated API does.
        """
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        if self.daily_usage is not None:
            return self._explicit_usage_rows(days, members)
        if activity is None:
            activity = self.activity()
        rows: list[JSONObject] = []
        for day in days:
            per_member = activity.get(day_number(day), {})
            if members is None:
                for index in sorted(per_member):
                    rows.append(_usage_row(self.members[index], day, per_member[index]))
                continue
            for member in members:
                found = self._member_index.get(str(member["email"]).lower())
                act = None if found is None else per_member.get(found)
                rows.append(_usage_row(member, day, act))
        return rows

    def _explicit_usage_rows(
        self, days: Sequence[date], members: Sequence[JSONObject] | None
    ) -> list[JSONObject]:
        rows = self.daily_usage or []
        wanted = {day.isoformat() for day in days}
        if members is None:
            chosen = [r for r in rows if r["day"] in wanted and r.get("isActive", True) is True]
            chosen.sort(key=lambda r: r["day"])
            return chosen
        if self._usage_index is None:
            self._usage_index = {(str(r["email"]).lower(), str(r["day"])): r for r in rows}
        index = self._usage_index
        answer = []
        for day in days:
            for member in members:
                found = index.get((str(member["email"]).lower(), day.isoformat()))
                answer.append(found if found is not None else _usage_row(member, day, None))
        return answer

    # -- /teams/spend

    def spend_report(self, now_ms: int) -> tuple[list[JSONObject], int]:
        """Every member's spend row this billing cycle, and ``subscriptionCycleStart``."""
        if self.spend is not None:
            return list(self.spend["teamMemberSpend"]), int(self.spend["subscriptionCycleStart"])
        start = billing_cycle_start(now_ms)
        first = day_number(start)
        spend = [0.0] * len(self.members)
        included = [0.0] * len(self.members)
        premium = [0.0] * len(self.members)
        for day, per_member in self.activity().items():
            if day >= first:
                for index, act in per_member.items():
                    spend[index] += act.spend_cents
                    included[index] += act.included_cents
                    premium[index] += act.included_requests
        rows = []
        for index, member in enumerate(self.members):
            if member.get("isRemoved") is True and spend[index] == 0:
                continue
            rows.append(
                {
                    "userId": member.get("id"),
                    "name": member.get("name", ""),
                    "email": member["email"],
                    "role": member.get("role", "member"),
                    "spendCents": _number_out(round(spend[index], 4)),
                    "overallSpendCents": _number_out(round(spend[index] + included[index], 4)),
                    "fastPremiumRequests": round(premium[index]),
                    "hardLimitOverrideDollars": 0,
                    "monthlyLimitDollars": self.spend_limits.get(str(member["email"]).lower()),
                }
            )
        return rows, day_start_ms(start)

    # -- /teams/groups

    def groups_report(self, cycle_start: date) -> JSONObject:
        """``GET /teams/groups`` for the cycle starting ``cycle_start`` (a month's first day)."""
        if self.groups is not None:
            return self.groups
        return build_groups_report(self, cycle_start, ())

    # -- /analytics/team/*

    def analytics_rows(self, metric: str, first: date, last: date) -> list[JSONObject]:
        """Rows of one team analytics endpoint whose day lies in ``first..last``."""
        rows = self.analytics.get(metric)
        if rows is None:
            rows = self.derived_analytics()[metric]
        key = ANALYTICS_DATE_FIELD[metric]
        low, high = first.isoformat(), last.isoformat()
        return [row for row in rows if low <= str(row.get(key, "")) <= high]

    def derived_analytics(self) -> dict[str, list[JSONObject]]:
        """All nine endpoints' rows derived from the events, for every day with activity."""
        if self._derived_analytics is None:
            self._derived_analytics = _derive_analytics(self)
        return self._derived_analytics


# ---------------------------------------------------------------------------------------------
# Derivations


_USAGE_COUNTERS: Final = (
    "totalLinesAdded",
    "totalLinesDeleted",
    "acceptedLinesAdded",
    "acceptedLinesDeleted",
    "totalApplies",
    "totalAccepts",
    "totalRejects",
    "totalTabsShown",
    "totalTabsAccepted",
    "composerRequests",
    "chatRequests",
    "agentRequests",
    "cmdkUsages",
    "subscriptionIncludedReqs",
    "apiKeyReqs",
    "usageBasedReqs",
    "bugbotUsages",
)
_EXTENSIONS: Final = ("ts", "tsx", "py", "go", "java", "rs", "kt", "swift", "sql", "rb")
_CLIENT_VERSIONS: Final = ("1.7.52", "1.7.54", "2.0.34", "2.0.38", "2.0.43")
_MCP_TOOLS: Final = (
    ("search_issues", "tracker"),
    ("get_file_contents", "github"),
    ("create_pull_request", "github"),
    ("run_query", "postgres"),
    ("fetch_page", "browser"),
)
_COMMANDS: Final = ("explain", "fix-lint", "write-tests", "review", "refactor", "commit-message")


def member_extension(email: str) -> str:
    """The file extension a member mostly edits (without the dot), stable per email."""
    return _EXTENSIONS[int(stable_fraction("ext", email.lower()) * len(_EXTENSIONS))]


def member_client_version(email: str) -> str:
    """The Cursor client version a member runs, stable per email."""
    weights = stable_fraction("client", email.lower())
    return _CLIENT_VERSIONS[int(weights**0.6 * len(_CLIENT_VERSIONS))]


def _usage_row(member: Mapping[str, Any], day: date, act: DayActivity | None) -> JSONObject:
    email = str(member["email"])
    row: JSONObject = {
        "userId": member.get("id"),
        "day": day.isoformat(),
        "date": day_start_ms(day),
        "email": email,
        "isActive": act is not None and act.events > 0,
    }
    if act is None or act.events == 0:
        row.update(dict.fromkeys(_USAGE_COUNTERS, 0))
        row.update(
            mostUsedModel=None,
            applyMostUsedExtension=None,
            tabMostUsedExtension=None,
            clientVersion=None,
        )
        return row
    count = act.events
    interactive = count - act.headless
    agent = act.headless + round(interactive * 0.72)
    chat = round(interactive * 0.2)
    cmdk = max(0, count - agent - chat)
    added = max(agent, act.output_tokens // 9)
    deleted = int(added * (0.15 + 0.2 * stable_fraction("deleted", email, day)))
    accept_rate = 0.45 + 0.3 * stable_fraction("accept", email, day)
    applies = round(agent * 0.6)
    accepts = round(applies * (0.7 + 0.2 * stable_fraction("applies", email, day)))
    tabs_shown = count * (3 + int(5 * stable_fraction("tabs", email, day)))
    tabs_accepted = round(tabs_shown * (0.25 + 0.2 * stable_fraction("tab-accept", email, day)))
    extension = "." + member_extension(email)
    row.update(
        totalLinesAdded=added,
        totalLinesDeleted=deleted,
        acceptedLinesAdded=round(added * accept_rate),
        acceptedLinesDeleted=round(deleted * accept_rate),
        totalApplies=applies,
        totalAccepts=accepts,
        totalRejects=applies - accepts,
        totalTabsShown=tabs_shown,
        totalTabsAccepted=tabs_accepted,
        composerRequests=0,
        chatRequests=chat,
        agentRequests=agent,
        cmdkUsages=cmdk,
        subscriptionIncludedReqs=count - act.usage_based - act.api_key,
        apiKeyReqs=act.api_key,
        usageBasedReqs=act.usage_based,
        bugbotUsages=act.bugbot,
        mostUsedModel=act.most_used_model(),
        applyMostUsedExtension=extension,
        tabMostUsedExtension=extension,
        clientVersion=member_client_version(email),
    )
    return row


def _derive_analytics(scenario: Scenario) -> dict[str, list[JSONObject]]:
    """Team analytics rows per day, consistent with the events and the derived daily usage."""
    result: dict[str, list[JSONObject]] = {metric: [] for metric in ANALYTICS_METRICS}
    for number, per_member in sorted(scenario.activity().items()):
        day = day_from_number(number)
        stamp = day.isoformat()
        active = [
            (scenario.members[index], act, _usage_row(scenario.members[index], day, act))
            for index, act in sorted(per_member.items())
            if act.events > 0
        ]
        if not active:
            continue
        emails = [str(member["email"]) for member, _, _ in active]
        result["dau"].append(
            {
                "date": stamp,
                "dau": len(active),
                "cli_dau": sum(1 for e in emails if stable_fraction("cli", e, day) < 0.12),
                "cloud_agent_dau": sum(1 for _, act, _ in active if act.headless),
                "bugbot_dau": sum(1 for _, act, _ in active if act.bugbot),
            }
        )
        breakdown: dict[str, JSONObject] = {}
        for _, act, _ in active:
            for model, messages in act.models.items():
                entry = breakdown.setdefault(model, {"messages": 0, "users": 0})
                entry["messages"] += messages
                entry["users"] += 1
        result["models"].append({"date": stamp, "model_breakdown": dict(sorted(breakdown.items()))})
        rows = [row for _, _, row in active]
        result["agent-edits"].append(_agent_edits_row(stamp, rows))
        result["tabs"].append(_tabs_row(stamp, rows))
        result["top-file-extensions"].extend(_extension_rows(stamp, rows))
        result["client-versions"].extend(_client_version_rows(stamp, rows))
        result["mcp"].extend(_mcp_rows(stamp, day, active))
        result["commands"].extend(_command_rows(stamp, day, active))
        result["plans"].extend(_plan_rows(stamp, day, active))
    return result


def _total(rows: Sequence[Mapping[str, Any]], key: str) -> int:
    return sum(int(row[key]) for row in rows)


def _agent_edits_row(stamp: str, rows: Sequence[JSONObject]) -> JSONObject:
    green = _total(rows, "totalLinesAdded")
    red = _total(rows, "totalLinesDeleted")
    green_ok = _total(rows, "acceptedLinesAdded")
    red_ok = _total(rows, "acceptedLinesDeleted")
    return {
        "event_date": stamp,
        "total_suggested_diffs": _total(rows, "totalApplies"),
        "total_accepted_diffs": _total(rows, "totalAccepts"),
        "total_rejected_diffs": _total(rows, "totalRejects"),
        "total_green_lines_accepted": green_ok,
        "total_red_lines_accepted": red_ok,
        "total_green_lines_rejected": green - green_ok,
        "total_red_lines_rejected": red - red_ok,
        "total_green_lines_suggested": green,
        "total_red_lines_suggested": red,
        "total_lines_suggested": green + red,
        "total_lines_accepted": green_ok + red_ok,
    }


def _tabs_row(stamp: str, rows: Sequence[JSONObject]) -> JSONObject:
    shown = _total(rows, "totalTabsShown")
    accepted = _total(rows, "totalTabsAccepted")
    green, green_ok = shown * 2, accepted * 2
    red, red_ok = shown // 3, accepted // 3
    return {
        "event_date": stamp,
        "total_suggestions": shown,
        "total_accepts": accepted,
        "total_rejects": shown - accepted,
        "total_green_lines_accepted": green_ok,
        "total_red_lines_accepted": red_ok,
        "total_green_lines_rejected": green - green_ok,
        "total_red_lines_rejected": red - red_ok,
        "total_green_lines_suggested": green,
        "total_red_lines_suggested": red,
        "total_lines_suggested": green + red,
        "total_lines_accepted": green_ok + red_ok,
    }


def _extension_rows(stamp: str, rows: Sequence[JSONObject]) -> list[JSONObject]:
    sums: dict[str, list[int]] = {}
    for row in rows:
        extension = str(row["applyMostUsedExtension"]).lstrip(".")
        entry = sums.setdefault(extension, [0, 0, 0, 0, 0])
        entry[0] += int(row["totalApplies"])
        entry[1] += int(row["totalAccepts"])
        entry[2] += int(row["totalRejects"])
        entry[3] += int(row["totalLinesAdded"]) + int(row["totalLinesDeleted"])
        entry[4] += int(row["acceptedLinesAdded"]) + int(row["acceptedLinesDeleted"])
    top = sorted(sums.items(), key=lambda item: (-item[1][3], item[0]))[:5]
    return [
        {
            "event_date": stamp,
            "file_extension": extension,
            "total_files": files,
            "total_accepts": accepts,
            "total_rejects": rejects,
            "total_lines_suggested": suggested,
            "total_lines_accepted": accepted,
            "total_lines_rejected": suggested - accepted,
        }
        for extension, (files, accepts, rejects, suggested, accepted) in top
    ]


def _client_version_rows(stamp: str, rows: Sequence[JSONObject]) -> list[JSONObject]:
    counts: dict[str, int] = {}
    for row in rows:
        version = str(row["clientVersion"])
        counts[version] = counts.get(version, 0) + 1
    return [
        {
            "event_date": stamp,
            "client_version": version,
            "user_count": users,
            "percentage": round(users / len(rows), 4),
        }
        for version, users in sorted(counts.items())
    ]


_Active = Sequence[tuple[Mapping[str, Any], DayActivity, JSONObject]]


def _mcp_rows(stamp: str, day: date, active: _Active) -> list[JSONObject]:
    usage = [0] * len(_MCP_TOOLS)
    for member, _, row in active:
        email = str(member["email"])
        if stable_fraction("mcp-user", email) >= 0.45:
            continue
        for position, (tool, _) in enumerate(_MCP_TOOLS):
            share = stable_fraction("mcp", email, day, tool)
            usage[position] += int(int(row["agentRequests"]) * 0.08 * share)
    return [
        {"event_date": stamp, "tool_name": tool, "mcp_server_name": server, "usage": count}
        for (tool, server), count in zip(_MCP_TOOLS, usage, strict=True)
        if count > 0
    ]


def _command_rows(stamp: str, day: date, active: _Active) -> list[JSONObject]:
    usage = [0] * len(_COMMANDS)
    for member, _, row in active:
        email = str(member["email"])
        for position, command in enumerate(_COMMANDS):
            share = stable_fraction("command", email, day, command)
            usage[position] += int(int(row["cmdkUsages"]) * 0.5 * share)
    return [
        {"event_date": stamp, "command_name": command, "usage": count}
        for command, count in zip(_COMMANDS, usage, strict=True)
        if count > 0
    ]


def _plan_rows(stamp: str, day: date, active: _Active) -> list[JSONObject]:
    usage: dict[str, int] = {}
    for member, act, _ in active:
        email = str(member["email"])
        plans = int(act.events * 0.06 * stable_fraction("plans", email, day))
        if plans == 0:
            continue
        model = act.most_used_model() or "default"
        if model in ("auto", "default") or stable_fraction("plan-auto", email, day) < 0.3:
            model = "default"
        usage[model] = usage.get(model, 0) + plans
    return [
        {"event_date": stamp, "model": model, "usage": count}
        for model, count in sorted(usage.items())
    ]


def build_groups_report(
    scenario: Scenario, cycle_start: date, layout: Sequence[GroupLayout]
) -> JSONObject:
    """``GET /teams/groups`` for one billing cycle, with spend summed from the events.

    Members the layout does not seat are in the reserved Unassigned group; removed members
    with no seat appear there as former members, having left at their last event.
    """
    cycle_end = next_month(cycle_start)
    today = utc_day(scenario.now())
    last_day = min(cycle_end - timedelta(days=1), today)
    first_number, last_number = day_number(cycle_start), day_number(last_day)
    activity = scenario.activity()

    def member_daily(index: int) -> list[float]:
        return [
            (activity.get(n, {}).get(index) or DayActivity()).spend_cents
            for n in range(first_number, last_number + 1)
        ]

    days = last_number - first_number + 1
    seated: set[str] = set()
    groups: list[JSONObject] = []
    for group in layout:
        groups.append(_group_object(scenario, group, cycle_start, days, member_daily))
        seated.update(seat.email.lower() for seat in group.seats)
    loose = []
    store = scenario.events
    cycle_moment = datetime(cycle_start.year, cycle_start.month, 1, tzinfo=UTC)
    for member in scenario.members:
        email = str(member["email"])
        if email.lower() in seated:
            continue
        user = store.find_user(email)
        rows = store.user_rows(user) if user is not None else ()
        joined = (
            datetime.fromtimestamp(store.timestamps[rows[0]] / 1000, tz=UTC)
            if rows
            else cycle_moment
        )
        left = None
        if member.get("isRemoved") is True:
            left = (
                datetime.fromtimestamp(store.timestamps[rows[-1]] / 1000, tz=UTC)
                if rows
                else cycle_moment
            )
        loose.append(GroupSeat(email=email, joined_at=joined, left_at=left))
    unassigned = GroupLayout(
        id=UNASSIGNED_GROUP_ID, name="Unassigned", created_at=cycle_moment, seats=tuple(loose)
    )
    return {
        "groups": groups,
        "unassignedGroup": _group_object(scenario, unassigned, cycle_start, days, member_daily),
        "billingCycle": {
            "cycleStart": _iso(cycle_moment),
            "cycleEnd": _iso(datetime(cycle_end.year, cycle_end.month, 1, tzinfo=UTC)),
        },
    }


def _group_object(
    scenario: Scenario,
    group: GroupLayout,
    cycle_start: date,
    days: int,
    member_daily: Callable[[int], list[float]],
) -> JSONObject:
    cycle_moment = datetime(cycle_start.year, cycle_start.month, 1, tzinfo=UTC)
    current: list[JSONObject] = []
    former: list[JSONObject] = []
    daily_total = [0.0] * max(0, days)
    for seat in group.seats:
        index = scenario.member_position(seat.email)
        if index is None:
            continue
        member = scenario.members[index]
        counted = seat.left_at is None or seat.left_at >= cycle_moment
        daily = member_daily(index) if counted else []
        for position, value in enumerate(daily):
            daily_total[position] += value
        entry = {
            "userId": public_user_id(seat.email),
            "name": member.get("name", ""),
            "email": member["email"],
            "joinedAt": _iso(seat.joined_at),
            "leftAt": None if seat.left_at is None else _iso(seat.left_at),
            "spendCents": _number_out(round(sum(daily), 4)),
        }
        (current if seat.left_at is None else former).append(entry)
    total = sum(daily_total)
    return {
        "id": group.id,
        "name": group.name,
        "type": "BILLING",
        "directoryGroupId": None,
        "memberCount": len(current),
        "createdAt": _iso(group.created_at),
        "updatedAt": _iso(max(group.created_at, cycle_moment)),
        "spendCents": _number_out(round(total, 4)),
        "currentMembers": current,
        "formerMembers": former,
        "dailySpend": [
            {
                "date": (cycle_start + timedelta(days=offset)).isoformat(),
                "spendCents": _number_out(round(value, 4)),
            }
            for offset, value in enumerate(daily_total)
        ],
    }


# ---------------------------------------------------------------------------------------------
# Loading and checking


class _Encoded:
    """Stands in a parsed file for an event already moved into the columns."""

    __slots__ = ("row",)

    def __init__(self, row: int) -> None:
        self.row = row


class _EventHook:
    """``json`` object hook that moves each valid event into the columns as it is parsed.

    This keeps the peak memory of loading a large file near the size of the columns, instead
    of holding every event as a dict first. Anything doubtful is left as a dict, to be checked
    (and reported with its index) once the whole file is parsed.
    """

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def __call__(self, obj: dict[str, Any]) -> Any:
        if "timestamp" in obj and "userEmail" in obj and event_problem(obj) is None:
            return _Encoded(self.store.add_event(obj))
        return obj


_KNOWN_KEYS: Final = (
    "teamMembers",
    "usageEvents",
    "dailyUsage",
    "spend",
    "groups",
    "analytics",
    "plantedAnomalies",
    "normalMembers",
    "now",
    "teamId",
    "lateDelivery",
    "spendLimits",
)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and check a scenario file; :class:`ScenarioError` names the file and the part."""
    source = Path(path)
    store = EventStore()
    try:
        with source.open(encoding="utf-8") as handle:
            data = json.load(handle, object_hook=_EventHook(store))
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read the scenario: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            f"{source}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{source}: not UTF-8 text ({exc.reason})") from exc
    return _build(data, store, str(source))


def scenario_from_dict(data: Mapping[str, Any], *, source: str = "scenario") -> Scenario:
    """Check an already-parsed scenario object (tests write them inline)."""
    return _build(data, EventStore(), source)


def _build(data: object, store: EventStore, source: str) -> Scenario:
    def fail(where: str, message: str) -> ScenarioError:
        return ScenarioError(f"{source}: {where}: {message}")

    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a JSON object at the top level")
    for key in data:
        if key not in _KNOWN_KEYS and not key.startswith(("_", "$")):
            known = ", ".join(_KNOWN_KEYS)
            raise fail(key, f"unknown key (expected one of {known})")
    members = _check_members(data.get("teamMembers"), fail)
    member_emails = {str(m["email"]).lower() for m in members}
    _check_events(data.get("usageEvents"), store, member_emails, fail)
    return Scenario(
        members=members,
        events=store,
        daily_usage=_check_daily_usage(data.get("dailyUsage"), member_emails, fail),
        spend=_check_spend(data.get("spend"), fail),
        groups=_check_groups(data.get("groups"), fail),
        analytics=_check_analytics(data.get("analytics"), fail),
        planted_anomalies=_check_planted(data.get("plantedAnomalies"), fail),
        normal_members=_check_normal(data.get("normalMembers"), fail),
        now_ms=_check_now(data.get("now"), fail),
        team_id=_check_team_id(data.get("teamId", DEFAULT_TEAM_ID), fail),
        late=_check_late(data.get("lateDelivery"), fail),
        spend_limits=_check_spend_limits(data.get("spendLimits"), member_emails, fail),
    )


_Fail = Callable[[str, str], ScenarioError]


def _check_members(value: object, fail: _Fail) -> list[JSONObject]:
    if not isinstance(value, list):
        raise fail("teamMembers", "expected a list of members (as GET /teams/members returns)")
    seen: dict[str, int] = {}
    for position, member in enumerate(value):
        where = f"teamMembers[{position}]"
        if not isinstance(member, dict):
            raise fail(where, "expected an object")
        email = member.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise fail(f"{where}.email", "expected an email address")
        if email.lower() in seen:
            raise fail(f"{where}.email", f"duplicate of teamMembers[{seen[email.lower()]}]")
        seen[email.lower()] = position
        for key in ("name", "role"):
            if key in member and not isinstance(member[key], str):
                raise fail(f"{where}.{key}", "expected a string")
        if "id" in member and not (isinstance(member["id"], str) or _is_number(member["id"])):
            raise fail(f"{where}.id", "expected a number or a string")
        if "isRemoved" in member and not isinstance(member["isRemoved"], bool):
            raise fail(f"{where}.isRemoved", "expected true or false")
    return value


def _check_events(value: object, store: EventStore, member_emails: set[str], fail: _Fail) -> None:
    if not isinstance(value, list):
        raise fail("usageEvents", "expected a list of usage events")
    order: list[int] = []
    for position, item in enumerate(value):
        if isinstance(item, _Encoded):
            order.append(item.row)
            continue
        where = f"usageEvents[{position}]"
        if not isinstance(item, dict):
            raise fail(where, "expected an object")
        problem = event_problem(item)
        if problem is not None:
            field_name, _, message = problem.partition(": ")
            raise fail(f"{where}.{field_name}", message)
        order.append(store.add_event(item))
    strangers = {
        user for user, email in enumerate(store.emails) if email.lower() not in member_emails
    }
    if strangers:
        for position, row in enumerate(order):
            if store.users[row] in strangers:
                email = store.emails[store.users[row]]
                raise fail(f"usageEvents[{position}].userEmail", f"{email!r} is not in teamMembers")
    store.finish(order)


def _check_daily_usage(
    value: object, member_emails: set[str], fail: _Fail
) -> list[JSONObject] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise fail("dailyUsage", "expected a list of daily-usage rows")
    for position, row in enumerate(value):
        where = f"dailyUsage[{position}]"
        if not isinstance(row, dict):
            raise fail(where, "expected an object")
        email = row.get("email")
        if not isinstance(email, str):
            raise fail(f"{where}.email", "expected an email address")
        if email.lower() not in member_emails:
            raise fail(f"{where}.email", f"{email!r} is not in teamMembers")
        if not _is_day(row.get("day")):
            raise fail(f"{where}.day", "expected a day as YYYY-MM-DD")
        if "isActive" in row and not isinstance(row["isActive"], bool):
            raise fail(f"{where}.isActive", "expected true or false")
    return value


def _check_spend(value: object, fail: _Fail) -> JSONObject | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fail("spend", "expected an object (as POST /teams/spend returns)")
    rows = value.get("teamMemberSpend")
    if not isinstance(rows, list):
        raise fail("spend.teamMemberSpend", "expected a list")
    for position, row in enumerate(rows):
        where = f"spend.teamMemberSpend[{position}]"
        if not isinstance(row, dict):
            raise fail(where, "expected an object")
        if not isinstance(row.get("email"), str):
            raise fail(f"{where}.email", "expected an email address")
        if not _is_number(row.get("spendCents")):
            raise fail(f"{where}.spendCents", "expected a number")
    start = value.get("subscriptionCycleStart")
    if not (isinstance(start, int) and not isinstance(start, bool)):
        raise fail("spend.subscriptionCycleStart", "expected epoch milliseconds (a number)")
    return value


def _check_groups(value: object, fail: _Fail) -> JSONObject | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fail("groups", "expected an object (as GET /teams/groups returns)")
    groups = value.get("groups")
    if not isinstance(groups, list):
        raise fail("groups.groups", "expected a list")
    for position, group in enumerate(groups):
        where = f"groups.groups[{position}]"
        if not isinstance(group, dict):
            raise fail(where, "expected an object")
        for key in ("id", "name"):
            if not isinstance(group.get(key), str):
                raise fail(f"{where}.{key}", "expected a string")
    if "unassignedGroup" in value and not isinstance(value["unassignedGroup"], dict):
        raise fail("groups.unassignedGroup", "expected an object")
    return value


def _check_analytics(value: object, fail: _Fail) -> dict[str, list[JSONObject]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail("analytics", "expected an object keyed by metric")
    for metric, rows in value.items():
        where = f"analytics.{metric}"
        if metric not in ANALYTICS_METRICS:
            raise fail(where, f"unknown metric (expected one of {', '.join(ANALYTICS_METRICS)})")
        if not isinstance(rows, list):
            raise fail(where, "expected a list of rows")
        key = ANALYTICS_DATE_FIELD[metric]
        for position, row in enumerate(rows):
            if not isinstance(row, dict):
                raise fail(f"{where}[{position}]", "expected an object")
            if not _is_day(row.get(key)):
                raise fail(f"{where}[{position}].{key}", "expected a day as YYYY-MM-DD")
    return value


def _check_planted(value: object, fail: _Fail) -> list[JSONObject]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail("plantedAnomalies", "expected a list")
    for position, item in enumerate(value):
        where = f"plantedAnomalies[{position}]"
        if not isinstance(item, dict):
            raise fail(where, "expected an object")
        if item.get("kind") not in PLANTED_KINDS:
            raise fail(f"{where}.kind", f"expected one of {', '.join(PLANTED_KINDS)}")
        if not isinstance(item.get("email"), str):
            raise fail(f"{where}.email", "expected an email address")
        if item.get("day") is not None and not _is_day(item["day"]):
            raise fail(f"{where}.day", "expected YYYY-MM-DD or null")
    return value


def _check_spend_limits(
    value: object, member_emails: set[str], fail: _Fail
) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fail("spendLimits", "expected an object of email address to dollars")
    for email, dollars in value.items():
        if email.lower() not in member_emails:
            raise fail(f"spendLimits.{email}", "not in teamMembers")
        if not _is_number(dollars) or dollars < 0:
            raise fail(f"spendLimits.{email}", "expected dollars, 0 or more")
    return dict(value)


def _check_normal(value: object, fail: _Fail) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise fail("normalMembers", "expected a list of email addresses")
    return value


def _check_now(value: object, fail: _Fail) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return int(moment.timestamp() * 1000)
    raise fail("now", "expected epoch milliseconds or an ISO 8601 time with a zone")


def _check_late(value: object, fail: _Fail) -> LateDelivery | None:
    if value is None or value is False:
        return None
    try:
        return LateDelivery.from_json(value)
    except DeliveryError as exc:
        raise fail("lateDelivery", str(exc).split(": ", 1)[-1]) from None


def _check_team_id(value: object, fail: _Fail) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise fail("teamId", "expected a number")


# ---------------------------------------------------------------------------------------------
# Writing


def dump_scenario(scenario: Scenario, handle: IO[str]) -> None:
    """Write ``scenario`` as a scenario file, streaming the events (no list of dicts)."""

    def write_key(key: str, value: object, *, first: bool = False) -> None:
        handle.write(("" if first else ",\n") + json.dumps(key) + ": " + json.dumps(value))

    handle.write("{\n")
    write_key("now", None if scenario.now_ms is None else iso_ms(scenario.now_ms), first=True)
    write_key("teamId", scenario.team_id)
    if scenario.late is not None:
        write_key("lateDelivery", scenario.late.to_json())
    write_key("teamMembers", scenario.members)
    handle.write(',\n"usageEvents": [')
    store = scenario.events
    encode = json.JSONEncoder(separators=(",", ":")).encode
    count = len(store)
    for start in range(0, count, 2000):
        chunk = ",\n".join(
            encode(store.event(row)) for row in range(start, min(count, start + 2000))
        )
        handle.write(("\n" if start == 0 else ",\n") + chunk)
    handle.write("\n]")
    for key, value in (
        ("dailyUsage", scenario.daily_usage),
        ("spend", scenario.spend),
        ("groups", scenario.groups),
        ("analytics", scenario.analytics or None),
    ):
        if value is not None:
            write_key(key, value)
    write_key("plantedAnomalies", scenario.planted_anomalies)
    write_key("normalMembers", scenario.normal_members)
    if scenario.spend_limits:
        write_key("spendLimits", scenario.spend_limits)
    handle.write("\n}\n")


def save_scenario(scenario: Scenario, path: str | os.PathLike[str]) -> None:
    """Write ``scenario`` to a file (see :func:`dump_scenario`)."""
    with Path(path).open("w", encoding="utf-8") as handle:
        dump_scenario(scenario, handle)
