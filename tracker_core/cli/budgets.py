"""``cursor-tracker budgets ...``: list, set and remove budgets, through the tracker's seam.

A refused change raises ``BudgetInputError``: ``main`` shows its one line and exits 2, with
nothing changed.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from tracker_core.budgets import BudgetInputError, parse_scope
from tracker_core.cli.groups import actor
from tracker_core.cli.render import terminal
from tracker_core.config import LoadedSettings
from tracker_core.formatting import money
from tracker_core.service import open_tracker
from tracker_core.text import printable
from tracker_core.views.budgets import BudgetList

SCOPE_HELP = "team, group or member"


def _print_budgets(listed: BudgetList) -> None:
    out = terminal()
    cycle = listed.cycle
    out.print(f"cycle {cycle.start} to {cycle.end}, day {cycle.day} of {cycle.length}")
    if not listed.lines:
        out.print("no budgets: set one with 'cursor-tracker budgets set team 5000'")
        return
    table = Table(show_edge=False)
    for column in ("scope", "name", "budget", "spent", "%", "forecast", "forecast %"):
        table.add_column(column, justify="left" if column in ("scope", "name") else "right")
    for line in listed.lines:
        standing = line.standing
        forecast = standing.forecast_cents
        table.add_row(
            line.budget.scope,
            printable(standing.label),
            money(standing.budget_cents),
            money(standing.spent_cents),
            f"{standing.percent} %",
            "—" if forecast is None else money(forecast),
            "—" if standing.forecast_percent is None else f"{standing.forecast_percent} %",
        )
    out.print(table)


def _target_and_amount(args: argparse.Namespace) -> tuple[str | None, str]:
    """``set team AMOUNT`` or ``set group|member WHO AMOUNT``."""
    values: list[str] = args.values
    scope = parse_scope(args.scope)  # an unknown scope is named before the values are counted
    wanted = 1 if scope == "team" else 2
    if len(values) != wanted:
        shape = {
            "team": "team AMOUNT",
            "group": "group NAME AMOUNT",
            "member": "member EMAIL AMOUNT",
        }
        raise BudgetInputError(
            f"expected 'budgets set {shape[scope]}', got {len(values)} value(s) after '{scope}'",
            field="amount",
        )
    return (None, values[0]) if wanted == 1 else (values[0], values[1])


def cmd_budgets(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    with open_tracker(loaded.settings) as tracker:
        if args.action == "list":
            listed = tracker.budgets()
            if args.json:
                print(json.dumps(listed.to_json()))
            else:
                _print_budgets(listed)
            return 0
        if args.action == "set":
            target, amount = _target_and_amount(args)
            change = tracker.set_budget(args.scope, target, amount, actor=actor())
        else:
            change = tracker.unset_budget(args.scope, args.target)
    if args.json:
        print(json.dumps(change.to_json()))
    else:
        print(printable(change.summary))
    return 0


def add_budgets_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    budgets = commands.add_parser(
        "budgets",
        parents=[common],
        help="list, set and remove budgets per billing cycle (team, group, member)",
        description="A budget caps the team's, a billing group's or a member's spend per "
        "billing cycle, in dollars. Detection alerts at 50, 80 and 100 % of it spent, and when "
        "the forecast passes it (from cycle day 7), each once per cycle. GROUP is a group's id "
        "or exact name, MEMBER an email. A refused change exits 2 and changes nothing.",
    )
    actions = budgets.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", parents=[common], help="every budget with this cycle's spend and forecast"
    )
    change = actions.add_parser(
        "set",
        parents=[common],
        help="set a budget: 'set team 5000', 'set group Platform 2000', 'set member a@b 300'",
        description="Set a budget in dollars per cycle (e.g. 5000, 5,000 or $5000.50); 0 "
        "removes it. Negative, non-numeric and absurd amounts (over $10,000,000) are refused.",
    )
    change.add_argument("scope", metavar="SCOPE", help=SCOPE_HELP)
    change.add_argument(
        "values", metavar="[WHO] AMOUNT", nargs="+", help="GROUP or MEMBER, then dollars"
    )
    remove = actions.add_parser(
        "unset", parents=[common], help="remove a budget: 'unset team', 'unset group Platform'"
    )
    remove.add_argument("scope", metavar="SCOPE", help=SCOPE_HELP)
    remove.add_argument("target", metavar="WHO", nargs="?", help="GROUP or MEMBER")
    for action in (listing, change, remove):
        action.add_argument("--json", action="store_true", help="print the result as JSON")
    budgets.set_defaults(handler=cmd_budgets)
