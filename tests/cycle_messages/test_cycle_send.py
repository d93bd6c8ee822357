"""The cycle's messages through the real slack-sdk and resend SDKs to the local stand-ins.

On SQLite and PostgreSQL, on an injected clock: the hand-made team of ``team.py`` on
2026-11-28, three days before its cycle ends. Each message goes out once per its period (a
second run the same day sends nothing), a failed send is retried by the next run and then
delivered once, and money reads as dollars.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tests.alerting.servers import (
    RESEND_500,
    RESEND_KEY,
    SLACK_500,
    SLACK_TOKEN,
    FakeResend,
    FakeSlack,
    serve_resend,
    serve_slack,
)
from tests.cycle_messages.team import NOW, store_team
from tests.integration.helpers import KEY, cli_env, write_config
from tracker_core.alerting.slack import SlackSender
from tracker_core.cli import main as cli
from tracker_core.config import (
    DaemonSettings,
    DatabaseSettings,
    EmailSettings,
    Settings,
    SlackSettings,
)
from tracker_core.jobs.cycle_messages import send_cycle_messages
from tracker_core.service import Tracker
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.storage import tables as t

DASHBOARD = "https://dash.example.test"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with serve_slack() as server:
        yield server


@pytest.fixture
def resend() -> Iterator[FakeResend]:
    with serve_resend() as server:
        yield server


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def tracker_on(
    engine: Engine, db_url: str, slack: FakeSlack, resend: FakeResend, clock: Clock
) -> Tracker:
    settings = Settings(
        database=DatabaseSettings(url=db_url),
        slack=SlackSettings(bot_token=SLACK_TOKEN, channel_id="C07ALERTS1", api_url=slack.base_url),
        email=EmailSettings(
            resend_api_key=RESEND_KEY, to="lead@example.test", api_url=resend.api_url
        ),
        daemon=DaemonSettings(dashboard_url=DASHBOARD),
    )
    return Tracker(settings, engine, clock=clock)


def slack_text(post: dict[str, Any]) -> str:
    """Every text of a post's blocks, in order."""
    parts: list[str] = []
    for block in post["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            parts.append(element["text"])
    return "\n".join(parts)


def headers_of(posts: list[dict[str, Any]]) -> list[str]:
    return [post["blocks"][0]["text"]["text"] for post in posts]


def test_each_message_goes_out_once_per_period(
    db_engine: Engine, db_url: str, slack: FakeSlack, resend: FakeResend
) -> None:
    store_team(db_engine)
    clock = Clock(NOW)
    tracker = tracker_on(db_engine, db_url, slack, resend, clock)

    first = tracker.send_cycle_messages()
    assert sorted(first.queued) == ["cycle_summary", "members_limited", "plan_exhaustion"]
    assert len(first.sent) == 6 and first.failed == []
    posts = slack.posts()
    assert headers_of(posts) == [
        ":zap: Cursor — Plan Exhaustion Alert",
        ":no_entry: Cursor — Members Limited",
        ":bar_chart: Cursor Cycle Summary — Ending 2026-11-30",
    ]
    exhaustion, limited, summary = (slack_text(post) for post in posts)
    assert "*3/4* active members have exceeded their included plan this cycle" in exhaustion
    assert f"<{DASHBOARD}/members/ana@example.test|Ana Silva>: day 2 (2026-11-02)" in exhaustion
    assert f"<{DASHBOARD}/insights|" in exhaustion
    assert "Ben Ito>: $10.00 spent of a $10.00 limit" in limited
    for line in (
        "*Cycle Spend:* $45.00",
        "*vs Last Cycle:* $60.00 (-25% ↓)",
        "*Seats:* 4/5 active (80%)",
        ":warning: 1 unused seat this cycle",
        "*Plan Exhaustion:* 3/4 members exceeded plan",
        "*Adoption:* AI-Native: 0 · High: 4 · Moderate: 0 · Low: 0",
        f"1. <{DASHBOARD}/members/ana@example.test|Ana Silva>: $30.00",
        f"<{DASHBOARD}/|Dashboard> · <{DASHBOARD}/insights|Insights>",
        "Cycle 2026-11-01 – 2026-11-30 · 3 days remaining · cursor-usage-tracker",
    ):
        assert line in summary, line
    assert "4500" not in summary and "3000" not in summary, "money is dollars, never cents"
    # The forecast: at least what was spent, with its range, in dollars.
    forecast = re.search(
        r"\*Forecast:\* \$([\d,.]+) at the cycle's end \(likely \$([\d,.]+)-\$([\d,.]+)\)",
        summary,
    )
    assert forecast, summary
    expected, low, high = (float(value.replace(",", "")) for value in forecast.groups())
    assert 45.0 <= low <= expected <= high
    assert posts[2]["text"] == "Cursor Cycle Summary — $45.00 spend, 1 unused seat"

    emails = [r.body for r in resend.emails()]
    assert [e["subject"] for e in emails] == [
        "[Cursor] 3/4 members exceeded their included plan",
        "[Cursor] 1 member is limited by spend limits",
        "[Cursor] Cycle summary: $45.00 spent, cycle ends 2026-11-30",
    ]
    assert "<strong>Cycle Spend:</strong> $45.00" in emails[2]["html"]
    assert f'href="{DASHBOARD}/members/ana@example.test"' in emails[2]["html"]
    assert "vs Last Cycle: $60.00 (-25% ↓)" in emails[2]["text"]
    keys = {r.header("Idempotency-Key") for r in resend.emails()}
    assert len(keys) == 3 and None not in keys

    # A second run the same day sends nothing, on either channel.
    clock.at = NOW + timedelta(hours=5)
    again = tracker.send_cycle_messages()
    assert (again.queued, again.sent, again.failed) == ([], [], [])
    assert len(slack.posts()) == 3 and len(resend.emails()) == 3

    # The next day brings the daily notices again; the summary was this cycle's, once.
    clock.at = NOW + timedelta(days=1)
    next_day = tracker.send_cycle_messages()
    assert sorted(next_day.queued) == ["members_limited", "plan_exhaustion"]
    assert headers_of(slack.posts()[3:]) == [
        ":zap: Cursor — Plan Exhaustion Alert",
        ":no_entry: Cursor — Members Limited",
    ]
    assert {(n["kind"], n["period"]) for n in next_day.sent} == {
        ("plan_exhaustion", "2026-11-29"),
        ("members_limited", "2026-11-29"),
    }


def test_a_failed_send_is_retried_by_the_next_run_and_then_sent_once(
    db_engine: Engine, db_url: str, slack: FakeSlack, resend: FakeResend
) -> None:
    store_team(db_engine)
    clock = Clock(NOW)
    tracker = tracker_on(db_engine, db_url, slack, resend, clock)
    slack.script(SLACK_500, SLACK_500, SLACK_500)
    resend.script(RESEND_500)

    first = tracker.send_cycle_messages()
    assert sorted((n["channel"], n["kind"]) for n in first.failed) == [
        ("email", "plan_exhaustion"),
        ("slack", "cycle_summary"),
        ("slack", "members_limited"),
        ("slack", "plan_exhaustion"),
    ]
    assert all("500" in n["error"] for n in first.failed)
    assert SLACK_TOKEN not in json.dumps(first.to_json())
    assert len(resend.emails()) == 3  # one refused, two delivered
    with db_engine.connect() as conn:
        statuses = conn.execute(select(t.message_outbox.c.channel, t.message_outbox.c.status)).all()
    assert sorted(statuses) == [
        ("email", "failed"),
        ("email", "sent"),
        ("email", "sent"),
        ("slack", "failed"),
        ("slack", "failed"),
        ("slack", "failed"),
    ]

    clock.at = NOW + timedelta(minutes=10)
    retry = tracker.send_cycle_messages()
    assert retry.queued == [] and retry.failed == []
    assert len(retry.sent) == 4
    assert len(slack.posts()) == 6  # three refused, then each once
    assert headers_of(slack.posts()[3:]) == [
        ":zap: Cursor — Plan Exhaustion Alert",
        ":no_entry: Cursor — Members Limited",
        ":bar_chart: Cursor Cycle Summary — Ending 2026-11-30",
    ]
    delivered = [r for r in resend.emails()]
    assert len(delivered) == 4
    # The retried email is the one first meant, under the same idempotency key.
    assert delivered[3].body == delivered[0].body
    assert delivered[3].header("Idempotency-Key") == delivered[0].header("Idempotency-Key")

    clock.at = NOW + timedelta(minutes=20)
    third = tracker.send_cycle_messages()
    assert (third.sent, third.failed) == ([], [])
    assert len(slack.posts()) == 6 and len(resend.emails()) == 4


def test_no_summary_before_the_last_three_days(
    db_engine: Engine, db_url: str, slack: FakeSlack, resend: FakeResend
) -> None:
    store_team(db_engine)
    clock = Clock(NOW - timedelta(days=1))  # four days left, today included
    tracker = tracker_on(db_engine, db_url, slack, resend, clock)
    result = tracker.send_cycle_messages()
    assert sorted(result.queued) == ["members_limited", "plan_exhaustion"]
    assert not any("Cycle Summary" in h for h in headers_of(slack.posts()))


def test_cron_json_reports_the_messages_it_sent(
    tmp_path: Path,
    slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Every member of the original archetypes bills premium models on demand from the cycle's
    # first day: all of them ran out of included usage, so the daily notice is due today.
    scenario = generate_scenario(users=10, days=9, seed=3, now=datetime.now(UTC))
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as api:
        config = write_config(
            tmp_path / "c.toml", api_url=api, db_url=f"sqlite:///{tmp_path / 't.db'}",
            analytics=False, backfill_days=9,
        )  # fmt: skip
        for name, value in cli_env(
            extra={
                "SLACK_BOT_TOKEN": SLACK_TOKEN,
                "SLACK_CHANNEL_ID": "C07ALERTS1",
                "SLACK_API_URL": slack.base_url,
                "DASHBOARD_URL": DASHBOARD,
            }
        ).items():
            monkeypatch.setenv(name, value)
        for name in ("DATABASE_URL", "RESEND_API_KEY", "ALERT_EMAIL_TO"):
            monkeypatch.delenv(name, raising=False)
        capsys.readouterr()
        cli.main(["cron", "--json", "--config", str(config)])
        first = json.loads(capsys.readouterr().out)["messages"]
        cli.main(["cron", "--json", "--config", str(config)])
        second = json.loads(capsys.readouterr().out)["messages"]
    today = datetime.now(UTC).date().isoformat()
    assert {"kind": "plan_exhaustion", "period": today, "channel": "slack"} in first["sent"]
    assert first["failed"] == []
    assert second == {"sent": [], "failed": []}
    assert sum(1 for h in headers_of(slack.posts()) if "Plan Exhaustion" in h) == 1


def test_a_post_whose_answer_never_came_is_found_in_the_channel_not_posted_again(
    db_engine: Engine, db_url: str, slack: FakeSlack, resend: FakeResend
) -> None:
    store_team(db_engine)
    clock = Clock(NOW)
    settings = tracker_on(db_engine, db_url, slack, resend, clock).settings
    sender = SlackSender(
        SLACK_TOKEN, "C07ALERTS1", base_url=slack.base_url, dashboard_url=DASHBOARD, timeout=0.3
    )
    slack.hold_posts(store=True)  # Slack takes each post but answers after the client gave up
    try:
        first = send_cycle_messages(db_engine, settings, clock=clock, senders={"slack": sender})
    finally:
        slack.release()
    assert len(first.failed) == 3 and first.sent == []
    assert len(slack.channel_messages) == 3

    clock.at = NOW + timedelta(minutes=2)
    second = send_cycle_messages(db_engine, settings, clock=clock, senders={"slack": sender})
    assert sorted(n["kind"] for n in second.sent) == [
        "cycle_summary",
        "members_limited",
        "plan_exhaustion",
    ]
    assert len(slack.posts()) == 3, "found in the channel's history, so not posted again"
    assert slack.history_calls()
    assert all(post["metadata"]["event_type"] == "cursor_tracker_message" for post in slack.posts())
