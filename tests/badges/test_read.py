"""Badges read from a real database (SQLite and PostgreSQL): a hand-made team whose badges and
adoption scores are worked out by hand, as the overview, the drilldown and ``stats --json``
show them.

The window is the 7 days ending ``today``:

* Ana: 100 agent requests on each of 3 days, 8 of 10 diffs accepted, her model gpt-5 on two
  days and o3 on one (the alphabetically last name, which the original would have taken);
  two of her events read 800k and 900k tokens from the cache, one reads nothing. A day
  before the window (1,000 requests of a Max model) does not count.
* Ben: 12 agent requests over 2 active days (a third day with none), a Max model.
* Dan: on the team, no activity.

Adoption: the team's 90th percentile of requests per active day is Ana's 100, so Ana scores
40 x 0.8 + 40 x 1 + 20 x 3/7 = 80.6 (AI-Native) and Ben 0 + 40 x 6/100 + 20 x 2/7 = 8.1
(Manual).
"""

from __future__ import annotations

import html
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import Engine, delete

from tests.dashboard.helpers import pages_app, settings_for
from tracker_core.badges import NOT_SCORED
from tracker_core.cli import main as cli
from tracker_core.domain import (
    BillingGroup,
    DailyUsage,
    GroupMembership,
    GroupsSnapshot,
    Member,
    UsageEvent,
    usage_event_id,
    utc_day,
)
from tracker_core.storage import (
    finish_run,
    insert_usage_events,
    replace_groups,
    start_run,
    upsert_daily_usage,
    upsert_members,
)
from tracker_core.storage import tables as t
from tracker_core.views.member import member_detail
from tracker_core.views.overview import overview, remembered_overview
from tracker_core.views.stats import team_stats

ANA, BEN, DAN = (f"{who}@example.test" for who in ("ana", "ben", "dan"))
TODAY = date(2026, 11, 20)
KEY = "key_badges_test"


def event(email: str, day: date, hour: int, cents: float, cache_read: int) -> UsageEvent:
    when = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    fields = {
        "timestamp_ms": int(when.timestamp() * 1000),
        "user_email": email,
        "model": "gpt-5",
        "kind": "Usage-based",
        "max_mode": False,
        "requests_costs": 1.0,
        "is_token_based_call": True,
        "is_chargeable": True,
        "is_headless": False,
        "input_tokens": 10,
        "output_tokens": 10,
        "cache_write_tokens": 0,
        "cache_read_tokens": cache_read,
        "token_cents": None,
        "charged_cents": cents,
    }
    ms = int(fields["timestamp_ms"])
    return UsageEvent(id=usage_event_id(**fields), day=utc_day(ms), **fields)  # type: ignore[arg-type]


def seed(engine: Engine, today: date) -> None:
    start = today - timedelta(days=6)
    now = datetime(today.year, today.month, today.day, tzinfo=UTC)
    ana = [
        DailyUsage(ANA, start, agent_requests=100, total_accepts=8, total_applies=10),
        DailyUsage(ANA, start + timedelta(days=1), agent_requests=100, most_used_model="gpt-5"),
        DailyUsage(ANA, start + timedelta(days=2), agent_requests=100, most_used_model="gpt-5"),
        DailyUsage(ANA, start - timedelta(days=1), agent_requests=1000, most_used_model="z-max"),
    ]
    ana[0] = DailyUsage(
        ANA, start, agent_requests=100, total_accepts=8, total_applies=10, most_used_model="o3"
    )
    ben = [
        DailyUsage(BEN, start + timedelta(days=3), agent_requests=7, most_used_model="opus-max"),
        DailyUsage(BEN, start + timedelta(days=4), agent_requests=5, most_used_model="opus-max"),
        DailyUsage(BEN, start + timedelta(days=5), agent_requests=0),
    ]
    with engine.begin() as conn:
        upsert_members(
            conn,
            [Member(ANA, "Ana", "owner"), Member(BEN, "Ben", "member"), Member(DAN, "Dan", "x")],
            seen_at=now,
        )
        upsert_daily_usage(conn, ana + ben, collected_at=now)
        insert_usage_events(
            conn,
            [
                event(ANA, start, 9, 1000, 800_000),
                event(ANA, start + timedelta(days=1), 9, 1000, 900_000),
                event(ANA, start + timedelta(days=2), 9, 1000, 0),
                event(BEN, start + timedelta(days=3), 9, 500, 0),
            ],
        )
        replace_groups(
            conn,
            GroupsSnapshot(
                groups=(BillingGroup("g-b", "Bees"), BillingGroup("g-u", "Unassigned", True)),
                memberships=(
                    GroupMembership("g-b", BEN),
                    GroupMembership("g-u", ANA),
                    GroupMembership("g-u", DAN),
                ),
            ),
            collected_at=now,
        )
        run = start_run(conn, started_at=now)
        finish_run(conn, run, finished_at=now, status="ok")


EXPECTED = {
    ANA: ["power-user", "long-sessions", "adoption-ai-native"],
    BEN: ["deep-thinker", "adoption-manual"],
    DAN: ["low-usage"],
}


def test_the_overview_and_the_drilldown_wear_the_same_badges(db_engine: Engine) -> None:
    seed(db_engine, TODAY)
    with db_engine.connect() as conn:
        rows = {row.email: row for row in overview(conn, days=7, today=TODAY).members}
        assert {email: list(row.badges) for email, row in rows.items()} == EXPECTED
        ana, ben = rows[ANA].adoption, rows[BEN].adoption
        assert ana is not None and ben is not None
        assert ana.score == pytest.approx(32 + 40 + 20 * 3 / 7)
        assert (ana.tier, ana.accept_rate, ana.active_days, ana.period_days) == (
            "AI-Native",
            0.8,
            3,
            7,
        )
        assert ben.score == pytest.approx(40 * 6 / 100 + 20 * 2 / 7)
        assert ben.tier == "Manual"
        assert rows[DAN].adoption is None

        # A group filter narrows the rows, not the population: Ben keeps his badges.
        bees = overview(conn, days=7, today=TODAY, group_id="g-b").members
        assert [(row.email, list(row.badges)) for row in bees] == [(BEN, EXPECTED[BEN])]

        detail = member_detail(conn, ANA, days=7, today=TODAY)
        assert list(detail.badges) == EXPECTED[ANA]
        assert detail.to_json()["adoption"]["score"] == 80.6
    with db_engine.connect() as conn:
        # The console's first paint, from the view cache, shows the same.
        remembered = remembered_overview(conn, days=7, today=TODAY)
        assert remembered is not None
        assert {row.email: list(row.badges) for row in remembered.members} == EXPECTED
    # Without the remembered cache reads the first paint waits for a full overview rather
    # than show a table without badges.
    with db_engine.begin() as conn:
        conn.execute(delete(t.view_cache).where(t.view_cache.c.key.startswith("cache-reads:")))
    with db_engine.connect() as conn:
        assert remembered_overview(conn, days=7, today=TODAY) is None


def test_stats_json_gives_each_member_badges_and_adoption(
    db_engine: Engine,
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DATABASE_URL", "CURSOR_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CURSOR_ADMIN_API_KEY", KEY)
    seed(db_engine, datetime.now(UTC).date())
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n')

    assert cli.main(["stats", "--days", "7", "--json", "--config", str(config)]) == 0
    stats = json.loads(capsys.readouterr().out)
    users = {user["email"]: user for user in stats["users"]}
    assert {email: user["badges"] for email, user in users.items()} == EXPECTED
    assert users[ANA]["adoption"]["score"] == 80.6
    assert users[ANA]["adoption"]["tier"] == "AI-Native"
    assert users[BEN]["adoption"]["tier"] == "Manual"
    assert users[DAN]["adoption"] is None
    rules = {rule["id"]: rule for rule in stats["badge_rules"]}
    assert rules["power-user"]["rule"].startswith("At least 80 agent requests per active day")

    with db_engine.connect() as conn:
        by_api = team_stats(conn, days=7, today=datetime.now(UTC).date(), group_id="g-b")
    assert [(u.email, list(u.badges)) for u in by_api.users] == [(BEN, EXPECTED[BEN])]


async def test_the_dashboard_says_when_a_member_is_not_scored(
    db_engine: Engine, db_url: str
) -> None:
    seed(db_engine, TODAY)
    app = pages_app(settings_for(db_url))
    async with TestClient(TestServer(app)) as client:
        response = await client.get(f"/members/{DAN}?days=7")
        body = await response.text()
        assert response.status == 200, body
        assert NOT_SCORED in html.unescape(body.split('id="adoption"')[1].split("</section>")[0])
        assert ">Low Usage</span>" in body.split('id="member-badges"')[1].split("</p>")[0]

        response = await client.get("/?days=7&badge=deep-thinker")
        rows = (await response.text()).split("<tbody>")[-1].split("</tbody>")[0]
        assert rows.count("<tr") == 1 and BEN in rows


def test_an_overview_that_cannot_wait_leaves_unremembered_pending(
    db_engine: Engine,
) -> None:
    """The console's cold first paint: the figures and badges now (their inputs are rollup
    sums), the forecast completed after it; once computed it is remembered and nothing is
    pending."""
    seed(db_engine, TODAY)
    with db_engine.connect() as conn:
        hurried = overview(conn, days=7, today=TODAY, hurried=True)
    with db_engine.connect() as conn:
        full = overview(conn, days=7, today=TODAY)
    with db_engine.connect() as conn:
        again = overview(conn, days=7, today=TODAY, hurried=True)
    assert hurried.pending and not full.pending and not again.pending
    assert hurried.forecast is None and again.forecast == full.forecast  # it follows
    # Everything but the forecast is the full overview's, the badges included.
    assert hurried.members == full.members
    assert {row.email: list(row.badges) for row in hurried.members} == EXPECTED
    assert hurried.spend_cents == full.spend_cents and hurried.daily_spend == full.daily_spend
    assert {row.email: list(row.badges) for row in again.members} == EXPECTED
