"""Pure text formatting for the console: money, counts, ages (no Textual, easy to test)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from rich.cells import cell_len, get_character_cell_size

STALE_AFTER = timedelta(hours=2)
"""Data older than this is shown in the warning style: hourly collection has stalled."""


def money(cents: float) -> str:
    """``$1,234.56``: exact enough for a table cell."""
    return f"${cents / 100:,.2f}"


def money_short(cents: float) -> str:
    """``$1.2k``: for tiles and chart ticks where width is scarce."""
    dollars = cents / 100
    if abs(dollars) >= 1_000_000:
        return f"${dollars / 1_000_000:.1f}M"
    if abs(dollars) >= 10_000:
        return f"${dollars / 1000:.0f}k"
    if abs(dollars) >= 1000:
        return f"${dollars / 1000:.1f}k"
    return f"${dollars:,.0f}"


def column_counts(values: Sequence[int]) -> list[str]:
    """A table column of counts, all in the unit of its largest value.

    ``1.0M`` above ``956,182`` reads as the smaller figure, and eyes compare a column by the
    length of its numbers: one unit per column (``0.9M`` under ``1.0M``) keeps the order
    visible. Below a million the counts are exact.
    """
    top = max((abs(value) for value in values), default=0)
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M")):
        if top >= size:
            return [f"{value / size:.1f}{suffix}" for value in values]
    return [f"{value:,}" for value in values]


def count(value: int) -> str:
    """``12,345`` under a million, ``1.2M`` above, for a tile or an axis tick (never a column)."""
    if abs(value) >= 1_000_000_000:
        return f"{value / 1_000_000_000:.1f}B"
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    return f"{value:,}"


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
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M")):
        if top >= size:
            scaled = [value / size for value in ticks]
            places = _exact_decimals(scaled, (1, 2, 3))
            return [f"{value:.{places}f}{suffix}" if value else "0" for value in scaled]
    places = _exact_decimals(ticks, (0, 1, 2))  # a small axis can step by 2.5
    return [f"{value:,.{places}f}" if value else "0" for value in ticks]


def day(value: date | None) -> str:
    """ISO day or a dash, so empty cells still align."""
    return "—" if value is None else value.isoformat()


def instant(value: datetime | None) -> str:
    """``2026-11-20 14:05 UTC`` or a dash: incident timelines are read in UTC."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def age(since: datetime | None, now: datetime) -> str:
    """``collected 12 minutes ago``; the stamp at the top of every screen."""
    if since is None:
        return "never collected"
    seconds = max(0.0, (now - since).total_seconds())
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
    return since is None or now - since > STALE_AFTER


ELLIPSIS = "…"
MIN_LABEL_WIDTH = 6
"""The narrowest a shortened label gets: room for a head, the ellipsis and a tag like ``~12``."""


def _head(text: str, cells: int) -> str:
    """The longest start of ``text`` that fits ``cells`` terminal cells.

    Printable ASCII takes a cell a character, so it is a slice; anything else is measured a
    character at a time (a table of 2,000 names asks this some 50,000 times).
    """
    if text.isascii() and text.isprintable():
        return text[: max(cells, 0)]
    used = 0
    for index, char in enumerate(text):
        used += get_character_cell_size(char)
        if used > cells:
            return text[:index]
    return text


def _tail(text: str, cells: int) -> str:
    """The longest end of ``text`` that fits ``cells`` terminal cells."""
    return _head(text[::-1], cells)[::-1]


def _cuts(text: str, width: int) -> list[tuple[str, str]]:
    """Ways to show ``text`` in ``width`` cells as (head, tail) around an ellipsis, best first.

    The end cut first ("Chloe Schm…") reads most naturally when it is unique; then cuts in
    the middle, from balanced outwards, which keep the end where model names and surnames
    differ ("claude…thinking", "Bianc…reira").
    """
    room = width - 1  # the ellipsis takes a cell
    cuts = [(_head(text, room), "")]
    balanced = (room + 1) // 2
    for offset in range(room):
        for head in (balanced + offset, balanced - offset) if offset else (balanced,):
            if 1 <= head <= room - 1:
                cut = (_head(text, head), _tail(text, room - head))
                if cut not in cuts:
                    cuts.append(cut)
    return cuts


def shorten_middle(text: str, width: int) -> str:
    """``text`` in ``width`` cells, cut in the middle so both its ends show."""
    if cell_len(text) <= width:
        return text
    room = max(width, 2) - 1
    head = (room + 1) // 2
    return _head(text, head) + ELLIPSIS + _tail(text, room - head)


def shorten_labels(labels: Sequence[str], width: int) -> list[str]:
    """Fit every label into ``width`` cells while distinct labels stay distinct.

    Labels that fit are shown whole. A longer one is cut at the end when what is left
    could not be read as another label (no other label starts the same way), else in the
    middle, trying splits until the head and tail it keeps belong to it alone; when no
    split tells two labels apart (they differ only in the part that cannot be shown), a
    numbered tag does (``claude…~2``). Two rows that look alike would hide who or what is
    meant, which is worse than an odd-looking cut. A ``width`` below
    :data:`MIN_LABEL_WIDTH` is taken as that minimum.
    """
    width = max(width, MIN_LABEL_WIDTH)
    shown = list(labels)
    options: dict[int, list[tuple[str, str]]] = {}
    for index, label in enumerate(labels):
        if cell_len(label) > width:
            options[index] = _cuts(label, width)
    if not options:
        return shown
    choice = dict.fromkeys(options, 0)

    def form(index: int) -> str:
        head, tail = options[index][choice[index]]
        return head + ELLIPSIS + tail

    # How many distinct labels start with a head and end with a tail, counted once per pair
    # of lengths: asking every other label for every cut made a 2,000-member table take most
    # of a second to refill when its names shared a long start.
    distinct = set(labels)
    sharing: dict[tuple[int, int], Counter[tuple[str, str]]] = {}

    def readers(head: str, tail: str) -> int:
        key = (len(head), len(tail))
        counts = sharing.get(key)
        if counts is None:
            h, t = key
            counts = sharing[key] = Counter(
                (other[:h], other[len(other) - t :])
                for other in distinct
                if len(other) >= max(h, t)
            )
        return counts[(head, tail)]

    def ambiguous(index: int, uses: Counter[str]) -> bool:
        head, tail = options[index][choice[index]]
        # The label itself is one reader of its head and tail; any other makes two.
        return uses[shown[index]] > 1 or readers(head, tail) > 1

    for index in options:
        shown[index] = form(index)
    while True:
        uses = Counter(shown)
        unclear = [i for i in options if choice[i] + 1 < len(options[i]) and ambiguous(i, uses)]
        if not unclear:
            break
        for index in unclear:
            choice[index] += 1
            shown[index] = form(index)
    return _tag_clashes(labels, shown, width)


def _tag_clashes(labels: Sequence[str], shown: list[str], width: int) -> list[str]:
    """Number the shortened labels that still look like another label: the last resort."""
    seen: set[str] = {form for label, form in zip(labels, shown, strict=True) if label == form}
    everything = set(shown)
    for index, (label, form) in enumerate(zip(labels, shown, strict=True)):
        if label == form:
            continue  # whole labels are distinct from one another and never change
        if form in seen:
            number = 2
            while True:
                tag = f"~{number}"
                candidate = _head(label, width - 1 - cell_len(tag)) + ELLIPSIS + tag
                if candidate not in seen and candidate not in everything:
                    form = candidate
                    break
                number += 1
            shown[index] = form
        seen.add(form)
    return shown
