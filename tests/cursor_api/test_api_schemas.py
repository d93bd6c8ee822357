"""Parsing of the documented payloads, tolerance where the record is unsure, precise errors."""

from __future__ import annotations

import copy
import math
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tracker_core.cursor_api import (
    SUPPORTED_ANALYTICS_METRICS,
    parse_analytics,
    parse_daily_usage,
    parse_groups,
    parse_members,
    parse_spend,
    parse_usage_events,
)
from tracker_core.cursor_api.schemas import MAX_DAILY_COUNT, MAX_TEXT, Correction
from tracker_core.domain import ANALYTICS_METRICS, AnalyticsValue, usage_event_id
from tracker_core.errors import ApiResponseError

MEMBERS: dict[str, Any] = {
    "teamMembers": [
        {"id": 50101, "name": "Dana Ortiz", "email": "Dana@Example.test", "role": "owner",
         "isRemoved": False},
        {"id": 50102, "name": "Lee Park", "email": "lee@example.test", "role": "member",
         "isRemoved": True},
    ]
}  # fmt: skip

DAILY: dict[str, Any] = {
    "data": [
        {"userId": 50102, "day": "2025-03-03", "date": 1740960000000, "email": "lee@example.test",
         "isActive": True, "totalLinesAdded": 812, "totalLinesDeleted": 140,
         "acceptedLinesAdded": 390, "acceptedLinesDeleted": 61, "totalApplies": 33,
         "totalAccepts": 27, "totalRejects": 4, "totalTabsShown": 210, "totalTabsAccepted": 97,
         "composerRequests": 0, "chatRequests": 6, "agentRequests": 58, "cmdkUsages": 3,
         "subscriptionIncludedReqs": 61, "apiKeyReqs": 0, "usageBasedReqs": 6, "bugbotUsages": 0,
         "mostUsedModel": "claude-sonnet-4.5", "applyMostUsedExtension": ".py",
         "tabMostUsedExtension": ".py", "clientVersion": "1.7.2"}
    ],
    "period": {"startDate": 1740960000000, "endDate": 1741046400000},
    "pagination": {"page": 1, "pageSize": 100, "totalUsers": 1, "totalPages": 1,
                   "hasNextPage": False, "hasPreviousPage": False},
}  # fmt: skip

SPEND: dict[str, Any] = {
    "teamMemberSpend": [
        {"userId": 50102, "name": "Lee Park", "email": "lee@example.test", "role": "member",
         "spendCents": 1234, "overallSpendCents": 5234, "fastPremiumRequests": 17,
         "hardLimitOverrideDollars": 0, "monthlyLimitDollars": 150}
    ],
    "subscriptionCycleStart": 1740787200000,
    "totalMembers": 42,
    "totalPages": 1,
}  # fmt: skip

EVENTS: dict[str, Any] = {
    "totalUsageEventsCount": 2,
    "pagination": {"numPages": 1, "currentPage": 1, "pageSize": 100, "hasNextPage": False,
                   "hasPreviousPage": False},
    "usageEvents": [
        {"timestamp": "1741003200123", "userEmail": "lee@example.test", "model": "gpt-5",
         "kind": "Usage-based", "maxMode": False, "requestsCosts": 2, "isTokenBasedCall": True,
         "isChargeable": True, "isHeadless": False,
         "tokenUsage": {"inputTokens": 5210, "outputTokens": 880, "cacheWriteTokens": 0,
                        "cacheReadTokens": 40960, "totalCents": 3.8175},
         "chargedCents": 4.1975, "cursorTokenFee": 0.38, "isFreeBugbot": False},
        {"timestamp": "1741001000456", "userEmail": "dana@example.test",
         "model": "claude-sonnet-4.5", "kind": "Included in Business", "maxMode": False,
         "requestsCosts": 1, "isTokenBasedCall": False, "isChargeable": False,
         "isHeadless": True, "chargedCents": 0, "isFreeBugbot": False},
    ],
    "period": {"startDate": 1740960000000, "endDate": 1741046400000},
}  # fmt: skip

GROUPS: dict[str, Any] = {
    "groups": [
        {"id": "group_abc", "name": "Platform", "type": "BILLING", "directoryGroupId": None,
         "memberCount": 2, "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-02-01T00:00:00Z",
         "spendCents": 9000,
         "currentMembers": [
             {"userId": "user_1", "name": "Lee Park", "email": "LEE@example.test",
              "joinedAt": "2025-01-02T10:00:00Z", "leftAt": None, "spendCents": 5000}],
         "formerMembers": [
             {"userId": "user_2", "name": "Old Timer", "email": "old@example.test",
              "joinedAt": "2025-01-02T10:00:00Z", "leftAt": "2025-02-10T08:30:00+00:00",
              "spendCents": 4000}],
         "dailySpend": [{"date": "2025-03-02", "spendCents": 100}]}
    ],
    "unassignedGroup": {
        "id": "group_unassigned", "name": "Unassigned", "type": "BILLING", "memberCount": 1,
        "spendCents": 10,
        "currentMembers": [{"userId": "user_3", "name": "Dana", "email": "dana@example.test",
                            "joinedAt": "2025-01-01T00:00:00.000Z", "spendCents": 10}],
        "formerMembers": []},
    "billingCycle": {"cycleStart": "2025-03-01T00:00:00.000Z", "cycleEnd": "2025-04-01T00:00:00Z"},
}  # fmt: skip


def fails(match: str) -> pytest.RaisesExc[ApiResponseError]:
    return pytest.raises(ApiResponseError, match=re.escape(match))


# ---------------------------------------------------------------- members


def test_members_documented_example() -> None:
    members = parse_members(MEMBERS)
    assert [m.email for m in members] == ["dana@example.test", "lee@example.test"]
    assert members[0].user_id == "50101"
    assert members[0].role == "owner"
    assert [m.is_removed for m in members] == [False, True]


def test_members_tolerates_older_shapes() -> None:
    members = parse_members(
        {"teamMembers": [{"name": "A", "email": "a@x.test", "role": "free-owner"},
                         {"id": "user_9", "email": "b@x.test"}]}
    )  # fmt: skip
    assert members[0].user_id is None and members[0].is_removed is False
    assert members[1].user_id == "user_9" and members[1].name == ""


def test_members_malformed() -> None:
    with fails("GET /teams/members: teamMembers is missing"):
        parse_members({})
    with fails("GET /teams/members: teamMembers[1].email is missing"):
        parse_members({"teamMembers": [{"email": "a@x.test"}, {"name": "B"}]})
    with fails("GET /teams/members: teamMembers[0].isRemoved is not a boolean ('no')"):
        parse_members({"teamMembers": [{"email": "a@x.test", "isRemoved": "no"}]})
    with fails("GET /teams/members: the answer is not a JSON object ([])"):
        parse_members([])


# ---------------------------------------------------------------- daily usage


def test_daily_usage_documented_example() -> None:
    parsed = parse_daily_usage(DAILY)
    [row] = parsed.items
    assert row.email == "lee@example.test"
    assert row.day == date(2025, 3, 3)
    assert row.user_id == "50102"
    assert row.is_active is True
    assert row.total_lines_added == 812
    assert row.agent_requests == 58
    assert row.subscription_included_reqs == 61
    assert row.most_used_model == "claude-sonnet-4.5"
    assert row.client_version == "1.7.2"
    assert parsed.pagination.has_next_page is False
    assert parsed.pagination.total_pages == 1
    assert parsed.pagination.total_count == 1


def test_daily_usage_falls_back_to_date_ms_and_accepts_floats() -> None:
    payload = {"data": [{"date": 1740960000000, "email": "a@x.test", "agentRequests": 3.0}]}
    [row] = parse_daily_usage(payload).items
    assert row.day == date(2025, 3, 3)
    assert row.agent_requests == 3
    assert row.is_active is True  # no isActive: judged by activity
    [idle] = parse_daily_usage({"data": [{"day": "2025-03-03", "email": "b@x.test"}]}).items
    assert idle.is_active is False
    assert parse_daily_usage({"data": []}).pagination.has_next_page is None


def test_daily_usage_malformed() -> None:
    good = DAILY["data"][0]
    with fails("POST /teams/daily-usage-data: data[1].day is missing"):
        parse_daily_usage({"data": [good, {"email": "a@x.test"}]})
    with fails("data[0].day is not a YYYY-MM-DD date ('03/03/2025')"):
        parse_daily_usage({"data": [{**good, "day": "03/03/2025"}]})
    with fails("data[0].email is not a string (7)"):
        parse_daily_usage({"data": [{**good, "email": 7}]})
    with fails("data[0].agentRequests is not a number ('many')"):
        parse_daily_usage({"data": [{**good, "agentRequests": "many"}]})
    with fails("POST /teams/daily-usage-data: data is not a list ({})"):
        parse_daily_usage({"data": {}})
    with fails("data[0].date is not epoch milliseconds ('x')"):
        parse_daily_usage({"data": [{"email": "a@x.test", "date": "x"}]})


# ---------------------------------------------------------------- spend


def test_spend_documented_example() -> None:
    page = parse_spend(SPEND)
    [row] = page.items
    assert page.cycle_start == date(2025, 3, 1)
    assert row.cycle_start == date(2025, 3, 1)
    assert row.email == "lee@example.test"
    assert row.spend_cents == 1234.0
    assert row.overall_spend_cents == 5234.0
    assert row.fast_premium_requests == 17
    assert row.monthly_limit_dollars == 150.0
    assert row.hard_limit_override_dollars == 0.0
    assert (page.total_pages, page.total_members) == (1, 42)


def test_spend_optional_fields() -> None:
    payload = {
        "teamMemberSpend": [{"email": "a@x.test", "spendCents": 1.5, "monthlyLimitDollars": None}],
        "subscriptionCycleStart": "1740787200000",
    }
    page = parse_spend(payload)
    assert page.items[0].overall_spend_cents is None
    assert page.items[0].monthly_limit_dollars is None
    assert page.total_pages is None


def test_spend_malformed() -> None:
    with fails("POST /teams/spend: subscriptionCycleStart is missing"):
        parse_spend({"teamMemberSpend": []})
    with fails("POST /teams/spend: teamMemberSpend[0].spendCents is not a number ('12')"):
        parse_spend({**SPEND, "teamMemberSpend": [{"email": "a@x.test", "spendCents": "12"}]})


# ---------------------------------------------------------------- usage events


def test_usage_events_documented_example() -> None:
    parsed = parse_usage_events(EVENTS)
    first, second = parsed.items
    assert first.timestamp_ms == 1741003200123
    assert first.day == date(2025, 3, 3)
    assert first.user_email == "lee@example.test"
    assert (first.input_tokens, first.output_tokens, first.cache_read_tokens) == (5210, 880, 40960)
    assert first.token_cents == 3.8175
    assert first.charged_cents == 4.1975
    assert first.cursor_token_fee == 0.38
    assert first.is_chargeable and not first.is_headless
    assert first.id == usage_event_id(
        timestamp_ms=1741003200123, user_email="lee@example.test", model="gpt-5",
        kind="Usage-based", max_mode=False, requests_costs=2, is_token_based_call=True,
        is_chargeable=True, is_headless=False, input_tokens=5210, output_tokens=880,
        cache_write_tokens=0, cache_read_tokens=40960, token_cents=3.8175, charged_cents=4.1975,
    )  # fmt: skip
    assert second.token_cents is None and second.input_tokens == 0
    assert second.is_headless and second.charged_cents == 0.0
    assert parsed.pagination.total_pages == 1
    assert parsed.pagination.current_page == 1
    assert parsed.pagination.total_count == 2


def test_usage_event_id_is_stable_across_number_forms() -> None:
    a = copy.deepcopy(EVENTS)
    a["usageEvents"][0]["timestamp"] = 1741003200123
    a["usageEvents"][0]["requestsCosts"] = 2.0
    a["usageEvents"][0]["userEmail"] = "LEE@example.test"
    assert parse_usage_events(a).items[0].id == parse_usage_events(EVENTS).items[0].id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timestamp": "abc"}, "usageEvents[1].timestamp is not epoch milliseconds ('abc')"),
        ({"timestamp": "1741003200"}, "usageEvents[1].timestamp is not epoch milliseconds"),
        ({"timestamp": None}, "usageEvents[1].timestamp is missing"),
        ({"userEmail": None}, "usageEvents[1].userEmail is missing"),
        ({"maxMode": 1}, "usageEvents[1].maxMode is not a boolean (1)"),
        ({"tokenUsage": {"inputTokens": "5"}}, "usageEvents[1].tokenUsage.inputTokens is not"),
        ({"tokenUsage": [1]}, "usageEvents[1].tokenUsage is not a JSON object ([1])"),
        ({"chargedCents": "4.2"}, "usageEvents[1].chargedCents is not a number ('4.2')"),
    ],
)
def test_usage_events_malformed(change: dict[str, Any], message: str) -> None:
    payload = copy.deepcopy(EVENTS)
    payload["usageEvents"][1].update(change)
    with fails(f"POST /teams/filtered-usage-events: {message}"):
        parse_usage_events(payload)


def test_usage_events_list_required() -> None:
    with fails("POST /teams/filtered-usage-events: usageEvents is not a list ('none')"):
        parse_usage_events({"usageEvents": "none"})
    with fails("POST /teams/filtered-usage-events: usageEvents is missing"):
        parse_usage_events({"pagination": {}})


# ---------------------------------------------------------------- groups


def test_groups_snapshot() -> None:
    snapshot = parse_groups(GROUPS)
    platform, unassigned = snapshot.groups
    assert (platform.id, platform.name, platform.member_count) == ("group_abc", "Platform", 2)
    assert platform.spend_cents == 9000.0 and not platform.is_unassigned
    assert unassigned.is_unassigned and unassigned.id == "group_unassigned"
    assert snapshot.cycle_start == date(2025, 3, 1)
    assert snapshot.cycle_end == date(2025, 4, 1)
    current, former, dana = snapshot.memberships
    assert (current.group_id, current.email, current.left_at) == (
        "group_abc",
        "lee@example.test",
        None,
    )
    assert current.joined_at == datetime(2025, 1, 2, 10, tzinfo=UTC)
    assert former.left_at == datetime(2025, 2, 10, 8, 30, tzinfo=UTC)
    assert dana.group_id == "group_unassigned"


def test_groups_minimal_and_malformed() -> None:
    snapshot = parse_groups({"groups": []})
    assert snapshot.groups == () and snapshot.cycle_start is None
    bad = copy.deepcopy(GROUPS)
    bad["groups"][0]["formerMembers"][0]["leftAt"] = "last tuesday"
    with fails("GET /teams/groups: groups[0].formerMembers[0].leftAt is not an ISO 8601"):
        parse_groups(bad)
    bad = copy.deepcopy(GROUPS)
    del bad["unassignedGroup"]["currentMembers"][0]["email"]
    with fails("GET /teams/groups: unassignedGroup.currentMembers[0].email is missing"):
        parse_groups(bad)


# ---------------------------------------------------------------- analytics


def values(metric: str, rows: list[dict[str, Any]]) -> set[AnalyticsValue]:
    return set(parse_analytics(metric, {"data": rows, "params": {"metric": metric}}))


def test_analytics_supports_every_collected_metric() -> None:
    assert set(ANALYTICS_METRICS) <= set(SUPPORTED_ANALYTICS_METRICS)


def test_analytics_dau() -> None:
    got = values(
        "dau",
        [{"date": "2025-03-03", "dau": 12, "cli_dau": 2, "cloud_agent_dau": 1, "bugbot_dau": 0}],
    )
    day = date(2025, 3, 3)
    assert got == {
        AnalyticsValue("dau", day, "dau", 12),
        AnalyticsValue("dau", day, "cli_dau", 2),
        AnalyticsValue("dau", day, "cloud_agent_dau", 1),
        AnalyticsValue("dau", day, "bugbot_dau", 0),
    }


def test_analytics_models_breakdown() -> None:
    got = values(
        "models",
        [{"date": "2025-03-03", "model_breakdown": {"gpt-5": {"messages": 40, "users": 3},
                                                     "default": {"messages": 2, "users": 1}}}],
    )  # fmt: skip
    day = date(2025, 3, 3)
    assert got == {
        AnalyticsValue("models", day, "messages", 40, "gpt-5"),
        AnalyticsValue("models", day, "users", 3, "gpt-5"),
        AnalyticsValue("models", day, "messages", 2, "default"),
        AnalyticsValue("models", day, "users", 1, "default"),
    }


def test_analytics_edits_and_tabs_keep_every_number() -> None:
    row = {"event_date": "2025-03-03", "total_suggested_diffs": 5, "total_accepted_diffs": 3,
           "total_lines_accepted": 40, "brand_new_counter": 7, "note": "ignored",
           "flag": True}  # fmt: skip
    got = values("agent-edits", [row])
    assert {v.field for v in got} == {
        "total_suggested_diffs",
        "total_accepted_diffs",
        "total_lines_accepted",
        "brand_new_counter",
    }
    assert {v.dimension for v in got} == {""}
    assert {
        v.field for v in values("tabs", [{"event_date": "2025-03-03", "total_accepts": 1}])
    } == {"total_accepts"}


def test_analytics_dimensions() -> None:
    day = date(2025, 3, 3)
    assert values(
        "mcp",
        [{"event_date": "2025-03-03", "tool_name": "search_issues", "mcp_server_name": "tracker",
          "usage": 9}],
    ) == {AnalyticsValue("mcp", day, "usage", 9, "search_issues", "tracker")}  # fmt: skip
    assert values(
        "client-versions",
        [{"event_date": "2025-03-03", "client_version": "1.7.2", "user_count": 4,
          "percentage": 0.5}],
    ) == {
        AnalyticsValue("client-versions", day, "user_count", 4, "1.7.2"),
        AnalyticsValue("client-versions", day, "percentage", 0.5, "1.7.2"),
    }  # fmt: skip
    assert values(
        "top-file-extensions",
        [{"event_date": "2025-03-03", "file_extension": "tsx", "total_files": 3}],
    ) == {AnalyticsValue("top-file-extensions", day, "total_files", 3, "tsx")}
    assert values(
        "commands", [{"event_date": "2025-03-03", "command_name": "review", "usage": 2}]
    ) == {AnalyticsValue("commands", day, "usage", 2, "review")}
    assert values("plans", [{"event_date": "2025-03-03", "model": "default", "usage": 6}]) == {
        AnalyticsValue("plans", day, "usage", 6, "default")
    }


def test_analytics_malformed() -> None:
    with fails("GET /analytics/team/mcp: data[0].tool_name is missing"):
        values("mcp", [{"event_date": "2025-03-03", "usage": 1}])
    with fails("GET /analytics/team/dau: data[0].date is missing"):
        values("dau", [{"dau": 1}])
    with fails("GET /analytics/team/tabs: data[0].event_date is not a YYYY-MM-DD date"):
        values("tabs", [{"event_date": "yesterday"}])
    with fails("GET /analytics/team/dau: data is missing"):
        parse_analytics("dau", {"params": {}})
    with pytest.raises(ValueError, match="unsupported analytics metric"):
        parse_analytics("nope", {"data": []})


# ---------------------------------------------------------------- implausible values

T = "1,000,000,000,000"
C = "100,000,000"


def test_numbers_outside_their_bounds_are_clamped_or_left_out_and_noted() -> None:
    payload = copy.deepcopy(EVENTS)
    first = payload["usageEvents"][0]
    first["tokenUsage"].update(
        {"inputTokens": 10**400, "outputTokens": -3, "cacheReadTokens": math.inf}
    )
    first.update({"chargedCents": math.nan, "cursorTokenFee": -0.5})
    payload["usageEvents"][1]["chargedCents"] = 1e308
    notes: list[Correction] = []
    parsed = parse_usage_events(payload, notes=notes)
    one, two = parsed.items
    assert (one.input_tokens, one.output_tokens, one.cache_read_tokens) == (10**12, 0, 10**12)
    assert (one.charged_cents, one.cursor_token_fee, one.token_cents) == (None, None, 3.8175)
    assert two.charged_cents is None
    where = "usageEvents[0].tokenUsage"
    assert [(n.field, n.value, n.action) for n in notes] == [
        (f"{where}.inputTokens", "an integer of 401 digits", f"outside 0 to {T}: clamped to {T}"),
        (f"{where}.outputTokens", "-3", f"outside 0 to {T}: clamped to 0"),
        (f"{where}.cacheReadTokens", "inf", f"outside 0 to {T}: clamped to {T}"),
        ("usageEvents[0].chargedCents", "nan", "not a number: left out"),
        ("usageEvents[0].cursorTokenFee", "-0.5", f"outside 0 to {C}: left out"),
        ("usageEvents[1].chargedCents", "1e+308", f"outside 0 to {C}: left out"),
    ]
    assert {n.endpoint for n in notes} == {"POST /teams/filtered-usage-events"}


def test_counts_stay_inside_32_bits_and_spend_inside_its_bound() -> None:
    daily = copy.deepcopy(DAILY)
    daily["data"][0]["totalLinesAdded"] = 2**40
    spend = copy.deepcopy(SPEND)
    spend["teamMemberSpend"][0].update({"spendCents": 1e300, "monthlyLimitDollars": -1})
    notes: list[Correction] = []
    (row,) = parse_daily_usage(daily, notes=notes).items
    (member,) = parse_spend(spend, notes=notes).items
    assert row.total_lines_added == MAX_DAILY_COUNT < 2**31
    assert (member.spend_cents, member.monthly_limit_dollars) == (10**11, None)
    assert [n.field for n in notes] == [
        "data[0].totalLinesAdded",
        "teamMemberSpend[0].spendCents",
        "teamMemberSpend[0].monthlyLimitDollars",
    ]


def test_text_loses_nul_and_bad_unicode_and_is_shortened() -> None:
    notes: list[Correction] = []
    members = parse_members(
        {"teamMembers": [
            {"email": "a\u0000@x.test", "name": "Ann\u0000", "role": "\ud800x"},
            {"email": "b@x.test", "name": "n" * 5000},
            {"email": "c" * 400 + "@x.test", "name": "skipped"},
        ]},
        notes=notes,
    )  # fmt: skip
    assert [(m.email, m.name, m.role) for m in members] == [
        ("a@x.test", "Ann", "\ufffdx"),
        ("b@x.test", "n" * MAX_TEXT, ""),
    ]
    assert [(n.field, n.action) for n in notes] == [
        ("teamMembers[0].email", "NUL characters removed"),
        ("teamMembers[0].name", "NUL characters removed"),
        ("teamMembers[0].role", "invalid characters replaced"),
        ("teamMembers[1].name", f"shortened to {MAX_TEXT:,} characters"),
        ("teamMembers[2].email", "longer than 320 characters: record skipped"),
    ]
    assert all(len(n.value) <= 60 for n in notes)


def test_analytics_values_and_names_are_bounded_too() -> None:
    notes: list[Correction] = []
    values = parse_analytics(
        "dau",
        {"data": [{"date": "2025-03-03", "dau\u0000": 5, "huge": 10**30, "nan": math.nan}]},
        notes,
    )
    assert [(v.field, v.value) for v in values] == [("dau", 5.0)]
    assert [n.field for n in notes] == ["data[0].dau\u0000", "data[0].huge", "data[0].nan"]
