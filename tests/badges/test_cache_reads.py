"""The badges' cache reads come from the daily rollup, and equal what the events hold.

On both dialects: a refreshed rollup is read instead of the events (events deleted behind the
rollup's back do not change the figures), a day whose events changed since the refresh is read
from its events, and revision 0013 gives a rollup summed before it its cache reads.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Connection, Engine, delete, func, select

from tests.badges.test_read import event
from tracker_core.domain import UsageEvent
from tracker_core.storage import insert_usage_events, rollups
from tracker_core.storage import tables as t
from tracker_core.views.badges import CacheReads, _scan_cache_reads

TODAY = date(2026, 11, 20)
START = TODAY - timedelta(days=6)


def stored_events() -> list[UsageEvent]:
    events: list[UsageEvent] = []
    for back in range(9):  # two days before the window: not counted
        day = TODAY - timedelta(days=back)
        events += [
            event("ana@x", day, 9, 10.0, 1_000 * (back + 1)),
            event("ana@x", day, 10, 5.0, 0),
            event("ben@x", day, 11, 3.0, 7 if back % 2 else 0),
        ]
    return events


def from_events(conn: Connection) -> CacheReads:
    ue = t.usage_events
    rows = conn.execute(
        select(ue.c.user_email, func.sum(ue.c.cache_read_tokens), func.count())
        .where(ue.c.day.between(START, TODAY), ue.c.cache_read_tokens > 0)
        .group_by(ue.c.user_email)
    ).all()
    return {str(email): (int(tokens), int(count)) for email, tokens, count in rows}


def test_cache_reads_are_read_from_the_rollup_and_stale_days_from_events(
    db_engine: Engine,
) -> None:
    with db_engine.begin() as conn:
        insert_usage_events(conn, stored_events())
    rollups.refresh(db_engine)
    with db_engine.connect() as conn:
        expected = from_events(conn)
        assert expected == {"ana@x": (28_000, 7), "ben@x": (21, 3)}
        assert _scan_cache_reads(conn, START, TODAY) == expected
    # Events removed without marking their day: the refreshed rollup still answers.
    with db_engine.begin() as conn:
        conn.execute(delete(t.usage_events).where(t.usage_events.c.user_email == "ben@x"))
    with db_engine.connect() as conn:
        assert _scan_cache_reads(conn, START, TODAY) == expected
    # A late event marks its day stale: that day comes from the events until a refresh.
    with db_engine.begin() as conn:
        insert_usage_events(conn, [event("cy@x", TODAY, 12, 1.0, 500)])
    with db_engine.connect() as conn:
        assert _scan_cache_reads(conn, START, TODAY) == {**expected, "cy@x": (500, 1)}


def test_upgrading_gives_a_summed_rollup_its_cache_reads(db_engine: Engine) -> None:
    from alembic import command

    from tracker_core.storage.db import _alembic_config

    with db_engine.begin() as conn:
        insert_usage_events(conn, stored_events())
    rollups.refresh(db_engine)
    config = _alembic_config()
    with db_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0012")
        command.upgrade(config, "head")
    with db_engine.connect() as conn:
        assert rollups.stale_days(conn) == []
        assert _scan_cache_reads(conn, START, TODAY) == from_events(conn)
