"""The alert outbox: every announcement waits here until its channel accepted it.

Detection queues one row per incident, channel and reason (``new`` or ``escalated``). A
dispatch takes the rows that are due, asks each channel's sender to deliver them (the sender
batches them into messages), and records each message's fate on exactly the rows it carried:
a row becomes ``sent`` only when its own message was accepted. A failed row is retried on the
next run; after repeated failures it backs off (doubling, up to a day), and a service that
said ``Retry-After`` is not asked again before then.

A post whose answer never came (slower than the client's timeout, or the process killed while
the request was in flight) may still have arrived. So each attempt is written down, with an id
its messages carry, and committed before the first post; a row that still holds its attempt on
the next dispatch is not posted again until the channel was asked whether that attempt's
message is there (``Sender.find_delivered``). That is what makes an alert arrive once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from sqlalchemy import Connection, Engine, select, update

from tracker_core import incidents
from tracker_core.alerting.items import AlertItem, Attempt, Delivery, Lookup
from tracker_core.clock import Clock
from tracker_core.detection.model import STORED_FIELDS
from tracker_core.storage import tables as t
from tracker_core.storage.db import begin_write
from tracker_core.views.groups import member_groups

logger = logging.getLogger(__name__)

FREE_RETRIES: Final = 3
"""Failures retried on the very next run before backing off."""
MAX_BACKOFF: Final = timedelta(hours=24)
MAX_ERROR_LENGTH: Final = 500
UNKNOWN_GRACE: Final = timedelta(minutes=1)
"""How long an attempt of unknown outcome is left alone before its channel is asked: a request
still travelling when its sender died may yet land, and asking too early would miss it."""
OPEN: Final = ("pending", "failed")
"""Outbox states of an announcement not known to be delivered."""


class Sender(Protocol):
    """What a channel offers the outbox (see ``alerting.slack`` and ``alerting.email``)."""

    def send(self, items: Sequence[AlertItem], attempt: str) -> list[Delivery]:
        """Deliver ``items``; every message carries ``attempt`` where the channel can keep it."""
        ...

    def find_delivered(self, attempts: Sequence[Attempt]) -> Lookup:
        """Which of these attempts' messages the channel holds."""
        ...


@dataclass
class DispatchResult:
    """Messages delivered and failed per channel in one dispatch."""

    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    def fail(self, channel: str, error: str) -> None:
        self.failed[channel] = self.failed.get(channel, 0) + 1
        self.errors.append(f"{channel}: {error}")


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """How long to wait before the next attempt after ``attempts`` failures in a row."""
    wait = timedelta(0)
    if attempts > FREE_RETRIES:
        wait = min(timedelta(minutes=15) * 2 ** (attempts - FREE_RETRIES - 1), MAX_BACKOFF)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return wait


def due_items(conn: Connection, channel: str, *, now: datetime) -> list[tuple[int, AlertItem]]:
    """The rows of ``channel`` that are due, each as (outbox row id, alert item).

    A row still holding an attempt is not due: its message may have arrived.
    """
    o, i = t.alert_outbox, t.incidents
    rows = conn.execute(
        incidents.view_query()
        .add_columns(o.c.id.label("outbox_id"), o.c.reason)
        .join(o, o.c.incident_id == i.c.id)
        .where(o.c.channel == channel)
        .where(o.c.status.in_(OPEN))
        .where(o.c.attempt_id.is_(None))
        .where(o.c.next_attempt_at <= now)
        .where(i.c.status != "resolved")
        .order_by(o.c.id)
    ).all()
    groups = member_groups(conn) if rows else {}
    return [(row.outbox_id, _item(row, groups.get(row.email, ""))) for row in rows]


def _item(row: Any, group: str) -> AlertItem:
    return AlertItem(
        **{name: getattr(row, name) for name in STORED_FIELDS},
        incident_id=row.id,
        name=row.name,
        detected_at=row.detected_at,
        escalated=row.reason == "escalated",
        group=group,
    )


def dispatch(
    engine: Engine,
    senders: Mapping[str, Sender],
    *,
    now: Clock,
) -> DispatchResult:
    """Deliver what is due on every configured channel and record each message's fate.

    Attempts of unknown outcome are settled first, so a message found in the channel is not
    posted again and one found missing is posted in this same run. Every step commits on its
    own: the attempt before its posts, each outcome right after, so no crash can make a
    delivered message look undelivered or an attempt look never made.
    """
    result = DispatchResult()
    for channel, sender in senders.items():
        _settle_unknown(engine, channel, sender, now=now, result=result)
        _send_due(engine, channel, sender, now=now, result=result)
    return result


def _settle_unknown(
    engine: Engine,
    channel: str,
    sender: Sender,
    *,
    now: Clock,
    result: DispatchResult,
) -> None:
    """Ask ``channel`` about attempts of unknown outcome and record what it says.

    Found: the rows become ``sent`` at the attempt's time. Not found: the rows are due again
    at once. The channel cannot tell yet: the rows wait for a later run. It never can (no
    permission to read it): the rows are due again, and the warning says an alert may repeat.
    """
    o = t.alert_outbox
    with engine.begin() as conn:
        rows = conn.execute(
            select(o.c.id, o.c.incident_id, o.c.attempt_id, o.c.attempted_at)
            .where(o.c.channel == channel)
            .where(o.c.status.in_(OPEN))
            .where(o.c.attempt_id.is_not(None))
            .order_by(o.c.id)
        ).all()
    if not rows:
        return
    at = now()
    ripe = [
        row for row in rows if row.attempted_at is None or row.attempted_at <= at - UNKNOWN_GRACE
    ]
    if len(ripe) < len(rows):
        result.fail(channel, "a message's delivery is not confirmed yet; the next run checks")
    if not ripe:
        return
    attempts = _attempts(ripe, at)
    try:
        lookup = sender.find_delivered(attempts)
    except Exception as exc:  # a sender bug must not lose the queue: ask again next run
        lookup = Lookup(error=f"{type(exc).__name__}: {exc}", retry=True)
    with begin_write(engine) as conn:
        _settle(conn, channel, ripe, lookup, at, result)


def _attempts(rows: Sequence[Any], at: datetime) -> list[Attempt]:
    started: dict[str, datetime] = {}
    carried: dict[str, list[int]] = {}
    for row in rows:
        started[row.attempt_id] = min(started.get(row.attempt_id, at), row.attempted_at or at)
        carried.setdefault(row.attempt_id, []).append(row.incident_id)
    return [
        Attempt(attempt, started[attempt], tuple(dict.fromkeys(ids)))
        for attempt, ids in carried.items()
    ]


def _settle(
    conn: Connection,
    channel: str,
    rows: Sequence[Any],
    lookup: Lookup,
    at: datetime,
    result: DispatchResult,
) -> None:
    o = t.alert_outbox
    found = [row for row in rows if (row.attempt_id, row.incident_id) in lookup.delivered]
    missing = [row for row in rows if (row.attempt_id, row.incident_id) not in lookup.delivered]
    for row in found:
        sent_at = row.attempted_at or at
        conn.execute(
            update(o)
            .where(o.c.id == row.id)
            .values(status="sent", sent_at=sent_at, last_error=None, attempt_id=None)
        )
        incidents.mark_alerted(conn, [row.incident_id], now=sent_at)
    if not missing:
        return
    ids = [row.id for row in missing]
    if lookup.error is not None and lookup.retry:
        error = _cut(f"delivery unknown and {lookup.error}; the next run asks again")
        result.fail(channel, error)
        conn.execute(update(o).where(o.c.id.in_(ids)).values(last_error=error))
        return
    if lookup.error is not None:
        error = _cut(f"delivery unknown and {lookup.error}; sent again, so it may arrive twice")
        logger.warning("%s alert for incidents %s: %s", channel, _incident_ids(missing), error)
        conn.execute(
            update(o)
            .where(o.c.id.in_(ids))
            .values(attempt_id=None, next_attempt_at=at, last_error=error)
        )
        return
    conn.execute(update(o).where(o.c.id.in_(ids)).values(attempt_id=None, next_attempt_at=at))


def _incident_ids(rows: Sequence[Any]) -> list[int]:
    return sorted({row.incident_id for row in rows})


def _cut(error: str) -> str:
    return error[:MAX_ERROR_LENGTH]


def _send_due(
    engine: Engine,
    channel: str,
    sender: Sender,
    *,
    now: Clock,
    result: DispatchResult,
) -> None:
    o = t.alert_outbox
    # Reads what is due, then marks the attempt on it: the write lock is taken first, so a
    # collector committing in between cannot fail the run with "database is locked".
    with begin_write(engine) as conn:
        at = now()
        due = due_items(conn, channel, now=at)
        if not due:
            return
        attempt = uuid.uuid4().hex
        conn.execute(
            update(o)
            .where(o.c.id.in_([outbox_id for outbox_id, _ in due]))
            .values(attempt_id=attempt, attempted_at=at, attempts=o.c.attempts + 1)
        )
    rows_by_incident: dict[int, list[int]] = {}
    for outbox_id, item in due:
        rows_by_incident.setdefault(item.incident_id, []).append(outbox_id)
    # One incident may be due twice (new and escalated): announce its latest state once.
    latest: dict[int, AlertItem] = {}
    for _, item in due:
        latest[item.incident_id] = item
    try:
        deliveries = sender.send(list(latest.values()), attempt)
    except Exception as exc:  # a sender bug must not lose the queue: record and retry
        deliveries = [Delivery(tuple(latest), ok=False, error=f"{type(exc).__name__}: {exc}")]
    # Recording reads each failed row's attempts before updating it: write lock first.
    with begin_write(engine) as conn:
        _record(conn, channel, deliveries, rows_by_incident, now(), result)


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
                .values(status="sent", sent_at=at, last_error=None, attempt_id=None)
            )
            continue
        error = _cut(delivery.error or "unknown error")
        if delivery.unknown:
            # The attempt stays on the rows: the next dispatch asks the channel first.
            error = _cut(f"delivery unknown ({error}); the channel is checked before a resend")
            result.fail(channel, error)
            conn.execute(
                update(o).where(o.c.id.in_(rows)).values(status="failed", last_error=error)
            )
            continue
        result.fail(channel, error)
        for row in rows:
            # Counted when the attempt was recorded, before the post.
            attempts = conn.execute(select(o.c.attempts).where(o.c.id == row)).scalar_one()
            conn.execute(
                update(o)
                .where(o.c.id == row)
                .values(
                    status="failed",
                    last_error=error,
                    next_attempt_at=at + backoff(attempts, delivery.retry_after),
                    attempt_id=None,
                )
            )
    incidents.mark_alerted(conn, delivered, now=at)
