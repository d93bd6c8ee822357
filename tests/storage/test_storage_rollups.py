"""The usage rollup: always the same sums as the events, before and after a refresh."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, case, func, select, text

from tests.storage.test_storage_events import BASE_MS, event
from tracker_core.domain import UsageEvent, utc_day
from tracker_core.storage import insert_usage_events, open_database, rollups, spend_cents_expr
from tracker_core.storage import tables as t

DAY_MS = 86_400_000


def on_day(n: int, day_offset: int, *, email: str, model: str, cents: float | None) -> UsageEvent:
    """Event ``n`` of a member on day ``day_offset`` after 2025-03-03, with its own identity."""
    base = event(n, email=email, charged_cents=cents)
    stamp = base.timestamp_ms + day_offset * DAY_MS
    shifted = replace(base, timestamp_ms=stamp, model=model, day=utc_day(stamp))
    identity = hashlib.md5(f"{base.id}:{day_offset}:{model}".encode()).hexdigest()
    return replace(shifted, id=identity)


def team_events(days: range, *, members: int = 3) -> list[UsageEvent]:
    return [
        on_day(
            n,
            d,
            email=f"dev{m}@example.test",
            model=("gpt-5", "claude-4.5-sonnet")[n % 2],
            cents=None if n % 5 == 0 else 1.5 * (m + 1),  # no charge: the token cost counts
        )
        for d in days
        for m in range(members)
        for n in range(4 + m)
    ]


def from_events(conn: Any, start: date, end: date) -> dict[tuple[date, str, str], tuple[Any, ...]]:
    """The truth: the events summed directly, as every reader did before the rollup."""
    ue = t.usage_events
    rows = conn.execute(
        select(
            ue.c.day,
            ue.c.user_email,
            ue.c.model,
            func.sum(spend_cents_expr()),
            func.count(),
            func.sum(ue.c.input_tokens + ue.c.output_tokens),
        )
        .where(ue.c.day.between(start, end))
        .group_by(ue.c.day, ue.c.user_email, ue.c.model)
    )
    return {(d, e, m): (round(float(s), 6), int(n), int(tok)) for d, e, m, s, n, tok in rows}


def from_rollup(conn: Any, start: date, end: date) -> dict[tuple[date, str, str], tuple[Any, ...]]:
    usage = rollups.summed(conn, start, end)
    rows = conn.execute(select(usage)).all()
    summed = {
        (d if isinstance(d, date) else date.fromisoformat(d), e, m): (
            round(float(s), 6),
            int(n),
            int(tok),
        )
        for d, e, m, s, n, tok in rows
    }
    assert len(summed) == len(rows), "a key came twice: rollup and events both counted"
    return summed


FIRST = utc_day(BASE_MS)
LAST = utc_day(BASE_MS + 9 * DAY_MS)


def test_stored_events_are_summed_before_and_after_a_refresh(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        insert_usage_events(conn, team_events(range(10)))
    with db_engine.connect() as conn:
        truth = from_events(conn, FIRST, LAST)
        assert len(rollups.stale_days(conn)) == 10
        assert from_rollup(conn, FIRST, LAST) == truth  # read from the events meanwhile

    assert rollups.refresh(db_engine) == 10
    with db_engine.connect() as conn:
        assert rollups.stale_days(conn) == []
        assert from_rollup(conn, FIRST, LAST) == truth
        inner = utc_day(BASE_MS + 3 * DAY_MS), utc_day(BASE_MS + 5 * DAY_MS)
        assert from_rollup(conn, *inner) == from_events(conn, *inner)
    assert rollups.refresh(db_engine) == 0


def test_late_events_mark_only_their_days_and_repeats_mark_nothing(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        insert_usage_events(conn, team_events(range(10)))
    rollups.refresh(db_engine)

    late = [
        on_day(100 + n, 7, email="dev1@example.test", model="gpt-5", cents=40.0) for n in (1, 2)
    ]
    newcomer = on_day(1, 8, email="new@example.test", model="o3", cents=7.0)
    with db_engine.begin() as conn:
        insert_usage_events(conn, team_events(range(10)))  # the overlap re-fetched: all known
        assert rollups.stale_days(conn) == []
        insert_usage_events(conn, [*late, newcomer])
        assert rollups.stale_days(conn) == [late[0].day, newcomer.day]
    with db_engine.connect() as conn:
        truth = from_events(conn, FIRST, LAST)
        assert truth[(late[0].day, "dev1@example.test", "gpt-5")][0] > 80
        assert from_rollup(conn, FIRST, LAST) == truth

    assert rollups.refresh(db_engine) == 2
    with db_engine.connect() as conn:
        assert from_rollup(conn, FIRST, LAST) == truth


def test_upgrading_a_database_with_events_marks_every_day_of_them(db_engine: Engine) -> None:
    """Revision 0005 on a database that already holds events: nothing is summed wrongly."""
    from alembic import command

    from tracker_core.storage.db import _alembic_config

    with db_engine.begin() as conn:
        insert_usage_events(conn, team_events(range(4)))
    rollups.refresh(db_engine)
    config = _alembic_config()
    with db_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")
        command.upgrade(config, "head")
    with db_engine.connect() as conn:
        assert rollups.stale_days(conn) == [utc_day(BASE_MS + d * DAY_MS) for d in range(4)]
        assert from_rollup(conn, FIRST, LAST) == from_events(conn, FIRST, LAST)


def test_a_refresh_that_fails_leaves_the_days_marked_and_the_job_going(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_database(sqlite_url)
    try:
        with engine.begin() as conn:
            insert_usage_events(conn, team_events(range(3)))
            truth = from_events(conn, FIRST, LAST)
            # A rollup the refresh cannot write: the database refuses, as under a held lock.
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON event_rollups "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        with caplog.at_level(logging.WARNING):
            assert rollups.try_refresh(engine) == 0
        assert "could not sum the usage rollup" in caplog.text
        with engine.connect() as conn:
            assert len(rollups.stale_days(conn)) == 3
            assert from_rollup(conn, FIRST, LAST) == truth
    finally:
        engine.dispose()


def test_a_refresh_racing_a_write_never_loses_the_write(db_engine: Engine) -> None:
    """Events committed while a refresh runs are summed, now or by the next refresh.

    On PostgreSQL the refresh reads the marks, then waits on the writer's row lock at its
    delete: the mark it finds changed stays. On SQLite the refresh waits for the writer.
    """
    with db_engine.begin() as conn:
        insert_usage_events(conn, team_events(range(3)))
    rollups.refresh(db_engine)

    late = [on_day(n, 1, email="dev0@example.test", model="gpt-5", cents=25.0) for n in (7, 8)]
    with db_engine.begin() as conn:
        insert_usage_events(conn, late[:1])  # day 1 marked, for the refresh to find
    refreshed: list[int] = []
    with db_engine.connect() as writer:
        transaction = writer.begin()
        insert_usage_events(writer, late[1:])  # marks day 1 again, holding its row until commit
        racing = threading.Thread(target=lambda: refreshed.append(rollups.refresh(db_engine)))
        racing.start()
        time.sleep(0.5)
        transaction.commit()
    racing.join(timeout=60)
    assert refreshed, "the refresh did not finish"

    with db_engine.connect() as conn:
        assert from_rollup(conn, FIRST, LAST) == from_events(conn, FIRST, LAST)
    rollups.refresh(db_engine)
    with db_engine.connect() as conn:
        assert rollups.stale_days(conn) == []
        assert from_rollup(conn, FIRST, LAST) == from_events(conn, FIRST, LAST)


# --- the weekly rollup: whole weeks read as one row per member and model ---------------------

MONDAY = utc_day(BASE_MS)  # 2025-03-03
EMPTY_WEEK = range(14, 21)
"""Days (from MONDAY) of a week without a single event: Monday 17 to Sunday 23 March."""
STORED_DAYS = [d for d in range(38) if d not in EMPTY_WEEK]
"""Five weeks and three days of usage, from a Monday to a Wednesday, but for one empty week."""


def per_member_model_from_events(
    conn: Any, start: date, end: date
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The truth for a per-member reader: each member and model's sums and last day."""
    ue = t.usage_events
    rows = conn.execute(
        select(
            ue.c.user_email,
            ue.c.model,
            func.sum(spend_cents_expr()),
            func.count(),
            func.sum(ue.c.input_tokens + ue.c.output_tokens),
            func.max(ue.c.day),
        )
        .where(ue.c.day.between(start, end))
        .group_by(ue.c.user_email, ue.c.model)
    )
    return {
        (e, m): (round(float(s), 6), int(n), int(tok), as_date(last))
        for e, m, s, n, tok, last in rows
    }


def per_member_model_by_week(
    conn: Any, start: date, end: date
) -> dict[tuple[str, str], tuple[Any, ...]]:
    usage = rollups.summed_by_week(conn, start, end)
    rows = conn.execute(
        select(
            usage.c.user_email,
            usage.c.model,
            func.sum(usage.c.spend_cents),
            func.sum(usage.c.requests),
            func.sum(usage.c.tokens),
            func.max(usage.c.day),
        ).group_by(usage.c.user_email, usage.c.model)
    )
    return {
        (e, m): (round(float(s), 6), int(n), int(tok), as_date(last))
        for e, m, s, n, tok, last in rows
    }


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def rows_read(conn: Any, start: date, end: date) -> int:
    usage = rollups.summed_by_week(conn, start, end)
    return int(conn.execute(select(func.count()).select_from(usage)).scalar_one())


WINDOWS = [
    (0, 37),  # everything: five whole weeks (one empty), the last one cut after its usage
    (3, 11),  # Thursday to Friday of the next week: no whole week
    (2, 30),  # Wednesday to Monday, around the empty week
    (7, 13),  # exactly one week
    (9, 11),  # inside one week
    (15, 19),  # inside the empty week: nothing at all
    (12, 24),  # from the end of a week, over the empty one, into the next
    (29, 37),  # Tuesday to the last day with usage (a Wednesday)
    (29, 45),  # past the last usage: the cut-off days are empty
    (-5, 4),  # from before the first usage
    (5, 4),  # an end before the start: nothing
]


def window(first: int, last: int) -> tuple[date, date]:
    return MONDAY + timedelta(days=first), MONDAY + timedelta(days=last)


@pytest.mark.parametrize(("first", "last"), WINDOWS)
def test_sums_by_week_equal_the_events_for_any_window(
    db_engine: Engine, first: int, last: int
) -> None:
    with db_engine.begin() as conn:
        insert_usage_events(conn, team_events(STORED_DAYS))
    rollups.refresh(db_engine)
    start, end = window(first, last)
    with db_engine.connect() as conn:
        truth = per_member_model_from_events(conn, start, end)
        assert per_member_model_by_week(conn, start, end) == truth
    if (first, last) == (15, 19):
        assert truth == {}


def test_whole_weeks_are_read_as_one_row_per_member_and_model(db_engine: Engine) -> None:
    """The point of the weekly rollup: a window of weeks reads a row per week, not per day."""
    with db_engine.begin() as conn:
        insert_usage_events(conn, team_events(STORED_DAYS))
    rollups.refresh(db_engine)
    start, end = window(0, 34)  # five whole weeks, one of them empty
    with db_engine.connect() as conn:
        daily = int(
            conn.execute(
                select(func.count()).select_from(rollups.summed(conn, start, end))
            ).scalar_one()
        )
        by_week = rows_read(conn, start, end)
    members_and_models = 3 * 2
    assert by_week == 4 * members_and_models
    assert daily == 28 * members_and_models


def test_a_stale_day_inside_a_whole_week_is_summed_from_the_events(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        insert_usage_events(conn, team_events(STORED_DAYS))
    rollups.refresh(db_engine)
    late = [on_day(200 + n, 9, email="dev2@example.test", model="o3", cents=30.0) for n in (1, 2)]
    late.append(on_day(300, 10, email="dev0@example.test", model="gpt-5", cents=12.5))
    with db_engine.begin() as conn:
        insert_usage_events(conn, late)  # Wednesday and Thursday of the second week
    start, end = window(2, 30)
    with db_engine.connect() as conn:
        assert rollups.stale_days(conn) == [late[0].day, late[2].day]
        truth = per_member_model_from_events(conn, start, end)
        assert truth[("dev2@example.test", "o3")] == (
            60.0,
            2,
            2 * 20 + 100 + 201 + 100 + 202,
            late[0].day,
        )
        assert per_member_model_by_week(conn, start, end) == truth

    rollups.refresh(db_engine)
    with db_engine.connect() as conn:
        assert rollups.stale_days(conn) == []
        assert per_member_model_by_week(conn, start, end) == truth
        assert per_member_model_by_week(conn, *window(0, 37)) == per_member_model_from_events(
            conn, *window(0, 37)
        )


def test_usage_after_the_window_keeps_its_week_out(db_engine: Engine) -> None:
    """A window ending mid-week, with usage later that week (a clock behind the data)."""
    with db_engine.begin() as conn:
        insert_usage_events(conn, team_events(STORED_DAYS))
    rollups.refresh(db_engine)
    start, end = window(28, 33)  # Monday to Saturday; the Sunday has usage
    with db_engine.connect() as conn:
        assert per_member_model_by_week(conn, start, end) == per_member_model_from_events(
            conn, start, end
        )


def test_upgrading_a_database_with_a_rollup_sums_its_weeks(db_engine: Engine) -> None:
    """Revision 0008 on a database that already holds events and their daily rollup."""
    from alembic import command

    from tracker_core.storage.db import _alembic_config

    with db_engine.begin() as conn:
        insert_usage_events(conn, team_events(STORED_DAYS))
    rollups.refresh(db_engine)
    config = _alembic_config()
    with db_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
        command.upgrade(config, "head")
    start, end = window(2, 37)
    with db_engine.connect() as conn:
        assert rollups.stale_days(conn) == []
        assert rows_read(conn, start, end) < 20 * 6  # the weeks are there, not only the days
        assert per_member_model_by_week(conn, start, end) == per_member_model_from_events(
            conn, start, end
        )


def member_days_from_events(conn: Any, start: date, end: date) -> dict[tuple[date, str], Any]:
    """The truth per member and day: the events summed directly, every model together."""
    ue = t.usage_events
    rows = conn.execute(
        select(
            ue.c.day,
            ue.c.user_email,
            func.sum(spend_cents_expr()),
            func.count(),
            func.sum(ue.c.input_tokens + ue.c.output_tokens),
            func.sum(ue.c.cache_read_tokens),
            func.sum(case((ue.c.cache_read_tokens > 0, 1), else_=0)),
        )
        .where(ue.c.day.between(start, end))
        .group_by(ue.c.day, ue.c.user_email)
    )
    return {
        (d, e): (round(float(s), 6), int(n), int(tok), int(reads or 0), int(reading))
        for d, e, s, n, tok, reads, reading in rows
    }


def member_days(conn: Any, start: date, end: date) -> dict[tuple[date, str], Any]:
    usage = rollups.summed_by_member(conn, start, end)
    rows = conn.execute(select(usage)).all()
    summed = {
        (d if isinstance(d, date) else date.fromisoformat(d), e): (
            round(float(s), 6),
            int(n),
            int(tok),
            int(reads),
            int(reading),
        )
        for d, e, s, n, tok, reads, reading in rows
    }
    assert len(summed) == len(rows), "a member's day came twice: rollup and events both counted"
    return summed


def test_members_days_are_the_events_before_and_after_a_refresh(db_engine: Engine) -> None:
    """The member-day rollup: one row per member and day, the events' sums, a stale day
    read from its events until the refresh sums it again."""
    with db_engine.begin() as conn:
        insert_usage_events(conn, team_events(range(10)))
    with db_engine.connect() as conn:
        assert member_days(conn, FIRST, LAST) == member_days_from_events(conn, FIRST, LAST)
    rollups.refresh(db_engine)
    late = [on_day(100 + n, 7, email="dev1@example.test", model="o3", cents=40.0) for n in (1, 2)]
    with db_engine.begin() as conn:
        insert_usage_events(
            conn, [*late, on_day(1, 8, email="new@example.test", model="o3", cents=7.0)]
        )
    with db_engine.connect() as conn:
        truth = member_days_from_events(conn, FIRST, LAST)
        assert len(truth) == 10 * 3 + 1 and truth[(late[0].day, "dev1@example.test")][0] > 80
        assert any(reads for *_, reads in truth.values())  # the cache reads are carried too
        assert member_days(conn, FIRST, LAST) == truth
    assert rollups.refresh(db_engine) == 2
    with db_engine.connect() as conn:
        assert rollups.stale_days(conn) == []
        assert member_days(conn, FIRST, LAST) == truth
        count = select(func.count()).select_from(t.member_day_rollups)
        assert conn.execute(count).scalar_one() == len(truth)


def test_upgrading_a_database_with_a_rollup_sums_its_members_days(db_engine: Engine) -> None:
    """Revision 0014 on a database that already holds events and their daily rollup."""
    from alembic import command

    from tracker_core.storage.db import _alembic_config

    with db_engine.begin() as conn:
        insert_usage_events(conn, team_events(range(10)))
    rollups.refresh(db_engine)
    config = _alembic_config()
    with db_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0013")
        command.upgrade(config, "head")
    with db_engine.connect() as conn:
        assert rollups.stale_days(conn) == []
        stored = conn.execute(select(func.count()).select_from(t.member_day_rollups))
        assert stored.scalar_one() == 10 * 3
        assert member_days(conn, FIRST, LAST) == member_days_from_events(conn, FIRST, LAST)
