"""How every face writes a figure: money, counts, durations, instants, ages and names.

The console, the command line, the alerts and the HTML dashboard show the same figures; each
writing its own made "$1,234.56" in one place and "$1234.56" or "1.2K" in another. Everything
here is pure (no clock, no I/O, no terminal): a face measures its cells or escapes its markup
itself. Spend is stored and passed around in cents, so money takes cents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final

DASH: Final = "—"
"""An empty cell: a dash keeps a column aligned where a blank would look like a glitch."""

STALE_AFTER: Final = timedelta(hours=2)
"""Data older than this is shown in the warning style: hourly collection has stalled."""

_LARGE: Final = ((1_000_000_000, "B"), (1_000_000, "M"))
"""Units of a count axis, largest first."""


def _signed(text: str, negative: bool) -> str:
    """``-$1.50`` rather than ``$-1.50``: the sign belongs before the currency."""
    return f"-{text}" if negative else text


def money(cents: float) -> str:
    """``$1,234.56``: exact to the cent, for a table cell, a total or an alert."""
    text = f"${abs(cents) / 100:,.2f}"
    return _signed(text, cents < 0 and text != "$0.00")


def money_short(cents: float, *, extra_digits: int = 0) -> str:
    """``$1.2k``: for tiles and chart labels where width is scarce (``extra_digits`` more
    after the point where two figures must not read alike: ``$26.9k``, ``$9.87k``).

    The unit is chosen after rounding, so $999.99 reads ``$1.0k`` (not ``$1,000``) and
    $9,999 reads ``$10k`` (not ``$10.0k``): the next unit up begins where the rounding lands.
    """
    dollars = abs(cents) / 100
    small, large = 1 + extra_digits, extra_digits  # digits below $10k, and from $10k
    if round(dollars) < 1000:
        text = f"${dollars:.0f}"
    elif round(dollars / 1000, small) < 10:
        text = f"${dollars / 1000:.{small}f}k"
    elif round(dollars / 1000, large) < 1000:
        text = f"${dollars / 1000:.{large}f}k"
    else:
        text = f"${dollars / 1_000_000:,.{small}f}M"
    return _signed(text, cents < 0 and text != "$0")


def money_range(low_cents: float, high_cents: float, *, short: bool = False) -> str:
    """``$1,200.00-$1,450.00`` (or ``$1.2k-$1.5k`` with ``short``): a forecast's p10-p90.

    A short range never reads as one figure: ends that differ by a dollar or more but
    abbreviate alike (``$27k-$27k``) take more digits (``$26.9k-$27.1k``), down to whole
    dollars."""
    if not short:
        return f"{money(low_cents)}-{money(high_cents)}"
    low, high = money_short(low_cents), money_short(high_cents)
    if low == high and round(low_cents / 100) != round(high_cents / 100):
        low = money_short(low_cents, extra_digits=1)
        high = money_short(high_cents, extra_digits=1)
        if low == high:
            low, high = f"${round(low_cents / 100):,}", f"${round(high_cents / 100):,}"
    return f"{low}-{high}"


def forecast_short(
    spent_cents: float, expected_cents: float, low_cents: float, high_cents: float
) -> tuple[str, str]:
    """``("$21.2k → $21.8k", "$21.6k-$21.9k")``: a forecast in short money for a tile, the
    spend and the expected figure as precise as the range shown under them.

    ``$21k → $22k`` over ``$21.6k-$21.9k`` put the expected figure outside its own range:
    where the range needs a digit more to keep its ends apart, so do the figures above it.
    """
    extra = 1 if money_short(low_cents) == money_short(high_cents) else 0
    headline = (
        f"{money_short(spent_cents, extra_digits=extra)} → "
        f"{money_short(expected_cents, extra_digits=extra)}"
    )
    return headline, money_range(low_cents, high_cents, short=True)


def _count_unit(top: float) -> tuple[int, str] | None:
    """The unit (size, suffix) counts up to ``top`` are written in; None for exact digits.

    Chosen after rounding, as for money: 999,960,000 is ``1.0B``, never ``1000.0M``.
    """
    top = abs(top)
    if round(top) < 1_000_000:
        return None
    if round(top / 1_000_000, 1) < 1000:
        return 1_000_000, "M"
    return 1_000_000_000, "B"


def count(value: float) -> str:
    """``12,345`` under a million, ``1.2M`` above: for a tile, a message or one figure alone.

    A column of counts uses :func:`column_counts` instead, so one column keeps one unit.
    """
    unit = _count_unit(value)
    if unit is None:
        return f"{round(value):,}"
    size, suffix = unit
    return f"{value / size:,.1f}{suffix}"


def column_counts(values: Sequence[int]) -> list[str]:
    """A column of counts, all in the unit of its largest value.

    ``1.0M`` above ``956,182`` reads as the smaller figure, and eyes compare a column by the
    length of its numbers: one unit per column (``0.9M`` under ``1.0M``) keeps the order
    visible. Below a million the counts are exact. A count too small for the unit's tenths
    is ``<0.1M``, and none at all is ``0``: ``0.0M`` beside ``4.6M`` said that 552 requests
    were none.
    """
    unit = _count_unit(max((abs(value) for value in values), default=0))
    if unit is None:
        return [f"{value:,}" for value in values]
    size, suffix = unit

    def shown(value: int) -> str:
        if not value:
            return "0"
        if round(abs(value) / size, 1) == 0:
            return f"{'-' if value < 0 else ''}<0.1{suffix}"
        return f"{value / size:,.1f}{suffix}"

    return [shown(value) for value in values]


def _exact_decimals(values: Sequence[float], choices: Sequence[int]) -> int:
    """The first of ``choices`` (decimal places) that writes every value without rounding."""
    for places in choices:
        scale = 10**places
        if all(abs(value * scale - round(value * scale)) < 1e-6 for value in values):
            return places
    return choices[-1]


def money_axis(ticks: Sequence[float]) -> list[str]:
    """Labels for a value axis in cents: one unit for the axis, each naming its tick exactly.

    ``money_short`` rounds to whole dollars (or thousands), right for a figure beside a bar
    but wrong for a tick: a $7 peak gets ticks at $2.50 and $5, and "$2" then stood on the
    $2.50 line; a $12,500 tick read "$12k". Here the axis shows cents when a tick has them,
    and thousands with the decimal a tick needs.
    """
    dollars = [tick / 100 for tick in ticks]
    top = max((abs(value) for value in dollars), default=0.0)
    if top >= 10_000:
        scaled = [value / 1000 for value in dollars]
        places = _exact_decimals(scaled, (0, 1, 2))
        return [f"${value:,.{places}f}k" if value else "$0" for value in scaled]
    places = _exact_decimals(dollars, (0, 2))
    return [f"${value:,.{places}f}" if value else "$0" for value in dollars]


def count_axis(ticks: Sequence[float]) -> list[str]:
    """Labels for a value axis of counts: whole below a million (with a decimal when a small
    axis steps by 2.5: "2" on the 2.5 line misread it), in ``M``/``B`` above with the
    decimals its ticks need (1.25M is not "1.2M")."""
    top = max((abs(value) for value in ticks), default=0.0)
    for size, suffix in _LARGE:
        if top >= size:
            scaled = [value / size for value in ticks]
            places = _exact_decimals(scaled, (1, 2, 3))
            return [f"{value:.{places}f}{suffix}" if value else "0" for value in scaled]
    places = _exact_decimals(ticks, (0, 1, 2))  # a small axis can step by 2.5
    return [f"{value:,.{places}f}" if value else "0" for value in ticks]


def duration(value: timedelta | None) -> str:
    """``42m``, ``3.5h``, ``2.1d``, or ``n/a``: an incident's response time, short enough for
    a tile or a table cell. ``n/a`` rather than a dash: the time is not known yet."""
    if value is None:
        return "n/a"
    # The unit is chosen after rounding: 59 min 40 s is "1.0h", not "60m".
    minutes = value.total_seconds() / 60
    if round(minutes) < 60:
        return f"{minutes:.0f}m"
    if round(minutes / 60, 1) < 24:
        return f"{minutes / 60:.1f}h"
    return f"{minutes / 1440:.1f}d"


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive value is taken as UTC, as storage keeps it."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def day(value: date | None) -> str:
    """An ISO day, or a dash so empty cells still align."""
    return DASH if value is None else value.isoformat()


def instant(value: datetime | None) -> str:
    """``2026-11-20 14:05 UTC``, or a dash: incidents and alerts are read in UTC everywhere,
    so a reader in another zone compares the same minute the team does."""
    return DASH if value is None else f"{as_utc(value):%Y-%m-%d %H:%M} UTC"


def age(since: datetime | None, now: datetime) -> str:
    """``collected 12 minutes ago``: how fresh the figures on a page are."""
    if since is None:
        return "never collected"
    seconds = max(0.0, (as_utc(now) - as_utc(since)).total_seconds())
    minutes = int(seconds // 60)
    if minutes < 1:
        return "collected just now"
    if minutes < 120:
        return f"collected {minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    if hours < 48:
        return f"collected {hours} hours ago"
    return f"collected {hours // 24} days ago"


def is_stale(since: datetime | None, now: datetime) -> bool:
    """Never collected, or longer ago than :data:`STALE_AFTER`."""
    return since is None or as_utc(now) - as_utc(since) > STALE_AFTER


def display_name(name: str | None, email: str) -> str:
    """The member's name, or their email when the name is missing, blank or the email itself.

    Runs of whitespace in a name collapse to one space: a name typed with a stray tab or
    newline would otherwise break a table row or an alert line.
    """
    name = " ".join((name or "").split())
    return name if name and name != email else email
