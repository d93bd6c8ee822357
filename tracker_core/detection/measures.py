"""From plain per-member, per-day, per-model rows to the zero-filled usage the rules read.

The caller aggregates in SQL; everything here is pure, so the rules can be tested with hand-made
numbers and the same code serves SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Final

from tracker_core.detection.model import DayMeasure, MemberUsage

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
) -> list[MemberUsage]:
    """Zero-filled usage over ``[start, end]`` for every member the rows, names or spend know.

    A quiet day must count as a quiet day (not vanish), or averages are inflated. Members known
    only from ``cycle_spend_cents`` are kept too: that spend is real and belongs in the team
    median. Rows outside the window are ignored, except that rows from ``cycle_start`` on still
    count towards the cycle-spend fallback when Cursor's figure is missing for a member.
    Sorted by email, so every run sees the same order.
    """
    window = calendar_days(start, end)
    measures: dict[str, dict[date, list[float]]] = defaultdict(dict)
    models: dict[str, dict[date, dict[str, float]]] = defaultdict(dict)
    event_cycle_cents: dict[str, float] = defaultdict(float)
    for email, day, model, spend_cents, requests, tokens in rows:
        if cycle_start <= day <= end:
            event_cycle_cents[email] += spend_cents
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
            )
        )
    return usage


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
