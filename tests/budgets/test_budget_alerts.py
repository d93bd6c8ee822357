"""Budget alerts end to end, on SQLite and PostgreSQL: detection finds them, the lifecycle
keeps each threshold to one announcement per cycle (across runs, restarts and a person's
resolution), and the real slack-sdk posts them in dollars to the local Slack stand-in.

The clock is injected; spend is Cursor's cycle figure, written straight into the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.alerting.servers import SLACK_TOKEN, FakeSlack, serve_slack
from tests.budgets.org import PLATFORM, cycle_start, seed
from tracker_core.config import Settings, SlackSettings
from tracker_core.jobs.collect import simulator_settings
from tracker_core.jobs.detect import DetectionReport, run_detection
from tracker_core.service import Tracker
from tracker_core.storage import open_database

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
"""Day 18 of the cycle that started on 3 November (see tests/budgets/org.py)."""
CHANNEL = "C07ALERTS1"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with serve_slack() as server:
        yield server


def settings_for(db_url: str, slack: FakeSlack) -> Settings:
    base = simulator_settings("http://127.0.0.1:9", "unused-key-0123456789", db_url)
    channel = SlackSettings.model_validate(
        {"bot_token": SLACK_TOKEN, "channel_id": CHANNEL, "api_url": slack.base_url}
    )
    daemon = base.daemon.model_copy(update={"dashboard_url": "https://tracker.example.test/"})
    return base.model_copy(update={"slack": channel, "daemon": daemon})


def detect_at(db_url: str, settings: Settings, at: datetime) -> DetectionReport:
    """One detection run as a fresh process would make it: its own engine (a restart)."""
    engine = open_database(db_url)
    try:
        return run_detection(engine, settings, clock=lambda: at)
    finally:
        engine.dispose()


def member_field(post: dict[str, Any]) -> str:
    """The card's "who" field, label included: "*Member*" with a name and email, or
    "*Budget of*" with the team's or a group's name."""
    fields = [f["text"] for block in post["blocks"] for f in block.get("fields", [])]
    return next(text for text in fields if text.startswith(("*Member*", "*Budget of*")))


def budget_posts(slack: FakeSlack) -> list[str]:
    return [post["text"] for post in slack.posts()]


def spend(engine: Engine, ana: float, bo: float, at: datetime = T0) -> None:
    """Platform's two members' cycle spend, in dollars."""
    seed(engine, at.date(), {"ana@example.test": ana * 100, "bo@example.test": bo * 100})


def budget_rules(report: DetectionReport) -> list[tuple[str, str]]:
    return sorted((f.rule, f.email) for f in report.findings if f.rule.startswith("budget"))


def test_each_threshold_is_announced_once_per_cycle_in_dollars(
    db_url: str, db_engine: Engine, slack: FakeSlack
) -> None:
    group = f"group:{PLATFORM}"
    spend(db_engine, 600, 399.99)
    settings = settings_for(db_url, slack)
    tracker = Tracker(settings, db_engine, clock=lambda: T0)
    tracker.set_budget("group", "Platform", "2000", actor="test")

    # $999.99 of $2,000: just below 50 % (and a straight-line forecast of $1,667).
    assert budget_rules(detect_at(db_url, settings, T0)) == []

    spend(db_engine, 600, 400)  # exactly 50 %
    assert budget_rules(detect_at(db_url, settings, T0)) == [("budget_50", group)]
    (first,) = budget_posts(slack)
    assert "Platform has spent $1,000 of its $2,000 budget (50 %) on day 18 of 30" in first
    assert "100000" not in first  # never raw cents
    assert "/users/" not in str(slack.posts()[0]["blocks"])  # a group has no member page
    # Named, never keyed: no "group:ID" reaches the reader.
    assert member_field(slack.posts()[0]) == "*Budget of*\nPlatform"

    # Repeated runs (and restarts) the same cycle, with spend still moving, send nothing.
    spend(db_engine, 600, 450)
    for hours in (1, 2):
        detect_at(db_url, settings, T0 + timedelta(hours=hours))
    assert len(slack.posts()) == 1

    # 82 %: the 80 % threshold, once; the 50 % alert is superseded and closes itself. (No
    # usage to learn a rate from: the forecast is what was spent.)
    spend(db_engine, 600, 1040)
    report = detect_at(db_url, settings, T0 + timedelta(hours=3))
    assert budget_rules(report) == [("budget_80", group)]
    assert report.resolved == 1
    detect_at(db_url, settings, T0 + timedelta(hours=4))
    posts = budget_posts(slack)
    assert len(posts) == 2
    assert (
        "Platform has spent $1,640 of its $2,000 budget (82 %) on day 18 of 30; forecast $1,640"
        in posts[1]
    )

    # A person resolves the 80 % incident: it stays resolved for the cycle.
    queue = tracker.incident_queue(status="active").incidents
    (open_80,) = [view for view in queue if view.rule == "budget_80"]
    tracker.resolve(open_80.id)
    spend(db_engine, 600, 1100)
    detect_at(db_url, settings, T0 + timedelta(hours=5))
    assert len(slack.posts()) == 2

    # $1 below the budget: still 80 %. At the budget, a warning; from 110 % critical, told
    # once more, then never again.
    spend(db_engine, 600, 1399)
    detect_at(db_url, settings, T0 + timedelta(hours=6))
    assert len(slack.posts()) == 2
    spend(db_engine, 600, 1400)
    detect_at(db_url, settings, T0 + timedelta(hours=7))
    spend(db_engine, 600, 1600)
    detect_at(db_url, settings, T0 + timedelta(hours=8))
    detect_at(db_url, settings, T0 + timedelta(hours=9))
    posts = budget_posts(slack)
    assert len(posts) == 4
    assert "Budget spent" in posts[2] and "(100 %)" in posts[2]
    assert "escalated to critical" in posts[3] and "(110 %)" in posts[3]

    # The next cycle starts from nothing: the thresholds fire again.
    later = T0 + timedelta(days=31)
    spend(db_engine, 600, 500, at=later)
    assert cycle_start(later.date()) > T0.date()
    assert budget_rules(detect_at(db_url, settings, later)) == [("budget_50", group)]
    assert len(slack.posts()) == 5


def test_a_team_and_a_member_budget_and_a_forecasted_breach(
    db_url: str, db_engine: Engine, slack: FakeSlack
) -> None:
    # Ana and Bo each spent $10 a day: about $250 more by the cycle's end.
    seed(
        db_engine,
        T0.date(),
        {"ana@example.test": 20_000.0, "bo@example.test": 10_000.0},
        daily_cents={"ana@example.test": 1_000.0, "bo@example.test": 1_000.0},
    )
    settings = settings_for(db_url, slack)
    tracker = Tracker(settings, db_engine, clock=lambda: T0)
    tracker.set_budget("team", None, "400", actor="test")  # $300 spent, $550 forecast
    tracker.set_budget("member", "ana@example.test", "150", actor="test")

    report = detect_at(db_url, settings, T0)
    found = sorted((f.rule, f.email) for f in report.findings if f.rule.startswith("budget"))
    assert found == [
        ("budget_100", "ana@example.test"),
        ("budget_50", "team"),
        ("budget_forecast", "team"),
    ]
    texts = budget_posts(slack)
    assert {member_field(post) for post in slack.posts()} == {
        "*Member*\nAna Silva\nana@example.test",
        "*Budget of*\nThe team",
    }
    told = next(text for text in texts if "is forecast" in text)
    forecast = re.search(
        r"The team is forecast to spend \$([\d,]+) by the cycle's end, (\d+) % of", told
    )
    assert forecast is not None, told
    assert 500 <= int(forecast[1].replace(",", "")) <= 600 and 125 <= int(forecast[2]) <= 150
    assert "its $400 budget; spent $300 by day 18 of 30" in told
    assert any("of their $150 budget (133 %)" in text for text in texts)
    member = tracker.member("ana@example.test")
    assert [view.rule for view in member.history] == ["budget_100"]
    detect_at(db_url, settings, T0 + timedelta(hours=1))
    assert len(slack.posts()) == len(texts)
