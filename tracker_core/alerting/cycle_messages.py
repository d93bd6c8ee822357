"""The billing cycle's messages, as Slack Block Kit and as email: pure formatting.

Three messages follow the original tool's layout (reference section 6) with its bugs fixed:
money is dollars (never raw cents), figures cover this cycle only, links go to dashboard
pages that exist (``/``, ``/insights``, ``/members/{email}``), and member names are escaped
for mrkdwn and HTML.

- The plan-exhaustion notice, daily while anyone has run out of included usage this cycle.
- Members limited by Cursor, daily while anyone's spend reached their limit.
- The cycle summary, once per cycle, in its last three days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any, Final
from urllib.parse import quote

from tracker_core.alerting.format import EMAIL_MUTED, PRODUCT, email_page, escape_mrkdwn
from tracker_core.badges import Tier
from tracker_core.formatting import display_name, money, money_range
from tracker_core.views.cycle_summary import CycleSummary
from tracker_core.views.exhaustion import LimitedMember, PlanExhaustion

KINDS: Final = ("plan_exhaustion", "members_limited", "cycle_summary")
"""The message kinds, as the outbox and ``cron --json`` name them."""

SUMMARY_DAYS: Final = 3
"""The cycle summary goes out once the cycle has this many days left, today included."""

LISTED: Final = 10
"""Members named in a daily notice; the rest are counted."""

_MUTED: Final = EMAIL_MUTED
_BLUE: Final = "#2563eb"


@dataclass(frozen=True, slots=True)
class Rendered:
    """One message in both channels' forms; the outbox stores it as it will be sent."""

    text: str
    """Slack's fallback text (notifications)."""
    blocks: list[dict[str, Any]]
    subject: str
    html: str
    plain: str
    """The email's plain-text part."""

    def slack_json(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}

    def email_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "html": self.html, "text": self.plain}


# --- links -----------------------------------------------------------------------------------


def page_url(dashboard_url: str, path: str) -> str | None:
    """A dashboard page, or None when no dashboard URL is configured."""
    if not dashboard_url:
        return None
    return dashboard_url.rstrip("/") + path


def member_page(dashboard_url: str, email: str) -> str | None:
    return page_url(dashboard_url, f"/members/{quote(email, safe='@')}")


# --- building blocks -------------------------------------------------------------------------


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _slack_link(url: str, label: str) -> str:
    return f"<{escape_mrkdwn(url)}|{label}>"


def _links_section(links: Sequence[tuple[str, str | None]]) -> list[dict[str, Any]]:
    shown = [_slack_link(url, label) for label, url in links if url]
    return [_section(" · ".join(shown))] if shown else []


def _who_mrkdwn(name: str, email: str, dashboard_url: str) -> str:
    shown = escape_mrkdwn(display_name(name, email))
    url = member_page(dashboard_url, email)
    return f"<{escape_mrkdwn(url)}|{shown}>" if url else shown


def _who_html(name: str, email: str, dashboard_url: str) -> str:
    shown = escape(display_name(name, email))
    url = member_page(dashboard_url, email)
    return f'<a href="{escape(url)}" style="color:{_BLUE}">{shown}</a>' if url else shown


def _email_links(links: Sequence[tuple[str, str | None]]) -> str:
    shown = [
        f'<a href="{escape(url)}" style="color:{_BLUE}">{escape(label)}</a>'
        for label, url in links
        if url
    ]
    return f'<p style="margin:16px 0 0">{" · ".join(shown)}</p>' if shown else ""


def _text_links(links: Sequence[tuple[str, str | None]]) -> list[str]:
    shown = [f"{label}: {url}" for label, url in links if url]
    return ["", *shown] if shown else []


def _html_list(lines: Sequence[str]) -> str:
    items = "".join(f'<li style="margin:2px 0">{line}</li>' for line in lines)
    return f'<ul style="margin:8px 0;padding-left:20px;font-size:14px">{items}</ul>'


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


# --- plan exhaustion -------------------------------------------------------------------------


def plan_exhaustion_message(data: PlanExhaustion, dashboard_url: str) -> Rendered:
    """``:zap: Cursor — Plan Exhaustion Alert``: X of Y active members ran out this cycle."""
    ran_out, active = len(data.members), data.active_members
    today = data.today.isoformat()
    headline = f"*{ran_out}/{active}* active members have exceeded their included plan this cycle"
    stats = data.stats
    detail = ""
    if stats.average_day is not None and stats.median_day is not None:
        detail = (
            f"Ran out on cycle day {stats.average_day:.1f} on average (median {stats.median_day:g})"
        )
    earliest = data.members[:LISTED]
    lines = [
        f"{_who_mrkdwn(m.name, m.email, dashboard_url)}: day {m.cycle_day} ({m.day.isoformat()})"
        for m in earliest
    ]
    more = ran_out - len(earliest)
    if more > 0:
        lines.append(f"and {plural(more, 'more member')}")
    links = [
        ("Insights: plan exhaustion", page_url(dashboard_url, "/insights")),
        ("Dashboard", page_url(dashboard_url, "/")),
    ]
    footer = f"{today} · {PRODUCT}"
    blocks = [
        _header(":zap: Cursor — Plan Exhaustion Alert"),
        _section(headline + (f"\n{detail}" if detail else "")),
        _section("*Ran out first:*\n" + "\n".join(lines)),
        *_links_section(links),
        _context(footer),
    ]
    heading = "Cursor — Plan Exhaustion Alert"
    sentence = f"{ran_out} of {active} active members have exceeded their included plan this cycle"
    html_lines = [
        f"{_who_html(m.name, m.email, dashboard_url)}: day {m.cycle_day} ({m.day.isoformat()})"
        for m in earliest
    ] + ([f"and {plural(more, 'more member')}"] if more > 0 else [])
    body = f'<p style="margin:0 0 8px;font-size:15px"><strong>{escape(sentence)}</strong></p>'
    if detail:
        body += f'<p style="margin:0 0 8px">{escape(detail)}.</p>'
    body += '<p style="margin:8px 0 0">Ran out first:</p>' + _html_list(html_lines)
    body += _email_links(links)
    plain = [heading, "", sentence + ".", *([detail + "."] if detail else []), "", "Ran out first:"]
    plain += [
        f"- {display_name(m.name, m.email)} <{m.email}>: day {m.cycle_day} ({m.day.isoformat()})"
        for m in earliest
    ] + ([f"- and {plural(more, 'more member')}"] if more > 0 else [])
    plain += [*_text_links(links), "", footer]
    return Rendered(
        text=f"Cursor — {plural(ran_out, 'member')} exceeded plan",
        blocks=blocks,
        subject=f"[Cursor] {ran_out}/{active} members exceeded their included plan",
        html=email_page(heading, "#d97706", body, footer),
        plain="\n".join(plain) + "\n",
    )


# --- members limited -------------------------------------------------------------------------


def members_limited_message(
    limited: Sequence[LimitedMember], today: date, dashboard_url: str
) -> Rendered:
    """The original's team warning, with names: who is stopped, at what limit."""
    n = len(limited)
    sentence = (
        f"{plural(n, 'team member is', 'team members are')} limited and unable to make requests."
        " Review team spend limits on the Cursor dashboard."
    )
    shown = list(limited[:LISTED])
    more = n - len(shown)

    def line(member: LimitedMember, who: str) -> str:
        limit = money(member.limit_dollars * 100)
        return f"{who}: {money(member.spend_cents)} spent of a {limit} limit"

    lines = [line(m, _who_mrkdwn(m.name, m.email, dashboard_url)) for m in shown]
    html_lines = [line(m, _who_html(m.name, m.email, dashboard_url)) for m in shown]
    text_lines = [f"- {line(m, f'{display_name(m.name, m.email)} <{m.email}>')}" for m in shown]
    if more > 0:
        extra = f"and {plural(more, 'more member')}"
        lines.append(extra)
        html_lines.append(extra)
        text_lines.append(f"- {extra}")
    links = [("Dashboard", page_url(dashboard_url, "/"))]
    footer = f"{today.isoformat()} · {PRODUCT}"
    heading = "Cursor — Members Limited"
    blocks = [
        _header(":no_entry: Cursor — Members Limited"),
        _section(f"*{escape_mrkdwn(sentence)}*"),
        _section("\n".join(lines)),
        *_links_section(links),
        _context(footer),
    ]
    body = f'<p style="margin:0 0 8px;font-size:15px"><strong>{escape(sentence)}</strong></p>'
    body += _html_list(html_lines) + _email_links(links)
    plain = [heading, "", sentence, "", *text_lines, *_text_links(links), "", footer]
    return Rendered(
        text=f"Cursor — {plural(n, 'member')} limited by spend limits",
        blocks=blocks,
        subject=f"[Cursor] {plural(n, 'member is', 'members are')} limited by spend limits",
        html=email_page(heading, "#dc2626", body, footer),
        plain="\n".join(plain) + "\n",
    )


# --- cycle summary ---------------------------------------------------------------------------


def change_text(change: int | None) -> str:
    """The change from the last cycle after its figure: `` (+12% ↑)``, `` (-25% ↓)``, `` (0%)``
    when it rounds to nothing (no sign: "+0%" would read as a rise), or nothing at all."""
    if change is None:
        return ""
    if change == 0:
        return " (0%)"
    return f" ({change:+d}% {'↑' if change > 0 else '↓'})"


def summary_lines(data: CycleSummary, *, who: Any) -> list[str]:
    """The summary's lines in the original's order; ``who(name, email)`` renders a member."""
    lines = [f"*Cycle Spend:* {money(data.spend_cents)}"]
    if data.forecast is not None:
        forecast = data.forecast
        lines.append(
            f"*Forecast:* {money(forecast.expected * 100)} at the cycle's end"
            f" (likely {money_range(forecast.low * 100, forecast.high * 100)})"
        )
    previous = data.previous_spend_cents
    if previous is not None:
        lines.append(f"*vs Last Cycle:* {money(previous)}{change_text(data.change_percent)}")
    total, active = data.seats_total, data.seats_active
    share = f" ({round(active / total * 100)}%)" if total else ""
    lines.append(f"*Seats:* {active}/{total} active{share}")
    if data.unused_seats > 0:
        lines.append(f":warning: {plural(data.unused_seats, 'unused seat')} this cycle")
    exhausted = len(data.exhaustion.members)
    if exhausted > 0:
        lines.append(
            f"*Plan Exhaustion:* {exhausted}/{data.exhaustion.active_members} members exceeded plan"
        )
    if data.limited:
        lines.append(f"*Limited by Cursor:* {plural(len(data.limited), 'member')}")
    if data.top_spenders:
        lines.append("*Top Spenders:*")
        lines += [
            f"{rank}. {who(s.name, s.email)}: {money(s.spend_cents)}"
            for rank, s in enumerate(data.top_spenders, 1)
        ]
    if any(data.adoption.values()):
        # The Manual tier is counted but, as in the original, not shown.
        listed = [tier for tier in Tier if tier is not Tier.MANUAL]
        tiers = " · ".join(f"{tier.value}: {data.adoption.get(tier, 0)}" for tier in listed)
        lines.append(f"*Adoption:* {tiers}")
    return lines


def cycle_summary_message(data: CycleSummary, dashboard_url: str) -> Rendered:
    """``:bar_chart: Cursor Cycle Summary — Ending <end>``."""
    start, end = data.cycle.start.isoformat(), data.cycle.end.isoformat()
    remaining = plural(data.days_remaining, "day")
    footer = f"Cycle {start} – {end} · {remaining} remaining · {PRODUCT}"
    links = [
        ("Dashboard", page_url(dashboard_url, "/")),
        ("Insights", page_url(dashboard_url, "/insights")),
    ]
    heading = f"Cursor Cycle Summary — Ending {end}"
    blocks = [
        _header(f":bar_chart: {heading}"),
        _section("\n".join(summary_lines(data, who=lambda n, e: _who_mrkdwn(n, e, dashboard_url)))),
        *_links_section(links),
        _context(footer),
    ]
    html_lines = [
        _bold_html(line)
        for line in summary_lines(data, who=lambda n, e: _who_html(n, e, dashboard_url))
    ]
    body = (
        '<div style="font-size:14px;line-height:1.6">'
        + "<br>".join(html_lines)
        + "</div>"
        + _email_links(links)
    )
    plain_lines = [
        line.replace("*", "").replace(":warning: ", "")
        for line in summary_lines(data, who=lambda n, e: f"{display_name(n, e)} <{e}>")
    ]
    plain = [heading, "", *plain_lines, *_text_links(links), "", footer]
    return Rendered(
        text=f"Cursor Cycle Summary — {money(data.spend_cents)} spend, "
        f"{plural(data.unused_seats, 'unused seat')}",
        blocks=blocks,
        subject=f"[Cursor] Cycle summary: {money(data.spend_cents)} spent, cycle ends {end}",
        html=email_page(heading, "#111827", body, footer),
        plain="\n".join(plain) + "\n",
    )


def _bold_html(line: str) -> str:
    """An mrkdwn summary line (``*Label:* value``) in HTML; the value is already escaped."""
    line = line.replace(":warning: ", "⚠ ")
    if line.startswith("*"):
        label, _, rest = line[1:].partition("*")
        return f"<strong>{escape(label)}</strong>{rest}"
    return line
