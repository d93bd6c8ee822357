"""The generated organisation: deterministic, realistic, and its planted anomalies really hold.

The checks recompute every number from the served events, independently of the generator,
with the detection rules' definitions: spend is charged cents, a spike compares a day with the
member's active days among the seven before it, the team z-score leaves the member out and
uses the sample standard deviation, the cycle runs from the first of the month.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tracker_core.domain import day_start_ms, usage_event_id, utc_day
from tracker_core.simulator import Scenario, generate_scenario
from tracker_core.simulator.scenario import ANOMALY_KINDS

NOW = datetime(2025, 3, 12, 15, 30, tzinfo=UTC)
KINDS = {"Usage-based", "Included in Business", "Errored, Not Charged"}


class Metrics:
    """Per member, per UTC day spend (cents) and request counts, from the events alone."""

    def __init__(self, scenario: Scenario, days: int) -> None:
        self.scenario = scenario
        assert scenario.now_ms is not None
        self.now_ms = scenario.now_ms
        self.today = utc_day(self.now_ms)
        self.days = [self.today - timedelta(days=n) for n in range(days - 1, -1, -1)]
        self.emails = [m["email"] for m in scenario.members]
        self.spend: dict[tuple[str, date], float] = defaultdict(float)
        self.count: dict[tuple[str, date], int] = defaultdict(int)
        cycle_start = day_start_ms(self.today.replace(day=1))
        self.cycle: dict[str, float] = defaultdict(float)
        for email, stamp, cents in self._events(scenario):
            key = (email, utc_day(stamp))
            self.spend[key] += cents
            self.count[key] += 1
            if stamp >= cycle_start:
                self.cycle[email] += cents

    @staticmethod
    def _events(scenario: Scenario) -> Iterator[tuple[str, int, float]]:
        """Email, time and spend of each event; read from the columns for large teams."""
        store = scenario.events
        if len(store) > 100_000:
            for row, (stamp, user) in enumerate(zip(store.timestamps, store.users, strict=True)):
                yield store.emails[user], stamp, store.spend_cents(row)
            return
        for event in store:
            cents = event.get("chargedCents")
            if cents is None:
                cents = event.get("tokenUsage", {}).get("totalCents", 0)
            yield event["userEmail"], int(event["timestamp"]), cents

    def own_average(self, email: str, day: date) -> float:
        before = [self.spend[(email, day - timedelta(days=n))] for n in range(1, 8)]
        active = [s for s in before if s > 0]
        return statistics.fmean(active) if active else 0.0

    def spike_ratio(self, email: str, day: date) -> float:
        average = self.own_average(email, day)
        return self.spend[(email, day)] / average if average else 0.0

    def team_z(self, email: str, day: date, *, same_day: bool, active_only: bool) -> float | None:
        """Leave-one-out z-score against the others' daily spend (that day, or the 7 before).

        None where it is undefined (fewer than two others to compare with, as on a quiet
        Sunday when only active members count): no rule can fire there.
        """
        span = [day] if same_day else [day - timedelta(days=n) for n in range(1, 8)]
        others = [self.spend[(e, d)] for e in self.emails if e != email for d in span]
        if active_only:
            others = [s for s in others if s > 0]
        if len(others) < 2:
            return None
        value, mean = self.spend[(email, day)], statistics.fmean(others)
        spread = statistics.stdev(others)
        if spread == 0:
            return float("inf") if value > mean else 0.0
        return (value - mean) / spread

    def z_scores(self, email: str, day: date) -> list[float]:
        scores = [
            self.team_z(email, day, same_day=same, active_only=active)
            for same in (True, False)
            for active in (True, False)
        ]
        defined = [score for score in scores if score is not None]
        assert defined, "the zero-filled readings are always defined"
        return defined

    def cycle_ratio(self, email: str) -> float:
        active = [s for s in self.cycle.values() if s > 0]
        return self.cycle[email] / statistics.median(active)

    def usual_max_requests(self, email: str, day: date) -> int:
        return max(n for key, n in self.count.items() if key != (email, day))


def planted(scenario: Scenario, kind: str) -> dict[str, Any]:
    return next(a for a in scenario.planted_anomalies if a["kind"] == kind)


def anomalies(scenario: Scenario) -> list[dict[str, Any]]:
    """The planted anomalies a rule must fire on (not the ramp or the limited member)."""
    return [a for a in scenario.planted_anomalies if a["kind"] in ANOMALY_KINDS]


def assert_anomalies_hold(scenario: Scenario, metrics: Metrics) -> None:
    kinds = sorted(a["kind"] for a in anomalies(scenario))
    assert kinds == ["cycle_outlier", "request_flood", "spend_spike", "team_outlier"]
    yesterday = metrics.today - timedelta(days=1)

    spike = planted(scenario, "spend_spike")
    day = date.fromisoformat(spike["day"])
    assert day in (metrics.today, yesterday)
    assert metrics.spend[(spike["email"], day)] > 7_000
    assert metrics.spike_ratio(spike["email"], day) > 10

    outlier = planted(scenario, "team_outlier")
    day = date.fromisoformat(outlier["day"])
    assert day in (metrics.today, yesterday)
    assert metrics.spend[(outlier["email"], day)] > 5_000
    assert min(metrics.z_scores(outlier["email"], day)) > 5

    whale = planted(scenario, "cycle_outlier")
    assert whale["day"] is None
    assert metrics.cycle_ratio(whale["email"]) > 10

    flood = planted(scenario, "request_flood")
    day = date.fromisoformat(flood["day"])
    usual = metrics.usual_max_requests(flood["email"], day)
    assert metrics.count[(flood["email"], day)] > 5 * usual

    emails = {a["email"] for a in anomalies(scenario)}
    assert len(emails) == 4
    assert scenario.normal_members
    assert not emails & set(scenario.normal_members)
    recent = {metrics.today, yesterday} | {
        date.fromisoformat(a["day"]) for a in scenario.planted_anomalies if a["day"]
    }
    for email in scenario.normal_members:
        for day in recent:
            assert metrics.spike_ratio(email, day) < 3
            assert metrics.spend[(email, day)] < 5_000
            assert max(metrics.z_scores(email, day)) < 2.5
            assert metrics.count[(email, day)] < 2 * metrics.usual_max_requests(email, day)
        assert metrics.cycle_ratio(email) < 3


@pytest.fixture(scope="module")
def team() -> Scenario:
    return generate_scenario(users=40, days=30, seed=7, now=NOW)


@pytest.fixture(scope="module")
def metrics(team: Scenario) -> Metrics:
    return Metrics(team, 30)


def test_planted_anomalies_hold_and_normal_members_do_not_fire(
    team: Scenario, metrics: Metrics
) -> None:
    assert_anomalies_hold(team, metrics)


@pytest.mark.parametrize(
    ("now", "users", "days"),
    [
        (datetime(2025, 4, 1, 0, 0, tzinfo=UTC), 10, 9),
        (datetime(2025, 4, 1, 0, 30, tzinfo=UTC), 12, 14),
        (datetime(2025, 4, 2, 1, 0, tzinfo=UTC), 15, 20),
        (datetime(2025, 6, 8, 23, 59, 59, tzinfo=UTC), 20, 12),
    ],
)
def test_anomalies_hold_early_in_the_month_and_at_weekends(
    now: datetime, users: int, days: int
) -> None:
    scenario = generate_scenario(users=users, days=days, seed=4, now=now)
    assert_anomalies_hold(scenario, Metrics(scenario, days))


def test_same_seed_same_organisation() -> None:
    first = generate_scenario(users=12, days=10, seed=3, now=NOW)
    again = generate_scenario(users=12, days=10, seed=3, now=NOW)
    other = generate_scenario(users=12, days=10, seed=4, now=NOW)
    assert first.members == again.members
    assert list(first.events) == list(again.events)
    assert first.planted_anomalies == again.planted_anomalies
    assert first.groups == again.groups
    assert first.analytics == again.analytics
    assert list(first.events) != list(other.events)


def test_same_seed_same_day_same_organisation_whatever_the_minute() -> None:
    """The demo's organisation depends on the seed and the UTC day, not on when it started."""
    morning = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)
    runs = [
        generate_scenario(users=12, days=10, seed=3, clock=lambda at=at: at)
        for at in (
            morning,
            morning + timedelta(minutes=5),
            datetime(2025, 3, 12, 23, 59, tzinfo=UTC),
        )
    ]
    first = runs[0]
    for later in runs[1:]:
        assert later.members == first.members
        assert list(later.events) == list(first.events)
        assert later.groups == first.groups
        assert later.planted_anomalies == first.planted_anomalies
        assert later.now_ms == first.now_ms
    # The organisation holds nothing later than the start of its day, so nothing in the future.
    assert max(int(e["timestamp"]) for e in first.events) < day_start_ms(morning.date())
    next_day = generate_scenario(
        users=12, days=10, seed=3, clock=lambda: morning + timedelta(days=1)
    )
    assert list(next_day.events) != list(first.events)
    assert_anomalies_hold(first, Metrics(first, 10))


def event_id(event: dict[str, Any]) -> str:
    usage = event.get("tokenUsage", {})
    return usage_event_id(
        timestamp_ms=int(event["timestamp"]),
        user_email=event["userEmail"],
        model=event["model"],
        kind=event["kind"],
        max_mode=event["maxMode"],
        requests_costs=event["requestsCosts"],
        is_token_based_call=event["isTokenBasedCall"],
        is_chargeable=event["isChargeable"],
        is_headless=event["isHeadless"],
        input_tokens=usage.get("inputTokens", 0),
        output_tokens=usage.get("outputTokens", 0),
        cache_write_tokens=usage.get("cacheWriteTokens", 0),
        cache_read_tokens=usage.get("cacheReadTokens", 0),
        token_cents=usage.get("totalCents"),
        charged_cents=event.get("chargedCents"),
    )


def test_events_are_unique_and_inside_the_window(team: Scenario) -> None:
    events = list(team.events)
    assert len({(e["userEmail"], e["timestamp"]) for e in events}) == len(events)
    assert len({event_id(e) for e in events}) == len(events)
    assert team.now_ms is not None
    first_day = utc_day(team.now_ms) - timedelta(days=29)
    stamps = [int(e["timestamp"]) for e in events]
    assert max(stamps) <= team.now_ms
    assert min(stamps) >= day_start_ms(first_day)


def test_events_look_like_the_real_api(team: Scenario, metrics: Metrics) -> None:
    events = list(team.events)
    assert {e["kind"] for e in events} == KINDS
    models = {e["model"] for e in events}
    assert {"claude-4.5-sonnet", "claude-4.1-opus", "gpt-5", "gpt-5-codex", "auto"} <= models
    for event in events:
        usage = event.get("tokenUsage")
        assert (usage is not None) == event["isTokenBasedCall"]
        if event["isChargeable"]:
            assert usage is not None
            assert event["kind"] == "Usage-based"
            assert event["chargedCents"] == pytest.approx(
                usage["totalCents"] + event["cursorTokenFee"], abs=1e-3
            )
        else:
            assert event["chargedCents"] == 0
    assert any(e["maxMode"] for e in events)
    assert any(e["isHeadless"] for e in events)
    weekday_counts = [
        n for (_, day), n in metrics.count.items() if day.weekday() < 5 and day != metrics.today
    ]
    assert 20 <= statistics.median(weekday_counts) <= 80
    weekend = sum(n for (_, day), n in metrics.count.items() if day.weekday() >= 5)
    assert 0 < weekend < 0.2 * sum(metrics.count.values())


def test_members_roles_and_removals(team: Scenario) -> None:
    members = team.members
    assert all(m["email"].endswith("@example.test") and " " in m["name"] for m in members)
    assert len({m["email"] for m in members}) == len(members)
    assert 1 <= sum(m["role"] == "owner" for m in members) <= 2
    removed = [m for m in members if m["isRemoved"]]
    assert removed
    assert team.groups is not None
    left = {
        m["email"]: m["leftAt"]
        for g in [*team.groups["groups"], team.groups["unassignedGroup"]]
        for m in g["formerMembers"]
    }
    for member in removed:
        stamps = [int(e["timestamp"]) for e in team.events if e["userEmail"] == member["email"]]
        if member["email"] in left and left[member["email"]]:
            cut = datetime.fromisoformat(left[member["email"]]).timestamp() * 1000
            assert all(stamp < cut for stamp in stamps)
        assert team.now_ms is not None
        assert not stamps or max(stamps) < team.now_ms - 2 * 86_400_000


def test_heavy_users_are_busy_but_consistent(team: Scenario, metrics: Metrics) -> None:
    planted_emails = {a["email"] for a in team.planted_anomalies}
    totals = sorted(
        ((sum(n for (e, _), n in metrics.count.items() if e == email), email)
         for email in metrics.emails if email not in planted_emails),
        reverse=True,
    )  # fmt: skip
    for _, email in totals[:2]:
        for day in (metrics.today - timedelta(days=1), metrics.today):
            assert metrics.spike_ratio(email, day) < 5
            assert metrics.spend[(email, day)] < 5_000


def test_analytics_agree_with_the_events(team: Scenario, metrics: Metrics) -> None:
    day = metrics.today - timedelta(days=2)
    dau = team.analytics_rows("dau", day, day)
    active = {e for (e, d), n in metrics.count.items() if d == day and n}
    assert dau[0]["dau"] == len(active)
    models = team.analytics_rows("models", day, day)[0]["model_breakdown"]
    assert sum(m["messages"] for m in models.values()) == sum(
        n for (_, d), n in metrics.count.items() if d == day
    )
    for metric in team.analytics:
        assert team.analytics_rows(metric, day, day), metric


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="users"):
        generate_scenario(users=5, now=NOW)
    with pytest.raises(ValueError, match="days"):
        generate_scenario(days=3, now=NOW)
    with pytest.raises(ValueError, match="timezone"):
        generate_scenario(now=datetime(2025, 3, 1))


@pytest.mark.slow
def test_a_500_member_month_is_quick_and_still_holds() -> None:
    started = datetime.now(UTC)
    scenario = generate_scenario(users=500, days=30, seed=1, now=NOW)
    elapsed = (datetime.now(UTC) - started).total_seconds()
    assert elapsed < 60
    assert len(scenario.events) > 300_000
    assert_anomalies_hold(scenario, Metrics(scenario, 30))
