"""A small hand-made team in its billing cycle, for the cycle's views and messages.

The cycle is November 2026 (Cursor reports its start in the spend rows); October is the last
cycle, stored whole. Worked out by hand:

- Plan exhaustion this cycle: Ana on day 2, Ben on day 5, Cara on day 16; Dan was active but
  never ran out, Eve never worked. Ana also ran out in October, which must not count.
- Limited: Ben ($10.00 spent against a $10 monthly limit). Ana's $20 is below her $50 owner
  override (which wins over her $10 monthly limit); Cara has no limit.
- Spend: this cycle Ana $30, Ben $10, Cara $5 = $45; October Ana $50 + Ben $10 = $60, so -25 %.
- Seats: five members not removed, four active this cycle: one unused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from tracker_core.domain import DailyUsage, Member, MemberSpend, UsageEvent, usage_event_id, utc_day
from tracker_core.storage import (
    insert_usage_events,
    upsert_daily_usage,
    upsert_member_spend,
    upsert_members,
)

CYCLE = date(2026, 11, 1)
LAST_CYCLE = date(2026, 10, 1)
TODAY = date(2026, 11, 28)
"""Three days left: the 28th, 29th and 30th."""
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

ANA, BEN, CARA, DAN, EVE = (f"{who}@example.test" for who in ("ana", "ben", "cara", "dan", "eve"))
NAMES = {ANA: "Ana Silva", BEN: "Ben Ito", CARA: "Cara Diaz", DAN: "Dan Roe", EVE: "Eve Lund"}


def event(email: str, day: date, cents: float) -> UsageEvent:
    when = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    fields = {
        "timestamp_ms": int(when.timestamp() * 1000),
        "user_email": email,
        "model": "claude-4.5-sonnet",
        "kind": "Usage-based",
        "max_mode": False,
        "requests_costs": 1.0,
        "is_token_based_call": True,
        "is_chargeable": True,
        "is_headless": False,
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "token_cents": None,
        "charged_cents": cents,
    }
    ms = int(when.timestamp() * 1000)
    return UsageEvent(id=usage_event_id(**fields), day=utc_day(ms), **fields)  # type: ignore[arg-type]


def usage(email: str, day: date, usage_based: int = 0) -> DailyUsage:
    return DailyUsage(
        email=email, day=day, is_active=True, agent_requests=5, usage_based_reqs=usage_based
    )


RAN_OUT = {ANA: date(2026, 11, 2), BEN: date(2026, 11, 5), CARA: date(2026, 11, 16)}


def store_team(engine: Engine, *, ran_out: Mapping[str, date] = RAN_OUT) -> None:
    """The team above; ``ran_out`` gives other first usage-based days (none: nobody ran out)."""
    first_usage_based = dict(ran_out)
    rows = [usage(ANA, LAST_CYCLE, usage_based=3), usage(BEN, date(2026, 10, 20))]
    for email in (ANA, BEN, CARA, DAN):
        for offset in range((TODAY - CYCLE).days + 1):
            day = CYCLE + timedelta(days=offset)
            first = first_usage_based.get(email)
            rows.append(usage(email, day, usage_based=2 if first and day >= first else 0))
    with engine.begin() as conn:
        upsert_members(
            conn, [Member(email, name, "member") for email, name in NAMES.items()], seen_at=NOW
        )
        upsert_daily_usage(conn, rows, collected_at=NOW)
        upsert_member_spend(
            conn,
            [
                MemberSpend(
                    ANA, CYCLE, NAMES[ANA], spend_cents=2000,
                    hard_limit_override_dollars=50, monthly_limit_dollars=10,
                ),
                MemberSpend(BEN, CYCLE, NAMES[BEN], spend_cents=1000, monthly_limit_dollars=10),
                MemberSpend(CARA, CYCLE, NAMES[CARA], spend_cents=500),
            ],
            collected_at=NOW,
        )  # fmt: skip
        insert_usage_events(
            conn,
            [
                event(ANA, date(2026, 10, 3), 5000),
                event(BEN, date(2026, 10, 20), 1000),
                event(ANA, date(2026, 11, 2), 3000),
                event(BEN, date(2026, 11, 6), 1000),
                event(CARA, date(2026, 11, 17), 500),
            ],
        )
