"""Scenario files: checking, the derivation rules of CONTRACT.md, and faithful round trips."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tracker_core.errors import ConfigError
from tracker_core.simulator import (
    ScenarioError,
    generate_scenario,
    load_scenario,
    save_scenario,
    scenario_from_dict,
)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def usage_event(
    when: str,
    email: str,
    *,
    kind: str = "Usage-based",
    model: str = "gpt-5",
    charged: float = 10.0,
    total: float = 8.0,
) -> dict[str, Any]:
    chargeable = kind == "Usage-based"
    return {
        "timestamp": str(ms(when)),
        "userEmail": email,
        "model": model,
        "kind": kind,
        "maxMode": False,
        "requestsCosts": 1,
        "isTokenBasedCall": True,
        "isChargeable": chargeable,
        "isHeadless": False,
        "tokenUsage": {
            "inputTokens": 1200,
            "outputTokens": 300,
            "cacheWriteTokens": 0,
            "cacheReadTokens": 5000,
            "totalCents": total,
        },
        "chargedCents": charged,
        "cursorTokenFee": round(charged - total, 4) if chargeable else 0,
        "isFreeBugbot": False,
    }


def hand_written() -> dict[str, Any]:
    """Four members (one removed, one idle) and a few events either side of March 1st."""
    errored = {
        "timestamp": str(ms("2025-03-03T10:00:00+00:00")),
        "userEmail": "lee@example.test",
        "model": "claude-4.5-sonnet",
        "kind": "Errored, Not Charged",
        "maxMode": False,
        "requestsCosts": 0,
        "isTokenBasedCall": False,
        "isChargeable": False,
        "isHeadless": False,
        "chargedCents": 0,
        "isFreeBugbot": False,
    }
    return {
        "now": "2025-03-10T12:00:00Z",
        "teamMembers": [
            {"id": 101, "name": "Dana Ortiz", "email": "dana@example.test", "role": "owner"},
            {"id": 102, "name": "Lee Park", "email": "lee@example.test", "role": "member"},
            {
                "id": 103,
                "name": "Sam Rivera",
                "email": "sam@example.test",
                "role": "member",
                "isRemoved": True,
            },
            {"id": 104, "name": "Ivy Chen", "email": "ivy@example.test", "role": "member"},
        ],
        "usageEvents": [
            usage_event("2025-03-02T09:00:00+00:00", "dana@example.test", charged=120.5),
            usage_event("2025-02-27T10:00:00+00:00", "dana@example.test", charged=50),
            usage_event("2025-02-28T09:00:00+00:00", "sam@example.test", charged=30),
            usage_event(
                "2025-03-02T15:00:00+00:00",
                "dana@example.test",
                kind="Included in Business",
                model="auto",
                charged=0,
                total=7.25,
            ),
            usage_event("2025-03-02T11:00:00+00:00", "lee@example.test", charged=40),
            errored,
            usage_event("2025-03-09T23:59:59.999+00:00", "dana@example.test", charged=3.5),
            usage_event("2025-03-10T08:00:00+00:00", "lee@example.test", charged=22.25),
        ],
    }


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "team.json"
    path.write_text(json.dumps(hand_written()))
    return path


# -- checking


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    return path


def test_bad_timestamp_names_the_file_and_the_event(tmp_path: Path) -> None:
    data = hand_written()
    data["usageEvents"][5]["timestamp"] = 1741000000000
    path = write(tmp_path, data)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert str(path) in message
    assert "usageEvents[5].timestamp: expected a string of epoch milliseconds" in message
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ConfigError)


@pytest.mark.parametrize(
    ("change", "part"),
    [
        (lambda d: d.pop("teamMembers"), "teamMembers: expected a list"),
        (lambda d: d["teamMembers"][1].pop("email"), "teamMembers[1].email"),
        (lambda d: d["teamMembers"].append(dict(d["teamMembers"][0])), "teamMembers[4].email"),
        (lambda d: d["usageEvents"][3].update(userEmail="who@example.test"), "usageEvents[3]"),
        (lambda d: d["usageEvents"][2].update(maxMode="no"), "usageEvents[2].maxMode"),
        (lambda d: d["usageEvents"][1]["tokenUsage"].update(inputTokens=-3), "inputTokens"),
        (lambda d: d["usageEvents"].append("event"), "usageEvents[8]: expected an object"),
        (lambda d: d.update(usageEvent=[]), "usageEvent: unknown key"),
        (lambda d: d.update(analytics={"dau": [{"date": "03/01/2025"}]}), "analytics.dau[0].date"),
        (lambda d: d.update(analytics={"leaderboard": []}), "analytics.leaderboard"),
        (lambda d: d.update(spend={"teamMemberSpend": []}), "spend.subscriptionCycleStart"),
        (lambda d: d.update(dailyUsage=[{"email": "dana@example.test"}]), "dailyUsage[0].day"),
        (lambda d: d.update(plantedAnomalies=[{"kind": "x", "email": "a"}]), "kind"),
        (lambda d: d.update(now="yesterday"), "now: expected"),
    ],
)
def test_load_errors_name_the_part(tmp_path: Path, change: Any, part: str) -> None:
    data = hand_written()
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(ScenarioError, match=r"broken\.json") as caught:
        load_scenario(path)
    assert part in str(caught.value)


def test_invalid_json_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"teamMembers": [}')
    with pytest.raises(ScenarioError, match=r"broken\.json: not valid JSON: .*line 1, column 18"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match=r"absent\.json: cannot read"):
        load_scenario(tmp_path / "absent.json")


def test_events_are_kept_sorted_by_time(scenario_file: Path) -> None:
    scenario = load_scenario(scenario_file)
    stamps = list(scenario.events.timestamps)
    assert stamps == sorted(stamps)
    assert len(scenario.events) == 8


def test_unusual_events_are_served_exactly_as_written() -> None:
    data = hand_written()
    old_style = {
        "timestamp": "1741100000000",
        "userEmail": "lee@example.test",
        "model": "gpt-5",
        "kind": "Usage-based",
        "requestsCosts": 2,
        "isTokenBasedCall": True,
        "tokenUsage": {"inputTokens": 10, "outputTokens": 5, "totalCents": 0.5},
        "futureField": {"nested": [1, 2]},
    }
    data["usageEvents"].append(old_style)
    scenario = scenario_from_dict(data)
    served = [scenario.events.event(row) for row in range(len(scenario.events))]
    assert old_style in served
    assert all(scenario.events.event(r) in data["usageEvents"] for r in range(len(served)))


# -- derivation rules


def test_spend_is_derived_from_events_since_the_first_of_the_month(scenario_file: Path) -> None:
    scenario = load_scenario(scenario_file)
    rows, cycle_start = scenario.spend_report(scenario.now())
    assert cycle_start == ms("2025-03-01T00:00:00+00:00")
    by_email = {row["email"]: row for row in rows}
    # Sam was removed and spent nothing this cycle; Ivy is idle but still a member.
    assert set(by_email) == {"dana@example.test", "lee@example.test", "ivy@example.test"}
    assert by_email["dana@example.test"]["spendCents"] == pytest.approx(124.0)
    assert by_email["dana@example.test"]["overallSpendCents"] == pytest.approx(131.25)
    assert by_email["lee@example.test"]["spendCents"] == pytest.approx(62.25)
    assert by_email["ivy@example.test"]["spendCents"] == 0
    assert by_email["dana@example.test"]["userId"] == 101
    assert by_email["dana@example.test"]["role"] == "owner"


def test_daily_usage_is_derived_per_member_and_day(scenario_file: Path) -> None:
    scenario = load_scenario(scenario_file)
    rows = scenario.daily_usage_rows(date(2025, 3, 1), date(2025, 3, 10))
    keys = [(row["email"], row["day"]) for row in rows]
    assert keys == [
        ("dana@example.test", "2025-03-02"),
        ("lee@example.test", "2025-03-02"),
        ("lee@example.test", "2025-03-03"),
        ("dana@example.test", "2025-03-09"),
        ("lee@example.test", "2025-03-10"),
    ]
    assert all(row["isActive"] for row in rows)
    dana = rows[0]
    assert (dana["usageBasedReqs"], dana["subscriptionIncludedReqs"], dana["apiKeyReqs"]) == (
        1,
        1,
        0,
    )
    assert dana["date"] == ms("2025-03-02T00:00:00+00:00")
    assert dana["userId"] == 101
    assert dana["mostUsedModel"] in {"gpt-5", "auto"}
    errored_day = rows[2]
    assert errored_day["subscriptionIncludedReqs"] + errored_day["usageBasedReqs"] == 1


def test_paginated_daily_usage_has_every_member_every_day(scenario_file: Path) -> None:
    scenario = load_scenario(scenario_file)
    rows = scenario.daily_usage_rows(date(2025, 3, 1), date(2025, 3, 10), scenario.members)
    assert len(rows) == 4 * 10
    ivy = [row for row in rows if row["email"] == "ivy@example.test"]
    assert len(ivy) == 10
    assert all(not row["isActive"] and row["agentRequests"] == 0 for row in ivy)
    assert all(row["mostUsedModel"] is None and row["clientVersion"] is None for row in ivy)


def test_groups_default_to_everyone_unassigned(scenario_file: Path) -> None:
    scenario = load_scenario(scenario_file)
    report = scenario.groups_report(date(2025, 3, 1))
    assert report["groups"] == []
    unassigned = report["unassignedGroup"]
    assert unassigned["id"] == "group_unassigned"
    assert unassigned["name"] == "Unassigned"
    current = {m["email"] for m in unassigned["currentMembers"]}
    assert current == {"dana@example.test", "lee@example.test", "ivy@example.test"}
    assert [m["email"] for m in unassigned["formerMembers"]] == ["sam@example.test"]
    assert unassigned["memberCount"] == 3
    assert unassigned["spendCents"] == pytest.approx(124.0 + 62.25)
    assert len(unassigned["dailySpend"]) == 10
    assert report["billingCycle"] == {
        "cycleStart": "2025-03-01T00:00:00.000Z",
        "cycleEnd": "2025-04-01T00:00:00.000Z",
    }


def test_analytics_are_derived_from_events(scenario_file: Path) -> None:
    scenario = load_scenario(scenario_file)
    dau = scenario.analytics_rows("dau", date(2025, 3, 1), date(2025, 3, 10))
    assert [(row["date"], row["dau"]) for row in dau] == [
        ("2025-03-02", 2),
        ("2025-03-03", 1),
        ("2025-03-09", 1),
        ("2025-03-10", 1),
    ]
    models = scenario.analytics_rows("models", date(2025, 3, 2), date(2025, 3, 2))
    assert models[0]["model_breakdown"] == {
        "auto": {"messages": 1, "users": 1},
        "gpt-5": {"messages": 2, "users": 2},
    }
    for metric in scenario.derived_analytics():
        scenario.analytics_rows(metric, date(2025, 3, 1), date(2025, 3, 10))


def test_explicit_parts_are_served_as_written() -> None:
    data = hand_written()
    spend = {
        "teamMemberSpend": [{"email": "lee@example.test", "spendCents": 999, "userId": 102}],
        "subscriptionCycleStart": ms("2025-02-15T00:00:00+00:00"),
    }
    usage = [{"email": "lee@example.test", "day": "2025-03-04", "isActive": True, "x": 1}]
    data.update(spend=spend, dailyUsage=usage, analytics={"dau": [{"date": "2025-03-04"}]})
    scenario = scenario_from_dict(data)
    assert scenario.spend_report(scenario.now()) == (spend["teamMemberSpend"], ms("2025-02-15"))
    assert scenario.daily_usage_rows(date(2025, 3, 1), date(2025, 3, 10)) == usage
    filled = scenario.daily_usage_rows(date(2025, 3, 4), date(2025, 3, 4), scenario.members)
    assert usage[0] in filled and len(filled) == 4
    assert scenario.analytics_rows("dau", date(2025, 3, 1), date(2025, 3, 5)) == [
        {"date": "2025-03-04"}
    ]
    # Metrics the file leaves out are still derived.
    assert scenario.analytics_rows("models", date(2025, 3, 2), date(2025, 3, 2))


# -- round trip


def test_a_saved_generated_scenario_loads_back_identical(tmp_path: Path) -> None:
    now = datetime(2025, 3, 12, 15, 30, tzinfo=UTC)
    original = generate_scenario(users=12, days=10, seed=5, now=now)
    path = tmp_path / "generated.json"
    save_scenario(original, path)
    loaded = load_scenario(path)
    assert loaded.now_ms == original.now_ms
    assert loaded.team_id == original.team_id
    assert loaded.members == original.members
    assert len(loaded.events) == len(original.events)
    assert list(loaded.events) == list(original.events)
    assert loaded.groups == original.groups
    assert loaded.analytics == original.analytics
    assert loaded.planted_anomalies == original.planted_anomalies
    assert loaded.normal_members == original.normal_members
    assert loaded.spend_report(loaded.now()) == original.spend_report(original.now())
    assert not loaded.events._verbatim  # every generated event fits the compact columns
