"""Storage: SQLAlchemy tables, Alembic migrations, idempotent upserts and the collector lease.

Callers open the database once with :func:`open_database` and wrap each unit of work in
``with engine.begin() as conn:``; the functions here never commit on their own.
"""

from __future__ import annotations

from tracker_core.storage.db import (
    begin_write,
    describe_url,
    make_engine,
    migrate,
    open_database,
)
from tracker_core.storage.failures import database_error, database_name, is_damage
from tracker_core.storage.lease import (
    COLLECTOR_LEASE,
    acquire,
    current_holder,
    describe_holder,
    holder_is_dead_locally,
    make_holder,
    release,
    renew,
    try_acquire,
)
from tracker_core.storage.repo import (
    dialect_insert,
    finish_run,
    get_detection_settings,
    get_watermark,
    insert_usage_events,
    last_successful_run,
    mark_vanished_members,
    record_stream,
    replace_groups,
    set_detection_setting,
    set_watermark,
    spend_cents_expr,
    start_run,
    table_counts,
    upsert_analytics,
    upsert_daily_usage,
    upsert_member_spend,
    upsert_members,
    usage_totals,
)
from tracker_core.storage.tables import RUN_STATUSES, metadata

__all__ = [
    "COLLECTOR_LEASE",
    "RUN_STATUSES",
    "acquire",
    "begin_write",
    "current_holder",
    "database_error",
    "database_name",
    "describe_holder",
    "describe_url",
    "dialect_insert",
    "finish_run",
    "get_detection_settings",
    "get_watermark",
    "holder_is_dead_locally",
    "insert_usage_events",
    "is_damage",
    "last_successful_run",
    "make_engine",
    "make_holder",
    "mark_vanished_members",
    "metadata",
    "migrate",
    "open_database",
    "record_stream",
    "release",
    "renew",
    "replace_groups",
    "set_detection_setting",
    "set_watermark",
    "spend_cents_expr",
    "start_run",
    "table_counts",
    "try_acquire",
    "upsert_analytics",
    "upsert_daily_usage",
    "upsert_member_spend",
    "upsert_members",
    "usage_totals",
]
