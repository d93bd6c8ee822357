"""Database failures told in one plain line: which database, and what went wrong with it.

A driver's exception, as SQLAlchemy wraps it, carries the SQL statement and its parameters: of
no use to a person reading a terminal or a notification, and a parameter may be a secret.
Every face (the command line, the console, the collector's per-stream errors) turns it into a
:class:`StorageError` here, so the same failure reads the same everywhere.

Failures also differ in kind. A lock held too long, a read-only file or a full disk is a
passing condition: work done as a courtesy (summing the rollup, remembering a screen) may skip
it. A damaged file or a missing table means the data cannot be trusted, and no job may end as
a success over it, so courtesy work raises those (:func:`is_damage`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final, Literal

from sqlalchemy import URL
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from tracker_core.errors import StorageError
from tracker_core.redact import redact
from tracker_core.storage.db import describe_url

Kind = Literal["busy", "read-only", "full", "missing-table", "damaged", "other"]

_SQLITE_KINDS: Final[dict[int, Kind]] = {
    5: "busy",  # SQLITE_BUSY
    6: "busy",  # SQLITE_LOCKED
    8: "read-only",  # SQLITE_READONLY
    11: "damaged",  # SQLITE_CORRUPT
    13: "full",  # SQLITE_FULL
    26: "damaged",  # SQLITE_NOTADB
}
_POSTGRES_KINDS: Final[dict[str, Kind]] = {
    "55P03": "busy",  # lock_not_available
    "40P01": "busy",  # deadlock_detected
    "25006": "read-only",  # read_only_sql_transaction
    "53100": "full",  # disk_full
    "42P01": "missing-table",  # undefined_table
    "XX001": "damaged",  # data_corrupted
    "XX002": "damaged",  # index_corrupted
}
_DAMAGE: Final[frozenset[Kind]] = frozenset({"damaged", "missing-table"})
_WRITES = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|BEGIN IMMEDIATE)\b", re.I
)
_MISSING_TABLE = re.compile(r'no such table: (\S+)|relation "([^"]+)" does not exist')


def database_name(url: str | URL | None) -> str:
    """A SQLite database by its file, any other by its URL with the password masked."""
    if url is None:
        return "the database"
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return describe_url(str(url))
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        # Resolved: a relative path names a file in whatever directory the command ran in,
        # which is exactly what a person has to find out when the wrong database was read.
        return str(Path(database).resolve()) if not database.startswith("file:") else database
    return describe_url(parsed)


def _password(url: str | URL | None) -> str | None:
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return None
    return None if parsed is None or parsed.password is None else str(parsed.password)


def _driver_text(exc: BaseException) -> str:
    """The driver's own first line: never SQLAlchemy's ``[SQL: ...]`` and parameters."""
    inner = getattr(exc, "orig", None) or exc
    lines = str(inner).strip().splitlines()
    return lines[0].strip() if lines else type(inner).__name__


def kind_of(exc: BaseException) -> Kind:
    """What sort of failure a driver reported, from its error code, not its wording."""
    inner = getattr(exc, "orig", None) or exc
    code = getattr(inner, "sqlite_errorcode", None)
    if isinstance(code, int):
        kind = _SQLITE_KINDS.get(code & 0xFF)
        if kind is not None:
            return kind
    state = getattr(inner, "sqlstate", None)
    if isinstance(state, str) and state in _POSTGRES_KINDS:
        return _POSTGRES_KINDS[state]
    if _MISSING_TABLE.search(_driver_text(exc)):
        return "missing-table"
    return "other"


def is_damage(exc: BaseException) -> bool:
    """Whether the failure says the data itself cannot be trusted (a damaged file, a missing
    table), which courtesy work must raise rather than skip."""
    return kind_of(exc) in _DAMAGE


def database_error(exc: SQLAlchemyError, url: str | URL | None) -> StorageError:
    """``exc`` as one line naming the database and the cause, with no SQL and no secrets."""
    name = database_name(url)
    kind = kind_of(exc)
    statement = getattr(exc, "statement", None) or ""
    verb = "write" if _WRITES.match(statement) else "use"
    if kind == "read-only":
        what = "read-only file" if name.startswith("/") else "read-only database"
        message = f"cannot write {name}: {what}"
    elif kind == "full":
        message = f"cannot write {name}: disk full"
    elif kind == "busy":
        message = f"cannot {verb} {name}: another process kept it locked for too long"
    elif kind == "missing-table":
        found = _MISSING_TABLE.search(_driver_text(exc))
        table = next((group for group in found.groups() if group), "?") if found else "?"
        message = (
            f"cannot use {name}: its table {table} is missing "
            "(restore a backup, or point the configuration at the right database)"
        )
    elif kind == "damaged":
        message = f"the database {name} is damaged ({_driver_text(exc)}); restore a backup"
    else:
        message = f"cannot {verb} {name}: {_driver_text(exc)}"
    # By structure, like every other secret (tracker_core.redact): a substring replace would
    # mangle the message around a short password and show where it stands.
    return StorageError(redact(message, [_password(url)]))
