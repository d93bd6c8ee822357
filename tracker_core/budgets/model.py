"""What a budget is, and how a face's text becomes one: pure, shared by every face.

A budget caps one scope's spend per billing cycle: the whole team, one billing group or one
member. Amounts are kept in whole cents (a budget is money a person typed, so it is exact,
unlike spend, which sums fractional cents). Every face parses its input here, so "5,000",
"$5000" and "5000.00" mean the same everywhere and a bad amount is refused in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, get_args

from tracker_core.errors import TrackerError
from tracker_core.formatting import money
from tracker_core.text import typed_number

Scope = Literal["team", "group", "member"]
SCOPES: Final[tuple[Scope, ...]] = get_args(Scope)
"""Every scope, in the order lists show them."""

MAX_BUDGET_DOLLARS: Final = Decimal(10_000_000)
"""A budget above this per cycle is a typo (an extra zero or two), not a plan: refused."""


class BudgetInputError(TrackerError):
    """A budget that cannot be set or removed as asked; nothing was changed (exit 2).

    ``field`` names the input at fault (``scope``, ``target`` or ``amount``) and ``unknown``
    says the target names no group or member, so the API can answer 404 naming the field.
    """

    def __init__(self, message: str, *, field: str, unknown: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.unknown = unknown


def parse_scope(text: str) -> Scope:
    """``team``, ``group`` or ``member`` (any case), else :class:`BudgetInputError`."""
    folded = text.strip().casefold()
    for scope in SCOPES:
        if folded == scope:
            return scope
    raise BudgetInputError(
        f"unknown budget scope {text[:40]!r}: use team, group or member", field="scope"
    )


def parse_amount(text: str | float | int) -> int:
    """Dollars per cycle as a person writes them (``5000``, ``5,000``, ``$2,000.50``) in cents.

    0 means "no budget" (the original's "0 is off"); a negative, non-numeric, non-finite or
    absurd amount (above :data:`MAX_BUDGET_DOLLARS`), or one finer than a cent, is refused
    with a message naming the amount and what is allowed.
    """
    if isinstance(text, bool):
        raise BudgetInputError(
            f"budget amount must be a number of dollars, not {text!r}", field="amount"
        )
    raw = str(text).strip()
    cleaned = typed_number(raw, dollars=True)
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        amount = Decimal("NaN")
    shown = repr(raw[:40])
    if not cleaned or not amount.is_finite():
        raise BudgetInputError(
            f"budget amount {shown} is not a number of dollars (e.g. 5000)", field="amount"
        )
    if amount < 0:
        raise BudgetInputError(
            f"budget amount {shown} is negative: use 0 to remove a budget", field="amount"
        )
    if amount > MAX_BUDGET_DOLLARS:
        raise BudgetInputError(
            f"budget amount {shown} is above {money(float(MAX_BUDGET_DOLLARS) * 100)} per cycle",
            field="amount",
        )
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise BudgetInputError(f"budget amount {shown} has a fraction of a cent", field="amount")
    return int(cents)


@dataclass(frozen=True)
class Budget:
    """One stored budget: ``key`` is empty for the team, a group id or a member's email."""

    scope: Scope
    key: str
    amount_cents: int
    set_by: str
    set_at: datetime

    @property
    def ident(self) -> tuple[str, str]:
        """What a budget is known by, as alerts and lists key it."""
        return (self.scope, self.key)

    def to_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "key": self.key or None,
            "amount": self.amount_cents / 100,
            "set_by": self.set_by,
            "set_at": self.set_at.isoformat(),
        }
