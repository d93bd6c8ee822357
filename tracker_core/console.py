"""What the command line prints: progress while collecting, then summaries and tables.

Progress goes to stderr, so ``--json`` output on stdout stays one clean object. On a terminal
it is a set of rich progress bars; elsewhere (CI logs, cron mail) one plain line per step.
"""

from __future__ import annotations

import sys
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

from tracker_core.collector import CollectionSummary, StreamResult
from tracker_core.queries import TeamStats, dollars

STREAM_LABELS = {
    "members": "members",
    "spend": "spend",
    "groups": "billing groups",
    "daily_usage": "daily usage",
    "usage_events": "usage events",
    "analytics": "analytics",
}


class PlainProgress:
    """One line per finished stream, and a line per window of the long streams."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.out = stream or sys.stderr

    def stream_started(self, stream: str, total: int | None) -> None:
        if total:
            print(
                f"collecting {STREAM_LABELS.get(stream, stream)} ({total} windows)", file=self.out
            )

    def stream_advanced(self, stream: str, *, steps: int, fetched: int) -> None:
        if steps and stream in ("usage_events", "daily_usage"):
            print(f"  {STREAM_LABELS[stream]}: {fetched:,} fetched", file=self.out, flush=True)

    def stream_finished(self, result: StreamResult) -> None:
        label = STREAM_LABELS.get(result.name, result.name)
        if result.ok:
            print(f"{label}: {result.fetched:,} fetched", file=self.out, flush=True)
        else:
            print(f"{label}: FAILED: {result.error}", file=self.out, flush=True)


class BarProgress:
    """rich progress bars, one per stream, for an interactive terminal."""

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
        self.tasks[stream] = self.progress.add_task(
            STREAM_LABELS.get(stream, stream), total=total, fetched=0
        )

    def stream_advanced(self, stream: str, *, steps: int, fetched: int) -> None:
        if stream in self.tasks:
            self.progress.update(self.tasks[stream], advance=steps, fetched=fetched)

    def stream_finished(self, result: StreamResult) -> None:
        task = self.tasks.get(result.name)
        if task is None:
            task = self.tasks[result.name] = self.progress.add_task(
                STREAM_LABELS.get(result.name, result.name), total=1, fetched=0
            )
        description = STREAM_LABELS.get(result.name, result.name)
        if not result.ok:
            description = f"[red]{description} failed[/red]"
        total = self.progress.tasks[task].total or 1
        self.progress.update(
            task, completed=total, total=total, fetched=result.fetched, description=description
        )


def print_summary(summary: CollectionSummary, console: Console, *, source: str = "") -> None:
    """The closing summary of a collection pass."""
    where = f" from {source}" if source else ""
    console.print(f"[bold]Collection finished{where} in {summary.duration_seconds:.1f} s[/bold]")
    events = summary.stream("usage_events")
    rows = [
        ("members", f"{summary.stream('members').fetched:,}"),
        ("daily usage rows", f"{summary.stream('daily_usage').fetched:,}"),
        ("spend rows", f"{summary.stream('spend').fetched:,}"),
        ("usage events", f"{events.fetched:,} fetched, {events.new:,} new"),
        ("billing groups", f"{summary.stream('groups').fetched:,}"),
        ("analytics values", f"{summary.stream('analytics').fetched:,}"),
    ]
    table = Table.grid(padding=(0, 2))
    for label, value in rows:
        table.add_row(f"  {label}", value)
    console.print(table)
    for result in summary.failed:
        console.print(
            f"  [red]failed[/red] {STREAM_LABELS.get(result.name, result.name)}: {result.error}"
        )


def print_top_spenders(stats: TeamStats, console: Console, *, limit: int = 10) -> None:
    """The members who spent most in the window, with their favourite model."""
    table = Table(
        title=f"Top spenders, {stats.start} to {stats.end} "
        f"(total ${dollars(stats.total_spend_cents):,.2f})",
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
            f"{user.name} <{user.email}>" if user.name else user.email,
            f"${dollars(user.spend_cents):,.2f}",
            f"{user.requests:,}",
            f"{user.tokens:,}",
            user.top_model or "-",
        )
    console.print(table)
    console.print(
        f"{stats.active_members} of {stats.members} members active; "
        f"cycle since {stats.cycle_start}: ${dollars(stats.cycle_spend_cents):,.2f}"
    )
