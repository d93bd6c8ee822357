"""Counted nouns for what people read: "1 window", "2 windows", "1,250 events".

A line such as "1 windows" or "Last 1 days" reads as a bug and makes people doubt the figures
next to it, so every count printed before a noun goes through :func:`plural`.
"""

from __future__ import annotations

_IRREGULAR = {"anomaly": "anomalies", "day": "days", "entry": "entries", "query": "queries"}


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` with thousands separators and ``noun`` agreeing with it."""
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {many or _IRREGULAR.get(noun) or noun + 's'}"
