"""The budgets with this cycle's spend against each: ``budgets list`` and what detection reads.

A scope's spend is its members' cycle spend, counted as detection counts it: Cursor's
``/teams/spend`` figure for the cycle where collected, else the member's usage events since
the cycle started. The list and the budget alerts read :func:`budget_standings`, so a list
never shows 79 % while an 80 % alert went out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from tracker_core.budgets.model import Budget
from tracker_core.cycle import CycleProgress, current_cycle, progress
from tracker_core.detection.budgets import TEAM_LABEL, BudgetStanding
from tracker_core.forecast import Forecast
from tracker_core.storage import rollups
from tracker_core.storage import tables as t
from tracker_core.storage.budgets import budget_of, stored_budgets
from tracker_core.views._shared import dollars, memberships
from tracker_core.views.forecast import scope_forecast, team_forecast


def member_cycle_spend(conn: Connection, cycle_start: date, today: date) -> dict[str, float]:
    """Email -> spend this cycle in cents: Cursor's figure, else the events since the start."""
    spend = t.member_spend
    cursor = {
        str(email): float(cents or 0.0)
        for email, cents in conn.execute(
            select(spend.c.email, spend.c.spend_cents).where(spend.c.cycle_start == cycle_start)
        )
    }
    summed = rollups.summed(conn, cycle_start, today)
    events = conn.execute(
        select(summed.c.user_email, func.sum(summed.c.spend_cents)).group_by(summed.c.user_email)
    )
    merged = {str(email): float(cents or 0.0) for email, cents in events}
    merged.update(cursor)
    return merged


def forecast_from(spent_cents: float, forecast: Forecast | None) -> float | None:
    """The cycle-end forecast of a scope that has spent ``spent_cents``: that, plus the spend
    :mod:`tracker_core.forecast` still expects (its rates over the rest of the cycle).

    The forecast sums the usage events; the spend here may be Cursor's own cycle figure, so
    only what is still to come is taken from it, never its spend so far: a budget's forecast
    is never below what the same line says was spent.
    """
    if forecast is None:
        return None
    return spent_cents + max(0.0, forecast.expected - forecast.spent) * 100


@dataclass(frozen=True)
class BudgetLine:
    """One budget and where its scope stands this cycle."""

    budget: Budget
    standing: BudgetStanding

    def to_json(self) -> dict[str, Any]:
        standing = self.standing
        forecast = standing.forecast_cents
        return {
            "scope": self.budget.scope,
            "key": self.budget.key or None,
            "name": standing.label,
            "amount": dollars(standing.budget_cents),
            "spent": dollars(standing.spent_cents),
            "percent": standing.percent,
            "forecast": None if forecast is None else dollars(forecast),
            "forecast_percent": standing.forecast_percent,
            "set_by": self.budget.set_by,
            "set_at": self.budget.set_at.isoformat(),
        }


@dataclass(frozen=True)
class BudgetList:
    """Every budget (team first, then groups and members) in the current cycle."""

    cycle: CycleProgress
    lines: list[BudgetLine]

    def to_json(self) -> dict[str, Any]:
        """The ``budgets list --json`` object of CONTRACT.md."""
        return {
            "cycle": {
                "start": self.cycle.start.isoformat(),
                "end": self.cycle.end.isoformat(),
                "day": self.cycle.day,
                "length": self.cycle.length,
            },
            "budgets": [line.to_json() for line in self.lines],
        }

    def of_member(self, email: str) -> BudgetLine | None:
        return next(
            (
                line
                for line in self.lines
                if line.budget.scope == "member" and line.budget.key == email
            ),
            None,
        )


def budget_standings(conn: Connection, now: datetime) -> BudgetList:
    """Every stored budget with its scope's spend and forecast in the current cycle."""
    today = now.date()
    budgets = stored_budgets(conn)
    cycle = current_cycle(conn, today)
    spend = member_cycle_spend(conn, cycle.start, today) if budgets else {}
    where = progress(cycle, today, sum(spend.values()))
    ahead = team_forecast(conn, now=now) if budgets else None
    held = memberships(conn) if any(b.scope == "group" for b in budgets) else None
    names: dict[str, str] = {}
    if any(b.scope == "member" for b in budgets):
        m = t.members
        names = {
            str(email): str(name or "") for email, name in conn.execute(select(m.c.email, m.c.name))
        }
    lines: list[BudgetLine] = []
    for budget in budgets:
        if budget.scope == "team":
            label, spent = TEAM_LABEL, where.spend_cents
            forecast = None if ahead is None else ahead.total
        elif budget.scope == "group":
            assert held is not None
            group = next((g for g in held.groups if g.id == budget.key), None)
            label = group.name if group is not None else f"group {budget.key} (gone)"
            spent = sum(spend.get(email, 0.0) for email in held.emails.get(budget.key, []))
            forecast = None if ahead is None else ahead.group(budget.key)
        else:
            label = names.get(budget.key) or budget.key
            spent = spend.get(budget.key, 0.0)
            forecast = None if ahead is None else ahead.member(budget.key)
        standing = BudgetStanding(
            scope=budget.scope,
            key=budget.key,
            label=label,
            budget_cents=float(budget.amount_cents),
            spent_cents=spent,
            forecast_cents=forecast_from(spent, forecast),
            day=where.day,
            length=where.length,
        )
        lines.append(BudgetLine(budget, standing))
    return BudgetList(where, lines)


def team_budget(
    conn: Connection, now: datetime, *, recall_only: bool = False
) -> BudgetStanding | None:
    """The team budget's standing, None (after one small query) when no team budget is set.

    The overview shows it on every refresh, so its forecast is the overview's own, kept for
    the hour (:func:`scope_forecast`), not a fresh forecast of every member and group;
    ``recall_only`` (a first paint) never computes one.
    """
    budget = budget_of(conn, "team", "")
    if budget is None:
        return None
    today = now.date()
    cycle = current_cycle(conn, today)
    where = progress(cycle, today, sum(member_cycle_spend(conn, cycle.start, today).values()))
    forecast = scope_forecast(conn, now=now, recall_only=recall_only)
    return BudgetStanding(
        scope=budget.scope,
        key=budget.key,
        label=TEAM_LABEL,
        budget_cents=float(budget.amount_cents),
        spent_cents=where.spend_cents,
        forecast_cents=forecast_from(where.spend_cents, forecast),
        day=where.day,
        length=where.length,
    )


def member_budget(conn: Connection, email: str, now: datetime) -> BudgetLine | None:
    """A member's own budget and standing, None (after one small query) when they have none."""
    if budget_of(conn, "member", email) is None:
        return None
    return budget_standings(conn, now).of_member(email)
