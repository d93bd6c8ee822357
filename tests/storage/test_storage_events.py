"""Usage events: stored once, counted as new only the first time, spend summed by the rule."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date

from sqlalchemy import Engine, select

from tracker_core.domain import UsageEvent, usage_event_id, utc_day
from tracker_core.storage import insert_usage_events, table_counts, usage_totals
from tracker_core.storage import tables as t
from tracker_core.storage.repo import (
    _EVENT_COLUMNS,
    USAGE_EVENTS_VERSION,
    _sqlite_event_values,
    data_version,
)

BASE_MS = 1_741_003_200_000  # 2025-03-03 12:00 UTC


def event(
    n: int,
    *,
    charged_cents: float | None = 1.0,
    token_cents: float | None = 0.5,
    email: str = "lee@example.test",
) -> UsageEvent:
    fields = {
        "timestamp_ms": BASE_MS + n * 1000,
        "user_email": email,
        "model": "gpt-5",
        "kind": "Usage-based",
        "max_mode": False,
        "requests_costs": 1.0,
        "is_token_based_call": token_cents is not None,
        "is_chargeable": True,
        "is_headless": False,
        "input_tokens": 100 + n,
        "output_tokens": 20,
        "cache_write_tokens": 0,
        "cache_read_tokens": 4096,
        "token_cents": token_cents,
        "charged_cents": charged_cents,
    }
    return UsageEvent(
        id=usage_event_id(**fields),  # type: ignore[arg-type]
        day=utc_day(BASE_MS + n * 1000),
        cursor_token_fee=0.1,
        **fields,  # type: ignore[arg-type]
    )


def test_the_events_data_version_counts_new_events_only(db_engine: Engine) -> None:
    """The console's cache fingerprint: it must move with every new event, and only then."""
    with db_engine.connect() as conn:
        assert data_version(conn, USAGE_EVENTS_VERSION) == 0
    with db_engine.begin() as conn:
        insert_usage_events(conn, [event(n) for n in range(10)])
    with db_engine.begin() as conn:
        assert data_version(conn, USAGE_EVENTS_VERSION) == 10
        insert_usage_events(conn, [event(n) for n in range(12)])  # two new
        assert data_version(conn, USAGE_EVENTS_VERSION) == 12
    with db_engine.begin() as conn:
        insert_usage_events(conn, [event(n) for n in range(12)])  # nothing new
    with db_engine.connect() as conn:
        assert data_version(conn, USAGE_EVENTS_VERSION) == 12
    # A batch rolled back takes its count with it.
    with db_engine.connect() as conn, conn.begin() as transaction:
        insert_usage_events(conn, [event(100)])
        transaction.rollback()
    with db_engine.connect() as conn:
        assert data_version(conn, USAGE_EVENTS_VERSION) == 12


def test_new_events_are_counted_once_in_mixed_batches(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        assert insert_usage_events(conn, [event(n) for n in range(10)]) == 10
    with db_engine.begin() as conn:
        # 5 already stored, 5 new, and one new event twice in the same batch.
        batch = [event(n) for n in range(5, 15)] + [event(14)]
        assert insert_usage_events(conn, batch) == 5
    with db_engine.begin() as conn:
        assert insert_usage_events(conn, [event(n) for n in range(15)]) == 0
        assert insert_usage_events(conn, []) == 0
    with db_engine.connect() as conn:
        assert table_counts(conn)["usage_events"] == 15


def test_large_batches_count_new_rows_exactly(db_engine: Engine) -> None:
    """Batches bigger than the drivers' internal pages (1,000 rows on PostgreSQL)."""
    with db_engine.begin() as conn:
        assert insert_usage_events(conn, [event(n) for n in range(0, 5000, 2)]) == 2500
    with db_engine.begin() as conn:
        assert insert_usage_events(conn, [event(n) for n in range(5000)]) == 2500
    with db_engine.connect() as conn:
        assert usage_totals(conn)[0] == 5000


def test_stored_event_keeps_every_field(db_engine: Engine) -> None:
    original = event(7, charged_cents=4.1975, token_cents=3.8175)
    with db_engine.begin() as conn:
        insert_usage_events(conn, [original])
    with db_engine.connect() as conn:
        row = conn.execute(select(t.usage_events)).one()._mapping
    assert UsageEvent(**dict(row)) == original
    assert row["day"] == date(2025, 3, 3)


def test_usage_totals_follow_the_spend_rule(db_engine: Engine) -> None:
    events = [
        event(1, charged_cents=4.0, token_cents=3.0),  # charged wins: 4
        event(2, charged_cents=None, token_cents=2.5),  # model cost: 2.5
        event(3, charged_cents=None, token_cents=None),  # nothing: 0
        event(4, charged_cents=0.0, token_cents=9.0),  # charged zero is still charged: 0
    ]
    with db_engine.begin() as conn:
        assert usage_totals(conn) == (0, 0.0)
        insert_usage_events(conn, events)
    with db_engine.connect() as conn:
        count, cents = usage_totals(conn)
    assert count == 4
    assert cents == sum(e.spend_cents for e in events) == 6.5


def test_event_columns_are_the_event_fields() -> None:
    """The fast insert paths read each column straight off the event by name."""
    assert sorted(c.name for c in t.usage_events.columns) == sorted(
        f.name for f in fields(UsageEvent)
    )


def test_sqlite_fast_path_binds_values_in_column_order() -> None:
    original = event(3, charged_cents=None, token_cents=2.0)
    expected = tuple(
        getattr(original, c).isoformat() if c == "day" else getattr(original, c)
        for c in _EVENT_COLUMNS
    )
    assert _sqlite_event_values(original) == expected
    # Booleans are easy to swap unnoticed; give each one alone the value True.
    flags = ("max_mode", "is_token_based_call", "is_chargeable", "is_headless", "is_free_bugbot")
    for flag in flags:
        values = _sqlite_event_values(replace(original, **{f: f == flag for f in flags}))
        assert [c for c, v in zip(_EVENT_COLUMNS, values, strict=True) if v is True] == [flag]
