"""The pure parts of the dashboard's pages: query parsing, links, the overview's members
table (search, sort, pages), kept views, and the figures charts and the heat map are drawn from.

Kept apart from the handlers (:mod:`tracker_core.daemon.pages`) so they can be read and tested
without a server."""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Generic, TypeVar
from urllib.parse import quote, urlencode

from markupsafe import Markup

from tracker_core.badges import BY_ID
from tracker_core.daemon import charts
from tracker_core.formatting import (
    column_counts,
)
from tracker_core.groups import GroupInputError
from tracker_core.service import Tracker
from tracker_core.views import DEFAULT_DAYS
from tracker_core.views.insights import ClientVersion
from tracker_core.views.overview import MemberRow, Overview

T = TypeVar("T")

RANGES: Final = (7, 30, 90)
"""The windows the pages offer as links; any 1..MAX_DAYS works in the URL."""
MAX_DAYS: Final = 366
PAGE_SIZE: Final = 100
"""Members per page of the overview's table: a 2,000-member team stays a light page."""
SORTS: Final[Mapping[str, tuple[str, Callable[[MemberRow], Any], bool]]] = {
    "spend": ("Spend", lambda row: row.spend_cents, True),
    "requests": ("Requests", lambda row: row.requests, True),
    "tokens": ("Tokens", lambda row: row.tokens, True),
    "name": ("Name", lambda row: (row.name or row.email).casefold(), False),
    "last_active": ("Last active", lambda row: row.last_active or date.min, True),
    "incidents": ("Incidents", lambda row: row.open_incidents, True),
    "adoption": (
        "Adoption",
        lambda row: row.adoption.score if row.adoption is not None else -1.0,
        True,
    ),
}
"""Sort key -> (column title, key function, biggest first by default)."""


class PageError(Exception):
    """Bad input or a missing thing: shown as a page with ``status`` and one line."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- figures for charts (pure; figures in words come from tracker_core.formatting) ----------


def every_nth_label(days: int) -> int:
    """One x label every N days so a window's labels never overlap (at most 6 shown)."""
    return max(1, math.ceil(days / 6))


def day_label(day: date) -> str:
    return day.strftime("%b %d").replace(" 0", " ")


# --- query parsing -----------------------------------------------------------------------


_DIGITS = re.compile(r"[0-9]{1,9}")
"""A whole number as a person types one (``str.isdigit`` also takes ``²``, which ``int``
refuses), short enough that no window or page count overflows."""


def parse_days(query: Mapping[str, str]) -> int:
    raw = query.get("days", "").strip()
    if not raw:
        return DEFAULT_DAYS
    days = int(raw) if _DIGITS.fullmatch(raw) else 0
    if not 1 <= days <= MAX_DAYS:
        raise PageError(f"days must be a whole number between 1 and {MAX_DAYS}, got {raw!r}")
    return days


def parse_page(query: Mapping[str, str]) -> int:
    raw = query.get("page", "1").strip() or "1"
    if not _DIGITS.fullmatch(raw) or int(raw) < 1:
        raise PageError(f"page must be a whole number from 1, got {raw!r}")
    return int(raw)


def group_filter(tracker: Tracker, query: Mapping[str, str]) -> str | None:
    """``group=`` as every face takes it (the Tracker's one resolver): a group's id or exact
    name, ``parent:NAME`` or ``unassigned``; None (the whole team) when absent or blank."""
    given = query.get("group", "").strip()
    if not given:
        return None
    try:
        return tracker.group_filter(given)
    except GroupInputError as exc:
        raise PageError(str(exc), status=404) from None


def link(path: str, **params: object) -> str:
    """A URL on this site with the non-empty parameters, in a stable order."""
    kept = {key: str(value) for key, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


def member_link(email: str) -> str:
    return "/members/" + quote(email, safe="@")


# --- the overview's table ----------------------------------------------------------------


@dataclass(frozen=True)
class MemberTable:
    """One page of the members table, filtered and sorted as the query asked."""

    rows: list[tuple[int, MemberRow]]
    """(rank by spend, row)."""
    tokens: list[str]
    """The rows' tokens in words, in one unit for the column."""
    matched: int
    page: int
    pages: int
    sort: str
    descending: bool


def member_table(
    members: Sequence[MemberRow],
    *,
    search: str,
    sort: str,
    order: str,
    page: int,
    badge: str = "",
) -> MemberTable:
    """Filter by a case-blind substring of name or email (and a badge id), sort, cut a page."""
    if badge and badge not in BY_ID:
        raise PageError(f"badge must be one of {', '.join(BY_ID)}, got {badge!r}")
    if sort not in SORTS:
        raise PageError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    if order not in ("", "asc", "desc"):
        raise PageError(f"order must be asc or desc, got {order!r}")
    ranks = {row.email: index for index, row in enumerate(members, start=1)}
    needle = search.strip().casefold()
    matched = [
        row
        for row in members
        if (not needle or needle in row.email.casefold() or needle in row.name.casefold())
        and (not badge or badge in row.badges)
    ]
    _, key, biggest_first = SORTS[sort]
    descending = biggest_first if not order else order == "desc"
    matched.sort(key=key, reverse=descending)
    pages = max(1, math.ceil(len(matched) / PAGE_SIZE))
    page = min(page, pages)
    shown = matched[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return MemberTable(
        rows=[(ranks[row.email], row) for row in shown],
        tokens=column_counts([row.tokens for row in shown]),
        matched=len(matched),
        page=page,
        pages=pages,
        sort=sort,
        descending=descending,
    )


# --- overviews kept between views ------------------------------------------------------


class Kept(Generic[T]):
    """Views kept per request key with the fingerprint of the data they were computed from.

    The overview sums a whole window for every member (tens of milliseconds on a team of
    thousands) while its figures change only when a collection stores something or an
    incident moves; pages are viewed, and refreshed each minute, far more often. A view is
    reused while the fingerprint (two small queries) matches. Handlers run in threads: a lock
    guards the entries, not the computing, so a slow computation blocks nobody else.
    """

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, tuple[str, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, fingerprint: str, compute: Callable[[], T]) -> T:
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None and kept[0] == fingerprint:
                self._entries.move_to_end(key)
                return kept[1]
        value = compute()
        with self._lock:
            self._entries[key] = (fingerprint, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


def done_notice(raw: str) -> str:
    """``Incident 12 acknowledged.`` after a change, from the redirect's ``done=`` parameter;
    nothing for any other text, so a crafted link cannot put words on the page."""
    action, _, number = raw.partition("-")
    if action not in ("acknowledged", "resolved") or not number.isdigit():
        return ""
    return f"Incident {int(number)} {action}."


def version_scale(versions: Sequence[ClientVersion]) -> float:
    """The Analytics API gives a version's share as a fraction or as a percentage: 100 when
    the shares add up to about one (as the console reads them)."""
    return 100.0 if sum(version.share for version in versions) <= 1.5 else 1.0


def heat_levels(activity: Sequence[Sequence[int]], peak: int) -> list[list[int]]:
    """Each hour's events as a level 0..4 of the busiest hour, for the heat map's colours."""
    if peak <= 0:
        return [[0 for _ in row] for row in activity]
    return [[0 if n <= 0 else min(4, 1 + (4 * n - 1) // peak) for n in row] for row in activity]


def overview_charts(view: Overview) -> dict[str, Markup | None]:
    every = every_nth_label(view.days)
    return {
        "daily": charts.bar_chart(
            "Team spend per day (dollars)",
            tuple(day_label(point.day) for point in view.daily_spend),
            tuple(point.spend_cents / 100 for point in view.daily_spend),
            money=True,
            label_every=every,
        ),
        "spenders": charts.horizontal_bars(
            "Top spenders (dollars)",
            tuple(spender.name for spender in view.top_spenders),
            tuple(spender.spend_cents / 100 for spender in view.top_spenders),
        )
        if view.top_spenders
        else None,
        "models": charts.horizontal_bars(
            "Spend by model (dollars)",
            tuple(cost.model for cost in view.model_spend[:10]),
            tuple(cost.spend_cents / 100 for cost in view.model_spend[:10]),
        )
        if view.model_spend
        else None,
    }
