"""Reading and writing the collected records.

Every function takes an open ``Connection`` and leaves transactions to the caller, so the
collector can commit a page of events together with the watermark it advances. Every write is
an idempotent upsert keyed by the record's identity: re-running a collection, or fetching the
same window twice on purpose, never duplicates or loses anything.

The same statements run on SQLite and PostgreSQL: the dialect only decides which ``insert``
construct provides ``ON CONFLICT`` (see :func:`dialect_insert`). The one exception is
:func:`insert_usage_events`, the collector's hot path, which has a tuned statement per dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Table,
    case,
    cast,
    delete,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from tracker_core.domain import (
    AnalyticsValue,
    DailyUsage,
    GroupsSnapshot,
    Member,
    MemberSpend,
    UsageEvent,
)
from tracker_core.refetch import PlanState
from tracker_core.storage import tables as t

_R = TypeVar("_R")

_CHUNK = 500
"""Rows per ``IN (...)`` list; well under SQLite's and PostgreSQL's parameter limits."""

_DAILY_USAGE_FIELDS: tuple[str, ...] = tuple(
    c.name for c in t.daily_usage.columns if c.name != "collected_at"
)
_MEMBER_SPEND_FIELDS: tuple[str, ...] = tuple(
    c.name for c in t.member_spend.columns if c.name != "collected_at"
)

COUNTED_TABLES: tuple[Table, ...] = (
    t.members,
    t.daily_usage,
    t.member_spend,
    t.usage_events,
    t.billing_groups,
    t.group_members,
    t.analytics_values,
)


def dialect_insert(conn: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """The dialect's own INSERT, the one that knows ``ON CONFLICT``.

    Both constructs spell upserts the same way, so callers write one statement for both.
    """
    name = conn.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"no upsert support for the {name} dialect")


def _last_per_key(rows: Iterable[_R], key: Callable[[_R], Hashable]) -> list[_R]:
    """Drop earlier rows that share a key with a later one.

    PostgreSQL refuses an ``ON CONFLICT DO UPDATE`` that touches the same row twice in one
    statement; keeping the last occurrence matches what two separate upserts would leave.
    """
    return list({key(row): row for row in rows}.values())


def _upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    overrides: Callable[[Any], Mapping[str, Any]] | None = None,
    keep: Collection[str] = (),
) -> int:
    """Insert ``rows``, updating every non-key column of rows that exist already.

    ``keep`` names columns an update must leave alone; ``overrides`` maps the incoming row
    (the ``excluded`` pseudo-table) to columns an update sets to an expression instead.
    Returns how many of the rows were not stored before: an incremental pass re-reads what it
    already has (the overlap, every member each time), and calling all of that "new" would
    hide the rows that really are.
    """
    if not rows:
        return 0
    key = [c.name for c in table.primary_key.columns]
    unique = _last_per_key(rows, lambda row: tuple(row[k] for k in key))
    stored = _count_stored(conn, table, [tuple(row[k] for k in key) for row in unique])
    stmt = dialect_insert(conn, table)
    excluded = stmt.excluded
    set_: dict[str, Any] = {
        c.name: excluded[c.name] for c in table.columns if c.name not in key and c.name not in keep
    }
    if overrides is not None:
        set_.update(overrides(excluded))
    conn.execute(stmt.on_conflict_do_update(index_elements=key, set_=set_), unique)
    return len(unique) - stored


def _count_stored(conn: Connection, table: Table, keys: Sequence[tuple[Any, ...]]) -> int:
    """How many of the primary ``keys`` (distinct) ``table`` holds already."""
    columns = list(table.primary_key.columns)
    found = 0
    for chunk in _chunks(keys):
        where = (
            columns[0].in_([k[0] for k in chunk])
            if len(columns) == 1
            else tuple_(*columns).in_(list(chunk))
        )
        found += conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()
    return found


def _chunks(items: Sequence[_R], size: int = _CHUNK) -> Iterable[Sequence[_R]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- members ---------------------------------------------------------------------------------


def upsert_members(conn: Connection, members: Sequence[Member], *, seen_at: datetime) -> int:
    """Store the listing of ``/teams/members``; returns how many members are new.

    ``first_seen`` survives updates. ``removed_at`` is stamped the first time a member is
    flagged removed and kept while they stay removed; a member listed as active again has it
    cleared, since they are back on the team. An API that omits the id keeps the stored one.
    """
    rows = [
        {
            "email": m.email,
            "user_id": m.user_id,
            "name": m.name,
            "role": m.role,
            "is_removed": m.is_removed,
            "removed_at": seen_at if m.is_removed else None,
            "first_seen": seen_at,
            "last_seen": seen_at,
        }
        for m in members
    ]
    stored = t.members.c

    def overrides(incoming: Any) -> dict[str, Any]:
        return {
            "user_id": func.coalesce(incoming.user_id, stored.user_id),
            "removed_at": case(
                (incoming.is_removed, func.coalesce(stored.removed_at, incoming.removed_at)),
                else_=None,
            ),
        }

    return _upsert(conn, t.members, rows, overrides=overrides, keep=("first_seen",))


def mark_vanished_members(
    conn: Connection, present_emails: Collection[str], *, at: datetime
) -> int:
    """Flag members the API no longer lists; returns how many were newly flagged.

    The rows are kept (their history still counts) and ``is_removed`` keeps the API's last
    word; only ``removed_at`` records that they disappeared. An empty listing flags nobody: a
    team with no members at all is far less likely than an API hiccup.
    """
    if not present_emails:
        return 0
    present = set(present_emails)
    stored = conn.execute(select(t.members.c.email).where(t.members.c.removed_at.is_(None)))
    vanished = sorted(email for (email,) in stored if email not in present)
    flagged = 0
    for chunk in _chunks(vanished):
        result = conn.execute(
            update(t.members)
            .where(t.members.c.email.in_(chunk), t.members.c.removed_at.is_(None))
            .values(removed_at=at)
        )
        flagged += result.rowcount
    return flagged


def member_emails(conn: Connection) -> set[str]:
    """Every member's email, removed members included."""
    return set(conn.scalars(select(t.members.c.email)))


# --- usage and spend -------------------------------------------------------------------------


def upsert_daily_usage(
    conn: Connection, rows: Sequence[DailyUsage], *, collected_at: datetime
) -> int:
    """Store per-member daily activity; a re-fetched day overwrites the earlier figures."""
    values = [
        {**{name: getattr(row, name) for name in _DAILY_USAGE_FIELDS}, "collected_at": collected_at}
        for row in rows
    ]
    return _upsert(conn, t.daily_usage, values)


def upsert_member_spend(
    conn: Connection, rows: Sequence[MemberSpend], *, collected_at: datetime
) -> int:
    """Store each member's spend for the cycle; the latest figures replace earlier ones."""
    values = [
        {
            **{name: getattr(row, name) for name in _MEMBER_SPEND_FIELDS},
            "collected_at": collected_at,
        }
        for row in rows
    ]
    return _upsert(conn, t.member_spend, values)


# --- usage events ----------------------------------------------------------------------------


_EVENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in t.usage_events.columns)
"""The event table's columns, named exactly like ``UsageEvent``'s fields (a test checks)."""


def _sqlite_event_values(e: UsageEvent) -> tuple[object, ...]:
    # What SQLAlchemy's own type processing would send, done inline: DATE as ISO text, and
    # booleans as they are (sqlite3 stores bool as the integer 0 or 1).
    return (
        e.id,
        e.timestamp_ms,
        e.day.isoformat(),
        e.user_email,
        e.model,
        e.kind,
        e.max_mode,
        e.requests_costs,
        e.is_token_based_call,
        e.is_chargeable,
        e.is_headless,
        e.is_free_bugbot,
        e.input_tokens,
        e.output_tokens,
        e.cache_write_tokens,
        e.cache_read_tokens,
        e.token_cents,
        e.charged_cents,
        e.cursor_token_fee,
    )


def _sqlite_event_insert(conn: Connection) -> str:
    """The ``INSERT ... ON CONFLICT DO NOTHING`` text, with positional parameters.

    Bound per row through SQLAlchemy, the type processing of nineteen columns costs twice what
    SQLite needs to store the row, so the hot path hands the driver ready-made tuples instead.
    """
    stmt = sqlite.insert(t.usage_events).on_conflict_do_nothing(index_elements=["id"])
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(_EVENT_COLUMNS))
    if tuple(compiled.positiontup or ()) != _EVENT_COLUMNS:
        raise RuntimeError("the usage_events insert does not bind its columns in table order")
    return str(compiled)


def _postgresql_event_insert(conn: Connection) -> str:
    """``INSERT ... SELECT FROM unnest(one array per column)``: one statement per batch.

    psycopg runs an executemany as one round trip per row, and SQLAlchemy's multi-row VALUES
    form costs psycopg a slow parse of a huge query; nineteen array parameters avoid both and
    are about three times faster than either.
    """
    arrays = ", ".join(
        f"CAST(:{c.name} AS {c.type.compile(dialect=conn.dialect)}[])"
        for c in t.usage_events.columns
    )
    return (
        f"INSERT INTO {t.usage_events.name} ({', '.join(_EVENT_COLUMNS)}) "
        f"SELECT * FROM unnest({arrays}) ON CONFLICT (id) DO NOTHING"
    )


def insert_usage_events(conn: Connection, events: Sequence[UsageEvent]) -> int:
    """Store events not seen before; returns how many were new.

    Events are immutable and identified by a hash of their fields, so a known id is skipped
    rather than updated, and the number of rows the database reports inserted is exactly the
    number of new events (conflicts, including repeats within the batch, do not count). This is
    the collector's hot path, hence one tuned statement per dialect. New events count up the
    ``usage_events`` data version in the same transaction (see :func:`data_version`).
    """
    if not events:
        return 0
    keep_count = {"preserve_rowcount": True}
    name = conn.dialect.name
    if name == "sqlite":
        rows = [_sqlite_event_values(e) for e in events]
        result = conn.exec_driver_sql(
            _sqlite_event_insert(conn), rows, execution_options=keep_count
        )
    elif name == "postgresql":
        arrays = {column: [getattr(e, column) for e in events] for column in _EVENT_COLUMNS}
        result = conn.execute(
            text(_postgresql_event_insert(conn)), arrays, execution_options=keep_count
        )
    else:
        raise NotImplementedError(f"no event insert for the {name} dialect")
    inserted = result.rowcount
    if inserted > 0:
        bump_data_version(conn, USAGE_EVENTS_VERSION, inserted)
        # Which rows were new is not reported, so every day of the batch is marked: a day
        # marked for nothing costs its refresh one needless sum, never a wrong figure.
        mark_days_stale(conn, {event.day for event in events})
    return inserted


def mark_days_stale(conn: Connection, days: Iterable[date]) -> None:
    """Note that the events of ``days`` changed after their rollup, in the caller's transaction.

    Whatever writes or deletes usage events calls this (as it counts the data version up),
    so readers sum those days from the events until ``rollups.refresh`` has caught up.
    """
    rows = [{"day": day, "marks": 1} for day in sorted(set(days))]
    if not rows:
        return
    stale = t.rollup_stale_days
    stmt = dialect_insert(conn, stale).values(rows)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["day"], set_={"marks": stale.c.marks + 1})
    )


USAGE_EVENTS_VERSION = "usage_events"
"""The data version every stored usage event counts up."""


def bump_data_version(conn: Connection, name: str, by: int = 1) -> None:
    """Count ``by`` changes to the data called ``name``, in the caller's transaction.

    Whatever writes or deletes that data must call this in the same transaction, so a reader
    that sees the new rows also sees the new version.
    """
    dv = t.data_versions
    stmt = dialect_insert(conn, dv).values(name=name, version=by, changed_at=datetime.now(UTC))
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"version": dv.c.version + by, "changed_at": stmt.excluded.changed_at},
        )
    )


def data_version(conn: Connection, name: str) -> int:
    """How many changes :func:`bump_data_version` has counted for ``name`` (0 before any)."""
    dv = t.data_versions
    version = conn.execute(select(dv.c.version).where(dv.c.name == name)).scalar()
    return int(version or 0)


# --- billing groups --------------------------------------------------------------------------


def replace_groups(conn: Connection, snapshot: GroupsSnapshot, *, collected_at: datetime) -> int:
    """Store the billing groups and make their memberships exactly what the API says.

    Groups missing from the snapshot are kept, with their last memberships, so history that
    refers to them still resolves. Returns how many of the rows (groups plus memberships)
    were not stored before. A membership of a group the snapshot does not describe is a
    parser bug and is refused rather than guessed at.
    """
    group_ids = {g.id for g in snapshot.groups}
    strays = sorted({m.group_id for m in snapshot.memberships} - group_ids)
    if strays:
        raise ValueError(f"memberships refer to groups missing from the snapshot: {strays}")
    group_rows = [
        {
            "id": g.id,
            "name": g.name,
            "type": g.type,
            "directory_group_id": g.directory_group_id,
            "member_count": g.member_count,
            "spend_cents": g.spend_cents,
            "is_unassigned": g.is_unassigned,
            "cycle_start": snapshot.cycle_start,
            "cycle_end": snapshot.cycle_end,
            "collected_at": collected_at,
        }
        for g in snapshot.groups
    ]
    new_groups = _upsert(conn, t.billing_groups, group_rows)
    before = {
        (group_id, email)
        for chunk in _chunks(sorted(group_ids))
        for group_id, email in conn.execute(
            select(t.group_members.c.group_id, t.group_members.c.email).where(
                t.group_members.c.group_id.in_(chunk)
            )
        )
    }
    for chunk in _chunks(sorted(group_ids)):
        conn.execute(delete(t.group_members).where(t.group_members.c.group_id.in_(chunk)))
    member_rows = _last_per_key(
        (
            {
                "group_id": m.group_id,
                "email": m.email,
                "user_id": m.user_id,
                "name": m.name,
                "joined_at": m.joined_at,
                "left_at": m.left_at,
                "spend_cents": m.spend_cents,
                "collected_at": collected_at,
            }
            for m in snapshot.memberships
        ),
        lambda row: (row["group_id"], row["email"]),
    )
    if member_rows:
        conn.execute(insert(t.group_members), member_rows)
    return new_groups + sum((row["group_id"], row["email"]) not in before for row in member_rows)


# --- analytics -------------------------------------------------------------------------------


def upsert_analytics(conn: Connection, values: Sequence[AnalyticsValue]) -> int:
    """Store Analytics API numbers; a re-fetched day replaces the earlier values."""
    rows = [
        {
            "metric": v.metric,
            "day": v.day,
            "dimension": v.dimension,
            "subdimension": v.subdimension,
            "field": v.field,
            "value": v.value,
        }
        for v in values
    ]
    return _upsert(conn, t.analytics_values, rows)


# --- watermarks ------------------------------------------------------------------------------


def get_watermark(conn: Connection, stream: str) -> int | None:
    """How far ``stream`` has been collected (epoch ms), or None before its first run."""
    value = conn.execute(
        select(t.watermarks.c.value_ms).where(t.watermarks.c.stream == stream)
    ).scalar_one_or_none()
    return None if value is None else int(value)


def set_watermark(conn: Connection, stream: str, value_ms: int, *, at: datetime) -> None:
    """Record how far ``stream`` has been collected, in the caller's transaction."""
    _upsert(conn, t.watermarks, [{"stream": stream, "value_ms": value_ms, "updated_at": at}])


def get_plan(conn: Connection, stream: str) -> PlanState:
    """The re-fetch plan state of ``stream`` (empty before its first planned run)."""
    plan = t.collection_plan.c
    row = conn.execute(
        select(plan.state, plan.complete_up_to_ms, plan.max_lag_ms).where(plan.stream == stream)
    ).one_or_none()
    if row is None:
        return PlanState()
    return PlanState.from_row(row.state, row.complete_up_to_ms, row.max_lag_ms)


def save_plan(conn: Connection, stream: str, state: PlanState, *, at: datetime) -> None:
    """Record ``stream``'s plan state, in the caller's transaction (with the rows it covers)."""
    _upsert(
        conn,
        t.collection_plan,
        [
            {
                "stream": stream,
                "state": state.to_text(),
                "complete_up_to_ms": state.complete_up_to_ms,
                "max_lag_ms": state.max_lag_ms,
                "updated_at": at,
            }
        ],
    )


def completeness(conn: Connection) -> dict[str, tuple[int | None, int | None]]:
    """Per stream: complete up to (epoch ms) and the latest delivery seen (ms), when known."""
    plan = t.collection_plan.c
    rows = conn.execute(select(plan.stream, plan.complete_up_to_ms, plan.max_lag_ms))
    return {row.stream: (row.complete_up_to_ms, row.max_lag_ms) for row in rows}


def known_event_ids(conn: Connection, ids: Collection[str]) -> set[str]:
    """Which of ``ids`` are stored already (the collector tells late arrivals by this)."""
    if not ids:
        return set()
    column = t.usage_events.c.id
    found: set[str] = set()
    wanted = list(ids)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(conn.execute(select(column).where(column.in_(chunk))).scalars())
    return found


# --- collection runs -------------------------------------------------------------------------


def start_run(conn: Connection, *, started_at: datetime) -> int:
    """Open a collection run and return its id."""
    result = conn.execute(insert(t.collection_runs).values(started_at=started_at, status="running"))
    run_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
    if run_id is None:
        raise RuntimeError("the database did not return the new run's id")
    return int(run_id)


def close_abandoned_runs(conn: Connection, *, at: datetime) -> int:
    """Mark runs still ``running`` as failed; returns how many there were.

    Only the holder of the collector lease calls this, so no such run is alive: its process
    was killed (or lost the database) before it could record how it ended.
    """
    runs = t.collection_runs
    result = conn.execute(
        update(runs)
        .where(runs.c.status == "running")
        .values(status="failed", finished_at=at, error="stopped before it finished")
    )
    return int(result.rowcount)


def record_stream(
    conn: Connection,
    run_id: int,
    stream: str,
    *,
    started_at: datetime,
    finished_at: datetime,
    fetched: int,
    new: int,
    error: str | None,
) -> None:
    """Record (or re-record) what one stream did in a run."""
    _upsert(
        conn,
        t.collection_streams,
        [
            {
                "run_id": run_id,
                "stream": stream,
                "started_at": started_at,
                "finished_at": finished_at,
                "fetched": fetched,
                "new": new,
                "error": error,
            }
        ],
    )


def finish_run(
    conn: Connection,
    run_id: int,
    *,
    finished_at: datetime,
    status: str,
    error: str | None = None,
) -> None:
    """Close a run with its outcome: ``ok``, ``partial`` (some streams failed) or ``failed``."""
    if status not in t.RUN_STATUSES or status == "running":
        raise ValueError(f"a finished run's status must be ok, partial or failed, not {status!r}")
    conn.execute(
        update(t.collection_runs)
        .where(t.collection_runs.c.id == run_id)
        .values(finished_at=finished_at, status=status, error=error)
    )


def last_successful_run(conn: Connection) -> datetime | None:
    """When the latest run that stored data (status ok or partial) finished, if any did."""
    runs = t.collection_runs
    finished: datetime | None = conn.execute(
        select(runs.c.finished_at)
        .where(runs.c.status.in_(("ok", "partial")), runs.c.finished_at.is_not(None))
        .order_by(runs.c.finished_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    # SQLite hands back naive datetimes; every stored instant is UTC.
    if finished is not None and finished.tzinfo is None:
        finished = finished.replace(tzinfo=UTC)
    return finished


# --- detection settings ----------------------------------------------------------------------


def get_detection_settings(conn: Connection) -> dict[str, str]:
    """Every stored detection setting as text; the detector parses and fills defaults."""
    rows = conn.execute(select(t.detection_settings.c.key, t.detection_settings.c.value))
    return {key: value for key, value in rows}


def set_detection_setting(conn: Connection, key: str, value: str, *, at: datetime) -> None:
    """Store one detection setting."""
    _upsert(conn, t.detection_settings, [{"key": key, "value": value, "updated_at": at}])


# --- counts ----------------------------------------------------------------------------------


def table_counts(conn: Connection) -> dict[str, int]:
    """Row counts of the data tables, for the CLI's summary and for tests."""
    counts: dict[str, int] = {}
    for table in COUNTED_TABLES:
        counts[table.name] = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    return counts


def spend_cents_expr(events: Table = t.usage_events) -> Any:
    """An event's spend in SQL: charged cents, else the model cost, else nothing."""
    charged: Column[Any] = events.c.charged_cents
    token: Column[Any] = events.c.token_cents
    return func.coalesce(charged, token, 0.0)


def tokens_expr(events: Table = t.usage_events) -> Any:
    """An event's tokens (input plus output) in SQL, as a double.

    Every token sum starts here: a double sum cannot overflow on either database, where a
    64-bit integer sum can (SQLite then fails the whole query, and kept failing every read
    until the rows were deleted by hand). It is exact up to 2^53 tokens.
    """
    inputs: Column[Any] = events.c.input_tokens
    outputs: Column[Any] = events.c.output_tokens
    return cast(inputs, Float) + cast(outputs, Float)


def usage_totals(conn: Connection) -> tuple[int, float]:
    """How many events are stored and their total spend in cents."""
    count, total = conn.execute(
        select(func.count(), func.coalesce(func.sum(spend_cents_expr()), 0.0)).select_from(
            t.usage_events
        )
    ).one()
    return int(count), float(total)
