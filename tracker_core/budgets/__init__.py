"""Budgets per billing cycle for the team, a billing group or a member (see ``model``)."""

from __future__ import annotations

from tracker_core.budgets.model import (
    MAX_BUDGET_DOLLARS,
    SCOPES,
    Budget,
    BudgetInputError,
    Scope,
    parse_amount,
    parse_scope,
)

__all__ = [
    "MAX_BUDGET_DOLLARS",
    "SCOPES",
    "Budget",
    "BudgetInputError",
    "Scope",
    "parse_amount",
    "parse_scope",
]
