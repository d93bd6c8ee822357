"""Email alerts through Resend's official SDK.

Every value placed in the HTML part goes through :func:`html.escape` (the original tool
interpolated member names and messages raw). Each email carries an ``Idempotency-Key`` derived
from its content, so when the outbox retries a send whose answer was lost, Resend does not
deliver it twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from html import escape
from typing import Final
from urllib.parse import urlsplit

import requests
import resend
from resend.exceptions import ResendError

from tracker_core.alerting import format as fmt
from tracker_core.alerting.items import AlertItem, Attempt, Delivery, Lookup, send_in_turn
from tracker_core.formatting import display_name, instant
from tracker_core.redact import redact

logger = logging.getLogger(__name__)

INDIVIDUAL_MAX: Final = 3
"""Up to this many items get one email each; more are summarised in one email."""
SUBJECT_LIMIT: Final = 200
IDEMPOTENCY_KEY_LIMIT: Final = 256
ERROR_MESSAGE_LIMIT: Final = 300
HALTING_STATUSES: Final = frozenset({401, 403, 429})
"""Answers that would repeat for every email of the batch (bad key, rate limit)."""

_SDK_LOCK = threading.Lock()
"""The resend SDK reads its key and URL from module globals at call time; two senders with
different settings must not interleave between setting them and sending."""

_COLORS: Final = {"critical": "#dc2626", "warning": "#d97706"}
_MUTED: Final = fmt.EMAIL_MUTED


@dataclass(frozen=True, slots=True)
class EmailMessage:
    """One email to send and the incidents it announces."""

    incident_ids: tuple[int, ...]
    subject: str
    html: str
    text: str


def _one_line(text: str, limit: int) -> str:
    """Collapse whitespace (no header tricks through newlines in a name) and cap the length."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _who(item: AlertItem) -> tuple[str, str]:
    """(name, email) as shown; the name falls back to the email."""
    return display_name(item.name, item.email), item.email


def _subject_row(item: AlertItem) -> tuple[str, str]:
    """("Member", "Name <email>"), or ("Budget of", its name) for a team's or group's budget."""
    label, text = fmt.subject_field(*_who(item))
    return (label, _member_text(item)) if label == "Member" else (label, text)


def _member_text(item: AlertItem) -> str:
    name, email = _who(item)
    return email if name == email else f"{name} <{email}>"


def _member_html(item: AlertItem) -> str:
    name, email = _who(item)
    if name == email:
        return escape(email)
    return f"{escape(name)} &lt;{escape(email)}&gt;"


def _a(url: str, label: str) -> str:
    return f'<a href="{escape(url)}" style="color:#2563eb">{escape(label)}</a>'


def individual_email(item: AlertItem, dashboard_url: str) -> EmailMessage:
    """The full report on one incident."""
    head = fmt.headline(item.rule, item.severity, item.escalated)
    name, _ = _who(item)
    # "[CRITICAL] Spend spike: Ana Silva"; an escalation says so in the subject.
    what = head if item.escalated else fmt.rule_title(item.rule)
    subject = _one_line(f"[{item.severity.upper()}] {what}: {name}", SUBJECT_LIMIT)
    rows = [
        _subject_row(item),
        *([("Group", item.group)] if item.group else []),
        ("Rule", fmt.rule_title(item.rule)),
        ("Value", fmt.format_value(item.rule, item.value)),
        ("Threshold", fmt.format_value(item.rule, item.threshold)),
        ("Top model", fmt.format_top_model(item.top_model, item.top_model_share)),
        ("Incident", f"#{item.incident_id}"),
        ("Period", fmt.format_period(item.rule, item.period)),
    ]
    links = [
        (label, url)
        for label, url in (
            ("Member dashboard", fmt.member_url(dashboard_url, item.email)),
            ("Incident queue", fmt.queue_url(dashboard_url)),
        )
        if url
    ]
    footer = f"Detected {instant(item.detected_at)} · {fmt.PRODUCT}"

    cells = "".join(
        "<tr>"
        f'<th align="left" style="padding:4px 16px 4px 0;color:{_MUTED};font-weight:normal">'
        f"{escape(label)}</th>"
        f'<td style="padding:4px 0">'
        f"{_member_html(item) if label == 'Member' else escape(value)}</td>"
        "</tr>"
        for label, value in rows
    )
    body = (
        f'<p style="margin:0 0 16px;font-size:15px"><strong>{escape(item.message)}</strong></p>'
        f'<table style="border-collapse:collapse;font-size:14px">{cells}</table>'
    )
    if links:
        body += '<p style="margin:16px 0 0">' + " · ".join(_a(u, label) for label, u in links)
        body += "</p>"
    html_part = fmt.email_page(head, _COLORS.get(item.severity, _MUTED), body, footer)

    text_lines = [head, "", item.message, ""]
    text_lines += [f"{label}: {value}" for label, value in rows]
    if links:
        text_lines += [""] + [f"{label}: {url}" for label, url in links]
    text_lines += ["", footer]
    return EmailMessage((item.incident_id,), subject, html_part, "\n".join(text_lines) + "\n")


def summary_email(items: Sequence[AlertItem], dashboard_url: str) -> EmailMessage:
    """One email listing many incidents, one table row each, so a bad day is not a flood."""
    total = len(items)
    critical, warning = fmt.severity_counts(item.severity for item in items)
    escalated = sum(1 for item in items if item.escalated)
    subject = f"[Cursor spend] {total} anomalies (" + (
        f"{critical} critical)" if critical else "all warnings)"
    )
    heading = f"{total} Cursor spend anomalies"
    counts = f"{critical} critical · {warning} warning"
    if escalated:
        counts += f" · {escalated} escalated to critical"
    queue = fmt.queue_url(dashboard_url)
    detected = fmt.latest_detection(item.detected_at for item in items)
    footer = f"Detected {instant(detected)} · {fmt.PRODUCT}"

    head_cells = "".join(
        f'<th align="left" style="padding:6px 12px 6px 0;color:{_MUTED};'
        f'font-weight:normal;border-bottom:1px solid #e5e7eb">{escape(label)}</th>'
        for label in ("Severity", "Incident", "Member", "Rule", "Value", "Message")
    )
    rows: list[str] = []
    text_rows: list[str] = []
    for item in items:
        label = fmt.severity_label(item.severity) + (" (escalated)" if item.escalated else "")
        member = _member_html(item)
        member_url = fmt.member_url(dashboard_url, item.email)
        if member_url:
            member = f'<a href="{escape(member_url)}" style="color:#2563eb">{member}</a>'
        value = fmt.format_value(item.rule, item.value)
        color = _COLORS.get(item.severity, _MUTED)
        cell = 'style="padding:6px 12px 6px 0;vertical-align:top;border-bottom:1px solid #f3f4f6"'
        rows.append(
            "<tr>"
            f'<td {cell}><span style="color:{escape(color)}">{escape(label)}</span></td>'
            f"<td {cell}>#{item.incident_id}</td>"
            f"<td {cell}>{member}</td>"
            f"<td {cell}>{escape(fmt.rule_title(item.rule))}</td>"
            f"<td {cell}>{escape(value)}</td>"
            f"<td {cell}>{escape(item.message)}</td>"
            "</tr>"
        )
        text_rows.append(
            f"- [{label}] #{item.incident_id} {_member_text(item)} · "
            f"{fmt.rule_title(item.rule)} · {value}: {item.message}"
        )
    body = (
        f'<p style="margin:0 0 16px;font-size:15px">{escape(counts)}</p>'
        '<table style="border-collapse:collapse;font-size:13px">'
        f"<tr>{head_cells}</tr>{''.join(rows)}</table>"
    )
    if queue:
        body += f'<p style="margin:16px 0 0">{_a(queue, "Open the incident queue")}</p>'
    color = _COLORS["critical"] if critical else _COLORS["warning"]
    html_part = fmt.email_page(heading, color, body, footer)

    text_lines = [heading, counts, "", *text_rows]
    if queue:
        text_lines += ["", f"Incident queue: {queue}"]
    text_lines += ["", footer]
    ids = tuple(item.incident_id for item in items)
    return EmailMessage(ids, subject, html_part, "\n".join(text_lines) + "\n")


def build_emails(
    items: Sequence[AlertItem], dashboard_url: str
) -> list[tuple[Sequence[AlertItem], EmailMessage]]:
    """An email per item for a few items; one summary email beyond that, so a bad day is not
    a flood. Each email comes with the items it announces."""
    if not items:
        return []
    if len(items) <= INDIVIDUAL_MAX:
        return [((item,), individual_email(item, dashboard_url)) for item in items]
    return [(items, summary_email(items, dashboard_url))]


def idempotency_key(items: Sequence[AlertItem], payload: Mapping[str, object]) -> str:
    """``alert-<ids>-<new|escalated>-<content hash>``, stable across retries of one email.

    The content hash keeps keys apart when incident ids are reused (a fresh database within
    Resend's 24-hour window) and means a changed email never meets Resend's 409 for reusing a
    key with a different payload.
    """
    ids = ".".join(str(item.incident_id) for item in items)
    escalated = [str(item.incident_id) for item in items if item.escalated]
    if not escalated:
        kind = "new"
    elif len(escalated) == len(items):
        kind = "escalated"
    else:
        kind = "escalated." + ".".join(escalated)
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    digest = hashlib.sha256(canonical).hexdigest()
    key = f"alert-{ids}-{kind}-{digest[:16]}"
    return key if len(key) <= IDEMPOTENCY_KEY_LIMIT else f"alert-{digest}"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def _transport_reason(exc: BaseException) -> str:
    """What went wrong on the wire, from the requests exception the SDK wrapped."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, requests.Timeout):
            return "timed out"
        if isinstance(current, requests.ConnectionError):
            return "connection failed"
        if isinstance(current, requests.RequestException):
            return "request failed"
        current = current.__cause__ or current.__context__
    return "request failed"


class EmailSender:
    """Sends alert emails from one sender address to a fixed list of recipients."""

    def __init__(
        self,
        api_key: str,
        to: str,
        sender: str,
        *,
        api_url: str = "https://api.resend.com",
        dashboard_url: str,
    ) -> None:
        recipients = [address.strip() for address in to.split(",") if address.strip()]
        if not recipients:
            raise ValueError("EmailSender needs at least one recipient address")
        self._api_key = api_key
        self._to = recipients
        self._sender = sender
        self._api_url = api_url.rstrip("/")
        self._dashboard_url = dashboard_url
        self._host = urlsplit(self._api_url).netloc.rpartition("@")[2] or self._api_url

    def send(self, items: Sequence[AlertItem], attempt: str = "") -> list[Delivery]:
        """Send ``items`` and report one :class:`Delivery` per email, in sending order.

        After a rate limit, a refused key or an unreachable Resend the rest of the batch is
        not attempted; those emails fail with the same cause and ``retry_after``. ``attempt``
        is not needed: the content-derived idempotency key already names each email.
        """
        return send_in_turn(
            (message.incident_ids, partial(self._send_one, group, message))
            for group, message in build_emails(items, self._dashboard_url)
        )

    def find_delivered(self, attempts: Sequence[Attempt]) -> Lookup:
        """Nothing to look up: sending again under the same idempotency key is how an email
        of unknown fate is settled, as Resend delivers a key once within 24 hours."""
        return Lookup()

    def send_message(self, message: EmailMessage, key: str) -> Delivery:
        """Send one email built elsewhere (the billing cycle's messages) under the
        idempotency key ``key``, so a retry of a send whose answer was lost is delivered once."""
        return self._deliver(message, lambda _: key)[0]

    def _send_one(self, items: Sequence[AlertItem], message: EmailMessage) -> tuple[Delivery, bool]:
        return self._deliver(message, lambda params: idempotency_key(items, params))

    def _deliver(
        self, message: EmailMessage, key: Callable[[Mapping[str, object]], str]
    ) -> tuple[Delivery, bool]:
        params: resend.Emails.SendParams = {
            "from": self._sender,
            "to": list(self._to),
            "subject": message.subject,
            "html": message.html,
            "text": message.text,
        }
        options: resend.Emails.SendOptions = {"idempotency_key": key(dict(params))}
        try:
            with _SDK_LOCK:
                previous = (resend.api_key, resend.api_url)
                resend.api_key = self._api_key
                resend.api_url = self._api_url
                try:
                    resend.Emails.send(params, options)
                finally:
                    resend.api_key, resend.api_url = previous
        except ResendError as exc:
            if exc.error_type == "HttpClientError":
                # The SDK wraps transport failures as a fake 500; say what really happened.
                error = f"Resend unreachable at {self._host}: {_transport_reason(exc)}"
                return self._failed(message, error, None), True
            code = int(exc.code) if str(exc.code).isdigit() else None
            detail = _one_line(str(exc.message), ERROR_MESSAGE_LIMIT)
            error = f"Resend answered {exc.code} {exc.error_type}: {detail}"
            retry_after = _retry_after(exc.headers) if code == 429 else None
            return self._failed(message, error, retry_after), code in HALTING_STATUSES
        except (requests.RequestException, OSError) as exc:
            error = f"Resend unreachable at {self._host}: {_transport_reason(exc)}"
            return self._failed(message, error, None), True
        return Delivery(message.incident_ids, ok=True), False

    def _failed(self, message: EmailMessage, error: str, retry_after: float | None) -> Delivery:
        # Masked where it stands as a whole token: a plain replace would turn a one-letter key
        # into "R[api key]s[api key]nd ..." and show the key by where the marks fall.
        error = redact(error, [self._api_key], mask="[api key]")
        logger.warning("Email alert for incidents %s failed: %s", message.incident_ids, error)
        return Delivery(message.incident_ids, ok=False, error=error, retry_after=retry_after)
