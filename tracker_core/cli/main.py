"""The ``cursor-tracker`` command: argument parsing, exit codes and wiring of the core.

Exit status: 0 success, 1 the work failed (the message names the cause), 2 bad usage or
configuration (the message names the flag, or the key and file).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from tracker_core import __version__
from tracker_core.alerting.cycle_messages import cycle_summary_message
from tracker_core.budgets import BudgetInputError
from tracker_core.cli.render import (
    BarProgress,
    PlainProgress,
    print_backtest,
    print_daily,
    print_detection,
    print_forecast,
    print_incidents,
    print_messages,
    print_summary,
    print_top_spenders,
    styled,
    terminal,
)
from tracker_core.collector import CollectionSummary, Progress, SilentProgress
from tracker_core.config import LoadedSettings, load_settings
from tracker_core.errors import ConfigError, TrackerError
from tracker_core.formatting import duration
from tracker_core.groups import GroupInputError
from tracker_core.jobs.collect import simulator_settings
from tracker_core.redact import redact
from tracker_core.service import Tracker, open_tracker
from tracker_core.simulator_limits import MAX_DAYS, MAX_USERS, MIN_DAYS, MIN_USERS
from tracker_core.storage import database_error
from tracker_core.text import plural, printable

if TYPE_CHECKING:
    from rich.console import Console

    from tracker_core.jobs.detect import DetectionReport

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def say_error(message: object) -> None:
    """An error line on stderr, unwrapped: scripts and tests grep it for the key and file.

    A message may quote a name or an upstream body: each of its lines is made printable, so
    none can carry a terminal command to whoever reads the output.
    """
    text = "\n".join(printable(line) for line in str(message).split("\n"))
    print(f"cursor-tracker: {text}", file=sys.stderr, flush=True)


def file_error(exc: OSError) -> str:
    """``cannot use PATH: reason`` for a file operation that failed, the path as given."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return f"a file operation failed: {reason}"
    return f"cannot use {exc.filename}: {reason}"


def _progress(*, quiet: bool, err: Console) -> AbstractContextManager[Progress]:
    """Progress bars on a terminal, plain lines elsewhere, nothing if quiet."""
    if quiet:
        return nullcontext(SilentProgress())
    if err.is_terminal:
        return BarProgress(err)
    return nullcontext(PlainProgress(err.file))


def run_collection(tracker: Tracker, *, quiet: bool, err: Console) -> CollectionSummary:
    """One collection pass, its progress shown as :func:`_progress` chooses."""
    with _progress(quiet=quiet, err=err) as progress:
        return asyncio.run(tracker.collect(progress))


# --- subcommands ----------------------------------------------------------------------------


def cmd_collect(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    out, err = terminal(), terminal(stderr=True)
    with open_tracker(loaded.settings) as tracker:
        summary = run_collection(tracker, quiet=args.json, err=err)
    if args.json:
        print(json.dumps(summary.to_json()))
    else:
        print_summary(summary, out, source=loaded.settings.cursor.api_url)
    failure = summary.failure_message()
    if failure is not None:
        say_error(failure)
        return EXIT_FAILED
    return EXIT_OK


def _detection_exit(report: DetectionReport) -> int:
    if report.alerts.failed_total:
        say_error(
            f"{plural(report.alerts.failed_total, 'alert message')} failed "
            f"({report.alerts.errors[0]}); they are retried on the next run"
        )
        return EXIT_FAILED
    return EXIT_OK


def cmd_detect(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    if not args.backtest and (args.set or args.days is not None):
        raise UsageError("--days and --set belong to --backtest")
    today = datetime.now(UTC).date()
    if args.as_of is not None and args.as_of > today:
        raise UsageError(f"--as-of {args.as_of.isoformat()} is after today ({today.isoformat()})")
    if args.backtest:
        return _backtest(args, loaded)
    with open_tracker(loaded.settings) as tracker:
        report = tracker.detect(dry_run=args.dry_run, as_of=args.as_of)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print_detection(report, terminal())
    return _detection_exit(report)


def _backtest(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    """Detection replayed day by day with the stored or proposed settings; nothing is kept."""
    changes: dict[str, str] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        changes[key.strip()] = value.strip()
    with open_tracker(loaded.settings) as tracker:
        result = tracker.backtest(days=args.days or 28, changes=changes, until=args.as_of)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print_backtest(result, terminal())
    return EXIT_OK


def cmd_cron(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    """Collect, then detect: the daemon's scheduled job, runnable from a system crontab."""
    err = terminal(stderr=True)
    with open_tracker(loaded.settings) as tracker, _progress(quiet=args.json, err=err) as progress:
        result = tracker.cron(progress)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        out = terminal()
        print_summary(result.collect, out, source=loaded.settings.cursor.api_url)
        print_detection(result.detect, out)
        print_messages(result.messages, out)
    failure = result.collect.failure_message()
    if failure is not None:
        say_error(failure)
        return EXIT_FAILED
    return _detection_exit(result.detect)


def cmd_incidents(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    with open_tracker(loaded.settings) as tracker:
        if args.action == "list":
            queue = tracker.incident_queue(status=args.status, days=args.days, require_data=True)
            if args.json:
                print(json.dumps(queue.to_json()))
            else:
                out = terminal()
                print_incidents(queue.incidents, out, queue.announced)
                times = queue.response_times
                out.print(
                    f"Last {plural(args.days, 'day')}: {plural(times.incidents, 'incident')}; "
                    f"MTTD {duration(times.mttd)}, "
                    f"MTTI {duration(times.mtti)}, "
                    f"MTTR {duration(times.mttr)}"
                )
            return EXIT_OK
        change = tracker.acknowledge(args.id) if args.action == "ack" else tracker.resolve(args.id)
    view = change.incident
    already = "already " if change.already else ""
    print(f"incident #{view.id} {already}{view.status}: {printable(view.message)}")
    return EXIT_OK


def cmd_settings(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from tracker_core.detection.settings import SETTINGS

    with open_tracker(loaded.settings) as tracker:
        if args.action == "set":
            value = tracker.update_settings({args.key: args.value})[args.key]
            print(f"{args.key} = {value}")
            return EXIT_OK
        shown = tracker.detection_settings()
    for problem in shown.problems:
        say_error(f"stored setting ignored: {problem}")
    if args.json:
        print(json.dumps(shown.to_json()))
        return EXIT_OK
    table = Table(show_edge=False)
    table.add_column("key")
    table.add_column("value", justify="right")
    table.add_column("meaning")
    for key, value in shown.to_json().items():
        table.add_row(key, str(value), SETTINGS[key].help)
    terminal().print(table)
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    if args.days < 1:
        raise UsageError("--days must be at least 1")
    with open_tracker(loaded.settings) as tracker:
        group = None if args.group is None else tracker.group_filter(args.group)
        stats = tracker.stats(days=args.days, group_id=group)
    if args.json:
        print(json.dumps(stats.to_json()))
    else:
        out = terminal()
        print_top_spenders(stats, out, limit=args.top)
        out.print()
        print_daily(stats, out)
    return EXIT_OK


def cmd_forecast(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    with open_tracker(loaded.settings) as tracker:
        group = None if args.group is None else tracker.group_filter(args.group)
        view = tracker.forecast(group_id=group)
    if args.json:
        print(json.dumps(view.to_json()))
    else:
        print_forecast(view, terminal(), limit=args.top)
    return EXIT_OK


def cmd_summary(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    with open_tracker(loaded.settings) as tracker:
        summary = tracker.cycle_summary()
    if args.json:
        print(json.dumps(summary.to_json()))
    else:
        rendered = cycle_summary_message(summary, loaded.settings.daemon.dashboard_url)
        out = terminal()
        for line in rendered.plain.rstrip("\n").split("\n"):
            out.print(printable(line))  # member names come from Cursor's API
    return EXIT_OK


def cmd_simulator(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from tracker_core.simulator import generate_scenario, load_scenario, serve
    from tracker_core.simulator.delivery import LateDelivery

    scenario = (
        load_scenario(args.scenario)
        if args.scenario
        else generate_scenario(
            users=args.users, days=args.days, seed=args.seed, realistic=args.realistic
        )
    )
    try:
        asyncio.run(
            serve(
                scenario,
                args.host,
                args.port,
                api_key=args.api_key,
                rate_limits=not args.no_rate_limit,
                fault_rate=args.fault_rate,
                seed=args.seed,
                latency=args.latency,
                late=LateDelivery(seed=args.seed) if args.late else None,
            )
        )
    except OSError as exc:
        raise _cannot_listen(exc, args.host, args.port) from None
    return EXIT_OK


def _cannot_listen(exc: OSError, host: str, port: int) -> UsageError:
    """A server that could not bind: a port in use, a host that does not resolve or is not
    this machine's (binding is the only socket work before "listening on")."""
    if exc.errno == errno.EADDRINUSE:
        reason = "the port is already in use (--port 0 picks a free one)"
    else:
        reason = exc.strerror or str(exc)
    return UsageError(f"cannot listen on {host}:{port}: {reason}")


def cmd_daemon(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    """The service: JSON API, /healthz, /metrics and the built-in schedule, until SIGTERM."""
    from tracker_core.daemon.access_log import configure_logging
    from tracker_core.daemon.app import serve
    from tracker_core.daemon.security import is_loopback

    daemon = loaded.settings.daemon
    host = daemon.host if args.host is None else args.host
    port = daemon.port if args.port is None else args.port
    if daemon.dashboard_password is None and not is_loopback(host):
        raise UsageError(
            f"refusing to listen on {host} without DASHBOARD_PASSWORD: set it (or [daemon] "
            "dashboard_password) to turn the login on, or listen on 127.0.0.1"
        )
    configure_logging(loaded.settings.secret_values())
    try:
        asyncio.run(serve(loaded.settings, host, port, schedule=not args.no_schedule))
    except OSError as exc:
        raise _cannot_listen(exc, host, port) from None
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    """Simulated organisation -> embedded simulator -> collection -> detection -> console.

    On a terminal the demo ends in the console, with the simulator still serving so that
    ``c`` (collect now) works; elsewhere (scripts, CI) it prints the top spenders and the open
    incidents instead.
    """
    from tracker_core.cli.program import invoked_as
    from tracker_core.demo_store import (
        DemoOrganisation,
        prepare_database,
        remember_organisation,
        reopen_command,
    )
    from tracker_core.simulator import generate_scenario, running_simulator
    from tracker_core.simulator.org import days_with_previous_cycle, organisation_time

    out, err = terminal(), terminal(stderr=True)
    me = invoked_as()  # how the closing lines tell a person to run it again
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    as_of = organisation_time(datetime.now(UTC))
    if args.days is None:
        args.days = days_with_previous_cycle(as_of)
    organisation = DemoOrganisation(args.users, args.days, args.seed, as_of.date())
    database, previous = prepare_database(data_dir, organisation)
    if previous:
        err.print(previous, markup=False)
    remember_organisation(data_dir, organisation)

    err.print(
        f"Simulating an organisation of {plural(args.users, 'member')} over "
        f"{plural(args.days, 'day')} "
        f"(seed {args.seed}); no Cursor key or network needed."
    )
    scenario = generate_scenario(
        users=args.users, days=args.days, seed=args.seed, now=as_of, realistic=True
    )
    demo_key = "demo-key"
    interactive = not args.no_tui and sys.stdin.isatty() and sys.stdout.isatty()
    with running_simulator(scenario, api_key=demo_key, rate_limits=False) as url:
        settings = simulator_settings(
            url,
            demo_key,
            f"sqlite:///{database.resolve()}",
            backfill_days=args.days,
            events_window_days=min(args.days, 30),
        )
        with open_tracker(settings) as tracker:
            summary = run_collection(tracker, quiet=False, err=err)
            report = tracker.detect()
            if not interactive:
                stats = tracker.stats(days=min(args.days, 30))
                queue = tracker.incident_queue(status="active")
        if interactive:
            from tracker_tui.app import run_tui

            run_tui(settings)
            out.print(
                f"Demo database: {database}\nReopen it: {reopen_command(database, 'tui', me)}",
                markup=False,
                soft_wrap=True,
            )
            return EXIT_OK if summary.ok else EXIT_FAILED
    print_summary(summary, out, source="the simulator")
    out.print()
    print_top_spenders(stats, out)
    out.print()
    out.print(
        styled("Open incidents", "bold"),
        f"({len(queue.incidents)}, {report.new} of them new from this run; alerts are off in "
        "the demo)",
    )
    print_incidents(queue.incidents, out)
    out.print(
        f"\nDemo database: {database}\nReopen it: {reopen_command(database, 'tui', me)}"
        f"\n       or: {reopen_command(database, 'stats', me)}",
        markup=False,
        soft_wrap=True,
    )
    return EXIT_OK if summary.ok else EXIT_FAILED


def cmd_tui(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    """The console; Textual is imported here only, so the core stays free of any UI."""
    from tracker_tui.app import run_tui

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the console needs a terminal (use `stats` or `incidents list` instead)")
    run_tui(loaded.settings)
    return EXIT_OK


# --- parser ---------------------------------------------------------------------------------


class UsageError(Exception):
    """A flag with a value that parses but makes no sense (exit 2)."""


_NEGATIVE_VALUE = re.compile(r"^-(?:\d|\.\d|inf(?:inity)?$|nan$)", re.IGNORECASE)
"""What reads as a negative number and so as a value, never as a flag: argparse's own pattern
takes ``-5`` but not ``-1e3`` or ``-inf``, and said "the following arguments are required:
VALUE" to someone who had typed one."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its complaints on one line like every other error of the command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_VALUE

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` (to ``high``), refused with the range."""

    def parse(text: str) -> int:
        allowed = f"between {low} and {high}" if high is not None else f"at least {low}"
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number {allowed}, got {text!r}"
            ) from None
        if number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {number}")
        return number

    return parse


def _number(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a finite number between ``low`` and ``high``."""

    def parse(text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not low <= number <= high:  # also refuses nan
            raise argparse.ArgumentTypeError(
                f"expected a number between {low:g} and {high:g}, got {text!r}"
            )
        return number

    return parse


def _past_day(text: str) -> date:
    """An argparse type: a UTC day written YYYY-MM-DD."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text!r}") from None


def _directory(text: str) -> str:
    """An argparse type: a directory, or a path where one can be made (not a file)."""
    path = Path(text).expanduser()
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a directory, got an empty path")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a directory")
    return str(path)


_window_days = _whole(1, 3660)
"""Report windows: ten years is beyond any stored history and keeps date arithmetic in range."""
_count = _whole(1, 100_000)
_incident_id = _whole(1, 2**63 - 1)
"""Incident ids are 64-bit database integers."""
_port = _whole(0, 65535)


def _host(text: str) -> str:
    """An argparse type: an address to listen on, checked as ``[daemon] host`` is."""
    from tracker_core.config_checks import host

    try:
        return host(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_users = _whole(MIN_USERS, MAX_USERS)
_days = _whole(MIN_DAYS, MAX_DAYS)


CONFIG_HELP = (
    "TOML configuration file (default: $CURSOR_TRACKER_CONFIG, ./config.toml, "
    "then ~/.config/cursor-tracker/config.toml)"
)


def _settings_epilog() -> str:
    """Every detection setting with its default and allowed values, for ``settings set -h``."""
    from tracker_core.detection.settings import SPECS

    width = max(len(spec.key) for spec in SPECS)
    lines = ["keys (default; allowed values):"]
    for spec in SPECS:
        default = _plain_number(spec.default)
        lines.append(f"  {spec.key:<{width}}  {default}; {spec.describe_range()}")
    return "\n".join(lines)


def _plain_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _add_groups_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    from tracker_core.cli.groups import cmd_groups

    groups = commands.add_parser(
        "groups",
        parents=[common],
        help="list and edit the billing groups (local changes a collection keeps)",
        description="Billing groups are Cursor's, with local renames, creations and "
        "assignments laid over them: a collection never undoes them, every change is logged "
        "and 'groups undo' reverts the last one. GROUP is a group's id or exact name; names "
        "follow 'Parent > Team'. A refused change exits 2 and changes nothing.",
    )
    actions = groups.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[common], help="every group and its members")
    listing.add_argument("--json", action="store_true", help="print the groups as JSON")
    rename = actions.add_parser("rename", parents=[common], help="give a group a new name")
    rename.add_argument("group", metavar="GROUP")
    rename.add_argument("name", metavar="NAME")
    create = actions.add_parser("create", parents=[common], help="create an empty group")
    create.add_argument("name", metavar="NAME")
    remove = actions.add_parser(
        "delete", parents=[common], help="delete an empty group created here"
    )
    remove.add_argument("group", metavar="GROUP")
    assign = actions.add_parser(
        "assign", parents=[common], help="move members to a group (or to 'unassigned')"
    )
    assign.add_argument("emails", metavar="EMAIL", nargs="+")
    assign.add_argument("--to", required=True, metavar="GROUP", help="GROUP or unassigned")
    history = actions.add_parser("history", parents=[common], help="every change, oldest first")
    history.add_argument("--json", action="store_true", help="print the changes as JSON")
    undo = actions.add_parser("undo", parents=[common], help="revert the last change not undone")
    hibob = actions.add_parser(
        "import-hibob",
        parents=[common],
        help="preview (or --apply) the groups of a HiBob People Directory CSV",
        description="Read a HiBob People Directory export (columns Email or Work email, "
        "Department; optional Group, Team, Display name, Job title; any case, order and "
        "delimiter) and show the moves it implies. --apply makes them in one transaction "
        "(all, or those --only names; a member matched by display name only is moved only "
        "when named) and 'groups undo' reverts them as one step. A file that cannot be used "
        "exits 2 naming the missing columns, or the line and column at fault.",
    )
    hibob.add_argument("file", metavar="FILE", help="the CSV export")
    hibob.add_argument("--apply", action="store_true", help="make the moves (default: preview)")
    hibob.add_argument("--only", nargs="+", metavar="EMAIL", help="apply only these members' moves")
    hibob.add_argument(
        "--min-team-size",
        type=_whole(1, 1000),
        default=3,
        metavar="N",
        help="teams with fewer matched members are merged into a larger one (default 3)",
    )
    export = actions.add_parser(
        "export", parents=[common], help="every member's group as email,name,group CSV"
    )
    export.add_argument("file", metavar="FILE", nargs="?", help="write here (default: stdout)")
    restore = actions.add_parser(
        "restore",
        parents=[common],
        help="preview (or --apply) putting members back where a backup says",
        description="Read an 'groups export' CSV and show the members whose group would "
        "change; --apply makes every change in one transaction, one step for 'groups undo'.",
    )
    restore.add_argument("file", metavar="FILE", help="a CSV written by 'groups export'")
    restore.add_argument("--apply", action="store_true", help="make the changes")
    for edit in (rename, create, remove, assign, undo, hibob, restore):
        edit.add_argument("--json", action="store_true", help="print the result as JSON")
    groups.set_defaults(handler=cmd_groups)


def _add_budgets_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    from tracker_core.cli.budgets import add_budgets_parser

    add_budgets_parser(commands, common)


def _add_member_filters(parser: argparse.ArgumentParser) -> None:
    """``--top`` and ``--group``, worded the same on every command that lists members."""
    parser.add_argument(
        "--top", type=_count, default=15, help="members shown in the table (default 15)"
    )
    parser.add_argument(
        "--group",
        metavar="GROUP",
        help="only members of one billing group: its id or exact name, parent:NAME (every "
        "group NAME or 'NAME > ...') or unassigned (members in no group)",
    )


def build_parser() -> argparse.ArgumentParser:
    # Every subcommand accepts --config too, so both `cursor-tracker --config F collect` and
    # `cursor-tracker collect --config F` work. The subcommands' copy has no default: argparse
    # copies a subparser's defaults over the top-level values, which would discard a --config
    # given before the command.
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=CONFIG_HELP)
    parser = _Parser(
        prog="cursor-tracker",
        description="Self-hosted monitor of Cursor Enterprise AI spend.",
    )
    parser.add_argument("--config", metavar="PATH", default=None, help=CONFIG_HELP)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="simulate an organisation, collect, detect and open the console (no key needed)",
        description="Starts the simulator on a free loopback port over a realistic organisation "
        "(see simulator --realistic), collects into DIR/tracker.db, "
        "detects, then opens the console (on a terminal) or prints the top spenders and open "
        "incidents. Works with no Cursor key and no network.",
    )
    demo.add_argument(
        "--users",
        type=_users,
        default=40,
        help=f"members, {MIN_USERS} to {MAX_USERS} (default 40)",
    )
    demo.add_argument(
        "--days",
        type=_days,
        default=None,
        help=f"days of history, {MIN_DAYS} to {MAX_DAYS} (default: this billing cycle and the "
        "whole previous one)",
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument(
        "--data-dir", type=_directory, default=".demo", metavar="DIR", help="default ./.demo"
    )
    demo.add_argument(
        "--no-tui", action="store_true", help="print the results instead of opening the console"
    )
    demo.set_defaults(handler=cmd_demo)

    collect = commands.add_parser(
        "collect",
        parents=[common],
        help="one incremental collection pass from the Cursor API",
        description="Fetches members, spend, billing groups, daily usage, usage events and "
        "analytics since the last run (with an overlap for late events) into the database.",
    )
    collect.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    collect.set_defaults(handler=cmd_collect)

    stats = commands.add_parser(
        "stats",
        parents=[common],
        help="team statistics for the last N days",
        description="Spend, requests and tokens per member and per day, from stored usage events.",
    )
    stats.add_argument(
        "--days", type=_window_days, default=30, help="UTC days ending today (default 30)"
    )
    _add_member_filters(stats)
    stats.add_argument("--json", action="store_true", help="print the statistics as JSON")
    stats.set_defaults(handler=cmd_stats)

    forecast = commands.add_parser(
        "forecast",
        parents=[common],
        help="where this billing cycle's spend will end, with a p10-p90 range",
        description="The cycle-end spend of the team, each billing group and each member, "
        "highest first: spend so far plus each member's weekday and weekend rates (learned "
        "from their last four weeks, the team's for new members) over the days left.",
    )
    _add_member_filters(forecast)
    forecast.add_argument("--json", action="store_true", help="print the forecast as JSON")
    forecast.set_defaults(handler=cmd_forecast)

    summary = commands.add_parser(
        "summary",
        parents=[common],
        help="this billing cycle so far: spend against the last cycle, forecast, seats",
        description="The cycle summary that the cycle's last three days send to Slack and "
        "email, on any day: spend and its forecast, the change from the whole last cycle, "
        "active and unused seats, members past their included usage or stopped at a limit, the "
        "top five spenders and the AI-adoption tiers.",
    )
    summary.add_argument("--json", action="store_true", help="print the summary as JSON")
    summary.set_defaults(handler=cmd_summary)

    tui = commands.add_parser(
        "tui",
        parents=[common],
        help="open the console on the configured database",
        description="The keyboard-driven console: overview, insights, members, incidents and "
        "settings. Press ? on any screen for its keys.",
    )
    tui.set_defaults(handler=cmd_tui)

    detect = commands.add_parser(
        "detect",
        parents=[common],
        help="run the detection layers, update incidents and send alerts",
        description="Evaluates thresholds, z-scores against the team and trends against each "
        "member's own history over stored usage; opens, updates and resolves incidents; sends "
        "the alerts that are due to Slack and email.",
    )
    detect.add_argument("--json", action="store_true", help="print the result as one JSON object")
    detect.add_argument(
        "--dry-run", action="store_true", help="show what would change; store and send nothing"
    )
    detect.add_argument(
        "--as-of",
        type=_past_day,
        metavar="YYYY-MM-DD",
        help="run as at the end of that UTC day, reading nothing stored for later days "
        "(always a dry run); with --backtest, the last day replayed",
    )
    detect.add_argument(
        "--backtest",
        action="store_true",
        help="replay detection day by day and print what would have fired and been "
        "announced, per day, rule and member; stores and sends nothing",
    )
    detect.add_argument(
        "--days",
        type=_whole(1, 365),
        default=None,
        help="days the backtest replays, ending today or --as-of (default 28)",
    )
    detect.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a proposed detection setting for the backtest (repeatable; see settings set -h)",
    )
    detect.set_defaults(handler=cmd_detect)

    cron = commands.add_parser(
        "cron",
        parents=[common],
        help="collect, then detect (the job to schedule hourly)",
        description="One collection pass followed by one detection run. Schedule it hourly "
        "from a crontab or a systemd timer, e.g. '0 * * * * cursor-tracker cron', or let "
        "`cursor-tracker daemon` run it on its [daemon] schedule.",
    )
    cron.add_argument("--json", action="store_true", help="print both results as one JSON object")
    cron.set_defaults(handler=cmd_cron)

    incidents = commands.add_parser(
        "incidents",
        parents=[common],
        help="the incident queue: list, acknowledge, resolve",
        description="Incidents open when detection finds an anomaly; acknowledge one when "
        "someone is on it and resolve it when it is handled.",
    )
    incident_actions = incidents.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = incident_actions.add_parser(
        "list", parents=[common], help="incidents, worst first, with MTTD / MTTI / MTTR"
    )
    listing.add_argument(
        "--status",
        choices=["active", "open", "alerted", "acknowledged", "resolved"],
        help="only incidents in this state (active = not resolved)",
    )
    listing.add_argument(
        "--days", type=_window_days, default=30, help="window of the response-time averages"
    )
    listing.add_argument("--json", action="store_true", help="print the queue as JSON")
    for name, what in (("ack", "acknowledge"), ("resolve", "resolve")):
        command = incident_actions.add_parser(
            name,
            parents=[common],
            help=f"{what} incident ID",
            description=f"{what.capitalize()} incident ID. Repeating it is no error (exit 0, "
            "the line says 'already'); acknowledging a resolved incident is (exit 1).",
        )
        command.add_argument("id", type=_incident_id, metavar="ID")
    incidents.set_defaults(handler=cmd_incidents)

    settings = commands.add_parser(
        "settings",
        parents=[common],
        help="show or change the detection settings",
        description="Detection settings live in the database, shared by every instance.",
    )
    setting_actions = settings.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = setting_actions.add_parser("show", parents=[common], help="every setting and its value")
    show.add_argument("--json", action="store_true", help="print the settings as JSON")
    change = setting_actions.add_parser(
        "set",
        parents=[common],
        help="change one setting (validated)",
        description="Store one detection setting. A value outside its range is refused\n"
        "(exit 2) and the stored value is kept.",
        epilog=_settings_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    change.add_argument("key", metavar="KEY", help="one of the keys listed below")
    change.add_argument("value", metavar="VALUE", help="the new value, e.g. 500 or 2.5")
    settings.set_defaults(handler=cmd_settings)

    _add_groups_parser(commands, common)
    _add_budgets_parser(commands, common)

    simulator = commands.add_parser(
        "simulator",
        parents=[common],
        help="serve a simulated Cursor Enterprise API",
        description="Serves Cursor's Admin and Analytics API shapes over a generated (or given) "
        "organisation, with pagination, Basic auth, rate limits and error bodies. Prints "
        "'listening on http://H:P' first, then serves until interrupted.",
    )
    simulator.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    simulator.add_argument(
        "--port", type=_port, default=8787, help="0 picks a free port (default 8787)"
    )
    simulator.add_argument(
        "--users",
        type=_users,
        default=40,
        help=f"members, {MIN_USERS} to {MAX_USERS} (default 40)",
    )
    simulator.add_argument(
        "--days",
        type=_days,
        default=45,
        help=f"days of history, {MIN_DAYS} to {MAX_DAYS} (default 45)",
    )
    simulator.add_argument(
        "--seed",
        type=int,
        default=7,
        help="random seed; the same seed on the same UTC day gives the same organisation "
        "(default 7)",
    )
    simulator.add_argument(
        "--realistic",
        action="store_true",
        help="draw a team as real ones look: heavy-tailed spend, part-timers, vacations, new "
        "hires, idle seats, model switches (the demo's organisation)",
    )
    simulator.add_argument("--scenario", metavar="FILE", help="serve this scenario JSON instead")
    simulator.add_argument("--api-key", default="sim-key", help="accepted key (default sim-key)")
    simulator.add_argument("--no-rate-limit", action="store_true", help="serve without rate limits")
    simulator.add_argument(
        "--fault-rate",
        type=_number(0.0, 1.0),
        default=0.0,
        metavar="F",
        help="share of requests answered with a 5xx, 429, slow or truncated response "
        "(0 to 1, default 0)",
    )
    simulator.add_argument(
        "--latency",
        type=_number(0.0, 60.0),
        default=0.0,
        metavar="SECONDS",
        help="delay before every answer, up to 60 (default 0)",
    )
    simulator.add_argument(
        "--late",
        action="store_true",
        help="deliver events late, as Cursor does: most within minutes, a tail of hours, a few "
        "up to 36 hours (a scenario file may set its own with lateDelivery)",
    )
    simulator.set_defaults(handler=cmd_simulator)

    daemon = commands.add_parser(
        "daemon",
        parents=[common],
        help="serve the JSON API, /healthz and /metrics, and run the job on its schedule",
        description="Prints 'listening on http://H:P' first, then serves until SIGTERM or "
        "SIGINT. Runs the cron job on [daemon] schedule (UTC) and on POST /api/cron "
        "(x-cron-secret header). With DASHBOARD_PASSWORD set, every route but /healthz and "
        "/api/cron needs HTTP basic auth; without it only a loopback address is allowed. "
        "Routes: GET /api/openapi.json.",
    )
    daemon.add_argument(
        "--host", type=_host, default=None, help="address to listen on (default [daemon] host)"
    )
    daemon.add_argument(
        "--port", type=_port, default=None, help="0 picks a free port (default [daemon] port)"
    )
    daemon.add_argument(
        "--no-schedule",
        action="store_true",
        help="run no job by itself (POST /api/cron or a crontab runs it)",
    )
    daemon.set_defaults(handler=cmd_daemon)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    secrets: tuple[str, ...] = ()
    loaded: LoadedSettings | None = None
    try:
        loaded = load_settings(args.config)
        # Errors below may quote a driver, a server or an upstream body: none may show a key.
        secrets = loaded.settings.secret_values()
        code: int = args.handler(args, loaded)
        return code
    except (ConfigError, UsageError, GroupInputError, BudgetInputError) as exc:
        say_error(redact(str(exc), secrets))
        return EXIT_USAGE
    except TrackerError as exc:
        say_error(redact(str(exc), secrets))
        return EXIT_FAILED
    except SQLAlchemyError as exc:
        # A database failure mid-command: one line naming the database and the cause.
        message = database_error(exc, loaded.settings.database_url if loaded else None)
        say_error(redact(str(message), secrets))
        return EXIT_FAILED
    except OSError as exc:
        # A file or directory the command needed (a data directory under a file, a directory
        # where the database file should be): one line naming it, not a traceback.
        say_error(redact(file_error(exc), secrets))
        return EXIT_FAILED
    except KeyboardInterrupt:
        say_error("interrupted")
        return 130
