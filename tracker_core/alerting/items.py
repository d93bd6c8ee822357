"""What an alert sender is given, and what it reports back.

The incident lifecycle turns stored anomalies into :class:`AlertItem` values and records each
:class:`Delivery` in its outbox; the senders never touch the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tracker_core.detection.model import Rule, Severity


@dataclass(frozen=True, slots=True)
class AlertItem:
    """One incident to announce (a new anomaly, or one escalated from warning to critical)."""

    incident_id: int
    rule: Rule
    email: str
    name: str
    period: date
    value: float
    """Dollars for spend rules (``detection.model.SPEND_RULES``), counts otherwise."""
    threshold: float
    severity: Severity
    message: str
    detected_at: datetime
    top_model: str | None = None
    top_model_share: float | None = None
    escalated: bool = False
    """True when this announces a warning that became critical."""


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
