"""Slack alerts arrive once even when a post's answer never comes back.

The outbox (on SQLite and PostgreSQL) drives the real slack-sdk client against the local Slack
stand-in, which can hold a post's answer past the client's timeout, with the message already
in the channel or not. Dispatch runs on an injected clock; only the client timeout is real.
"""

from __future__ import annotations

import logging
import os
import re
import signal
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.alerting.servers import (
    RESEND_KEY,
    SLACK_TOKEN,
    FakeSlack,
    Reply,
    serve_resend,
)
from tests.integration.helpers import start_cli, write_config
from tracker_core import incidents
from tracker_core.alerting.email import EmailSender
from tracker_core.alerting.items import AlertItem, Delivery
from tracker_core.alerting.outbox import DispatchResult, dispatch
from tracker_core.alerting.slack import SlackSender
from tracker_core.detection.model import Finding
from tracker_core.storage import open_database

CHANNEL = "C07ALERTS1"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HELD_TIMEOUT = 0.3
"""The client's timeout while Slack holds its answers: outlasted at once."""
TIMEOUT = 10
"""The client's timeout otherwise: never reached by a loopback answer, even on a busy machine."""
INCIDENT_IN_TEXT = re.compile(r"\(incident #(\d+)\)")


def finding(email: str, day: date) -> Finding:
    return Finding(
        rule="spend_spike",
        email=email,
        name=email.split("@")[0].title(),
        period=day,
        value=420.0,
        threshold=250.0,
        severity="critical",
        message=f"{email} spent $420.00 on {day}",
        top_model="claude-4.1-opus",
        top_model_share=0.9,
    )


def open_incidents(
    engine: Engine, *emails: str, at: datetime = T0, channel: str = "slack"
) -> list[int]:
    """One incident per member, announced on ``channel`` only; their ids in that order."""
    with engine.begin() as conn:
        result = incidents.apply_findings(
            conn,
            [finding(email, at.date()) for email in emails],
            onsets={},
            now=at,
            channels={channel: True},
            cycle_start=at.date().replace(day=1),
        )
    return [change.incident_id for change in result.new]


def sender(slack: FakeSlack, timeout: float) -> SlackSender:
    return SlackSender(
        SLACK_TOKEN, CHANNEL, base_url=slack.base_url, dashboard_url="", timeout=timeout
    )


def run(
    engine: Engine, slack: FakeSlack, at: datetime, *, timeout: float = TIMEOUT
) -> DispatchResult:
    return dispatch(engine, {"slack": sender(slack, timeout)}, now=lambda: at)


def announced(slack: FakeSlack) -> Counter[int]:
    """How many messages in the channel announce each incident (one card per incident)."""
    return Counter(
        int(n) for m in slack.channel_messages for n in INCIDENT_IN_TEXT.findall(m["text"])
    )


def slack_state(engine: Engine, ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """Each incident's Slack announcement as the queue shows it: (status, error)."""
    with engine.connect() as conn:
        found = incidents.announcements(conn, ids)
    return {
        incident: next((a.status, a.last_error) for a in told if a.channel == "slack")
        for incident, told in found.items()
    }


def test_a_post_answered_after_the_timeout_is_found_in_the_channel_not_posted_again(
    db_engine: Engine, slack: FakeSlack
) -> None:
    first, second = open_incidents(db_engine, "ana@example.test", "bo@example.test")
    slack.hold_posts(store=True)

    timed_out = run(db_engine, slack, T0 + timedelta(minutes=1), timeout=HELD_TIMEOUT)

    slack.release()
    assert timed_out.failed_total == 2 and not timed_out.sent
    told = slack_state(db_engine, [first, second])

    # Too soon to ask about the first: the request might still land. The second, never
    # attempted after the timeout, goes out.
    waiting = run(db_engine, slack, T0 + timedelta(minutes=1, seconds=30))
    assert waiting.failed_total == 1 and waiting.sent == {"slack": 1}
    assert slack.history_calls() == []
    assert announced(slack) == Counter({first: 1, second: 1})

    settled = run(db_engine, slack, T0 + timedelta(minutes=3))

    assert settled.failed_total == 0 and settled.sent == {}
    assert announced(slack) == Counter({first: 1, second: 1})
    assert len(slack.posts()) == 2
    assert slack.history_calls()[0]["include_all_metadata"] in ("1", "true")
    assert slack_state(db_engine, [first, second]) == {
        first: ("sent", None),
        second: ("sent", None),
    }
    with db_engine.connect() as conn:
        view = incidents.get_incident(conn, first)
    # Announced when the late-answered post was made, not when it was found.
    assert (view.status, view.alerted_at) == ("alerted", T0 + timedelta(minutes=1))

    assert run(db_engine, slack, T0 + timedelta(minutes=10)).sent == {}
    assert len(slack.posts()) == 2
    # What the queue showed while the outcome was unknown.
    assert "no answer from Slack" in timed_out.errors[0]
    assert told[first][0] == "failed"
    assert "checked before a resend" in (told[first][1] or "")


def test_a_post_that_never_reached_the_channel_is_posted_once_more(
    db_engine: Engine, slack: FakeSlack
) -> None:
    [incident] = open_incidents(db_engine, "ana@example.test")
    slack.hold_posts(store=False)
    run(db_engine, slack, T0 + timedelta(minutes=1), timeout=HELD_TIMEOUT)
    slack.release()

    settled = run(db_engine, slack, T0 + timedelta(minutes=3))

    assert settled.sent == {"slack": 1}
    assert len(slack.posts()) == 2
    assert announced(slack) == Counter({incident: 1})
    assert slack_state(db_engine, [incident]) == {incident: ("sent", None)}


def test_a_failed_history_check_is_asked_again_before_anything_is_posted(
    db_engine: Engine, slack: FakeSlack
) -> None:
    [incident] = open_incidents(db_engine, "ana@example.test")
    slack.hold_posts(store=True)
    run(db_engine, slack, T0 + timedelta(minutes=1), timeout=HELD_TIMEOUT)
    slack.release()
    slack.history_replies.append(Reply(500, "Internal Server Error"))

    unsure = run(db_engine, slack, T0 + timedelta(minutes=3))

    assert unsure.failed_total == 1 and len(slack.posts()) == 1
    status, error = slack_state(db_engine, [incident])[incident]
    assert status == "failed" and "the next run asks again" in (error or "")

    run(db_engine, slack, T0 + timedelta(minutes=4))

    assert len(slack.posts()) == 1
    assert slack_state(db_engine, [incident]) == {incident: ("sent", None)}


def test_without_the_history_scope_an_unknown_post_is_sent_again_and_the_log_says_so(
    db_engine: Engine, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    [incident] = open_incidents(db_engine, "ana@example.test")
    slack.history_scope = False
    slack.hold_posts(store=True)
    run(db_engine, slack, T0 + timedelta(minutes=1), timeout=HELD_TIMEOUT)
    slack.release()

    with caplog.at_level(logging.WARNING, logger="tracker_core.alerting.outbox"):
        resent = run(db_engine, slack, T0 + timedelta(minutes=3))

    # The safe side: an alert that may arrive twice beats one that never does.
    assert resent.sent == {"slack": 1}
    assert announced(slack) == Counter({incident: 2})
    warning = caplog.records[-1].getMessage()
    assert "missing_scope" in warning and "channels:history" in warning
    assert "may arrive twice" in warning
    assert SLACK_TOKEN not in caplog.text
    assert slack_state(db_engine, [incident]) == {incident: ("sent", None)}


@pytest.mark.slow
def test_a_detect_killed_while_slack_holds_its_post_does_not_post_twice(
    db_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    engine = open_database(db_url)
    try:
        ids = open_incidents(engine, "ana@example.test", "bo@example.test", at=now)
        config = write_config(tmp_path / "c.toml", api_url="http://127.0.0.1:9/", db_url=db_url)
        slack.hold_posts(store=True)
        detect = start_cli(
            "detect",
            "--json",
            config=config,
            env={
                "SLACK_BOT_TOKEN": SLACK_TOKEN,
                "SLACK_CHANNEL_ID": CHANNEL,
                "SLACK_API_URL": slack.base_url,
            },
        )
        try:
            assert slack.post_arrived.wait(timeout=60), detect.communicate(timeout=5)
            os.kill(detect.pid, signal.SIGKILL)
        finally:
            detect.wait(timeout=30)
            detect.communicate()
        assert detect.returncode == -signal.SIGKILL
        slack.release()
        assert len(slack.posts()) == 1

        after = run(engine, slack, now + timedelta(minutes=2))

        assert after.failed_total == 0
        assert announced(slack) == Counter(dict.fromkeys(ids, 1))
        assert len(slack.posts()) == 2  # the held one, then the other incident's
        assert {status for status, _ in slack_state(engine, ids).values()} == {"sent"}
    finally:
        engine.dispose()


class KilledAfterSending(EmailSender):
    """The email goes out, then the process dies before the outbox hears of it."""

    def send(self, items: Sequence[AlertItem], attempt: str = "") -> list[Delivery]:
        super().send(items, attempt)
        raise KeyboardInterrupt


def test_an_email_of_unknown_fate_is_sent_again_under_the_same_idempotency_key(
    db_engine: Engine,
) -> None:
    [incident] = open_incidents(db_engine, "ana@example.test", channel="email")
    with serve_resend() as resend:
        options = {"api_url": resend.api_url, "dashboard_url": ""}
        killed = KilledAfterSending(RESEND_KEY, "lead@example.test", "a@example.test", **options)
        with pytest.raises(KeyboardInterrupt):
            dispatch(db_engine, {"email": killed}, now=lambda: T0 + timedelta(minutes=1))
        email = EmailSender(RESEND_KEY, "lead@example.test", "a@example.test", **options)

        again = dispatch(db_engine, {"email": email}, now=lambda: T0 + timedelta(minutes=3))

        keys = [request.header("Idempotency-Key") for request in resend.emails()]
    assert again.sent == {"email": 1}
    # Resend delivers one email per key within 24 hours: the second request is not a second email.
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    with db_engine.connect() as conn:
        [told] = incidents.announcements(conn, [incident])[incident][1:]
    assert (told.channel, told.status) == ("email", "sent")
