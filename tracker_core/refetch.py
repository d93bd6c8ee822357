"""The re-fetch plan: which part of the recent past each collection reads again, and why.

Cursor delivers usage events late: most within minutes, a tail within hours, a few more than
a day. Re-reading a fixed 48 hours on every hourly run catches them but costs 24 times two
days of pages a day, and the rate limit is 20 requests a minute. A plan of tiers costs a
fraction of that: every run re-reads a short stretch before the mark, and rarer tiers re-read
longer stretches (for example every 6 hours the last day, once a day the last 48 hours).

A tier's stretch is anchored on its own previous run, not on now: a tier with a lookback of L
reads from (its last run - L). Any event that arrives between two runs of the tier, no later
than L after its time, then lies inside the second run's stretch. That is the guarantee: an
event delivered within the longest tier's lookback is stored, and the time up to which that
holds for every event ("complete up to") is the longest tier's last run minus its lookback.

Everything here is arithmetic on epoch milliseconds, so it is tested without a clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

HOUR_MS = 3_600_000
DUE_SLACK_MS = 5 * 60_000
"""A tier counts as due this much before its period is over: hourly runs drift by seconds,
and a 6-hour tier must not slip to the 7th hour because its last run started 3 s late."""


@dataclass(frozen=True)
class Tier:
    """Re-read the last ``lookback_hours`` every ``every_hours`` (0: on every run)."""

    every_hours: float
    lookback_hours: float

    @property
    def key(self) -> str:
        return f"{self.every_hours:g}h"

    @property
    def lookback_ms(self) -> int:
        return int(self.lookback_hours * HOUR_MS)


@dataclass(frozen=True)
class Pending:
    """A re-fetch that stopped before its end; the next run continues from ``done_ms``."""

    start_ms: int
    done_ms: int
    started_ms: int
    tiers: tuple[str, ...]


@dataclass(frozen=True)
class PlanState:
    """What the database keeps per stream between runs."""

    tier_runs: dict[str, int] = field(default_factory=dict)
    """When each tier's last complete re-fetch began (epoch ms), by :attr:`Tier.key`."""
    pending: Pending | None = None
    complete_up_to_ms: int | None = None
    max_lag_ms: int | None = None
    """The latest delivery the collector has seen (a lower bound of each event's delay)."""

    def to_text(self) -> str:
        data: dict[str, Any] = {"tier_runs": self.tier_runs}
        if self.pending is not None:
            p = self.pending
            data["pending"] = [p.start_ms, p.done_ms, p.started_ms, list(p.tiers)]
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_row(
        cls, text: str | None, complete_up_to_ms: int | None, max_lag_ms: int | None
    ) -> PlanState:
        data = json.loads(text) if text else {}
        raw = data.get("pending")
        pending = None
        if raw is not None:
            pending = Pending(int(raw[0]), int(raw[1]), int(raw[2]), tuple(raw[3]))
        runs = {str(k): int(v) for k, v in dict(data.get("tier_runs", {})).items()}
        return cls(runs, pending, complete_up_to_ms, max_lag_ms)


@dataclass(frozen=True)
class Fetch:
    """The stretch one run reads: ``[start_ms, end_ms]``, and the tiers it satisfies."""

    start_ms: int
    end_ms: int
    tiers: tuple[str, ...]
    started_ms: int
    """When the work began: now, or when the interrupted run it continues began."""
    resumed: bool = False


def effective_tiers(tiers: Sequence[Tier], max_lag_ms: int | None) -> list[Tier]:
    """The tiers, the longest stretched to 1.5 times the latest delivery seen if it is shorter.

    Without this a team whose events arrive later than the plan assumes would lose them
    silently; with it the plan follows the lag the API actually shows.
    """
    ordered = sorted(tiers, key=lambda tier: tier.every_hours)
    if not ordered or max_lag_ms is None:
        return ordered
    longest = max(ordered, key=lambda tier: tier.lookback_ms)
    needed = max_lag_ms * 1.5 / HOUR_MS
    if needed <= longest.lookback_hours:
        return ordered
    return [replace(t, lookback_hours=needed) if t is longest else t for t in ordered]


def due(tier: Tier, state: PlanState, now_ms: int) -> bool:
    last = state.tier_runs.get(tier.key)
    if tier.every_hours <= 0 or last is None:
        return True
    return now_ms - last >= tier.every_hours * HOUR_MS - DUE_SLACK_MS


def plan_fetch(
    tiers: Sequence[Tier], state: PlanState, mark_ms: int | None, now_ms: int, backfill_ms: int
) -> Fetch:
    """What this run reads, given the stream's mark (None before its first run)."""
    keys = tuple(tier.key for tier in tiers)
    if mark_ms is None:
        return Fetch(min(backfill_ms, now_ms), now_ms, keys, now_ms)
    pending = state.pending
    starts: list[int] = [mark_ms]
    chosen: list[str] = []
    for tier in tiers:
        if not due(tier, state, now_ms):
            continue
        chosen.append(tier.key)
        if pending is not None and tier.key in pending.tiers and tier.every_hours > 0:
            continue  # the interrupted run already read its stretch up to ``done_ms``
        anchor = mark_ms if tier.every_hours <= 0 else state.tier_runs.get(tier.key, mark_ms)
        starts.append(min(anchor, mark_ms) - tier.lookback_ms)
    if pending is None:
        return Fetch(min(starts), now_ms, tuple(chosen), now_ms)
    starts.append(pending.done_ms)
    merged = tuple(dict.fromkeys((*pending.tiers, *chosen)))
    return Fetch(min(starts), now_ms, merged, pending.started_ms, resumed=True)


def snapshot_due(
    last_read_ms: int | None, every_hours: float, now_ms: int, changed_ms: int | None = None
) -> bool:
    """Whether a stream read whole each time (members, spend, groups, daily usage) is read now.

    Such a stream costs its full page count on every read however little changed, so it is
    read again once ``every_hours`` have passed (0: on every run), or at once when something
    says it changed since the last read (``changed_ms``: the billing cycle rolled over).
    """
    if every_hours <= 0 or last_read_ms is None:
        return True
    if changed_ms is not None and last_read_ms < changed_ms <= now_ms:
        return True
    return now_ms - last_read_ms >= every_hours * HOUR_MS - DUE_SLACK_MS


def chunks(start_ms: int, end_ms: int, chunk_ms: int) -> list[tuple[int, int]]:
    """Consecutive stretches of at most ``chunk_ms`` tiling ``[start_ms, end_ms]``, oldest first.

    A long re-fetch is committed chunk by chunk, so one stopped half-way resumes from the last
    committed chunk instead of asking again for what it already stored.
    """
    pieces: list[tuple[int, int]] = []
    cursor = start_ms
    while cursor < end_ms:
        stop = min(cursor + chunk_ms, end_ms)
        pieces.append((cursor, stop))
        cursor = stop
    return pieces or [(start_ms, end_ms)]


def finished(state: PlanState, fetch: Fetch, tiers: Sequence[Tier]) -> PlanState:
    """The state after ``fetch`` completed: its tiers ran, nothing pending, completeness moved."""
    runs = dict(state.tier_runs)
    for key in fetch.tiers:
        runs[key] = fetch.started_ms
    done = replace(state, tier_runs=runs, pending=None)
    return replace(done, complete_up_to_ms=complete_up_to(done, tiers))


def complete_up_to(state: PlanState, tiers: Sequence[Tier]) -> int | None:
    """Every event before this time that Cursor delivers within the longest lookback is stored.

    Never moves backwards: a lookback stretched by a late event does not undo what earlier
    runs established.
    """
    if not tiers:
        return state.complete_up_to_ms
    longest = max(tiers, key=lambda tier: tier.lookback_ms)
    last = state.tier_runs.get(longest.key)
    if last is None:
        return state.complete_up_to_ms
    value = last - longest.lookback_ms
    if state.complete_up_to_ms is not None:
        value = max(value, state.complete_up_to_ms)
    return value


def lag_floor(timestamp_ms: int, seen: Iterable[tuple[int, int]]) -> int:
    """How late a newly found event was at least: it was absent when a stretch holding its time
    was last read. ``seen`` lists ``(from_ms, read_at_ms)`` stretches read before this run."""
    floor = 0
    for start, read_at in seen:
        if start <= timestamp_ms <= read_at:
            floor = max(floor, read_at - timestamp_ms)
    return floor


def seen_before(
    tiers: Sequence[Tier], state: PlanState, mark_ms: int | None
) -> list[tuple[int, int]]:
    """The stretches earlier runs are known to have read, for :func:`lag_floor`."""
    seen: list[tuple[int, int]] = []
    if mark_ms is not None:
        shortest = min((tier.lookback_ms for tier in tiers), default=0)
        seen.append((mark_ms - shortest, mark_ms))
    for tier in tiers:
        last = state.tier_runs.get(tier.key)
        if last is not None:
            seen.append((last - tier.lookback_ms, last))
    return seen


__all__ = [
    "Fetch",
    "Pending",
    "PlanState",
    "Tier",
    "chunks",
    "complete_up_to",
    "due",
    "effective_tiers",
    "finished",
    "lag_floor",
    "plan_fetch",
    "seen_before",
    "snapshot_due",
]
