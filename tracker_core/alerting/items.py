"""What an alert sender is given, and what it reports back.

The incident lifecycle turns stored anomalies into :class:`AlertItem` values and records each
:class:`Delivery` in its outbox; the senders never touch the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from tracker_core.detection.model import Anomaly


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertItem(Anomaly):
    """One incident's anomaly to announce (a new one, or one escalated from warning to critical)."""

    incident_id: int
    detected_at: datetime
    escalated: bool = False
    """True when this announces a warning that became critical."""
    group: str = ""
    """The member's billing group when the alert is sent ('' in none): who to ask."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """The fate of one message sent for ``incident_ids`` on one channel.

    A message is ``ok`` only when the service accepted that very message. ``retry_after`` is
    the delay in seconds the service asked for (Slack's or Resend's 429), when it gave one.
    """

    incident_ids: tuple[int, ...]
    ok: bool
    error: str | None = None
    retry_after: float | None = None
    unknown: bool = False
    """True when the request may have reached the service but no answer came back (a timeout,
    a dropped connection). Such a message is not posted again before the channel was asked
    whether it arrived (see :class:`Lookup`)."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """A delivery attempt whose outcome is unknown: the process died or the answer never came.

    ``id`` is what the attempt's messages carry (Slack message metadata), ``started_at`` when
    the outbox recorded it, just before the first post.
    """

    id: str
    started_at: datetime
    incident_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a channel found out about attempts of unknown outcome.

    ``delivered`` holds (attempt id, incident id) for every incident whose message the channel
    holds. With ``error`` set the channel could not tell: when ``retry`` it may tell on a later
    run (rate limit, outage) and nothing is posted meanwhile; otherwise it never will (no
    permission to read) and the outbox posts again, preferring an alert twice to none.
    """

    delivered: frozenset[tuple[str, int]] = frozenset()
    error: str | None = None
    retry: bool = False


def send_in_turn(
    messages: Iterable[tuple[tuple[int, ...], Callable[[], tuple[Delivery, bool]]]],
) -> list[Delivery]:
    """Send messages one after another until one fails in a way that would repeat.

    Each message comes as (incident ids, send) where ``send`` returns its delivery and
    whether to halt (a rate limit, a refused key, a service out of reach). After a halt the
    rest are not attempted: they fail with the same cause and ``retry_after``, so the outbox
    retries them all later instead of hammering a service that said stop.
    """
    deliveries: list[Delivery] = []
    halted: Delivery | None = None
    for incident_ids, send in messages:
        if halted is not None:
            deliveries.append(
                Delivery(
                    incident_ids,
                    ok=False,
                    error=f"Not sent after an earlier failure: {halted.error}",
                    retry_after=halted.retry_after,
                )
            )
            continue
        delivery, halt = send()
        deliveries.append(delivery)
        if halt:
            halted = delivery
    return deliveries
