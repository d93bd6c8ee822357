"""Fitting text into terminal cells: shortening labels so distinct ones stay distinct.

Figures (money, counts, times, ages) are written by :mod:`tracker_core.formatting`, shared
with the command line, the alerts and the HTML dashboard. What stays here measures terminal
cells (wide characters take two), which a web page leaves to CSS (``text-overflow``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.cells import cell_len, get_character_cell_size

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
