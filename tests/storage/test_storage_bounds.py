"""Rows stored before the API's values had bounds: the migration brings them in, and every sum
of tokens is one no number of events can overflow. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import insert, select

from tracker_core.storage import open_database
from tracker_core.storage import tables as t
from tracker_core.storage.db import _alembic_config, make_engine
from tracker_core.views.stats import team_stats

TODAY = date(2026, 3, 10)


def _event(number: int, input_tokens: int, output_tokens: int, charged: float) -> dict[str, object]:
    return {
        "id": f"e{number}",
        "timestamp_ms": int(datetime(2026, 3, 10, 9, tzinfo=UTC).timestamp() * 1000) + number,
        "day": TODAY,
        "user_email": "ann@x.test",
        "model": "gpt-5",
        "kind": "Usage-based",
        "max_mode": False,
        "requests_costs": 1.0,
        "is_token_based_call": True,
        "is_chargeable": True,
        "is_headless": False,
        "is_free_bugbot": False,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "token_cents": 1.0,
        "charged_cents": charged,
    }


def test_migration_repairs_rows_that_broke_every_read(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        config = _alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0006")
        # The largest each dialect could hold before: SQLite's 64-bit integers (two of them
        # overflowed its SUM), PostgreSQL's 32-bit ones (their sum overflowed the addition).
        big = 2**62 if engine.dialect.name == "sqlite" else 2**31 - 1
        with engine.begin() as conn:
            conn.execute(
                insert(t.usage_events).values(
                    [_event(1, big, 0, 1e300), _event(2, big, 3, -50.0), _event(3, 7, 8, 4.0)]
                )
            )
            # As the collector's write did: the day waits to be summed, read from the events.
            conn.execute(insert(t.rollup_stale_days).values(day=TODAY, marks=1))
    finally:
        engine.dispose()

    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            stats = team_stats(conn, days=1, today=TODAY)
            stored = conn.execute(
                select(
                    t.usage_events.c.id,
                    t.usage_events.c.input_tokens,
                    t.usage_events.c.charged_cents,
                ).order_by(t.usage_events.c.id)
            ).all()
    finally:
        engine.dispose()
    tokens = min(big, 10**12)
    assert [tuple(row) for row in stored] == [
        ("e1", tokens, None),
        ("e2", tokens, None),
        ("e3", 7, 4.0),
    ]
    assert stats.tokens == 2 * tokens + 3 + 15
    # The charges left out fall back to the model cost, as for any event without a charge.
    assert stats.total_spend_cents == 1.0 + 1.0 + 4.0
