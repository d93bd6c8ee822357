"""Detection end to end: simulator -> collect -> detect, with alerts to local Slack and Resend.

The simulator's generated organisation lists the anomalies it planted and the members it
planted as ordinary, so these tests check both what fires and what must stay quiet.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from tests.alerting.servers import (
    RESEND_KEY,
    SLACK_429,
    SLACK_500,
    SLACK_TOKEN,
    FakeResend,
    FakeSlack,
    serve_resend,
    serve_slack,
)
from tests.integration.helpers import (
    CopyOfTemplate,
    collected_config,
    run_cli,
    start_cli,
)
from tracker_core.domain import utc_day
from tracker_core.simulator import generate_scenario
from tracker_core.storage import cache
from tracker_core.storage import tables as t
from tracker_core.views import overview as views_overview

pytestmark = pytest.mark.slow

NOW = datetime.now(UTC)

PLANTED_RULES = {
    "spend_spike": {"spend_spike"},
    "team_outlier": {"zscore_spend"},
    "cycle_outlier": {"cycle_outlier"},
    "request_flood": {"zscore_requests", "requests_limit"},
}
"""Which rules may report each kind of planted anomaly."""


@pytest.fixture(scope="module")
def scenario() -> Any:
    return generate_scenario(users=30, days=30, seed=23, now=NOW)


@pytest.fixture
def collected(scenario: Any, db_url: str, tmp_path: Path, copy_of_template: CopyOfTemplate) -> Path:
    """A config whose database holds the collected organisation."""
    return collected_config(scenario, "detect-30x30-seed23", db_url, tmp_path, copy_of_template)


def forget_overview(db_url: str) -> None:
    """Empty the view cache that ``collect`` filled, so a test sees what detection does."""
    engine = create_engine(db_url)
    try:
        cache.forget_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with serve_slack() as server:
        yield server


@pytest.fixture
def resend() -> Iterator[FakeResend]:
    with serve_resend() as server:
        yield server


def alert_env(slack: FakeSlack, resend: FakeResend | None = None) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_CHANNEL_ID": "C07ALERTS1",
        "SLACK_API_URL": slack.base_url,
        "DASHBOARD_URL": "https://tracker.example.test",
    }
    if resend is not None:
        env |= {
            "RESEND_API_KEY": RESEND_KEY,
            "RESEND_API_URL": resend.api_url,
            "ALERT_EMAIL_TO": "lead@example.test",
        }
    return env


def jumped_this_cycle(scenario: Any, email: str, today: date) -> bool:
    """Whether a member's cycle so far is a jump for them, as README's ``cycle_outlier`` says.

    The generator's whale spends heavily from its first day; once it has a week of spend before
    the cycle, its cycle is its ordinary pace, and a consistent heavy spender is no anomaly.
    Only without that week (early in the generated window) is it judged by the team alone.
    """
    store = scenario.events
    spent: dict[date, float] = defaultdict(float)
    for row in range(len(store)):
        if store.emails[store.users[row]] == email:
            spent[utc_day(store.timestamps[row])] += store.spend_cents(row)
    start = today.replace(day=1)
    before = [d for d, c in spent.items() if start - timedelta(days=28) <= d < start and c > 0]
    if len(before) < 3 or (start - min(before)).days < 7:
        return True
    pace = sum(spent[d] for d in before) / (start - min(before)).days
    elapsed = (today - start).days + 1
    factor = 4.0 if elapsed < 7 else 2.0
    return sum(c for d, c in spent.items() if start <= d <= today) > factor * pace * elapsed


def incident_ids_in(post: dict[str, Any]) -> list[int]:
    """Incident numbers a Slack message announces (``#12`` in its blocks)."""
    return [int(n) for n in re.findall(r"#(\d+)\b", json.dumps(post["blocks"]))]


def test_detect_finds_every_planted_anomaly_and_spares_normal_members(
    scenario: Any, collected: Path, slack: FakeSlack, resend: FakeResend
) -> None:
    env = alert_env(slack, resend)
    result = run_cli("detect", "--json", config=collected, env=env)
    assert result.code == 0, result.stderr
    report = result.json()
    anomalies = report["anomalies"]
    assert report["new"] == len(anomalies) > 0
    assert all(a["is_new"] for a in anomalies)

    for planted in scenario.planted_anomalies:
        matches = [
            a
            for a in anomalies
            if a["email"] == planted["email"]
            and a["rule"] in PLANTED_RULES[planted["kind"]]
            and (planted["day"] is None or a["period"] == planted["day"])
        ]
        if planted["kind"] == "cycle_outlier" and not jumped_this_cycle(
            scenario, planted["email"], NOW.date()
        ):
            assert not matches, "a consistent heavy spender is not a cycle outlier"
            continue
        assert matches, f"planted {planted['kind']} of {planted['email']} was not detected"
    flagged = {a["email"] for a in anomalies}
    assert flagged.isdisjoint(scenario.normal_members)

    # More than three anomalies: one Slack summary and one summary email, not a flood.
    assert report["alerts"] == {"slack": 1, "email": 1, "failed": 0}
    [post] = slack.posts()
    assert sorted(incident_ids_in(post)) == sorted(a["incident_id"] for a in anomalies)
    assert SLACK_TOKEN not in result.stdout + result.stderr

    # A second run finds the same anomalies, opens nothing and tells nobody again.
    again = run_cli("detect", "--json", config=collected, env=env)
    assert again.code == 0, again.stderr
    second = again.json()
    assert second["new"] == 0
    assert second["alerts"] == {"slack": 0, "email": 0, "failed": 0}
    assert sorted(a["id"] for a in second["anomalies"]) == sorted(a["id"] for a in anomalies)
    assert len(slack.posts()) == 1 and len(resend.emails()) == 1


@pytest.mark.parametrize("failure", [SLACK_500, SLACK_429], ids=["500", "429"])
def test_failed_slack_delivery_is_retried_once_later_never_twice(
    collected: Path, slack: FakeSlack, db_url: str, failure: Any
) -> None:
    env = alert_env(slack)
    slack.script(failure)
    first = run_cli("detect", "--json", config=collected, env=env)
    assert first.code == 1
    assert "retried on the next run" in first.stderr
    assert first.json()["alerts"]["failed"] == 1
    open_ids = sorted(a["incident_id"] for a in first.json()["anomalies"])
    # The queue says what became of each alert, with Slack's answer.
    listed = run_cli("incidents", "list", "--json", config=collected).json()["incidents"]
    slack_alerts = [a for i in listed for a in i["alerts"] if a["channel"] == "slack"]
    assert len(slack_alerts) == len(open_ids)
    assert {(a["status"], a["attempts"]) for a in slack_alerts} == {("failed", 1)}
    assert all(a["error"] and a["next_attempt_at"] for a in slack_alerts)

    if failure is SLACK_429:
        # Slack asked for a pause (Retry-After: 1); the next run waits it out.
        import time

        time.sleep(1.1)
    second = run_cli("detect", "--json", config=collected, env=env)
    assert second.code == 0, second.stderr
    assert second.json()["alerts"] == {"slack": 1, "email": 0, "failed": 0}
    third = run_cli("detect", config=collected, env=env)
    # Nothing was due, on a configured channel: the line says both.
    assert "Alerts sent: none; failed: 0 (configured: slack)" in third.stdout
    listed = run_cli("incidents", "list", "--json", config=collected).json()["incidents"]
    assert {a["status"] for i in listed for a in i["alerts"] if a["channel"] == "slack"} == {"sent"}

    posts = slack.posts()
    assert len(posts) == 2  # the refused one and the one that got through
    delivered = Counter(incident_ids_in(posts[1]))
    assert sorted(delivered) == open_ids and set(delivered.values()) == {1}

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(t.alert_outbox.c.status, t.alert_outbox.c.attempts).where(
                    t.alert_outbox.c.channel == "slack"
                )
            ).all()
            alerted = conn.execute(select(t.incidents.c.status)).scalars().all()
    finally:
        engine.dispose()
    assert {(status, attempts) for status, attempts in rows} == {("sent", 2)}
    assert set(alerted) == {"alerted"}


def test_dry_run_reports_without_storing_or_sending(
    collected: Path, slack: FakeSlack, db_url: str
) -> None:
    forget_overview(db_url)
    dry = run_cli("detect", "--json", "--dry-run", config=collected, env=alert_env(slack))
    assert dry.code == 0, dry.stderr
    assert dry.json()["new"] > 0
    assert slack.posts() == []
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(t.anomalies.c.id)).first() is None
            assert conn.execute(select(t.view_cache.c.key)).first() is None
    finally:
        engine.dispose()


def test_detect_leaves_the_consoles_overview_ready(collected: Path, db_url: str) -> None:
    """detect computes the overview so the next console start is quick (a new day, say)."""
    forget_overview(db_url)
    result = run_cli("detect", "--json", config=collected)
    assert result.code == 0, result.stderr
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            ready = views_overview.remembered_overview(
                conn, days=30, today=datetime.now(UTC).date()
            )
            assert ready is not None
            assert ready.open_incidents == len(result.json()["anomalies"]) > 0
            assert ready == views_overview.overview(conn, days=30, today=datetime.now(UTC).date())
    finally:
        engine.dispose()


def test_incident_commands_acknowledge_and_resolve(collected: Path) -> None:
    detected = run_cli("detect", config=collected)
    assert detected.code == 0
    # No channel configured: the run says so rather than a bare "none sent".
    assert "Alerts: none sent, no channel is configured" in detected.stdout
    listing = run_cli("incidents", "list", "--json", config=collected)
    assert listing.code == 0, listing.stderr
    queue = listing.json()["incidents"]
    assert queue and all(i["status"] == "open" for i in queue)  # no channel configured
    target = queue[0]["id"]

    ack = run_cli("incidents", "ack", str(target), config=collected)
    assert ack.code == 0 and f"incident #{target} acknowledged" in ack.stdout
    # Repeating an action is no error, whichever it is; it says nothing changed.
    ack_again = run_cli("incidents", "ack", str(target), config=collected)
    assert ack_again.code == 0 and f"incident #{target} already acknowledged" in ack_again.stdout
    done = run_cli("incidents", "resolve", str(target), config=collected)
    assert done.code == 0 and f"incident #{target} resolved" in done.stdout
    again = run_cli("incidents", "resolve", str(target), config=collected)
    assert again.code == 0 and f"incident #{target} already resolved" in again.stdout
    backward = run_cli("incidents", "ack", str(target), config=collected)
    assert backward.code == 1 and "already resolved" in backward.stderr

    resolved = run_cli("incidents", "list", "--status", "resolved", "--json", config=collected)
    [item] = resolved.json()["incidents"]
    assert item["id"] == target and item["resolved_by"] == "person"
    assert item["acknowledged_at"] is not None
    # Detection does not raise a fingerprint a person resolved.
    rerun = run_cli("detect", "--json", config=collected)
    assert target not in [a["incident_id"] for a in rerun.json()["anomalies"]]


def test_settings_set_validates_and_detection_uses_it(collected: Path) -> None:
    bad = run_cli("settings", "set", "zscore_multiplier", "banana", config=collected)
    assert bad.code == 2 and "zscore_multiplier" in bad.stderr
    unknown = run_cli("settings", "set", "no_such_key", "1", config=collected)
    assert unknown.code == 2 and "no_such_key" in unknown.stderr

    assert run_cli("settings", "set", "max_requests_per_day", "50", config=collected).code == 0
    shown = run_cli("settings", "show", "--json", config=collected).json()
    assert shown["max_requests_per_day"] == 50
    report = run_cli("detect", "--json", config=collected).json()
    assert any(a["rule"] == "requests_limit" for a in report["anomalies"])


def test_two_detections_at_once_announce_each_anomaly_once(
    collected: Path, slack: FakeSlack
) -> None:
    env = alert_env(slack)
    runs = [start_cli("detect", "--json", config=collected, env=env) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    reports = [json.loads(stdout) for stdout, _ in outputs]
    # One run opened the anomalies; the other waited for it and found them already open.
    assert sorted(report["new"] for report in reports)[0] == 0
    assert sum(report["alerts"]["slack"] for report in reports) == 1
    [post] = slack.posts()
    ids = incident_ids_in(post)
    assert len(ids) == len(set(ids)) == len(reports[0]["anomalies"])
