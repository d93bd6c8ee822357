"""Detection's messages and alerts name the member's billing group, local edits included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.alerting.servers import item, serve_slack
from tests.daemon.conftest import collect_and_detect, daemon_settings
from tests.integration.helpers import KEY
from tracker_core.alerting.email import individual_email
from tracker_core.alerting.slack import individual_message
from tracker_core.config import Settings
from tracker_core.detection.budgets import BUDGET_RULES
from tracker_core.detection.model import RULES, DayMeasure, MemberUsage
from tracker_core.detection.rules import detect
from tracker_core.detection.settings import DetectionSettings
from tracker_core.jobs.collect import simulator_settings
from tracker_core.jobs.detect import run_detection
from tracker_core.service import open_tracker
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.storage import open_database

DAY = date(2026, 11, 25)
CYCLE = date(2026, 11, 1)
GROUP = "Platform > Infra"
SLACK_GROUP = "Platform &gt; Infra"
"""The group as Slack's mrkdwn carries it."""


def usage(email: str, spend: list[float], requests: list[int], tokens: list[int]) -> MemberUsage:
    """A member whose series end on ``DAY``, zero-filled over 40 days."""
    window = [DAY - timedelta(days=n) for n in range(40, -1, -1)]

    def on(values: list[Any], day: date) -> Any:
        back = (DAY - day).days
        return values[-1 - back] if back < len(values) else 0

    days = {d: DayMeasure(on(spend, d), on(requests, d), on(tokens, d)) for d in window}
    models = {d: {"gpt-5": m.spend_cents} for d, m in days.items() if m.spend_cents > 0}
    cycle = sum(m.spend_cents for d, m in days.items() if d >= CYCLE)
    return MemberUsage(email, email.split("@")[0].title(), days, models, cycle)


def test_every_member_rule_names_the_members_group_and_nothing_else_changes() -> None:
    settings = DetectionSettings(
        max_spend_per_cycle=1_000, max_requests_per_day=1_000, max_tokens_per_day=10_000
    )
    team = [
        usage(f"o{i}@x.io", [10_000.0 + 500.0 * ((i + d) % 3 - 1) for d in range(8)], [300] * 8, [])
        for i in range(6)
    ]
    amy = usage(
        "amy@x.io", [4_000.0] * 6 + [0.0, 200_000.0], [300] * 6 + [0, 5_000], [0] * 7 + [50_000]
    )
    amy = replace(amy, cycle_spend_cents=2_000_000.0)
    plain = detect([*team, amy], settings, [DAY], CYCLE)
    grouped = detect([*team, replace(amy, group=GROUP)], settings, [DAY], CYCLE)
    # Every usage rule fires (budgets are a rule of their own, fed by budgets, not usage).
    assert {f.rule for f in grouped if f.email == "amy@x.io"} == set(RULES) - BUDGET_RULES
    assert [f.fingerprint for f in grouped] == [f.fingerprint for f in plain]
    for before, after in zip(plain, grouped, strict=True):
        if after.email == "amy@x.io":
            assert after.message.startswith(f"Amy ({GROUP}) "), after.message
            assert after.message == before.message.replace("Amy ", f"Amy ({GROUP}) ", 1)
        else:
            assert after.message == before.message
    spend_limit = next(f for f in grouped if f.rule == "spend_limit")
    assert spend_limit.message == (
        f"Amy ({GROUP}) has spent $20,000.00 this cycle, over the $1,000.00 cap"
        " (mostly gpt-5, 100%)"
    )


def test_the_slack_card_and_the_email_show_a_group_field_when_there_is_one() -> None:
    card = json.dumps(individual_message(item(3, group=GROUP), "").blocks)
    assert f"*Group*\\n{SLACK_GROUP}" in card
    assert "*Group*" not in json.dumps(individual_message(item(3), "").blocks)
    email = individual_email(item(3, group=GROUP), "")
    assert f"Group: {GROUP}\n" in email.text
    assert "Group:" not in individual_email(item(3), "").text


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    scenario = generate_scenario(users=12, days=10, seed=5, now=datetime.now(UTC))
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as url:
        yield url


def settings_for(db_url: str, api: str, **daemon: Any) -> Settings:
    settings = daemon_settings(db_url, api_url=api, **daemon)
    return settings.model_copy(update={"cursor": simulator_settings(api, KEY, db_url).cursor})


def test_detection_names_the_effective_group_and_the_alert_carries_it(
    db_url: str, api: str
) -> None:
    settings = settings_for(db_url, api)
    collect_and_detect(settings)
    engine = open_database(db_url)
    try:
        with open_tracker(settings) as tracker:
            tracker.update_settings({"max_spend_per_cycle": "0.01"})
            dry = run_detection(engine, settings, dry_run=True)
            caps = sorted((f.value, f.email) for f in dry.findings if f.rule == "spend_limit")
            (second, _), (top_spend, top) = caps[-2], caps[-1]
            cap = round((second + top_spend) / 2, 2)  # findings' dollars are rounded
            assert second + 0.01 < cap < top_spend - 0.01
            cursor_group = tracker.overview(days=7).members
            before = {row.email: row.group for row in cursor_group}
            assert before[top] != GROUP
            tracker.create_group(GROUP, actor="test")
            tracker.assign_members([top], GROUP, actor="test")
            # Only the top spender is over the cap: one new incident, one card.
            tracker.update_settings({"max_spend_per_cycle": str(cap)})
            groups = {row.email: row.group for row in tracker.overview(days=7).members}
            names = {row.email: row.name for row in tracker.overview(days=7).members}
        assert groups[top] == GROUP
        with serve_slack() as slack:
            report = run_detection(engine, settings_for(db_url, api, slack=slack))
            posts = slack.posts()
    finally:
        engine.dispose()

    assert report.findings
    for finding in report.findings:
        who = finding.name.strip() or finding.email
        group = groups.get(finding.email, "")
        expected = f"{who} ({group}) " if group else f"{who} "
        assert finding.message.startswith(expected), (finding.message, group)
    (limit,) = [f for f in report.findings if f.rule == "spend_limit"]
    assert limit.email == top
    assert limit.message.startswith(f"{names[top] or top} ({GROUP}) has spent ")
    (card,) = posts
    assert f"*Group*\\n{SLACK_GROUP}" in json.dumps(card["blocks"])
    assert f"({SLACK_GROUP}) has spent" in card["text"]
