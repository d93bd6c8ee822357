"""The alert outbox: every announcement waits here until its channel accepted it.

Detection queues one row per incident, channel and reason (``new`` or ``escalated``). A
dispatch takes the rows that are due, asks each channel's sender to deliver them (the sender
batches them into messages), and records each message's fate on exactly the rows it carried:
a row becomes ``sent`` only when its own message was accepted. A failed row is retried on the
next run; after repeated failures it backs off (doubling, up to a day), and a service that
said ``Retry-After`` is not asked again before then. So an alert is delivered once, late
perhaps, never twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from sqlalchemy import Connection, Engine, select, update

from tracker_core import incidents
from tracker_core.alerting.items import AlertItem, Delivery
from tracker_core.storage import tables as t

FREE_RETRIES: Final = 3
"""Failures retried on the very next run before backing off."""
MAX_BACKOFF: Final = timedelta(hours=24)
MAX_ERROR_LENGTH: Final = 500


class Sender(Protocol):
    """What a channel offers the outbox (see ``alerting.slack`` and ``alerting.email``)."""

    def send(self, items: Sequence[AlertItem]) -> list[Delivery]: ...


@dataclass
class DispatchResult:
    """Messages delivered and failed per channel in one dispatch."""

    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """How long to wait before the next attempt after ``attempts`` failures in a row."""
    wait = timedelta(0)
    if attempts > FREE_RETRIES:
        wait = min(timedelta(minutes=15) * 2 ** (attempts - FREE_RETRIES - 1), MAX_BACKOFF)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return wait


def due_items(conn: Connection, channel: str, *, now: datetime) -> list[tuple[int, AlertItem]]:
    """The rows of ``channel`` that are due, each as (outbox row id, alert item)."""
    o, i = t.alert_outbox, t.incidents
    rows = conn.execute(
        incidents.view_query()
        .add_columns(o.c.id.label("outbox_id"), o.c.reason)
        .join(o, o.c.incident_id == i.c.id)
        .where(o.c.channel == channel)
        .where(o.c.status.in_(("pending", "failed")))
        .where(o.c.next_attempt_at <= now)
        .where(i.c.status != "resolved")
        .order_by(o.c.id)
    ).all()
    return [(row.outbox_id, _item(row)) for row in rows]


def _item(row: Any) -> AlertItem:
    return AlertItem(
        incident_id=row.id,
        rule=row.rule,
        email=row.email,
        name=row.name,
        period=row.period,
        value=row.value,
        threshold=row.threshold,
        severity=row.severity,
        message=row.message,
        detected_at=row.detected_at,
        top_model=row.top_model,
        top_model_share=row.top_model_share,
        escalated=row.reason == "escalated",
    )


def dispatch(
    engine: Engine,
    senders: Mapping[str, Sender],
    *,
    now: Callable[[], datetime],
) -> DispatchResult:
    """Deliver what is due on every configured channel and record each message's fate.

    Each channel's outcome commits in its own transaction, right after its sends, so a crash
    between channels cannot make a delivered message look undelivered.
    """
    result = DispatchResult()
    for channel, sender in senders.items():
        with engine.begin() as conn:
            due = due_items(conn, channel, now=now())
        if not due:
            continue
        rows_by_incident: dict[int, list[int]] = {}
        for outbox_id, item in due:
            rows_by_incident.setdefault(item.incident_id, []).append(outbox_id)
        # One incident may be due twice (new and escalated): announce its latest state once.
        latest: dict[int, AlertItem] = {}
        for _, item in due:
            latest[item.incident_id] = item
        try:
            deliveries = sender.send(list(latest.values()))
        except Exception as exc:  # a sender bug must not lose the queue: record and retry
            deliveries = [Delivery(tuple(latest), ok=False, error=f"{type(exc).__name__}: {exc}")]
        with engine.begin() as conn:
            _record(conn, channel, deliveries, rows_by_incident, now(), result)
    return result


def _record(
    conn: Connection,
    channel: str,
    deliveries: Sequence[Delivery],
    rows_by_incident: Mapping[int, list[int]],
    at: datetime,
    result: DispatchResult,
) -> None:
    o = t.alert_outbox
    delivered: list[int] = []
    for delivery in deliveries:
        rows = [row for incident in delivery.incident_ids for row in rows_by_incident[incident]]
        if delivery.ok:
            result.sent[channel] = result.sent.get(channel, 0) + 1
            delivered.extend(delivery.incident_ids)
            conn.execute(
                update(o)
                .where(o.c.id.in_(rows))
                .values(status="sent", sent_at=at, attempts=o.c.attempts + 1, last_error=None)
            )
            continue
        result.failed[channel] = result.failed.get(channel, 0) + 1
        error = (delivery.error or "unknown error")[:MAX_ERROR_LENGTH]
        result.errors.append(f"{channel}: {error}")
        for row in rows:
            attempts = conn.execute(select(o.c.attempts).where(o.c.id == row)).scalar_one() + 1
            conn.execute(
                update(o)
                .where(o.c.id == row)
                .values(
                    status="failed",
                    attempts=attempts,
                    last_error=error,
                    next_attempt_at=at + backoff(attempts, delivery.retry_after),
                )
            )
    incidents.mark_alerted(conn, delivered, now=at)
