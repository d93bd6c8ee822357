"""Opening the database: the one module that knows which dialect it talks to.

SQLite (the default) and PostgreSQL are both first-class. SQLite gets the connection settings it
needs to be shared safely between the collector, the daemon and the console (WAL, a generous
busy timeout, enforced foreign keys, real transactions); PostgreSQL gets a connection check
before each use so a long-running daemon survives a server restart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from tracker_core.errors import StorageError
from tracker_core.redact import redact

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SCHEMA_HEAD = "0014"
"""The newest migration's revision. A start compares the database with it in one query and
imports Alembic (a tenth of a second) only when there is something to migrate; a test keeps
it equal to the head of ``migrations/versions``."""

SQLITE_PRAGMAS: tuple[str, ...] = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)
"""Applied to every SQLite connection.

WAL lets the console read while the collector writes; the busy timeout makes a writer wait for
another instead of failing at once; SQLite ignores foreign keys unless asked on each connection;
``synchronous=NORMAL`` is the setting SQLite recommends with WAL: it cannot corrupt the file,
and the most a power cut can lose is the last commits, which the next collection re-fetches.
"""

_BEGIN_IMMEDIATE = "tracker_begin_immediate"
_MIGRATION_LOCK_KEY = 0x43555253_4F520001
"""Arbitrary 64-bit key for PostgreSQL's advisory lock around migrations ("CURSOR" + 1)."""

_PG_CONNECT_TIMEOUT_S = 10


def describe_url(url: str | URL) -> str:
    """The database named for a person: the URL with any password masked."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


def _normalise_url(raw: str) -> URL:
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise StorageError(
            f"the database URL {describe_url(raw)!s} is not valid: expected "
            "sqlite:////abs/path/file.db or postgresql://user@host/dbname"
        ) from exc
    if url.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver the project installs; SQLAlchemy's default would be psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            database = str(Path(database).expanduser())
            if url.query.get("uri") in ("true", "1"):
                # SQLite reads a filename as a URI only when it starts with "file:"; without
                # it, "?mode=ro" would become part of the name of a new, empty file.
                database = "file:" + database
            url = url.set(database=database)
    elif backend != "postgresql":
        raise StorageError(
            f"the database {describe_url(url)} is not supported: use SQLite or PostgreSQL"
        )
    return url


def _reason(exc: BaseException, url: URL) -> str:
    """The first line of a driver's complaint, scrubbed of the password just in case."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
    password = url.password
    return redact(text, [str(password)] if password else [])


def _sqlite_file(url: URL) -> Path | None:
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (see _on_begin): the sqlite3 module's legacy
        # mode never BEGINs before DDL or SELECT, which breaks atomic migrations and reads.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred BEGIN that reads and later writes can fail at once with "database is
        # locked" if another writer committed in between; writers that read first ask for
        # the write lock up front through begin_write().
        immediate = conn.get_execution_options().get(_BEGIN_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for ``url``, checked by connecting once so a bad URL fails here, plainly.

    Accepts ``sqlite:///path`` (the parent directory is created), ``postgresql://...`` (run
    through psycopg 3) and ``postgresql+psycopg://...``.
    """
    parsed = _normalise_url(url)
    name = describe_url(parsed)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        path = _sqlite_file(parsed)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot create the directory for the database {name}: {exc.strerror or exc}"
                ) from exc
    else:
        kwargs["pool_pre_ping"] = True
        if "connect_timeout" not in parsed.query:
            kwargs["connect_args"] = {"connect_timeout": _PG_CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError, ArgumentError, ValueError, TypeError) as exc:
        # ValueError/TypeError: a query option the driver cannot read (?timeout=abc).
        raise StorageError(f"cannot use the database {name}: {_reason(exc, parsed)}") from exc
    if backend == "sqlite":
        _install_sqlite_hooks(engine)
    try:
        with engine.connect() as conn:
            conn.execute(select(1))
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StorageError(f"cannot open the database {name}: {_reason(exc, parsed)}") from exc
    return engine


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A transaction for work that reads before it writes and must not be interleaved.

    On SQLite this takes the write lock at BEGIN (waiting up to the busy timeout for other
    writers) so the reads stay valid until commit; on PostgreSQL it is a plain transaction.
    """
    with engine.connect() as conn:
        conn.execution_options(**{_BEGIN_IMMEDIATE: True})
        with conn.begin():
            yield conn


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    # Config values go through configparser interpolation, which treats "%" specially.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


def _upgrade(config: Config, conn: Connection) -> None:
    from alembic import command

    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def _is_current(engine: Engine) -> bool:
    """Whether the schema is already at head, checked without taking any lock.

    Most starts find nothing to do; checking first spares them waiting behind a collector's
    write transaction on SQLite just to learn that. A new database has no version table yet.
    """
    with engine.connect() as conn:
        try:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return set(versions) == {SCHEMA_HEAD}
        except SQLAlchemyError:
            return False


def migrate(engine: Engine) -> None:
    """Bring the schema up to date; safe when several processes start at the same moment.

    PostgreSQL serialises migrators with a transaction-scoped advisory lock; SQLite with the
    database's write lock. Either way the second process finds the schema current and does
    nothing. DDL is transactional on both, so a failed migration leaves the schema as it was.
    """
    if _is_current(engine):
        return
    from alembic.util.exc import CommandError

    name = describe_url(engine.url)
    try:
        config = _alembic_config()
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
                _upgrade(config, conn)
        else:
            with begin_write(engine) as conn:
                _upgrade(config, conn)
    except CommandError as exc:
        message = str(exc)
        if re.search(r"Can't locate revision", message):
            raise StorageError(
                f"the database {name} was written by a newer version of the tracker; "
                "upgrade the tracker to use it"
            ) from exc
        raise StorageError(f"cannot migrate the database {name}: {message}") from exc
    except SQLAlchemyError as exc:
        raise StorageError(
            f"cannot migrate the database {name}: {_reason(exc, engine.url)}"
        ) from exc


def open_database(url: str) -> Engine:
    """An engine on an up-to-date schema: what every command calls first."""
    engine = make_engine(url)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
