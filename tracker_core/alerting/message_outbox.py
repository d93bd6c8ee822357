"""The outbox of the billing cycle's messages: queued once per period, delivered once.

The same rules as the incident outbox (:mod:`tracker_core.alerting.outbox`), for messages that
are not incidents: a row per message kind, period and channel (the unique key, so two
processes cannot queue it twice); the attempt is committed before the post; a failed row is
due again on the next run (backing off after repeated failures, and not before a service's
``Retry-After``); a sent row is never sent again. A row still holding its attempt when the next
run starts had no answer: Slack is asked whether the message is in the channel before posting
again, and Resend is sent the same idempotency key, which it delivers once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from tracker_core.alerting.items import Attempt, Delivery, Lookup
from tracker_core.alerting.outbox import MAX_ERROR_LENGTH, OPEN, UNKNOWN_GRACE, backoff
from tracker_core.clock import Clock
from tracker_core.storage import tables as t
from tracker_core.storage.db import begin_write

if TYPE_CHECKING:
    # The SDKs load only when a message is sent: every command imports this module.
    from tracker_core.alerting.email import EmailSender
    from tracker_core.alerting.slack import SlackSender

    MessageSender = SlackSender | EmailSender


@dataclass
class MessagesResult:
    """What one run did with the cycle's messages (``cron --json``'s ``messages``)."""

    queued: list[str] = field(default_factory=list)
    """``kind`` of each message first queued by this run (once per period, any channel)."""
    sent: list[dict[str, str]] = field(default_factory=list)
    """Each message delivered by this run: kind, period and channel."""
    failed: list[dict[str, str]] = field(default_factory=list)
    """Each message that failed in this run, with its error; retried by a later run."""

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed}


def queue(
    engine: Engine,
    kind: str,
    period: str,
    payloads: Mapping[str, dict[str, Any]],
    *,
    now: datetime,
) -> bool:
    """Queue the message ``kind`` for ``period`` on each channel of ``payloads`` unless it
    already is (sent or not); True when this call queued it anywhere."""
    o = t.message_outbox
    added = False
    for channel, payload in payloads.items():
        try:
            with begin_write(engine) as conn:
                exists = conn.execute(
                    select(o.c.id).where(
                        o.c.kind == kind, o.c.period == period, o.c.channel == channel
                    )
                ).first()
                if exists is not None:
                    continue
                conn.execute(
                    o.insert().values(
                        kind=kind,
                        period=period,
                        channel=channel,
                        payload=json.dumps(payload, ensure_ascii=False),
                        status="pending",
                        attempts=0,
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
                added = True
        except IntegrityError:
            continue  # another process queued it between the look and the insert
    return added


def dispatch(engine: Engine, senders: Mapping[str, MessageSender], *, now: Clock) -> MessagesResult:
    """Deliver every due message on the configured channels and record each fate."""
    result = MessagesResult()
    for channel, sender in senders.items():
        _settle_unknown(engine, channel, sender, now=now, result=result)
        _send_due(engine, channel, sender, now=now, result=result)
    return result


def _note(row: Any, channel: str, error: str | None = None) -> dict[str, str]:
    note = {"kind": str(row.kind), "period": str(row.period), "channel": channel}
    if error is not None:
        note["error"] = error
    return note


def _settle_unknown(
    engine: Engine, channel: str, sender: MessageSender, *, now: Clock, result: MessagesResult
) -> None:
    """Rows whose attempt never got an answer: ask Slack, or let Resend's key settle it."""
    o = t.message_outbox
    with engine.connect() as conn:
        rows = conn.execute(
            select(o.c.id, o.c.kind, o.c.period, o.c.attempt_id, o.c.attempted_at)
            .where(o.c.channel == channel, o.c.status.in_(OPEN), o.c.attempt_id.is_not(None))
            .order_by(o.c.id)
        ).all()
    at = now()
    ripe = [r for r in rows if r.attempted_at is None or r.attempted_at <= at - UNKNOWN_GRACE]
    if not ripe:
        return
    from tracker_core.alerting.slack import SlackSender

    lookup = Lookup()
    if isinstance(sender, SlackSender):
        attempts = [Attempt(r.attempt_id, r.attempted_at or at, (r.id,)) for r in ripe]
        try:
            lookup = sender.find_delivered(attempts, cycle_messages=True)
        except Exception as exc:  # a sender bug must not lose the queue: ask again next run
            lookup = Lookup(error=f"{type(exc).__name__}: {exc}", retry=True)
    with begin_write(engine) as conn:
        for row in ripe:
            if (row.attempt_id, row.id) in lookup.delivered:
                conn.execute(
                    update(o)
                    .where(o.c.id == row.id)
                    .values(status="sent", sent_at=row.attempted_at or at, attempt_id=None)
                )
                result.sent.append(_note(row, channel))
            elif lookup.error is not None and lookup.retry:
                error = f"delivery unknown and {lookup.error}; the next run asks again"[
                    :MAX_ERROR_LENGTH
                ]
                conn.execute(update(o).where(o.c.id == row.id).values(last_error=error))
                result.failed.append(_note(row, channel, error))
            else:
                conn.execute(
                    update(o).where(o.c.id == row.id).values(attempt_id=None, next_attempt_at=at)
                )


def _send_due(
    engine: Engine, channel: str, sender: MessageSender, *, now: Clock, result: MessagesResult
) -> None:
    o = t.message_outbox
    with begin_write(engine) as conn:
        at = now()
        due = conn.execute(
            select(o.c.id, o.c.kind, o.c.period, o.c.payload, o.c.attempts)
            .where(
                o.c.channel == channel,
                o.c.status.in_(OPEN),
                o.c.attempt_id.is_(None),
                o.c.next_attempt_at <= at,
            )
            .order_by(o.c.id)
        ).all()
        attempt = uuid.uuid4().hex
        if due:
            conn.execute(
                update(o)
                .where(o.c.id.in_([row.id for row in due]))
                .values(attempt_id=attempt, attempted_at=at, attempts=o.c.attempts + 1)
            )
    for row in due:
        delivery = _deliver(sender, row, attempt)
        with begin_write(engine) as conn:
            done = now()
            if delivery.ok:
                conn.execute(
                    update(o)
                    .where(o.c.id == row.id)
                    .values(status="sent", sent_at=done, last_error=None, attempt_id=None)
                )
                result.sent.append(_note(row, channel))
                continue
            error = (delivery.error or "unknown error")[:MAX_ERROR_LENGTH]
            result.failed.append(_note(row, channel, error))
            values: dict[str, Any] = {"status": "failed", "last_error": error}
            if not delivery.unknown:
                # The attempt is over: due again after the back-off. An unknown one keeps its
                # attempt, so the next run asks the channel before posting again.
                values["attempt_id"] = None
                values["next_attempt_at"] = done + backoff(row.attempts + 1, delivery.retry_after)
            conn.execute(update(o).where(o.c.id == row.id).values(**values))


def _deliver(sender: MessageSender, row: Any, attempt: str) -> Delivery:
    from tracker_core.alerting.email import EmailMessage
    from tracker_core.alerting.slack import SlackMessage, SlackSender

    payload = json.loads(row.payload)
    try:
        if isinstance(sender, SlackSender):
            message = SlackMessage(
                (row.id,), str(payload["text"]), list(payload["blocks"]), cycle_message=True
            )
            return sender.post(message, attempt)
        email = EmailMessage(
            (row.id,), str(payload["subject"]), str(payload["html"]), str(payload["text"])
        )
        digest = hashlib.sha256(str(row.payload).encode()).hexdigest()[:16]
        return sender.send_message(email, f"cycle-{row.kind}-{row.period}-{digest}")
    except Exception as exc:  # a sender bug must not lose the queue: record and retry
        return Delivery((row.id,), ok=False, error=f"{type(exc).__name__}: {exc}")
