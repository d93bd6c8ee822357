"""What the command line prints: progress while collecting, then summaries and tables.

Progress goes to stderr, so ``--json`` output on stdout stays one clean object. On a terminal
it is a set of rich progress bars; elsewhere (CI logs, cron mail) one plain line per step.

Member names, emails, models, incident messages and API errors come from outside and may hold
``[``, ``]`` or ``:name:``. Every console here comes from :func:`terminal`, which never reads
strings as Rich markup or emoji codes, so such text prints as written (a name like
``Mallory [/]`` cannot crash a report or turn into a link); the few styled words are built as
:class:`~rich.text.Text` with an explicit style instead.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from tracker_core.alerting.message_outbox import MessagesResult
from tracker_core.collector import CollectionSummary, StreamResult, stream_label
from tracker_core.cursor_api import ApiWait
from tracker_core.detection.backtest import Backtest
from tracker_core.formatting import display_name, duration, instant, money, money_range
from tracker_core.incidents import Announcement, IncidentView, alert_summary
from tracker_core.jobs.detect import DetectionReport
from tracker_core.progress_words import wait_text, worth_saying
from tracker_core.redact import redact
from tracker_core.text import plural, printable
from tracker_core.views.forecast import ForecastView
from tracker_core.views.stats import TeamStats


def terminal(*, stderr: bool = False) -> Console:
    """The console every command prints through: all strings are text, never markup.

    Styling is opt-in per piece (:func:`styled`), so text from the API, the database or the
    configuration can be printed anywhere without escaping it first.
    """
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False)


def styled(text: str, style: str) -> Text:
    """One styled fragment, the text taken literally."""
    return Text(text, style=style)


class PlainProgress:
    """One line per finished stream, a line per window of the long streams, a line per wait.

    A wait gets its line as it begins: in a log, a minute without output otherwise looks
    exactly like a collection that hangs.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.out = stream or sys.stderr

    def stream_started(self, stream: str, total: int | None) -> None:
        if total:
            print(f"collecting {stream_label(stream)} ({plural(total, 'window')})", file=self.out)

    def stream_advanced(self, stream: str, *, steps: int, fetched: int) -> None:
        if steps and stream in ("usage_events", "daily_usage"):
            print(f"  {stream_label(stream)}: {fetched:,} fetched", file=self.out, flush=True)

    def stream_finished(self, result: StreamResult) -> None:
        label = stream_label(result.name)
        if result.skipped:
            print(f"{label}: {result.skipped}", file=self.out, flush=True)
        elif result.ok:
            print(f"{label}: {result.fetched:,} fetched", file=self.out, flush=True)
        elif result.ended_run:
            # The reason is said once, by the command, when the run is over.
            print(f"{label}: stopped", file=self.out, flush=True)
        else:
            print(f"{label}: FAILED: {printable(result.error or '')}", file=self.out, flush=True)

    def waiting(self, wait: ApiWait) -> None:
        if worth_saying(wait):
            print(f"  {printable(wait_text(wait))}", file=self.out, flush=True)


class BarProgress:
    """rich progress bars, one per stream, for an interactive terminal.

    A wait is printed above the bars, once as it begins: the elapsed-time column keeps
    counting meanwhile, and the line says what for and for how long.
    """

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[fetched]:>10,} rows"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> BarProgress:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def stream_started(self, stream: str, total: int | None) -> None:
        if stream in self.tasks:
            self.progress.update(self.tasks[stream], total=total)
            return
        self.tasks[stream] = self.progress.add_task(stream_label(stream), total=total, fetched=0)

    def stream_advanced(self, stream: str, *, steps: int, fetched: int) -> None:
        if stream in self.tasks:
            self.progress.update(self.tasks[stream], advance=steps, fetched=fetched)

    def stream_finished(self, result: StreamResult) -> None:
        task = self.tasks.get(result.name)
        if task is None:
            task = self.tasks[result.name] = self.progress.add_task(
                stream_label(result.name), total=1, fetched=0
            )
        description = stream_label(result.name)
        if not result.ok:
            description = f"[red]{description} failed[/red]"
        total = self.progress.tasks[task].total or 1
        self.progress.update(
            task, completed=total, total=total, fetched=result.fetched, description=description
        )

    def waiting(self, wait: ApiWait) -> None:
        if worth_saying(wait):
            self.progress.console.print(styled(printable(wait_text(wait)), "dim"))


def print_summary(summary: CollectionSummary, console: Console, *, source: str = "") -> None:
    """The closing summary of a collection pass.

    A run the API stopped (key refused) gets a heading that says so and no per-stream failures:
    the command states the reason once, on stderr, as for every failed command.
    """
    # The API URL may carry credentials (https://user:password@proxy/): name it without them.
    where = f" from {printable(redact(source))}" if source else ""
    seconds = f"{summary.duration_seconds:.1f} s"
    if summary.stopped is not None:
        console.print(styled(f"Collection stopped{where} after {seconds}", "bold"))
        if not any(result.fetched for result in summary.streams):
            return
    else:
        console.print(styled(f"Collection finished{where} in {seconds}", "bold"))
    events = summary.stream("usage_events")
    rows = [
        ("members", _count(summary.stream("members"))),
        ("daily usage rows", _count(summary.stream("daily_usage"))),
        ("spend rows", _count(summary.stream("spend"))),
        ("usage events", f"{events.fetched:,} fetched, {events.new:,} new{_late(events)}"),
        ("billing groups", _count(summary.stream("groups"))),
        ("analytics values", f"{summary.stream('analytics').fetched:,}"),
    ]
    table = Table.grid(padding=(0, 2))
    for label, value in rows:
        table.add_row(f"  {label}", value)
    console.print(table)
    if events.deferred:
        console.print(Text.assemble("  ", styled("deferred", "yellow"), f" {events.deferred}"))
    for result in summary.failed:
        if not result.ended_run:
            label = stream_label(result.name)
            console.print(
                Text.assemble(
                    "  ", styled("failed", "red"), f" {label}: {printable(result.error or '')}"
                )
            )
    print_corrections(summary, console)


def _count(result: StreamResult) -> str:
    """Rows read, or why the stream was not read this run (a 0 would look like an empty team)."""
    return result.skipped or f"{result.fetched:,}"


def _late(events: StreamResult) -> str:
    """How many events Cursor delivered late, and how late at least (empty when none)."""
    if not events.late:
        return ""
    lag = (events.max_lag_ms or 0) / 3_600_000
    return f" ({events.late:,} delivered late, up to at least {lag:.1f} h)"


CORRECTIONS_SHOWN = 10


def print_corrections(summary: CollectionSummary, console: Console) -> None:
    """The values the API sent outside their plausible bounds and what was stored instead."""
    if not summary.corrected:
        return
    console.print(
        Text.assemble(
            "  ",
            styled(plural(summary.corrected, "implausible value"), "yellow"),
            " not stored as sent (clamped, left out or skipped):",
        )
    )
    shown = [c for result in summary.streams for c in result.corrections][:CORRECTIONS_SHOWN]
    for correction in shown:
        # Field paths hold brackets and values may hold anything: text, never markup.
        console.print(Text(f"    {printable(str(correction))}"))
    if summary.corrected > len(shown):
        console.print(Text(f"    ... and {summary.corrected - len(shown):,} more"))


def member_cell(name: str | None, email: str) -> str:
    """``Name <email>``, or the email alone when there is no name worth showing: a table on a
    terminal names the member as the console does and keeps the address that identifies them."""
    shown = display_name(name, email)
    return email if shown == email else f"{shown} <{email}>"


def print_top_spenders(stats: TeamStats, console: Console, *, limit: int = 10) -> None:
    """The members who spent most in the window, with their favourite model."""
    table = Table(
        title=f"Top spenders, {stats.start} to {stats.end} "
        f"(total {money(stats.total_spend_cents)})",
        title_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("member")
    table.add_column("spend", justify="right")
    table.add_column("requests", justify="right")
    table.add_column("tokens", justify="right")
    table.add_column("top model")
    for rank, user in enumerate(stats.users[:limit], start=1):
        table.add_row(
            str(rank),
            printable(member_cell(user.name, user.email)),
            money(user.spend_cents),
            f"{user.requests:,}",
            f"{user.tokens:,}",
            printable(user.top_model or "-"),
        )
    console.print(table)
    console.print(
        f"{stats.active_members:,} of {plural(stats.members, 'member')} active; "
        f"cycle since {stats.cycle_start}: {money(stats.cycle_spend_cents)}"
    )


def print_daily(stats: TeamStats, console: Console) -> None:
    """The team's days in the window, oldest first, as ``stats --json`` lists them."""
    table = Table(title="Per day (UTC)", title_justify="left")
    table.add_column("day")
    table.add_column("spend", justify="right")
    table.add_column("requests", justify="right")
    table.add_column("active members", justify="right")
    for day in stats.daily:
        table.add_row(
            day.day.isoformat(),
            money(day.spend_cents),
            f"{day.requests:,}",
            f"{day.active_users:,}",
        )
    console.print(table)


SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow"}


def print_messages(result: MessagesResult, console: Console) -> None:
    """The billing cycle's messages one run sent or failed to send (nothing when none was due)."""
    for note in result.sent:
        console.print(
            Text.assemble(
                styled("Sent", "bold"), f" {note['kind']} for {note['period']} by {note['channel']}"
            )
        )
    for note in result.failed:
        console.print(
            Text.assemble(
                styled("Not sent", "yellow"),
                f" {note['kind']} for {note['period']} by {note['channel']}: "
                f"{printable(note.get('error', ''))}; the next run retries",
            )
        )


def print_detection(report: DetectionReport, console: Console) -> None:
    """What one detection run found and what it told people."""
    verb = "would open" if report.dry_run else "opened"
    when = "" if report.as_of is None else f" as of the end of {report.as_of.isoformat()}"
    console.print(
        Text.assemble(
            styled("Detection", "bold"),
            f"{when}: {verb} {report.new}, updated {report.updated}, "
            f"resolved {report.resolved}; {plural(len(report.anomalies), 'anomaly')} open",
        )
    )
    for problem in report.settings_problems:
        console.print(Text.assemble("  ", styled("setting ignored", "yellow"), f" {problem}"))
    if report.anomalies:
        table = Table(title_justify="left", show_edge=False)
        table.add_column("incident", justify="right", no_wrap=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("period", no_wrap=True)
        table.add_column("what happened", ratio=1)
        for anomaly in report.anomalies:
            severity = anomaly["severity"]
            table.add_row(
                f"#{anomaly['incident_id']}" + (" new" if anomaly["is_new"] else ""),
                styled(severity, SEVERITY_STYLE.get(severity, "")),
                anomaly["rule"],
                anomaly["period"],
                printable(anomaly["message"]),
            )
        console.print(table)
    alerts = report.alerts
    if report.dry_run:
        console.print("Dry run: nothing was stored and no alert was sent.")
        return
    if not report.channels and not alerts.sent and not alerts.failed_total:
        # "none sent" alone reads as "nothing was worth telling"; here nothing could be.
        console.print(
            "Alerts: none sent, no channel is configured (set SLACK_BOT_TOKEN and "
            "SLACK_CHANNEL_ID, or RESEND_API_KEY and ALERT_EMAIL_TO).",
            markup=False,
        )
        return
    sent = ", ".join(f"{n} {channel}" for channel, n in sorted(alerts.sent.items())) or "none"
    console.print(
        f"Alerts sent: {sent}; failed: {alerts.failed_total} "
        f"(configured: {', '.join(report.channels) or 'none'})"
    )
    for error in alerts.errors:
        console.print(
            Text.assemble(
                "  ",
                styled("alert failed", "red"),
                f" {printable(error)} (retried on the next run)",
            )
        )


def print_incidents(
    views: Sequence[IncidentView],
    console: Console,
    announced: Mapping[int, Sequence[Announcement]] | None = None,
) -> None:
    """The incident queue, worst first, with each one's response times and alerts so far.

    On a narrow terminal only the id, state and message are shown (the message already names
    the member and the figures); the response times and alert channels need a wide one.
    """
    if not views:
        console.print("No incidents.")
        return
    wide = console.width >= 140
    table = Table(show_edge=False)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    if wide:
        for column in ("rule", "period", "MTTD", "MTTI", "MTTR"):
            table.add_column(column, no_wrap=True)
        if announced is not None:
            table.add_column("alerts", no_wrap=True)
    table.add_column("what happened", ratio=1)
    for view in views:
        cells: list[str | Text] = [
            f"#{view.id}",
            view.status,
            styled(view.severity, SEVERITY_STYLE.get(view.severity, "")),
        ]
        if wide:
            cells += [
                view.rule,
                view.period.isoformat(),
                duration(view.mttd),
                duration(view.mtti),
                duration(view.mttr),
            ]
            if announced is not None:
                cells.append(alert_summary(announced.get(view.id, ())))
        table.add_row(*cells, printable(view.message))
    console.print(table)


def print_backtest(result: Backtest, console: Console, *, top: int = 10) -> None:
    """What detection would have fired and announced, per day, in total by rule and member."""
    changes = ", ".join(f"{key}={value}" for key, value in result.changes.items())
    console.print(
        Text.assemble(
            styled("Backtest", "bold"),
            f": {plural(len(result.days), 'day')}, "
            + (f"proposed {changes}" if changes else "current settings")
            + "; nothing was stored or sent",
        )
    )
    table = Table(show_edge=False)
    table.add_column("day", no_wrap=True)
    table.add_column("fired", justify="right")
    table.add_column("announced", justify="right")
    table.add_column("announced by rule", ratio=1)
    for day in result.days:
        rules: dict[str, int] = {}
        for finding in day.announced:
            rules[finding.rule] = rules.get(finding.rule, 0) + 1
        table.add_row(
            day.day.isoformat(),
            str(len(day.findings)),
            str(len(day.announced)),
            ", ".join(f"{rule} {n}" for rule, n in rules.items()),
        )
    table.add_row(
        styled("total", "bold"), str(result.total_findings), str(result.total_announced), ""
    )
    console.print(table)
    by_rule = result.count_by("findings", "rule")
    told_rule = result.count_by("announced", "rule")
    if by_rule:
        console.print(
            "By rule: "
            + ", ".join(
                f"{rule} {told_rule[rule]} announced ({by_rule[rule]} fired)"
                for rule in sorted(by_rule)
            ),
            markup=False,
        )
    told = result.count_by("announced", "email")
    if told:
        shown = told.most_common(top)
        console.print(
            "Most announced members: " + ", ".join(f"{email} {n}" for email, n in shown),
            markup=False,
            soft_wrap=True,
        )


def _cents(dollars: float) -> float:
    return dollars * 100.0


def add_money_columns(table: Table) -> None:
    """The forecast's figures, never wrapped nor cut: on a narrow terminal the names wrap
    instead (a range cut to "$5,575.15-$5,83…" says nothing)."""
    for title in ("forecast", "p10-p90", "spent"):
        table.add_column(title, justify="right", no_wrap=True)


def print_forecast(view: ForecastView, console: Console, *, limit: int = 15) -> None:
    """The cycle-end forecast: the total, then groups and members by expected spend."""
    scope = "team" if view.scope is None else f"group {view.scope}"
    total = view.total
    console.print(
        f"Cycle {view.cycle_start} to {view.cycle_end}, day {view.day} of {view.length} "
        f"(as of {instant(view.now)})"
    )
    console.print(
        f"Forecast for the {printable(scope)}: {money(_cents(total.expected))} "
        f"(p10-p90 {money_range(_cents(total.low), _cents(total.high))}), "
        f"{money(_cents(total.spent))} spent so far"
    )
    if view.groups:
        table = Table(title="Billing groups", title_justify="left")
        table.add_column("group")
        table.add_column("members", justify="right", no_wrap=True)
        add_money_columns(table)
        for group in view.groups:
            f = group.forecast
            table.add_row(
                printable(group.name),
                f"{group.members:,}",
                money(_cents(f.expected)),
                money_range(_cents(f.low), _cents(f.high)),
                money(_cents(f.spent)),
            )
        console.print()
        console.print(table)
    table = Table(
        title=f"Members ({min(limit, len(view.members))} of {len(view.members):,})",
        title_justify="left",
    )
    table.add_column("member")
    table.add_column("group")
    add_money_columns(table)
    for member in view.members[:limit]:
        f = member.forecast
        table.add_row(
            printable(member_cell(member.name, member.email)),
            printable(member.group or "-"),
            money(_cents(f.expected)),
            money_range(_cents(f.low), _cents(f.high)),
            money(_cents(f.spent)),
        )
    console.print()
    console.print(table)
