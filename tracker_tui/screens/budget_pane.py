"""The Settings screen's budgets pane: what it shows and how its one-line prompt is read.

Kept apart from ``settings.py`` (which only places the pane and binds its keys): ``s`` sets a
budget from one line (``team 5000``, ``group Platform 2000``, ``member ana@example.com 300``)
and ``x`` removes the highlighted one. The core validates everything (the same words as
``cursor-tracker budgets``); this module only splits the line.
"""

from __future__ import annotations

from tracker_core.budgets import BudgetInputError
from tracker_core.formatting import money
from tracker_core.views.budgets import BudgetList

BUDGETS_TITLE = "Budgets per cycle: s set (e.g. 'group Platform 2000'), x remove the highlighted"
SET_QUESTION = (
    "Budget in dollars per cycle: 'team 5000', 'group NAME 2000' or 'member EMAIL 300'"
    " (0 removes it):"
)
COLUMNS = ("Budget for", "Scope", "Amount", "Spent", "%", "Forecast")


def budget_rows(listed: BudgetList) -> list[tuple[str, list[str]]]:
    """One row per budget, keyed ``scope:key`` (what :func:`row_key` reads back)."""
    rows = []
    for line in listed.lines:
        standing = line.standing
        forecast = standing.forecast_cents
        rows.append(
            (
                f"{line.budget.scope}:{line.budget.key}",
                [
                    standing.label,
                    line.budget.scope,
                    money(standing.budget_cents),
                    money(standing.spent_cents),
                    f"{standing.percent} %",
                    "—"
                    if forecast is None
                    else f"{money(forecast)} ({standing.forecast_percent} %)",
                ],
            )
        )
    return rows


def row_key(key: str) -> tuple[str, str | None]:
    """The scope and target of a row key (``team:`` has no target)."""
    scope, _, target = key.partition(":")
    return scope, target or None


def parse_line(text: str) -> tuple[str, str | None, str]:
    """``SCOPE [WHO] AMOUNT`` as (scope, target, amount); a group's name may hold spaces."""
    words = text.split()
    if len(words) < 2:
        raise BudgetInputError(
            "write the scope and the amount, e.g. 'team 5000' or 'group Platform 2000'",
            field="amount",
        )
    scope, amount = words[0], words[-1]
    target = " ".join(words[1:-1]) or None
    return scope, target, amount
