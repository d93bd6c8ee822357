"""``cursor-tracker groups ...``: list and edit the billing groups, through the tracker's seam.

Kept apart from ``main.py`` (which only declares the parser entries) so the group commands
and their output sit in one place. A refused edit raises ``GroupInputError``: ``main`` shows
its one line and exits 2, with nothing changed.
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Mapping
from pathlib import Path

from rich.table import Table

from tracker_core.cli.render import terminal
from tracker_core.config import LoadedSettings
from tracker_core.formatting import money
from tracker_core.groups import GroupInputError
from tracker_core.groups.backup import RestorePlan
from tracker_core.groups.hibob import ImportPlan
from tracker_core.groups.history import group_names, side, subject
from tracker_core.service import open_tracker
from tracker_core.storage.groups import StoredEdit
from tracker_core.text import plural, printable
from tracker_core.views.groups import BillingGroups


def actor() -> str:
    """Who edits: the login name of whoever runs the command (the edit log's "who")."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


def _print_groups(groups: BillingGroups) -> None:
    out = terminal()
    if not groups.groups:
        out.print(
            "no billing groups yet: a collection brings Cursor's"
            " ('cursor-tracker collect'), or make one with 'cursor-tracker groups create NAME'"
        )
        out.print(f"{plural(len(groups.unassigned), 'member')} in no group")
        return
    table = Table(show_edge=False)
    for column in ("group", "id", "source", "members", "cycle spend"):
        table.add_column(
            column, justify="right" if column in ("members", "cycle spend") else "left"
        )
    for roster in groups.groups:
        flagged = sum(member.not_in_cursor for member in roster.members)
        count = str(roster.group.members) + (f" ({flagged} not in Cursor)" if flagged else "")
        table.add_row(
            printable(roster.group.name),
            printable(roster.group.id),
            roster.source,
            count,
            money(roster.spend_cycle_cents),
        )
    out.print(table)
    out.print(f"{plural(len(groups.unassigned), 'member')} in no group")


def _print_history(edits: list[StoredEdit], current: Mapping[str, str]) -> None:
    names = group_names(edits, current)
    table = Table(show_edge=False)
    for column in ("step", "when", "who", "change", "subject", "from", "to", "undone"):
        table.add_column(column)
    for edit in edits:
        table.add_row(
            str(edit.batch),
            edit.at.strftime("%Y-%m-%d %H:%M"),
            printable(edit.actor),
            edit.kind,
            printable(subject(edit, names)),
            printable(side(edit.before, names)),
            printable(side(edit.after, names)),
            "undone" if edit.undone else "",
        )
    terminal().print(table)


def cmd_groups(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    with open_tracker(loaded.settings) as tracker:
        action = args.action
        if action == "list":
            groups = tracker.groups()
            if args.json:
                print(json.dumps(groups.to_json()))
            else:
                _print_groups(groups)
            return 0
        if action == "history":
            edits = tracker.group_history()
            if args.json:
                print(json.dumps({"edits": [edit.to_json() for edit in edits]}))
            else:
                _print_history(edits, tracker.groups().names)
            return 0
        who = actor()
        if action == "import-hibob":
            plan = tracker.import_hibob(
                _read(args.file),
                apply=args.apply,
                only=args.only,
                min_team_size=args.min_team_size,
                actor=who,
            )
            if args.json:
                print(json.dumps(plan.to_json()))
            else:
                _print_plan(plan)
            return 0
        if action == "export":
            text = tracker.export_groups()
            if args.file is None:
                print(text, end="")
            else:
                Path(args.file).expanduser().write_text(text, encoding="utf-8")
                print(f"wrote {text.count(chr(10)) - 1} members to {args.file}")
            return 0
        if action == "restore":
            restored = tracker.restore_groups(_read(args.file), apply=args.apply, actor=who)
            if args.json:
                print(json.dumps(restored.to_json()))
            else:
                _print_restore(restored)
            return 0
        if action == "rename":
            result = tracker.rename_group(args.group, args.name, actor=who)
        elif action == "create":
            _, result = tracker.create_group(args.name, actor=who)
        elif action == "delete":
            result = tracker.delete_group(args.group, actor=who)
        elif action == "assign":
            result = tracker.assign_members(args.emails, args.to, actor=who)
        else:
            result = tracker.undo_group_edit(actor=who)
    if getattr(args, "json", False):
        print(json.dumps(result.to_json()))
    else:
        print(printable(result.summary))
    return 0


def _read(path: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise GroupInputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _print_plan(plan: ImportPlan) -> None:
    out = terminal()
    out.print(
        f"{plan.matched} of {plan.total_members} members matched "
        f"({len(plan.matched_by_name)} by display name only, to review); "
        f"{plural(len(plan.moves), 'move')}, {plural(len(plan.new_groups), 'new group')}"
    )
    if plan.moves:
        table = Table(show_edge=False)
        for column in ("member", "from", "to", "matched by"):
            table.add_column(column)
        for move in plan.moves:
            table.add_row(
                printable(move.email),
                printable(move.source or "no group"),
                printable(move.target),
                "name (review)" if move.by_name else "email",
            )
        out.print(table)
    for name in plan.new_groups:
        out.print(f"new group: {printable(name)}")
    out.print(
        f"{plural(len(plan.not_in_file), 'member')} not in the file; "
        f"{plural(len(plan.unknown_rows), 'row')} of the file with no Cursor member"
    )
    if plan.applied is None:
        out.print("Preview only: run again with --apply to make these moves.")
    else:
        out.print(f"Applied {plural(plan.applied, 'move')} ('groups undo' reverts them).")


def _print_restore(plan: RestorePlan) -> None:
    out = terminal()
    out.print(
        f"{plural(plan.total_rows, 'row')}: {plural(len(plan.changes), 'change')}, "
        f"{plan.unchanged} unchanged, {plural(len(plan.unknown_rows), 'row')} with no member"
    )
    for email, _, source, target in plan.changes:
        out.print(
            f"  {printable(email)}: {printable(source or 'no group')} -> "
            f"{printable(target or 'no group')}"
        )
    for name in plan.new_groups:
        out.print(f"new group: {printable(name)}")
    if plan.applied is None:
        out.print("Preview only: run again with --apply to make these changes.")
    else:
        out.print(f"Applied {plural(plan.applied, 'change')} ('groups undo' reverts them).")
