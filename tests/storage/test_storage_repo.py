"""Upserts of members, usage, spend, groups, analytics, watermarks, runs and settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Table, select

from tracker_core.domain import (
    AnalyticsValue,
    BillingGroup,
    DailyUsage,
    GroupMembership,
    GroupsSnapshot,
    Member,
    MemberSpend,
)
from tracker_core.storage import (
    finish_run,
    get_detection_settings,
    get_watermark,
    last_successful_run,
    mark_vanished_members,
    record_stream,
    replace_groups,
    set_detection_setting,
    set_watermark,
    start_run,
    table_counts,
    upsert_analytics,
    upsert_daily_usage,
    upsert_member_spend,
    upsert_members,
)
from tracker_core.storage import tables as t

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
T2 = T0 + timedelta(hours=2)


def rows(engine: Engine, table: Table, *order: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(select(table).order_by(*(table.c[name] for name in order)))
        return [dict(row._mapping) for row in result]


def members_by_email(engine: Engine) -> dict[str, dict[str, Any]]:
    return {row["email"]: row for row in rows(engine, t.members, "email")}


# --- members ---------------------------------------------------------------------------------


def test_member_upsert_is_idempotent_and_keeps_first_seen(db_engine: Engine) -> None:
    listing = [
        Member("dana@example.test", "Dana Ortiz", "owner", user_id="50101"),
        Member("lee@example.test", "Lee Park", "member", user_id="50102"),
    ]
    with db_engine.begin() as conn:
        assert upsert_members(conn, listing, seen_at=T0) == 2
    first = members_by_email(db_engine)
    with db_engine.begin() as conn:
        upsert_members(conn, listing, seen_at=T0)
    assert members_by_email(db_engine) == first

    renamed = [Member("lee@example.test", "Lee Park-Kim", "owner", user_id=None)]
    with db_engine.begin() as conn:
        upsert_members(conn, renamed, seen_at=T1)
    lee = members_by_email(db_engine)["lee@example.test"]
    assert (lee["name"], lee["role"]) == ("Lee Park-Kim", "owner")
    assert lee["user_id"] == "50102", "an id the API left out must not erase the stored one"
    assert lee["first_seen"] == T0
    assert lee["last_seen"] == T1
    with db_engine.connect() as conn:
        assert table_counts(conn)["members"] == 2


def test_removed_at_is_stamped_once_kept_and_cleared_on_return(db_engine: Engine) -> None:
    active = Member("lee@example.test", "Lee", "member")
    removed = Member("lee@example.test", "Lee", "member", is_removed=True)
    with db_engine.begin() as conn:
        upsert_members(conn, [active], seen_at=T0)
    assert members_by_email(db_engine)["lee@example.test"]["removed_at"] is None

    with db_engine.begin() as conn:
        upsert_members(conn, [removed], seen_at=T1)
    with db_engine.begin() as conn:
        upsert_members(conn, [removed], seen_at=T2)
    lee = members_by_email(db_engine)["lee@example.test"]
    assert lee["is_removed"] is True
    assert lee["removed_at"] == T1, "the first sighting of the removal is the one kept"

    with db_engine.begin() as conn:
        upsert_members(conn, [active], seen_at=T2)
    lee = members_by_email(db_engine)["lee@example.test"]
    assert (lee["is_removed"], lee["removed_at"]) == (False, None)


def test_a_member_removed_on_first_sight_gets_removed_at(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        upsert_members(conn, [Member("x@example.test", "X", "member", is_removed=True)], seen_at=T0)
    assert members_by_email(db_engine)["x@example.test"]["removed_at"] == T0


def test_duplicate_members_in_one_batch_keep_the_last(db_engine: Engine) -> None:
    batch = [Member("a@example.test", "Old", "member"), Member("a@example.test", "New", "member")]
    with db_engine.begin() as conn:
        assert upsert_members(conn, batch, seen_at=T0) == 1
    assert members_by_email(db_engine)["a@example.test"]["name"] == "New"


def test_vanished_members_are_flagged_once_and_kept(db_engine: Engine) -> None:
    emails = [f"user{i:04d}@example.test" for i in range(1200)]
    with db_engine.begin() as conn:
        upsert_members(conn, [Member(e, e, "member") for e in emails], seen_at=T0)
    still_listed = emails[:100]
    with db_engine.begin() as conn:
        assert mark_vanished_members(conn, still_listed, at=T1) == 1100
    with db_engine.begin() as conn:
        assert mark_vanished_members(conn, still_listed, at=T2) == 0

    stored = members_by_email(db_engine)
    assert len(stored) == 1200
    assert all(stored[e]["removed_at"] is None for e in still_listed)
    gone = stored[emails[-1]]
    assert gone["removed_at"] == T1
    assert gone["is_removed"] is False, "is_removed stays the API's last word"

    with db_engine.begin() as conn:
        upsert_members(conn, [Member(emails[-1], "back", "member")], seen_at=T2)
    assert members_by_email(db_engine)[emails[-1]]["removed_at"] is None


def test_an_empty_listing_flags_nobody(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        upsert_members(conn, [Member("a@example.test", "A", "member")], seen_at=T0)
        assert mark_vanished_members(conn, [], at=T1) == 0
    assert members_by_email(db_engine)["a@example.test"]["removed_at"] is None


# --- daily usage and spend -------------------------------------------------------------------


def test_daily_usage_upsert_is_idempotent_and_updates(db_engine: Engine) -> None:
    day = date(2025, 3, 3)
    batch = [
        DailyUsage(
            "lee@example.test",
            day,
            user_id="50102",
            is_active=True,
            agent_requests=58,
            most_used_model="gpt-5",
            client_version="1.7.2",
        ),
        DailyUsage("dana@example.test", day),
        DailyUsage("lee@example.test", day - timedelta(days=1), total_tabs_shown=3),
    ]
    with db_engine.begin() as conn:
        assert upsert_daily_usage(conn, batch, collected_at=T0) == 3
    first = rows(db_engine, t.daily_usage, "day", "email")
    with db_engine.begin() as conn:
        upsert_daily_usage(conn, batch, collected_at=T0)
    assert rows(db_engine, t.daily_usage, "day", "email") == first

    later = DailyUsage("lee@example.test", day, is_active=True, agent_requests=60, bugbot_usages=2)
    with db_engine.begin() as conn:
        upsert_daily_usage(conn, [later], collected_at=T1)
    stored = {(r["day"], r["email"]): r for r in rows(db_engine, t.daily_usage, "day", "email")}
    lee = stored[(day, "lee@example.test")]
    assert (lee["agent_requests"], lee["bugbot_usages"], lee["collected_at"]) == (60, 2, T1)
    assert lee["most_used_model"] is None, "a re-fetched day replaces every field"
    assert len(stored) == 3


def test_member_spend_upsert_is_idempotent_and_updates(db_engine: Engine) -> None:
    cycle = date(2025, 3, 1)
    spend = MemberSpend(
        "lee@example.test",
        cycle,
        name="Lee",
        role="member",
        user_id="50102",
        spend_cents=1234.0,
        overall_spend_cents=5234.0,
        fast_premium_requests=17,
        monthly_limit_dollars=150.0,
    )
    previous_cycle = MemberSpend("lee@example.test", date(2025, 2, 1), spend_cents=99.0)
    with db_engine.begin() as conn:
        assert upsert_member_spend(conn, [spend, previous_cycle], collected_at=T0) == 2
    first = rows(db_engine, t.member_spend, "cycle_start")
    with db_engine.begin() as conn:
        upsert_member_spend(conn, [spend, previous_cycle], collected_at=T0)
    assert rows(db_engine, t.member_spend, "cycle_start") == first

    grown = MemberSpend(
        "lee@example.test", cycle, name="Lee", spend_cents=2000.5, monthly_limit_dollars=None
    )
    with db_engine.begin() as conn:
        upsert_member_spend(conn, [grown], collected_at=T1)
    now, before = rows(db_engine, t.member_spend, "cycle_start")[::-1]
    assert (now["spend_cents"], now["monthly_limit_dollars"], now["collected_at"]) == (
        2000.5,
        None,
        T1,
    )
    assert before["spend_cents"] == 99.0


# --- billing groups --------------------------------------------------------------------------


def snapshot(
    groups: Sequence[BillingGroup], memberships: Sequence[GroupMembership]
) -> GroupsSnapshot:
    return GroupsSnapshot(tuple(groups), tuple(memberships), date(2025, 3, 1), date(2025, 3, 31))


def group_memberships(engine: Engine) -> set[tuple[str, str]]:
    return {(r["group_id"], r["email"]) for r in rows(engine, t.group_members, "group_id", "email")}


def test_groups_replace_memberships_and_keep_vanished_groups(db_engine: Engine) -> None:
    platform = BillingGroup("g1", "Platform", member_count=2, spend_cents=500.0)
    unassigned = BillingGroup("g0", "Unassigned", is_unassigned=True)
    joined = datetime(2025, 1, 2, tzinfo=UTC)
    first = snapshot(
        [platform, unassigned],
        [
            GroupMembership("g1", "a@example.test", name="A", joined_at=joined, spend_cents=300),
            GroupMembership("g1", "b@example.test", name="B", spend_cents=200),
            GroupMembership("g0", "c@example.test", name="C"),
        ],
    )
    with db_engine.begin() as conn:
        assert replace_groups(conn, first, collected_at=T0) == 5
    stored_groups = rows(db_engine, t.billing_groups, "id")
    stored_members = rows(db_engine, t.group_members, "group_id", "email")
    with db_engine.begin() as conn:
        replace_groups(conn, first, collected_at=T0)
    assert rows(db_engine, t.billing_groups, "id") == stored_groups
    assert rows(db_engine, t.group_members, "group_id", "email") == stored_members
    assert stored_members[1]["joined_at"] == joined
    assert stored_groups[1]["cycle_end"] == date(2025, 3, 31)

    # b moved from Platform to Unassigned; Platform was renamed.
    second = snapshot(
        [BillingGroup("g1", "Platform Eng", member_count=1), unassigned],
        [
            GroupMembership("g1", "a@example.test", name="A"),
            GroupMembership("g0", "b@example.test", name="B"),
            GroupMembership("g0", "c@example.test", name="C"),
        ],
    )
    with db_engine.begin() as conn:
        replace_groups(conn, second, collected_at=T1)
    assert group_memberships(db_engine) == {
        ("g1", "a@example.test"),
        ("g0", "b@example.test"),
        ("g0", "c@example.test"),
    }
    assert rows(db_engine, t.billing_groups, "id")[1]["name"] == "Platform Eng"

    # Platform disappears from the API: it and its last memberships stay.
    with db_engine.begin() as conn:
        replace_groups(
            conn, snapshot([unassigned], [GroupMembership("g0", "c@example.test")]), collected_at=T2
        )
    assert [g["id"] for g in rows(db_engine, t.billing_groups, "id")] == ["g0", "g1"]
    assert group_memberships(db_engine) == {("g1", "a@example.test"), ("g0", "c@example.test")}


def test_memberships_of_unknown_groups_are_refused(db_engine: Engine) -> None:
    bad = snapshot([BillingGroup("g1", "One")], [GroupMembership("g9", "a@example.test")])
    with pytest.raises(ValueError, match="g9"), db_engine.begin() as conn:
        replace_groups(conn, bad, collected_at=T0)
    with db_engine.connect() as conn:
        assert table_counts(conn)["billing_groups"] == 0


def test_duplicate_memberships_in_a_snapshot_are_stored_once(db_engine: Engine) -> None:
    dupes = snapshot(
        [BillingGroup("g1", "One")],
        [
            GroupMembership("g1", "a@example.test", name="first"),
            GroupMembership("g1", "a@example.test", name="second"),
        ],
    )
    with db_engine.begin() as conn:
        assert replace_groups(conn, dupes, collected_at=T0) == 2
    assert [r["name"] for r in rows(db_engine, t.group_members, "email")] == ["second"]


# --- analytics -------------------------------------------------------------------------------


def test_analytics_upsert_is_idempotent_and_updates(db_engine: Engine) -> None:
    day = date(2025, 3, 3)
    values = [
        AnalyticsValue("dau", day, "dau", 12.0),
        AnalyticsValue("models", day, "messages", 40.0, dimension="gpt-5"),
        AnalyticsValue("mcp", day, "usage", 3.0, dimension="search", subdimension="github"),
        AnalyticsValue("mcp", day, "usage", 5.0, dimension="search", subdimension="jira"),
    ]
    with db_engine.begin() as conn:
        assert upsert_analytics(conn, values) == 4
        assert upsert_analytics(conn, values) == 0  # a re-fetch of stored values is nothing new
        upsert_analytics(conn, [AnalyticsValue("dau", day, "dau", 13.0)])
    stored = {
        (r["metric"], r["dimension"], r["subdimension"], r["field"]): r["value"]
        for r in rows(db_engine, t.analytics_values, "metric")
    }
    assert stored == {
        ("dau", "", "", "dau"): 13.0,
        ("models", "gpt-5", "", "messages"): 40.0,
        ("mcp", "search", "github", "usage"): 3.0,
        ("mcp", "search", "jira", "usage"): 5.0,
    }


# --- watermarks, runs, settings --------------------------------------------------------------


def test_watermarks_round_trip(db_engine: Engine) -> None:
    big = 1_741_003_200_123  # beyond 32 bits: the column must be a BIGINT
    with db_engine.begin() as conn:
        assert get_watermark(conn, "usage_events") is None
        set_watermark(conn, "usage_events", big, at=T0)
        set_watermark(conn, "daily_usage", 5, at=T0)
    with db_engine.begin() as conn:
        assert get_watermark(conn, "usage_events") == big
        set_watermark(conn, "usage_events", big + 1, at=T1)
    with db_engine.connect() as conn:
        assert get_watermark(conn, "usage_events") == big + 1
        assert get_watermark(conn, "daily_usage") == 5


def test_watermark_rolls_back_with_its_transaction(db_engine: Engine) -> None:
    with pytest.raises(RuntimeError), db_engine.begin() as conn:
        set_watermark(conn, "usage_events", 10, at=T0)
        raise RuntimeError("page failed")
    with db_engine.connect() as conn:
        assert get_watermark(conn, "usage_events") is None


def test_runs_streams_and_last_successful_run(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        assert last_successful_run(conn) is None
        first = start_run(conn, started_at=T0)
        record_stream(
            conn, first, "members", started_at=T0, finished_at=T0, fetched=3, new=3, error=None
        )
        finish_run(conn, first, finished_at=T0 + timedelta(minutes=1), status="ok")
        second = start_run(conn, started_at=T1)
        record_stream(
            conn,
            second,
            "usage_events",
            started_at=T1,
            finished_at=T1,
            fetched=0,
            new=0,
            error=None,
        )
        record_stream(
            conn,
            second,
            "usage_events",
            started_at=T1,
            finished_at=T2,
            fetched=10,
            new=4,
            error="timeout",
        )
        finish_run(conn, second, finished_at=T2, status="partial", error="1 stream failed")
        third = start_run(conn, started_at=T2)
        finish_run(conn, third, finished_at=T2 + timedelta(minutes=5), status="failed")
        start_run(conn, started_at=T2 + timedelta(minutes=10))
    assert second > first

    with db_engine.connect() as conn:
        assert last_successful_run(conn) == T2
    streams = rows(db_engine, t.collection_streams, "run_id", "stream")
    assert [(s["run_id"], s["stream"], s["fetched"], s["new"], s["error"]) for s in streams] == [
        (first, "members", 3, 3, None),
        (second, "usage_events", 10, 4, "timeout"),
    ]
    runs = rows(db_engine, t.collection_runs, "id")
    assert [r["status"] for r in runs] == ["ok", "partial", "failed", "running"]
    assert runs[1]["error"] == "1 stream failed"
    assert runs[3]["finished_at"] is None


def test_finish_run_refuses_unknown_status(db_engine: Engine) -> None:
    with pytest.raises(ValueError, match="'done'"), db_engine.begin() as conn:
        finish_run(conn, start_run(conn, started_at=T0), finished_at=T1, status="done")


def test_detection_settings_round_trip(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        assert get_detection_settings(conn) == {}
        set_detection_setting(conn, "spike.multiplier", "5", at=T0)
        set_detection_setting(conn, "zscore.min_users", "5", at=T0)
        set_detection_setting(conn, "spike.multiplier", "4.5", at=T1)
    with db_engine.connect() as conn:
        assert get_detection_settings(conn) == {"spike.multiplier": "4.5", "zscore.min_users": "5"}
    updated = {r["key"]: r["updated_at"] for r in rows(db_engine, t.detection_settings, "key")}
    assert updated == {"spike.multiplier": T1, "zscore.min_users": T0}
