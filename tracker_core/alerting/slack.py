"""Slack alerts through slack-sdk's ``chat.postMessage`` with Block Kit.

Each message reports its own :class:`Delivery`, so the outbox retries exactly the incidents
whose message Slack refused (the original tool marked everything sent if any message got
through). There is no retry inside a call: a 429's ``Retry-After`` is handed back and the
outbox tries again on a later run, and slack-sdk's own retry of a dropped connection is off
for posts, since the dropped post may have landed.

Every message carries Slack message metadata naming the outbox attempt and its incidents. When
a post's answer never came, :meth:`SlackSender.find_delivered` looks for that metadata in the
channel's recent history (``conversations.history``, which needs the ``channels:history``
scope, or ``groups:history`` for a private channel) before the outbox posts again.
"""

from __future__ import annotations

import http.client
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, Final, cast
from urllib.error import URLError
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from tracker_core.alerting import format as fmt
from tracker_core.alerting.items import AlertItem, Attempt, Delivery, Lookup, send_in_turn
from tracker_core.formatting import display_name, instant
from tracker_core.redact import redact

logger = logging.getLogger(__name__)

Block = dict[str, Any]

INDIVIDUAL_MAX: Final = 3
"""Up to this many items get one message each; more are summarised."""
MAX_BLOCKS: Final = 50
HEADER_LIMIT: Final = 150
SECTION_LIMIT: Final = 3000
FIELD_LIMIT: Final = 2000
TEXT_LIMIT: Final = 3000
"""Fallback ``text`` cap: it only feeds notifications, far below Slack's 40k truncation."""
SUMMARY_SECTION_BUDGET: Final = 2800
"""Characters of item lines per summary section, with margin under the 3,000 section cap."""
SUMMARY_MESSAGE_BUDGET: Final = 8000
"""Characters of item lines per summary message. Slack rejects messages with
``msg_blocks_too_long`` near 13k characters of block text, below the per-block limits."""
SUMMARY_MAX_SECTIONS: Final = MAX_BLOCKS - 5
LINE_LIMIT: Final = 600
"""Cap on one summary line, so a runaway message cannot crowd out the other incidents."""

HALTING_ERRORS: Final = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
    }
)
"""Error codes that will fail every message of the batch alike, so sending the rest only
spends rate limit."""

_ERROR_CODE = re.compile(r"[a-z0-9_.]{1,64}")

EVENT_TYPE: Final = "cursor_tracker_alert"
"""Slack message metadata ``event_type`` of every alert; its payload names the attempt."""
MESSAGE_EVENT_TYPE: Final = "cursor_tracker_message"
"""The same for the billing cycle's messages, whose payload names message-outbox rows
(``messages``) instead of incidents, so nobody reading the channel takes one for the other."""
HISTORY_PAGE: Final = 200
HISTORY_PAGES: Final = 10
"""Pages of history read per lookup; a channel busier than that since the attempt cannot be
searched, and the outbox posts again rather than stay silent."""
CLOCK_MARGIN: Final = timedelta(minutes=5)
"""History is read from this long before the attempt started, for clocks that disagree."""
SCOPE_HINT: Final = "the bot needs channels:history, or groups:history for a private channel"


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One ``chat.postMessage`` call and the incidents it announces."""

    incident_ids: tuple[int, ...]
    """The incidents announced; for a cycle message, its message-outbox rows."""
    text: str
    blocks: list[Block]
    cycle_message: bool = False

    def metadata(self, attempt: str) -> dict[str, Any]:
        """What lets a later run find this very message in the channel's history."""
        ids = " ".join(str(incident) for incident in self.incident_ids)
        if self.cycle_message:
            return {
                "event_type": MESSAGE_EVENT_TYPE,
                "event_payload": {"attempt": attempt, "messages": ids},
            }
        return {"event_type": EVENT_TYPE, "event_payload": {"attempt": attempt, "incidents": ids}}


def _plain(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(raw: str, limit: int) -> str:
    """Escape user text for mrkdwn and cut it to ``limit`` without splitting an entity."""
    out: list[str] = []
    size = 0
    for char in raw:
        piece = fmt.escape_mrkdwn(char)
        if size + len(piece) > limit - 1:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def _link(url: str, label: str) -> str:
    return f"<{fmt.escape_mrkdwn(url)}|{label}>"


def _header(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": _plain(text, HEADER_LIMIT), "emoji": True},
    }


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _field(label: str, raw_value: str) -> dict[str, str]:
    prefix = f"*{label}*\n"
    return {"type": "mrkdwn", "text": prefix + _mrkdwn(raw_value, FIELD_LIMIT - len(prefix))}


def individual_message(item: AlertItem, dashboard_url: str) -> SlackMessage:
    """The full card for one incident: what fired, for whom, and where to look next."""
    emoji = fmt.severity_emoji(item.severity)
    head = fmt.headline(item.rule, item.severity, item.escalated)
    label, who = fmt.subject_field(item.name, item.email)
    member = display_name(item.name, item.email)
    fields = [
        _field(label, who),
        *([_field("Group", item.group)] if item.group else []),
        _field("Rule", fmt.rule_title(item.rule)),
        _field("Value", fmt.format_value(item.rule, item.value)),
        _field("Threshold", fmt.format_value(item.rule, item.threshold)),
        _field("Top model", fmt.format_top_model(item.top_model, item.top_model_share)),
        _field("Incident", f"#{item.incident_id}"),
        _field("Period", fmt.format_period(item.rule, item.period)),
    ]
    blocks: list[Block] = [
        _header(f"{emoji} {head}"),
        _section(_mrkdwn(item.message, SECTION_LIMIT)),
        {"type": "section", "fields": fields},
    ]
    # Links rather than buttons: a URL button still posts an interaction to the app, and an
    # app without an interactivity endpoint shows users a warning after each click.
    links = []
    member_url = fmt.member_url(dashboard_url, item.email)
    if member_url:
        links.append(_link(member_url, "Open the member's dashboard page"))
    queue_url = fmt.queue_url(dashboard_url)
    if queue_url:
        links.append(_link(queue_url, "Incident queue"))
    if links:
        blocks.append(_section(" · ".join(links)))
    blocks.append(
        _context(
            f"Detected {instant(item.detected_at)} · incident #{item.incident_id} · {fmt.PRODUCT}"
        )
    )
    # A budget's scope is named alone; a member by name and email, as the card shows them.
    subject = member if label == "Budget of" else f"{member} ({item.email})"
    text = f"{emoji} {head}: " + _mrkdwn(
        f"{subject} — {item.message} (incident #{item.incident_id})",
        TEXT_LIMIT - len(emoji) - len(head) - 3,
    )
    return SlackMessage((item.incident_id,), text, blocks)


def _summary_line(item: AlertItem) -> str:
    member = display_name(item.name, item.email)
    who = member if member == item.email else f"{member} ({item.email})"
    flag = " escalated" if item.escalated else ""
    prefix = f"{fmt.severity_emoji(item.severity)} *#{item.incident_id}*{flag} "
    return prefix + _mrkdwn(f"{who} · {fmt.rule_title(item.rule)}: {item.message}", LINE_LIMIT)


def summary_messages(items: Sequence[AlertItem], dashboard_url: str) -> list[SlackMessage]:
    """One summary of many incidents, cut into as many messages as Block Kit needs.

    Lines are packed into sections and sections into messages; every incident's line lands in
    exactly one message, so each message's :class:`Delivery` names only what it carried.
    """
    total = len(items)
    critical, warning = fmt.severity_counts(item.severity for item in items)
    escalated = sum(1 for item in items if item.escalated)
    counts = f"*{critical}* critical · *{warning}* warning"
    if escalated:
        counts += f" · {escalated} escalated to critical"
    detected = fmt.latest_detection(item.detected_at for item in items)
    emoji = fmt.severity_emoji("critical" if critical else "warning")
    queue_url = fmt.queue_url(dashboard_url)

    sections: list[list[tuple[int, str]]] = []
    size = 0
    for item in items:
        line = _summary_line(item)
        if not sections or size + len(line) + 1 > SUMMARY_SECTION_BUDGET:
            sections.append([])
            size = 0
        sections[-1].append((item.incident_id, line))
        size += len(line) + 1

    parts: list[list[list[tuple[int, str]]]] = []
    size = 0
    for section in sections:
        length = sum(len(line) + 1 for _, line in section)
        if (
            not parts
            or size + length > SUMMARY_MESSAGE_BUDGET
            or len(parts[-1]) >= SUMMARY_MAX_SECTIONS
        ):
            parts.append([])
            size = 0
        parts[-1].append(section)
        size += length

    messages: list[SlackMessage] = []
    for number, part in enumerate(parts, start=1):
        suffix = f" (part {number} of {len(parts)})" if len(parts) > 1 else ""
        title = f"{total} Cursor spend anomalies{suffix}"
        blocks: list[Block] = [_header(f"{emoji} {title}"), _section(counts)]
        blocks.extend(_section("\n".join(line for _, line in section)) for section in part)
        if queue_url:
            blocks.append(_section(_link(queue_url, "Open the incident queue")))
        blocks.append(_context(f"Detected {instant(detected)} · {fmt.PRODUCT}"))
        ids = tuple(incident_id for section in part for incident_id, _ in section)
        text = f"{title}: {critical} critical, {warning} warning"
        messages.append(SlackMessage(ids, text, blocks))
    return messages


def build_messages(items: Sequence[AlertItem], dashboard_url: str) -> list[SlackMessage]:
    """A card per item for a few items; a summary beyond that, so a bad day is not a flood."""
    if not items:
        return []
    if len(items) <= INDIVIDUAL_MAX:
        return [individual_message(item, dashboard_url) for item in items]
    return summary_messages(items, dashboard_url)


TRANSIENT_ERRORS: Final = frozenset(
    {"ratelimited", "rate_limited", "request_timeout", "fatal_error", "internal_error"}
)
"""History-check answers that may change on a later run."""


def _error_code(data: object) -> str | None:
    """Slack's error code when it looks like one (it goes into messages and logs)."""
    code = data.get("error") if isinstance(data, dict) else None
    return code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else None


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return None
    return None


def _found(
    messages: object, wanted: set[str], *, cycle_messages: bool = False
) -> set[tuple[str, int]]:
    """(attempt, incident) pairs announced by the messages of one history page; with
    ``cycle_messages``, (attempt, message-outbox row) pairs of the cycle's messages."""
    event_type, key = (
        (MESSAGE_EVENT_TYPE, "messages") if cycle_messages else (EVENT_TYPE, "incidents")
    )
    found: set[tuple[str, int]] = set()
    if not isinstance(messages, list):
        return found
    for message in messages:
        metadata = message.get("metadata") if isinstance(message, dict) else None
        if not isinstance(metadata, dict) or metadata.get("event_type") != event_type:
            continue
        payload = metadata.get("event_payload")
        if not isinstance(payload, dict) or payload.get("attempt") not in wanted:
            continue
        attempt = str(payload["attempt"])
        for part in str(payload.get(key, "")).split():
            if part.isdigit():
                found.add((attempt, int(part)))
    return found


def _reason(exc: BaseException) -> str:
    """A short, secret-free cause for a transport failure."""
    if isinstance(exc, URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, URLError):
        return str(exc.reason)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__


class SlackSender:
    """Posts alert messages to one Slack channel with a bot token."""

    def __init__(
        self,
        token: str,
        channel: str,
        *,
        base_url: str = "https://slack.com/api/",
        dashboard_url: str,
        timeout: float = 15,
    ) -> None:
        self._token = token
        self._channel = channel
        self._dashboard_url = dashboard_url
        parts = urlsplit(base_url)
        self._host = parts.netloc.rpartition("@")[2] or base_url
        # slack_sdk annotates ``timeout`` as int but hands it straight to urlopen, which takes
        # fractional seconds.
        seconds = cast(int, timeout)
        # Posts are never retried by the SDK: a connection dropped after the request went out
        # may have delivered it, and only the outbox, after asking the channel, may post again.
        self._client = WebClient(token=token, base_url=base_url, timeout=seconds, retry_handlers=[])
        self._reader = WebClient(token=token, base_url=base_url, timeout=seconds)

    def send(self, items: Sequence[AlertItem], attempt: str = "") -> list[Delivery]:
        """Send ``items`` and report one :class:`Delivery` per message, in sending order.

        After a failure that would repeat for every message (429, bad token or channel,
        Slack unreachable) the rest of the batch is not attempted; those messages fail with
        the same cause and ``retry_after``.
        """
        return send_in_turn(
            (message.incident_ids, partial(self._post, message, attempt))
            for message in build_messages(items, self._dashboard_url)
        )

    def post(self, message: SlackMessage, attempt: str) -> Delivery:
        """Post one message built elsewhere (the billing cycle's messages), as alerts are;
        :meth:`find_delivered` with ``cycle_messages`` finds it by its ``incident_ids``."""
        return self._post(message, attempt)[0]

    def find_delivered(
        self, attempts: Sequence[Attempt], *, cycle_messages: bool = False
    ) -> Lookup:
        """Look for these attempts' messages in the channel's history since they started.

        Without the history scope Slack answers ``missing_scope``; that can never get better,
        so the lookup says it cannot tell and the outbox posts again. A rate limit or an
        outage may pass, so the outbox asks again on a later run instead.
        """
        if not attempts:
            return Lookup()
        wanted = {
            (attempt.id, incident) for attempt in attempts for incident in attempt.incident_ids
        }
        ids = {attempt.id for attempt in attempts}
        oldest = min(attempt.started_at for attempt in attempts) - CLOCK_MARGIN
        found: set[tuple[str, int]] = set()
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):
            try:
                response = self._reader.conversations_history(
                    channel=self._channel,
                    oldest=f"{oldest.timestamp():.6f}",
                    include_all_metadata=True,
                    limit=HISTORY_PAGE,
                    cursor=cursor,
                )
            except SlackApiError as exc:
                status = exc.response.status_code
                label = _error_code(exc.response.data)
                error = f"Slack answered {status} {label or '(no error code)'} to the history check"
                if label == "missing_scope":
                    error += f" ({SCOPE_HINT})"
                return Lookup(
                    frozenset(found),
                    error=self._clean(error),
                    retry=status == 429 or status >= 500 or label in TRANSIENT_ERRORS,
                )
            except (SlackClientError, OSError, http.client.HTTPException) as exc:
                error = f"Slack unreachable at {self._host} for the history check: {_reason(exc)}"
                return Lookup(frozenset(found), error=self._clean(error), retry=True)
            found |= _found(response.get("messages"), ids, cycle_messages=cycle_messages)
            metadata = response.get("response_metadata")
            cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
            # One attempt may be several messages: stop only once each incident is accounted for.
            if wanted <= found or not response.get("has_more") or not cursor:
                return Lookup(frozenset(found))
        limit = HISTORY_PAGE * HISTORY_PAGES
        return Lookup(frozenset(found), error=f"more than {limit:,} messages to search")

    def _post(self, message: SlackMessage, attempt: str) -> tuple[Delivery, bool]:
        try:
            self._client.chat_postMessage(
                channel=self._channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata=message.metadata(attempt),
            )
        except SlackApiError as exc:
            response = exc.response
            status = response.status_code
            label = _error_code(response.data)
            retry_after = _retry_after(response.headers) if status == 429 else None
            error = f"Slack answered {status} {label or '(no error code)'}"
            return self._failed(message, error, retry_after), (
                status == 429 or label in HALTING_ERRORS
            )
        except (SlackClientError, URLError) as exc:
            # urllib raises URLError only before the request was fully sent: Slack never saw it.
            error = f"Slack unreachable at {self._host}: {_reason(exc)}"
            return self._failed(message, error, None), True
        except (OSError, http.client.HTTPException) as exc:
            # Sent, but no answer (timeout, dropped connection): Slack may have posted it.
            error = f"no answer from Slack at {self._host}: {_reason(exc)}"
            return self._failed(message, error, None, unknown=True), True
        return Delivery(message.incident_ids, ok=True), False

    def _clean(self, error: str) -> str:
        return redact(error, [self._token], mask="[token]")

    def _failed(
        self, message: SlackMessage, error: str, retry_after: float | None, *, unknown: bool = False
    ) -> Delivery:
        error = self._clean(error)
        logger.warning("Slack alert for incidents %s failed: %s", message.incident_ids, error)
        return Delivery(
            message.incident_ids, ok=False, error=error, retry_after=retry_after, unknown=unknown
        )
