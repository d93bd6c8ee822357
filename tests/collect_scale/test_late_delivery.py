"""The simulator's late delivery: events show up some time after their timestamp."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tracker_core.simulator import (
    ScenarioError,
    generate_scenario,
    make_simulator_app,
    scenario_from_dict,
)
from tracker_core.simulator.delivery import DEFAULT_BANDS, DelayBand, LateDelivery

AUTH = {"Authorization": "Basic " + base64.b64encode(b"sim-key:").decode()}
DAY = datetime(2025, 3, 3, tzinfo=UTC)
HOUR_MS = 3_600_000


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def event(moment: datetime, email: str = "lee@example.test") -> dict[str, Any]:
    return {
        "timestamp": str(ms(moment)),
        "userEmail": email,
        "model": "gpt-5",
        "kind": "Usage-based",
        "maxMode": False,
        "requestsCosts": 1,
        "isTokenBasedCall": False,
        "isChargeable": True,
        "isHeadless": False,
        "chargedCents": 5,
        "isFreeBugbot": False,
    }


def scenario_data(late: object) -> dict[str, Any]:
    return {
        "now": "2025-03-10T00:00:00Z",
        "teamMembers": [{"id": 1, "name": "Lee", "email": "lee@example.test", "role": "member"}],
        "usageEvents": [event(DAY + timedelta(hours=h)) for h in (1, 2, 3)],
        "lateDelivery": late,
    }


THIRTY_HOURS = {"bands": [{"share": 1, "minMinutes": 1800, "maxMinutes": 1800}]}


class Present:
    """The simulator's present, moved by hand (epoch ms)."""

    def __init__(self, moment: datetime) -> None:
        self.ms = ms(moment)

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
async def served() -> AsyncIterator[tuple[TestClient[Any, Any], Present]]:
    present = Present(DAY)
    app = make_simulator_app(
        scenario_from_dict(scenario_data(THIRTY_HOURS)), rate_limits=False, present=present
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    yield client, present
    await client.close()


async def count_events(client: TestClient[Any, Any]) -> int:
    body = {"startDate": ms(DAY), "endDate": ms(DAY + timedelta(days=1)), "pageSize": 100}
    response = await client.post("/teams/filtered-usage-events", json=body, headers=AUTH)
    assert response.status == 200
    answer = await response.json()
    assert len(answer["usageEvents"]) == answer["totalUsageEventsCount"]
    return int(answer["totalUsageEventsCount"])


async def day_requests(client: TestClient[Any, Any]) -> int:
    body = {"startDate": ms(DAY), "endDate": ms(DAY), "page": 1, "pageSize": 10}
    response = await client.post("/teams/daily-usage-data", json=body, headers=AUTH)
    assert response.status == 200
    (row,) = (await response.json())["data"]
    return int(row["usageBasedReqs"])


async def test_an_event_is_served_only_once_its_delay_has_passed(
    served: tuple[TestClient[Any, Any], Present],
) -> None:
    client, present = served
    present.ms = ms(DAY + timedelta(hours=30))
    assert await count_events(client) == 0
    present.ms = ms(DAY + timedelta(hours=31, minutes=30))
    assert await count_events(client) == 1  # 01:00 + 30 h has passed, 02:00 + 30 h has not
    present.ms = ms(DAY + timedelta(hours=33))
    assert await count_events(client) == 3


async def test_the_days_usage_row_changes_until_the_day_is_final(
    served: tuple[TestClient[Any, Any], Present],
) -> None:
    client, present = served
    seen = []
    for hours in (12, 31.5, 32.5, 40, 80):
        present.ms = ms(DAY + timedelta(hours=hours))
        seen.append(await day_requests(client))
    assert seen == [0, 1, 2, 3, 3]


async def test_without_late_delivery_every_event_shows_at_once() -> None:
    present = Present(DAY + timedelta(hours=4))
    scenario = scenario_from_dict(scenario_data(None))
    app = make_simulator_app(scenario, rate_limits=False, present=present)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        assert await count_events(client) == 3
    finally:
        await client.close()


def test_the_default_distribution_is_minutes_mostly_hours_sometimes_36_hours_at_most() -> None:
    scenario = generate_scenario(users=20, days=10, seed=3, now=DAY)
    view = scenario.delivery(LateDelivery())
    delays = [view.delay_ms(row) for row in range(len(scenario.events))]
    assert len(delays) > 5000
    within_minutes = sum(d <= 10 * 60_000 for d in delays) / len(delays)
    over_twelve_hours = sum(d > 12 * HOUR_MS for d in delays) / len(delays)
    assert 0.87 < within_minutes < 0.93
    assert 0.005 < over_twelve_hours < 0.02
    assert max(delays) <= 36 * HOUR_MS
    assert view.delay_ms(0) == scenario.delivery(LateDelivery()).delay_ms(0)  # seeded: repeats


def test_a_scenario_file_sets_its_own_distribution() -> None:
    scenario = scenario_from_dict(
        scenario_data(
            {"bands": [{"share": 0.5, "maxMinutes": 5}, {"share": 0.5, "maxMinutes": 60}]}
        )
    )
    assert scenario.late == LateDelivery((DelayBand(0.5, 0, 5), DelayBand(0.5, 5, 60)))
    assert scenario_from_dict(scenario_data(True)).late == LateDelivery(DEFAULT_BANDS)
    assert scenario_from_dict(scenario_data(None)).late is None


def test_a_distribution_whose_shares_do_not_add_up_is_refused_by_name() -> None:
    bad = {"bands": [{"share": 0.5, "maxMinutes": 5}]}
    with pytest.raises(ScenarioError, match=r"lateDelivery: .*add up to 0.5, not 1"):
        scenario_from_dict(scenario_data(bad))
