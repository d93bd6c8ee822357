"""From plain per-member, per-day, per-model rows to the zero-filled usage the rules read.

The caller aggregates in SQL; everything here is pure, so the rules can be tested with hand-made
numbers and the same code serves SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Final

from tracker_core.detection.model import DayMeasure, MemberUsage

PERSONAL_LOOKBACK_DAYS: Final = 28
"""Days of a member's own history that say what is usual for them (before a day, or before the
billing cycle)."""
MIN_PERSONAL_DAYS: Final = 3
"""Active days a usual level needs; with fewer (a new hire) only the team can judge."""
MIN_PACE_DAYS: Final = 7
"""Days from a member's first spend to the cycle that a pace before it needs: a new hire's
first few days say how they started (a runaway first week, say), not what is usual for them."""

UsageRow = tuple[str, date, str, float, int, int]
"""``(email, day, model, spend_cents, requests, tokens)``, one per member, UTC day and model."""


def calendar_days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included."""
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def build_usage(
    rows: Iterable[UsageRow],
    *,
    names: Mapping[str, str],
    cycle_spend_cents: Mapping[str, float],
    cycle_start: date,
    removed: Collection[str],
    start: date,
    end: date,
    groups: Mapping[str, str] | None = None,
) -> list[MemberUsage]:
    """Zero-filled usage over ``[start, end]`` for every member the rows, names or spend know.

    A quiet day must count as a quiet day (not vanish), or averages are inflated. Members known
    only from ``cycle_spend_cents`` are kept too: that spend is real and belongs in the team
    median. Rows outside the window are ignored, except that rows from ``cycle_start`` on still
    count towards the cycle-spend fallback when Cursor's figure is missing for a member, and
    rows of the :data:`PERSONAL_LOOKBACK_DAYS` before the cycle give each member's pace before
    it (``pace_before_cycle``, :func:`pace_before`), so those weeks need no zero-filled days.
    Sorted by email, so every run sees the same order. ``groups`` (email -> billing group
    name) is data the caller read; the rules only name it.
    """
    window = calendar_days(start, end)
    measures: dict[str, dict[date, list[float]]] = defaultdict(dict)
    models: dict[str, dict[date, dict[str, float]]] = defaultdict(dict)
    event_cycle_cents: dict[str, float] = defaultdict(float)
    before_start = cycle_start - timedelta(days=PERSONAL_LOOKBACK_DAYS)
    before: dict[str, dict[date, float]] = defaultdict(dict)
    for email, day, model, spend_cents, requests, tokens in rows:
        if cycle_start <= day <= end:
            event_cycle_cents[email] += spend_cents
        if before_start <= day < cycle_start:
            spent = before[email]
            spent[day] = spent.get(day, 0.0) + spend_cents
        if not start <= day <= end:
            measures.setdefault(email, {})
            continue
        totals = measures[email].setdefault(day, [0.0, 0.0, 0.0])
        totals[0] += spend_cents
        totals[1] += requests
        totals[2] += tokens
        by_model = models[email].setdefault(day, {})
        by_model[model] = by_model.get(model, 0.0) + spend_cents
    emails = sorted(set(measures) | set(names) | set(cycle_spend_cents))
    usage: list[MemberUsage] = []
    for email in emails:
        days = measures.get(email, {})
        cycle = cycle_spend_cents.get(email)
        usage.append(
            MemberUsage(
                email=email,
                name=names.get(email, ""),
                days={day: _measure(days.get(day)) for day in window},
                model_cents=dict(sorted(models.get(email, {}).items())),
                cycle_spend_cents=event_cycle_cents.get(email, 0.0) if cycle is None else cycle,
                is_removed=email in removed,
                pace_before_cycle=pace_before(before.get(email, {}), cycle_start),
                group=(groups or {}).get(email, ""),
            )
        )
    return usage


def pace_before(spent: Mapping[date, float], cycle_start: date) -> float | None:
    """A member's spend per day before the cycle, from their first active day in the lookback.

    ``spent`` holds their spend by day over the :data:`PERSONAL_LOOKBACK_DAYS` before
    ``cycle_start``. The days before their first spend there are left out, not counted as
    quiet: for someone who joined (or whose history begins) two weeks before the cycle they say
    nothing about their level, and counting them would halve it and make an ordinary month of
    theirs look like a jump. None with fewer than :data:`MIN_PERSONAL_DAYS` active days, or
    fewer than :data:`MIN_PACE_DAYS` since the first: the team alone then judges.
    """
    active = [day for day, cents in spent.items() if cents > 0 and day < cycle_start]
    if len(active) < MIN_PERSONAL_DAYS:
        return None
    first = max(min(active), cycle_start - timedelta(days=PERSONAL_LOOKBACK_DAYS))
    days = (cycle_start - first).days
    if days < MIN_PACE_DAYS:
        return None
    return sum(c for d, c in spent.items() if first <= d < cycle_start) / days


QUIET_DAY = DayMeasure()
"""Every day without usage, shared: most of a large team's window is quiet days."""


def _measure(totals: list[float] | None) -> DayMeasure:
    if totals is None:
        return QUIET_DAY
    return DayMeasure(spend_cents=totals[0], requests=int(totals[1]), tokens=int(totals[2]))


def top_model(usage: MemberUsage, days: Iterable[date]) -> tuple[str, float] | tuple[None, None]:
    """The model that took most of the spend over ``days``, and its share (0..1) of it.

    Ties go to the alphabetically first model, so the answer never depends on row order.
    """
    spend: dict[str, float] = defaultdict(float)
    for day in days:
        for model, cents in usage.model_cents.get(day, {}).items():
            spend[model] += cents
    total = sum(cents for cents in spend.values() if cents > 0)
    if total <= 0:
        return None, None
    model, cents = min(spend.items(), key=lambda item: (-item[1], item[0]))
    return model, cents / total


def onset_index(values: Sequence[float], threshold: float) -> int | None:
    """The index at which the running sum of ``values`` first goes above ``threshold``.

    Rules fire strictly above their threshold, so reaching it exactly is not the onset. The
    caller maps the index back to the usage event, to say when an anomaly began.
    """
    running = 0.0
    for index, value in enumerate(values):
        running += value
        if running > threshold:
            return index
    return None


def median(values: Iterable[float]) -> float:
    """The true median: the mean of the two middle values for an even count.

    (The original tool took the upper middle value, which overstates a small team's median.)
    Raises ``statistics.StatisticsError`` (a ``ValueError``) when ``values`` is empty.
    """
    return float(statistics.median(values))


MAD_TO_SIGMA: Final = 1.4826
"""Scales a median absolute deviation to a standard deviation for normally distributed data, so
a robust z-score reads on the same scale as the familiar one."""


def log_center_spread(logs: Sequence[float]) -> tuple[float, float]:
    """Median and scaled MAD of values already on the log scale.

    Median and MAD ignore the few extreme values a detector is looking for, where a mean and a
    standard deviation are dragged towards them. Raises ``StatisticsError`` when empty.
    """
    center = float(statistics.median(logs))
    spread = MAD_TO_SIGMA * float(statistics.median(abs(v - center) for v in logs))
    return center, spread


def robust_z(value: float, center: float, spread: float) -> float:
    """How many spreads ``value`` lies above ``center``.

    With no spread at all, anything above the common value is infinitely unusual.
    """
    if spread > 0:
        return (value - center) / spread
    return math.inf if value > center else 0.0


def center_spread_without(
    team: Sequence[float], own: Iterable[float]
) -> tuple[float, float] | None:
    """:func:`log_center_spread` of ``team`` (sorted) with ``own``'s values left out.

    Leaving one member out of a large team's sorted values costs a copy and a few deletions,
    and the MAD is then the middle of two sorted runs (deviations below and above the centre),
    found by bisection instead of sorting every deviation: a run over thousands of members
    stays linear. None when nothing is left.
    """
    others = list(team)
    for value in own:
        del others[bisect_left(others, value)]
    n = len(others)
    if n == 0:
        return None
    middle = n // 2
    center = others[middle] if n % 2 else (others[middle - 1] + others[middle]) / 2.0
    split = bisect_left(others, center)

    def below(t: int) -> float:
        return center - others[split - 1 - t]

    def above(t: int) -> float:
        return others[split + t] - center

    sizes = (split, n - split)
    if n % 2:
        mad = _kth_of_two(below, above, sizes, middle)
    else:
        mad = (
            _kth_of_two(below, above, sizes, middle - 1) + _kth_of_two(below, above, sizes, middle)
        ) / 2.0
    return center, MAD_TO_SIGMA * mad


def _kth_of_two(
    a: Callable[[int], float], b: Callable[[int], float], sizes: tuple[int, int], k: int
) -> float:
    """The ``k``-th smallest (from 0) of two ascending runs given by index functions."""
    len_a, len_b = sizes
    low, high = max(0, k + 1 - len_b), min(k + 1, len_a)
    while True:
        i = (low + high) // 2  # taken from a
        j = k + 1 - i  # taken from b
        if i > 0 and j < len_b and a(i - 1) > b(j):
            high = i - 1
        elif j > 0 and i < len_a and b(j - 1) > a(i):
            low = i + 1
        else:
            last_a = a(i - 1) if i > 0 else -math.inf
            last_b = b(j - 1) if j > 0 else -math.inf
            return max(last_a, last_b)
