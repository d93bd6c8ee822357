"""The billing cycle's messages, sent by the scheduled job after detection.

Each run works out which messages are due today and queues each once per its period in the
message outbox, then delivers whatever is due there (what it just queued, and what an earlier
run failed to deliver):

- ``plan_exhaustion``: daily (period: the UTC day) while anyone ran out of included usage
  this cycle.
- ``members_limited``: daily while anyone's spend this cycle reached their Cursor limit.
- ``cycle_summary``: once per cycle (period: the cycle's first day), in its last
  :data:`~tracker_core.alerting.cycle_messages.SUMMARY_DAYS` days.

The original tool remembered the last send in a setting written only when Slack accepted, so
with Slack down every run failed again and an email was sent each time; here the outbox row is
the memory, per channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from tracker_core.alerting import cycle_messages as cm
from tracker_core.alerting.message_outbox import MessagesResult, dispatch, queue
from tracker_core.clock import Clock
from tracker_core.config import Settings
from tracker_core.views.cycle_summary import CycleSummary, cycle_summary

if TYPE_CHECKING:
    from tracker_core.alerting.message_outbox import MessageSender


def message_senders(settings: Settings) -> dict[str, MessageSender]:
    """The configured channels' senders (the alerts' own)."""
    from tracker_core.alerting.email import EmailSender
    from tracker_core.alerting.slack import SlackSender
    from tracker_core.jobs.detect import make_senders

    return {
        channel: sender
        for channel, sender in make_senders(settings).items()
        if isinstance(sender, SlackSender | EmailSender)
    }


def due_messages(summary: CycleSummary, dashboard_url: str) -> list[tuple[str, str, cm.Rendered]]:
    """(kind, period, message) of every message due on ``summary.today``."""
    today = summary.today.isoformat()
    due: list[tuple[str, str, cm.Rendered]] = []
    if summary.exhaustion.members:
        message = cm.plan_exhaustion_message(summary.exhaustion, dashboard_url)
        due.append(("plan_exhaustion", today, message))
    if summary.limited:
        message = cm.members_limited_message(summary.limited, summary.today, dashboard_url)
        due.append(("members_limited", today, message))
    collected = summary.seats_total > 0 or summary.spend_cents > 0
    if collected and 1 <= summary.days_remaining <= cm.SUMMARY_DAYS:
        message = cm.cycle_summary_message(summary, dashboard_url)
        due.append(("cycle_summary", summary.cycle.start.isoformat(), message))
    return due


def send_cycle_messages(
    engine: Engine,
    settings: Settings,
    *,
    clock: Clock,
    senders: Mapping[str, MessageSender] | None = None,
) -> MessagesResult:
    """Queue today's due messages once per period and channel, then deliver what is due."""
    channels = message_senders(settings) if senders is None else dict(senders)
    if not channels:
        return MessagesResult()
    now = clock()
    with engine.connect() as conn:
        summary = cycle_summary(conn, now.date(), now)
    queued: list[str] = []
    for kind, period, message in due_messages(summary, settings.daemon.dashboard_url):
        payloads = {
            channel: message.slack_json() if channel == "slack" else message.email_json()
            for channel in channels
        }
        if queue(engine, kind, period, payloads, now=now):
            queued.append(kind)
    result = dispatch(engine, channels, now=clock)
    result.queued = queued
    return result
