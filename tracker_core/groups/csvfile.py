"""Reading a spreadsheet export (HiBob's People Directory, a groups backup) as named columns.

A real CSV reader rather than a split on commas: quoted fields may hold commas, quotes and
line breaks ("Doe, John"); the file may start with a UTF-8 BOM, end lines with CRLF, and use
``;`` (what spreadsheets write where the comma is the decimal mark), which is sniffed from the
header line. Headers are matched whatever their case, spacing or order. Every refusal names
the line (and the column) at fault, so a person can fix the file and try again (pure).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tracker_core.groups.names import GroupInputError

DELIMITERS = (",", ";", "\t")
MAX_CELL = 1000
"""Longer than any name, email or department; a longer cell means the file is not a roster."""


@dataclass(frozen=True)
class CsvRow:
    line: int
    """The file line the record starts on (1 is the header)."""
    cells: dict[str, str]
    """Column key (as the caller named it) -> the trimmed cell; absent optional columns: ""."""


def header_key(text: str) -> str:
    """A header as matched: case folded, spaces, underscores and hyphens as one space."""
    return " ".join(re.split(r"[\s_\-]+", text.strip().casefold())).strip()


def decode(data: bytes) -> str:
    """The file's text: UTF-8 with or without a BOM; anything else is refused with its line."""
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise GroupInputError(f"line {line}: the file is binary, not a CSV text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise GroupInputError(
            f"line {line}: the file is not UTF-8 text (save the CSV as UTF-8)"
        ) from None


def _delimiter(header: str) -> str:
    """The delimiter the header line uses most outside quotes (a comma when in doubt)."""
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_rows(
    data: bytes,
    columns: Mapping[str, Sequence[str]],
    *,
    required: Sequence[str],
    label: Mapping[str, str],
) -> list[CsvRow]:
    """The file's records as ``columns`` names them.

    ``columns`` maps a key to the header spellings that mean it (matched by :func:`header_key`,
    the first present wins); ``required`` keys must be present, ``label`` gives each key's name
    as a person would write it in an error.
    """
    text = decode(data)
    if not text.strip():
        wanted = ", ".join(label[key] for key in required)
        raise GroupInputError(f"the file is empty: expected a header line with {wanted}")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_delimiter(first_line), strict=True
    )
    rows: list[CsvRow] = []
    header: list[str] | None = None
    positions: dict[str, int] = {}
    previous_end = 0
    try:
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # blank lines, as spreadsheets leave at the end
            if header is None:
                header = [header_key(cell) for cell in record]
                positions = _positions(header, columns, required, label, record)
                continue
            if len(record) > len(header) and any(cell.strip() for cell in record[len(header) :]):
                raise GroupInputError(
                    f"line {start}: {len(record)} cells where the header has {len(header)} "
                    "(a value with the delimiter in it must be quoted)"
                )
            cells: dict[str, str] = {}
            for key, index in positions.items():
                cell = record[index].strip() if index < len(record) else ""
                if len(cell) > MAX_CELL:
                    raise GroupInputError(
                        f"line {start}, column {label[key]}: a cell of {len(cell)} characters"
                    )
                cells[key] = cell
            for key in columns:
                cells.setdefault(key, "")
            rows.append(CsvRow(start, cells))
    except csv.Error as exc:
        raise GroupInputError(f"line {reader.line_num}: not valid CSV ({exc})") from None
    if header is None:  # pragma: no cover - a non-blank text has a first record
        raise GroupInputError("the file has no header line")
    return rows


def _positions(
    header: list[str],
    columns: Mapping[str, Sequence[str]],
    required: Sequence[str],
    label: Mapping[str, str],
    raw: list[str],
) -> dict[str, int]:
    positions: dict[str, int] = {}
    for key, spellings in columns.items():
        for spelling in spellings:
            if header_key(spelling) in header:
                positions[key] = header.index(header_key(spelling))
                break
    missing = [label[key] for key in required if key not in positions]
    if missing:
        found = ", ".join(cell.strip() for cell in raw if cell.strip())[:200]
        raise GroupInputError(
            f"line 1: the CSV lacks the {'column' if len(missing) == 1 else 'columns'} "
            f"{', '.join(missing)} (its header has: {found})"
        )
    return positions
