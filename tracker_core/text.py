"""Text for people to read: counted nouns ("1 window", "2 windows", "1,250 events") and
strings from outside made safe to print.

A line such as "1 windows" or "Last 1 days" reads as a bug and makes people doubt the figures
next to it, so every count printed before a noun goes through :func:`plural`.
"""

from __future__ import annotations

import re

_IRREGULAR = {"anomaly": "anomalies", "day": "days", "entry": "entries", "query": "queries"}


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` with thousands separators and ``noun`` agreeing with it."""
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {many or _IRREGULAR.get(noun) or noun + 's'}"


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls (ESC starts a terminal command, BEL rings, CR overwrites the line), line
separators, and the bidirectional overrides and isolates that reorder what follows them."""

_LINE_BREAKS = frozenset("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")


def printable(text: str) -> str:
    """``text`` safe to show on one line of a terminal, a table cell or a log.

    A name such as ``"\\x1b[2J"`` would clear the screen of whoever reads the report, and a
    right-to-left override would make a line say something else than its characters; line
    breaks and tabs become spaces, every other control character is dropped.
    """
    if not _UNPRINTABLE.search(text):
        return text
    return _UNPRINTABLE.sub(lambda m: " " if m.group() in _LINE_BREAKS else "", text)


_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def typed_number(text: str, *, dollars: bool = False) -> str:
    """A number as a person types it, made plain for ``float`` or ``Decimal``: ``5,000`` and
    (with ``dollars``) ``$5,000.50`` read as 5000 and 5000.50.

    Commas go only where they group thousands: ``2,5`` is left as typed, and refused as no
    number, rather than read as 25 (a decimal comma, as half of Europe writes 2.5).
    """
    plain = text.strip()
    if dollars:
        plain = plain.removeprefix("$").strip()
    if _GROUPED.fullmatch(plain):
        plain = plain.replace(",", "")
    return plain
