"""Wording shared by the Slack and email senders, so both channels describe an incident alike.

Everything here is pure: no I/O, no clock. The senders escape for their own markup (Slack mrkdwn
or HTML); :func:`escape_mrkdwn` lives here only because Slack needs it in several places.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from html import escape
from typing import Final
from urllib.parse import quote

from tracker_core.detection.budgets import GROUP_SUBJECT_PREFIX, TEAM_SUBJECT
from tracker_core.detection.model import CYCLE_RULES, SPEND_RULES, Rule, Severity
from tracker_core.formatting import as_utc, count, display_name, money

PRODUCT: Final = "cursor-usage-tracker"

RULE_TITLES: Final[dict[Rule, str]] = {
    "spend_limit": "Cycle spend limit",
    "requests_limit": "Daily request limit",
    "tokens_limit": "Daily token limit",
    "zscore_spend": "Unusual daily spend",
    "zscore_requests": "Unusual request volume",
    "spend_spike": "Spend spike",
    "cycle_outlier": "Cycle spend outlier",
    "budget_50": "Budget 50 % spent",
    "budget_80": "Budget 80 % spent",
    "budget_100": "Budget spent",
    "budget_forecast": "Budget forecast to be exceeded",
}
TOKEN_RULES: Final[frozenset[Rule]] = frozenset({"tokens_limit"})
"""Rules counting tokens; the non-spend rules outside this set count requests."""

SEVERITY_EMOJI: Final[dict[Severity, str]] = {
    "critical": ":rotating_light:",
    "warning": ":warning:",
}
SEVERITY_LABEL: Final[dict[Severity, str]] = {"critical": "Critical", "warning": "Warning"}

_MRKDWN_ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def rule_title(rule: Rule) -> str:
    """A human title for ``rule``; an unknown rule (newer database, older code) reads as itself."""
    return RULE_TITLES.get(rule, rule.replace("_", " ").capitalize())


def format_value(rule: Rule, value: float) -> str:
    """Render a value or threshold in the unit of its rule, never as a bare number.

    The original tool printed some values unformatted (raw cents, plain counts); every rule's
    unit is spelled out here instead, in the figures the console and the command line show.
    """
    if rule in SPEND_RULES:
        return money(round(value * 100))  # findings carry dollars rounded to the cent
    if rule in TOKEN_RULES:
        return f"{count(value)} tokens"
    return f"{count(value)} request" + ("" if round(value) == 1 else "s")


def format_share(share: float | None) -> str:
    """A 0..1 share as a whole percentage (``0.823`` → ``82%``); empty when unknown."""
    return "" if share is None else f"{share * 100:.0f}%"


def format_top_model(model: str | None, share: float | None) -> str:
    """``model (82%)``, or an em dash when detection could not name a model."""
    if not model:
        return "—"
    pct = format_share(share)
    return f"{model} ({pct})" if pct else model


def format_period(rule: Rule, period: date) -> str:
    """Daily rules name their UTC day; cycle rules name the cycle they belong to."""
    if rule in CYCLE_RULES:
        return f"cycle from {period.isoformat()}"
    return period.isoformat()


def latest_detection(detected: Iterable[datetime]) -> datetime:
    """The most recent detection time, comparing naive and aware values alike."""
    return max((as_utc(moment) for moment in detected), default=datetime.min.replace(tzinfo=UTC))


def severity_label(severity: Severity) -> str:
    return SEVERITY_LABEL.get(severity, severity.capitalize())


def severity_emoji(severity: Severity) -> str:
    return SEVERITY_EMOJI.get(severity, ":warning:")


def headline(rule: Rule, severity: Severity, escalated: bool) -> str:
    """``Critical: Spend spike``, or ``Spend spike escalated to critical`` for an escalation.

    It holds no user-provided text, so it can go into plain-text places (Slack headers, email
    subjects) without escaping.
    """
    title = rule_title(rule)
    if escalated:
        return f"{title} escalated to {severity}"
    return f"{severity_label(severity)}: {title}"


def severity_counts(severities: Iterable[Severity]) -> tuple[int, int]:
    """(critical, warning) counts for a summary line."""
    critical = warning = 0
    for severity in severities:
        if severity == "critical":
            critical += 1
        else:
            warning += 1
    return critical, warning


def member_url(dashboard_url: str, email: str) -> str | None:
    """The member's page on the dashboard, or None when no dashboard URL is configured or the
    anomaly is not a member's (a team's or a group's budget: ``team``, ``group:ID``)."""
    if not dashboard_url or "@" not in email:
        return None
    return f"{dashboard_url.rstrip('/')}/users/{quote(email)}"


def queue_url(dashboard_url: str) -> str | None:
    """The incident queue on the dashboard, or None when no dashboard URL is configured."""
    if not dashboard_url:
        return None
    return f"{dashboard_url.rstrip('/')}/incidents"


def escape_mrkdwn(text: str) -> str:
    """Neutralise Slack's control characters, so user text cannot form links or mentions.

    Slack has no escape for ``*``, ``_`` or ``~``; those can only change emphasis, never add a
    link, a mention or a broadcast, so they are left as typed.
    """
    return text.translate(_MRKDWN_ESCAPES)


EMAIL_MUTED: Final = "#6b7280"
"""The grey of an email's footer and secondary text."""


def email_page(heading: str, color: str, body: str, footer: str) -> str:
    """An email's HTML: a coloured heading, the body, a muted footer, styled inline (mail
    clients drop style sheets). ``body`` is HTML already escaped; the rest is text."""
    return (
        "<!doctype html>\n"
        '<html><body style="margin:0;padding:16px;'
        "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#111827\">"
        '<div style="max-width:680px;margin:0 auto">'
        f'<h2 style="margin:0 0 12px;color:{escape(color)}">{escape(heading)}</h2>'
        f"{body}"
        f'<p style="margin:16px 0 0;color:{EMAIL_MUTED};font-size:12px">{escape(footer)}</p>'
        "</div></body></html>\n"
    )


def subject_field(name: str, email: str) -> tuple[str, str]:
    """The alert card's "who" field as (label, text): a member's name and email, or, for a
    team's or a group's budget, "Budget of" and its name (never the internal ``group:ID``)."""
    if email == TEAM_SUBJECT or email.startswith(GROUP_SUBJECT_PREFIX):
        return "Budget of", name or email
    shown = display_name(name, email)
    return "Member", shown if shown == email else f"{shown}\n{email}"
