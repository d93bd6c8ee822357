"""The views' figures on a real database (SQLite and PostgreSQL), from a small hand-made team.

Every expected number below is worked out by hand from the data in ``seeded``: four members,
eight events, a few analytics rows. The window is the 7 days 2026-11-14 .. 2026-11-20 (a
Saturday through a Friday); the billing cycle is November unless a test says otherwise.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from tracker_core import incidents
from tracker_core.detection.measures import top_model
from tracker_core.detection.model import Finding, MemberUsage, Rule, Severity
from tracker_core.domain import (
    AnalyticsValue,
    BillingGroup,
    DailyUsage,
    GroupMembership,
    GroupsSnapshot,
    Member,
    MemberSpend,
    UsageEvent,
    usage_event_id,
    utc_day,
)
from tracker_core.storage import (
    begin_write,
    finish_run,
    insert_usage_events,
    replace_groups,
    rollups,
    start_run,
    upsert_analytics,
    upsert_daily_usage,
    upsert_member_spend,
    upsert_members,
)
from tracker_core.storage import tables as t
from tracker_core.views.groups import GroupOption, billing_groups
from tracker_core.views.insights import (
    ClientVersion,
    DailyCount,
    FileExtension,
    McpToolUse,
    insights,
)
from tracker_core.views.member import MemberDay, MemberModel, member_detail
from tracker_core.views.overview import (
    DailySpend,
    MemberRow,
    ModelCost,
    Spender,
    overview,
    remembered_overview,
)

TODAY = date(2026, 11, 20)
"""A Friday; the 7-day window starts on Saturday 2026-11-14."""
START = date(2026, 11, 14)
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)

ANA, BEN, CARA, DAN = (f"{who}@example.test" for who in ("ana", "ben", "cara", "dan"))
OPUS, SONNET, GPT = "claude-4.1-opus", "claude-4.5-sonnet", "gpt-5"


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def event(
    email: str,
    when: datetime,
    model: str,
    cents: float,
    *,
    charged: bool = True,
    input_tokens: int = 0,
    output_tokens: int = 0,
) -> UsageEvent:
    """An event costing ``cents``: as charged cents, or (``charged=False``) as model cost only."""
    fields = {
        "timestamp_ms": int(when.timestamp() * 1000),
        "user_email": email,
        "model": model,
        "kind": "Usage-based",
        "max_mode": False,
        "requests_costs": 1.0,
        "is_token_based_call": True,
        "is_chargeable": True,
        "is_headless": False,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "token_cents": None if charged else cents,
        "charged_cents": cents if charged else None,
    }
    ms = int(when.timestamp() * 1000)
    return UsageEvent(id=usage_event_id(**fields), day=utc_day(ms), **fields)  # type: ignore[arg-type]


EVENTS = [
    # Ana: the first second of the window counts, the last second before it does not.
    event(ANA, at(START, 0, 0, 0), SONNET, 100, input_tokens=1000, output_tokens=200),
    event(ANA, at(START - timedelta(days=1), 23, 59, 59), SONNET, 1000),
    event(ANA, at(TODAY, 15, 30), OPUS, 300, input_tokens=500, output_tokens=100),
    event(ANA, at(date(2026, 10, 31)), OPUS, 5000),  # before the November cycle
    # Ben: 50 charged plus 30 of model cost only.
    event(BEN, at(date(2026, 11, 16), 9), GPT, 50),
    event(BEN, at(date(2026, 11, 16), 10), GPT, 30, charged=False),
    # Cara was removed but spent in the window.
    event(CARA, at(date(2026, 11, 18)), OPUS, 200),
]
"""In the window: Ana 100 + 300 = 400, Ben 80, Cara 200, Dan nothing: 680 in all."""

APPS, PLATFORM, UNASSIGNED = "g-apps", "g-platform", "g-unassigned"


def finding(rule: Rule, email: str, period: date, severity: Severity) -> Finding:
    return Finding(
        rule=rule,
        email=email,
        name=email,
        period=period,
        value=10.0,
        threshold=5.0,
        severity=severity,
        message=f"{rule} for {email}",
    )


@pytest.fixture(params=["from-events", "from-rollup"])
def seeded(db_engine: Engine, request: pytest.FixtureRequest) -> Engine:
    """The organisation, with its usage read from the events (no refresh yet: every day still
    marked) or from the rollup (refreshed, as after a collection): the figures must agree."""
    with db_engine.begin() as conn:
        upsert_members(
            conn,
            [
                Member(ANA, "Ana Silva", "owner"),
                Member(BEN, "Ben Ito", "member"),
                Member(DAN, "Dan Roe", "member"),
            ],
            seen_at=NOW,
        )
        upsert_members(conn, [Member(CARA, "Cara Diaz", "member", is_removed=True)], seen_at=NOW)
        insert_usage_events(conn, EVENTS)
        replace_groups(
            conn,
            GroupsSnapshot(
                groups=(
                    BillingGroup(PLATFORM, "Platform"),
                    BillingGroup(APPS, "Apps"),
                    BillingGroup(UNASSIGNED, "Unassigned", is_unassigned=True),
                ),
                memberships=(
                    GroupMembership(PLATFORM, ANA),
                    GroupMembership(PLATFORM, CARA),
                    # Ben left Platform: only his current group, Apps, counts.
                    GroupMembership(PLATFORM, BEN, left_at=NOW - timedelta(days=30)),
                    GroupMembership(APPS, BEN),
                    GroupMembership(UNASSIGNED, DAN),
                ),
            ),
            collected_at=NOW,
        )
        result = incidents.apply_findings(
            conn,
            [
                finding("spend_spike", ANA, TODAY, "critical"),
                finding("zscore_spend", ANA, TODAY - timedelta(days=1), "warning"),
                finding("requests_limit", BEN, date(2026, 11, 16), "warning"),
                finding("spend_spike", CARA, date(2026, 11, 18), "warning"),
            ],
            onsets={},
            now=NOW,
            channels={},
            cycle_start=date(2026, 11, 1),
        )
        [cara_incident] = [c.incident_id for c in result.new if c.finding.email == CARA]
        incidents.resolve(conn, cara_incident, now=NOW)
        ok_run = start_run(conn, started_at=NOW - timedelta(hours=2))
        finish_run(conn, ok_run, finished_at=NOW - timedelta(hours=1), status="ok")
        failed_run = start_run(conn, started_at=NOW - timedelta(minutes=30))
        finish_run(conn, failed_run, finished_at=NOW - timedelta(minutes=20), status="failed")
    if request.param == "from-rollup":
        assert rollups.refresh(db_engine) > 0
    return db_engine


def window_days() -> list[date]:
    return [START + timedelta(days=offset) for offset in range(7)]


# --- overview --------------------------------------------------------------------------------


def test_overview_of_the_whole_team(seeded: Engine) -> None:
    with seeded.connect() as conn:
        view = overview(conn, days=7, today=TODAY)

    assert (view.days, view.start, view.end, view.group_id) == (7, START, TODAY, None)
    assert view.spend_cents == pytest.approx(400 + 80 + 200)
    assert view.active_members == 3  # Ana, Ben, Cara
    assert view.total_members == 4  # Ana, Ben, Dan, and Cara: removed, but spent in the window
    assert (view.open_incidents, view.critical_incidents) == (3, 1)  # Cara's was resolved
    assert view.daily_spend == [
        DailySpend(day, pytest.approx(cents))  # type: ignore[arg-type]
        for day, cents in zip(window_days(), [100, 0, 80, 0, 200, 0, 300], strict=True)
    ]
    assert view.top_spenders == [
        Spender("Ana Silva", ANA, pytest.approx(400)),  # type: ignore[arg-type]
        Spender("Cara Diaz", CARA, pytest.approx(200)),  # type: ignore[arg-type]
        Spender("Ben Ito", BEN, pytest.approx(80)),  # type: ignore[arg-type]
    ]
    # Opus: Ana's 300 and Cara's 200; GPT: Ben's two events.
    assert view.model_spend == [
        ModelCost(OPUS, 2, 2, pytest.approx(300 + 200)),  # type: ignore[arg-type]
        ModelCost(SONNET, 1, 1, pytest.approx(100)),  # type: ignore[arg-type]
        ModelCost(GPT, 1, 2, pytest.approx(80)),  # type: ignore[arg-type]
    ]
    assert view.groups == [
        GroupOption(APPS, "Apps", 1),
        GroupOption(PLATFORM, "Platform", 2),
        GroupOption(UNASSIGNED, "Unassigned", 1, reserved=True),  # a filter choice like the others
    ]
    assert view.last_collected == NOW - timedelta(hours=1)  # the failed run stored nothing


def test_overview_members_table(seeded: Engine) -> None:
    with seeded.connect() as conn:
        rows = overview(conn, days=7, today=TODAY).members

    assert [row.email for row in rows] == [ANA, CARA, BEN, DAN]  # by spend
    ana, cara, ben, dan = rows
    assert ana == MemberRow(
        email=ANA,
        name="Ana Silva",
        role="owner",
        group="Platform",
        is_removed=False,
        spend_cents=pytest.approx(400),  # type: ignore[arg-type]
        requests=2,
        tokens=1200 + 600,
        top_model=OPUS,  # 300 cents against Sonnet's 100
        last_active=TODAY,
        open_incidents=2,
        badges=("low-usage",),  # no daily usage here: no agent requests
    )
    # Removed during the window, yet shown while her spend is in it, and flagged.
    assert (cara.is_removed, cara.spend_cents, cara.group) == (True, pytest.approx(200), "Platform")
    assert (cara.last_active, cara.open_incidents) == (date(2026, 11, 18), 0)
    assert (ben.group, ben.spend_cents, ben.requests, ben.open_incidents) == (
        "Apps",
        pytest.approx(80),
        2,
        1,
    )
    # On the team but idle; Unassigned is no group to show.
    assert (dan.group, dan.spend_cents, dan.requests, dan.top_model, dan.last_active) == (
        "",
        0,
        0,
        None,
        None,
    )


def test_a_tie_for_the_top_model_goes_to_the_first_name_on_every_face(seeded: Engine) -> None:
    """Equal spend and requests: the first model by name, character by character (an upper
    case letter before a lower case one, whatever the database's locale), as detection
    names an incident's top model; equal spend only: the model used more."""
    upper, lower = "Zeta-fast", "alpha-max"
    eve = "eve@example.test"
    with seeded.begin() as conn:
        insert_usage_events(
            conn,
            [
                event(DAN, at(TODAY, 9), lower, 40),
                event(DAN, at(TODAY, 10), upper, 40),
                event(DAN, at(TODAY, 11), lower, 25),
                event(DAN, at(TODAY, 12), upper, 25),
                event(eve, at(TODAY, 9), lower, 10),
                event(eve, at(TODAY, 10), upper, 5),
                event(eve, at(TODAY, 11), upper, 5),
            ],
        )
    with seeded.connect() as conn:
        rows = {row.email: row for row in overview(conn, days=7, today=TODAY).members}

    usage = MemberUsage(DAN, "Dan Roe", {}, model_cents={TODAY: {lower: 65.0, upper: 65.0}})
    assert top_model(usage, [TODAY])[0] == upper == rows[DAN].top_model
    assert rows[eve].top_model == upper  # 10 cents each, and two requests against one


def test_group_filter_restricts_every_figure(seeded: Engine) -> None:
    with seeded.connect() as conn:
        view = overview(conn, days=7, today=TODAY, group_id=PLATFORM)

    # Platform now: Ana and (removed) Cara; Ben left it, so his spend is not Platform's.
    assert view.group_id == PLATFORM
    assert view.spend_cents == pytest.approx(400 + 200)
    assert (view.active_members, view.total_members) == (2, 2)
    assert [row.email for row in view.members] == [ANA, CARA]
    assert [(s.name, s.spend_cents) for s in view.top_spenders] == [
        ("Ana Silva", pytest.approx(400)),
        ("Cara Diaz", pytest.approx(200)),
    ]
    assert [(m.model, m.spend_cents) for m in view.model_spend] == [
        (OPUS, pytest.approx(500)),
        (SONNET, pytest.approx(100)),
    ]
    assert [d.spend_cents for d in view.daily_spend] == pytest.approx([100, 0, 0, 0, 200, 0, 300])
    assert (view.open_incidents, view.critical_incidents) == (2, 1)
    # Since November 1: Ana's 1000 the day before the window, plus the window's 600.
    assert view.cycle.spend_cents == pytest.approx(1600)
    assert view.cycle.projected_cents == pytest.approx(1600 / 20 * 30)
    assert len(view.groups) == 3  # the choices do not depend on the filter

    with seeded.connect() as conn:
        apps = overview(conn, days=7, today=TODAY, group_id=APPS)
    assert (apps.spend_cents, apps.active_members, apps.total_members) == (pytest.approx(80), 1, 1)
    assert (apps.open_incidents, apps.critical_incidents) == (1, 0)

    with seeded.connect() as conn:
        loose = overview(conn, days=7, today=TODAY, group_id=UNASSIGNED)
    # Dan, in no group of his own: on the team, no spend in the window.
    assert [row.email for row in loose.members] == [DAN]
    assert (loose.spend_cents, loose.active_members, loose.total_members) == (0, 0, 1)


def test_cycle_defaults_to_the_calendar_month(seeded: Engine) -> None:
    with seeded.connect() as conn:
        cycle = overview(conn, days=7, today=TODAY).cycle

    # Nothing reported a cycle: November, day 20 of 30.
    assert (cycle.start, cycle.end, cycle.day, cycle.length) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
        20,
        30,
    )
    # Events since November 1: Ana's 1000 just before the window, then the window's 680.
    assert cycle.spend_cents == pytest.approx(1680)
    assert cycle.projected_cents == pytest.approx(1680 / 20 * 30)


def test_cycle_reported_by_cursor(seeded: Engine) -> None:
    cycle_start = date(2026, 11, 5)
    with seeded.begin() as conn:
        upsert_member_spend(conn, [MemberSpend(ANA, cycle_start)], collected_at=NOW)
        # Cursor's cycleEnd is the instant the next cycle begins.
        replace_groups(
            conn,
            GroupsSnapshot(
                groups=(BillingGroup(APPS, "Apps"),),
                memberships=(GroupMembership(APPS, BEN),),
                cycle_start=cycle_start,
                cycle_end=date(2026, 12, 5),
            ),
            collected_at=NOW,
        )
        cycle = overview(conn, days=7, today=TODAY).cycle

    # November 5 .. December 4 is 26 + 4 = 30 days; November 20 is day 16.
    assert (cycle.start, cycle.end, cycle.day, cycle.length) == (
        cycle_start,
        date(2026, 12, 4),
        16,
        30,
    )
    assert cycle.spend_cents == pytest.approx(1680)
    assert cycle.projected_cents == pytest.approx(1680 / 16 * 30)


def test_cycle_starting_on_a_day_the_next_month_lacks(seeded: Engine) -> None:
    with seeded.begin() as conn:
        upsert_member_spend(conn, [MemberSpend(ANA, date(2026, 10, 31))], collected_at=NOW)
        cycle = overview(conn, days=7, today=TODAY).cycle

    # November has no 31st: the next cycle starts November 30, so this one ends the 29th.
    # October 31 .. November 29 is 30 days; November 20 is day 21.
    assert (cycle.end, cycle.day, cycle.length) == (date(2026, 11, 29), 21, 30)
    assert cycle.spend_cents == pytest.approx(5000 + 1680)  # Ana's October 31 event counts
    assert cycle.projected_cents == pytest.approx(6680 / 21 * 30)


def test_overview_is_remembered_until_new_events_arrive(seeded: Engine) -> None:
    with seeded.connect() as conn:
        assert remembered_overview(conn, days=7, today=TODAY) is None
        first = overview(conn, days=7, today=TODAY)
    with seeded.connect() as conn:
        again = overview(conn, days=7, today=TODAY)
        remembered = conn.execute(select(t.view_cache.c.key)).scalars().all()
        assert remembered_overview(conn, days=7, today=TODAY) == first
        assert remembered_overview(conn, days=30, today=TODAY) is None
    assert again == first
    # The window's sums, the cache reads the badges compare, and the team's cycle-end
    # forecast the overview's cycle tile shows.
    assert sorted(remembered) == ["cache-reads:7", "forecast:", "overview:7"]

    # A late event for yesterday: the remembered figures no longer match the events.
    with seeded.begin() as conn:
        insert_usage_events(conn, [event(DAN, at(date(2026, 11, 19)), GPT, 25)])
    with seeded.connect() as conn:
        assert remembered_overview(conn, days=7, today=TODAY) is None
        after = overview(conn, days=7, today=TODAY)
    assert after.spend_cents == pytest.approx(680 + 25)
    assert after.active_members == 4
    assert {d.day: d.spend_cents for d in after.daily_spend}[date(2026, 11, 19)] == pytest.approx(
        25
    )
    assert after.cycle.spend_cents == pytest.approx(1680 + 25)

    # Incidents are not part of what is remembered: acknowledging one shows at once.
    with seeded.begin() as conn:
        queue = incidents.list_incidents(conn, status="active")
        incidents.resolve(conn, queue[0].id, now=NOW)
    with seeded.connect() as conn:
        assert overview(conn, days=7, today=TODAY).open_incidents == 2


def test_an_unreadable_remembered_overview_is_recomputed(seeded: Engine) -> None:
    with seeded.connect() as conn:
        overview(conn, days=7, today=TODAY)
    with seeded.begin() as conn:
        conn.execute(update(t.view_cache).values(body='{"written by": "another version"}'))
    with seeded.connect() as conn:
        view = overview(conn, days=7, today=TODAY)
    assert view.spend_cents == pytest.approx(680)
    assert [row.email for row in view.members] == [ANA, CARA, BEN, DAN]


def test_overview_does_not_wait_for_a_busy_writer(seeded: Engine, db_url: str) -> None:
    """A collector holding SQLite's write lock costs the console its cache entry, not a wait."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the write lock is SQLite's")
    with begin_write(seeded) as writer:
        writer.execute(update(t.members).values(role="member").where(t.members.c.email == DAN))
        started = time.monotonic()
        with seeded.connect() as conn:
            view = overview(conn, days=7, today=TODAY)
        waited = time.monotonic() - started
    assert view.spend_cents == pytest.approx(680)
    assert waited < 5  # the busy timeout is 30 s; remembering gives up after a moment
    with seeded.connect() as conn:
        assert conn.execute(select(t.view_cache.c.key)).first() is None


def test_overview_of_an_empty_database(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        view = overview(conn, days=3, today=TODAY)

    assert (view.spend_cents, view.active_members, view.total_members) == (0, 0, 0)
    assert view.daily_spend == [DailySpend(TODAY - timedelta(days=n), 0.0) for n in (2, 1, 0)]
    assert (view.members, view.top_spenders, view.model_spend, view.groups) == ([], [], [], [])
    assert (view.last_collected, view.cycle.spend_cents, view.cycle.projected_cents) == (None, 0, 0)


# --- insights --------------------------------------------------------------------------------


def metric(
    name: str, day: date, field: str, value: float, dimension: str = "", sub: str = ""
) -> AnalyticsValue:
    return AnalyticsValue(name, day, field, value, dimension=dimension, subdimension=sub)


BEFORE = START - timedelta(days=1)
AFTER = TODAY + timedelta(days=1)
MESSAGES = {"a": 70, "b": 60, "c": 50, "d": 40, "e": 30, "f": 20, "g": 10}
"""Messages per model on 2026-11-15: the top six are a..f."""


def test_insights_from_analytics_and_events(seeded: Engine) -> None:
    mid = date(2026, 11, 15)
    with seeded.begin() as conn:
        upsert_analytics(
            conn,
            [
                metric("dau", START, "dau", 3),
                metric("dau", TODAY, "dau", 2),
                metric("dau", TODAY, "cli_dau", 40),  # another field
                metric("dau", BEFORE, "dau", 9),  # outside the window
                *(metric("models", mid, "messages", n, model) for model, n in MESSAGES.items()),
                metric("models", BEFORE, "messages", 1000, "g"),  # outside: g stays seventh
                metric("models", mid, "users", 500, "g"),  # users, not messages
                metric("agent-edits", START, "total_lines_accepted", 120),
                metric("agent-edits", BEFORE, "total_lines_accepted", 500),
                metric("tabs", TODAY, "total_lines_accepted", 80),
                metric("tabs", TODAY, "total_lines_suggested", 999),
                metric("mcp", mid, "usage", 5, "search", "github"),
                metric("mcp", date(2026, 11, 16), "usage", 4, "search", "github"),
                metric("mcp", mid, "usage", 12, "query", "postgres"),
                metric("top-file-extensions", mid, "total_files", 3, "py"),
                metric("top-file-extensions", mid, "total_lines_accepted", 40, "py"),
                metric("top-file-extensions", date(2026, 11, 16), "total_files", 2, "py"),
                metric("top-file-extensions", date(2026, 11, 16), "total_lines_accepted", 10, "py"),
                metric("top-file-extensions", mid, "total_files", 9, "ts"),
                metric("top-file-extensions", mid, "total_lines_accepted", 30, "ts"),
                metric("client-versions", TODAY - timedelta(days=1), "user_count", 3, "2.0"),
                metric("client-versions", TODAY - timedelta(days=1), "percentage", 0.75, "2.0"),
                metric("client-versions", TODAY - timedelta(days=1), "user_count", 1, "1.7"),
                metric("client-versions", TODAY - timedelta(days=1), "percentage", 0.25, "1.7"),
                metric("client-versions", TODAY, "user_count", 4, "2.0"),
                metric("client-versions", TODAY, "percentage", 1.0, "2.0"),
                metric("client-versions", AFTER, "user_count", 7, "9.9"),
            ],
        )
        view = insights(conn, days=7, today=TODAY)

    assert (view.days, view.start, view.end, view.has_analytics) == (7, START, TODAY, True)
    assert view.dau == [
        DailyCount(day, n) for day, n in zip(window_days(), [3, 0, 0, 0, 0, 0, 2], strict=True)
    ]
    assert [series.model for series in view.model_adoption] == list("abcdef")  # most first
    assert view.model_adoption[0].daily == [
        DailyCount(day, n) for day, n in zip(window_days(), [0, 70, 0, 0, 0, 0, 0], strict=True)
    ]
    assert [(m.model, m.requests) for m in view.model_efficiency] == [
        (OPUS, 2),
        (SONNET, 1),
        (GPT, 2),
    ]
    opus = view.model_efficiency[0]
    assert (opus.spend_cents, opus.cents_per_request) == (pytest.approx(500), pytest.approx(250))
    assert view.accepted_lines == 120 + 80
    assert view.cents_per_accepted_line == pytest.approx(680 / 200)
    assert view.mcp_tools == [
        McpToolUse("query", "postgres", 12),
        McpToolUse("search", "github", 9),
    ]
    assert view.file_extensions == [FileExtension("py", 5, 50), FileExtension("ts", 9, 30)]
    # Today's day is under way: the versions are yesterday's, the last complete day.
    assert view.client_versions == [
        ClientVersion("2.0", 3, pytest.approx(0.75)),  # type: ignore[arg-type]
        ClientVersion("1.7", 1, pytest.approx(0.25)),  # type: ignore[arg-type]
    ]
    assert (view.client_versions_day, view.client_versions_partial) == (
        TODAY - timedelta(days=1),
        False,
    )


def test_client_versions_fall_back_to_today_when_no_full_day_has_any(seeded: Engine) -> None:
    with seeded.begin() as conn:
        upsert_analytics(
            conn,
            [
                metric("client-versions", TODAY, "user_count", 4, "2.0"),
                metric("client-versions", TODAY, "percentage", 1.0, "2.0"),
            ],
        )
        view = insights(conn, days=7, today=TODAY)

    assert view.client_versions == [ClientVersion("2.0", 4, pytest.approx(1.0))]  # type: ignore[arg-type]
    assert (view.client_versions_day, view.client_versions_partial) == (TODAY, True)


def test_insights_without_analytics(seeded: Engine) -> None:
    with seeded.connect() as conn:
        view = insights(conn, days=7, today=TODAY)

    assert view.has_analytics is False
    assert view.dau == [DailyCount(day, 0) for day in window_days()]
    assert (view.model_adoption, view.mcp_tools, view.file_extensions) == ([], [], [])
    assert (view.client_versions, view.accepted_lines, view.cents_per_accepted_line) == (
        [],
        0,
        None,
    )
    # The events still say where the money went.
    assert [m.model for m in view.model_efficiency] == [OPUS, SONNET, GPT]


# --- member detail ---------------------------------------------------------------------------


def test_member_detail(seeded: Engine) -> None:
    with seeded.begin() as conn:
        upsert_daily_usage(
            conn,
            [
                DailyUsage(
                    ANA,
                    START,
                    agent_requests=2,
                    chat_requests=1,
                    cmdk_usages=3,
                    total_tabs_accepted=4,
                    total_tabs_shown=10,
                    accepted_lines_added=50,
                ),
                DailyUsage(
                    ANA,
                    TODAY,
                    agent_requests=5,
                    composer_requests=1,
                    total_tabs_accepted=6,
                    total_tabs_shown=20,
                    accepted_lines_added=25,
                ),
                DailyUsage(ANA, BEFORE, agent_requests=100),  # outside the window
                DailyUsage(BEN, TODAY, agent_requests=1000),  # someone else
            ],
            collected_at=NOW,
        )
        detail = member_detail(conn, ANA, days=7, today=TODAY)

    assert (detail.email, detail.name, detail.role, detail.group, detail.is_removed) == (
        ANA,
        "Ana Silva",
        "owner",
        "Platform",
        False,
    )
    assert (detail.days, detail.start, detail.end) == (7, START, TODAY)
    assert (detail.spend_cents, detail.requests, detail.tokens) == (pytest.approx(400), 2, 1800)
    assert detail.daily == [
        MemberDay(START, pytest.approx(100), 1200, 1),  # type: ignore[arg-type]
        *(MemberDay(START + timedelta(days=n), 0.0, 0, 0) for n in range(1, 6)),
        MemberDay(TODAY, pytest.approx(300), 600, 1),  # type: ignore[arg-type]
    ]
    assert detail.models == [
        MemberModel(OPUS, 1, pytest.approx(300)),  # type: ignore[arg-type]
        MemberModel(SONNET, 1, pytest.approx(100)),  # type: ignore[arg-type]
    ]
    assert detail.features == {
        "agent": 7,
        "chat": 1,
        "composer": 1,
        "cmdk": 3,
        "tabs_accepted": 10,
        "tabs_shown": 30,
        "accepted_lines": 75,
    }
    # Saturday 00:00:00 and Friday 15:30; Friday 23:59:59 before the window is left out.
    assert len(detail.activity) == 7 and all(len(hours) == 24 for hours in detail.activity)
    assert detail.activity[5][0] == 1 and detail.activity[4][15] == 1
    assert sum(map(sum, detail.activity)) == 2
    assert detail.team_rank == 1


def test_member_detail_rank_removed_and_idle_members(seeded: Engine) -> None:
    with seeded.connect() as conn:
        cara = member_detail(conn, CARA, days=7, today=TODAY)
        ben = member_detail(conn, BEN, days=7, today=TODAY)
        dan = member_detail(conn, DAN, days=7, today=TODAY)

    assert (cara.is_removed, cara.group, cara.team_rank) == (True, "Platform", 2)
    assert (ben.group, ben.spend_cents, ben.team_rank) == ("Apps", pytest.approx(80), 3)
    assert ben.models == [MemberModel(GPT, 2, pytest.approx(80))]  # type: ignore[arg-type]
    assert (dan.spend_cents, dan.team_rank, dan.models, dan.group) == (0, None, [], "")
    assert dan.features == dict.fromkeys(dan.features, 0) and len(dan.features) == 7
    assert sum(map(sum, dan.activity)) == 0


def test_member_detail_of_an_unknown_member(seeded: Engine) -> None:
    with seeded.connect() as conn, pytest.raises(LookupError, match="no member nobody@example"):
        member_detail(conn, "nobody@example.test", days=7, today=TODAY)


# --- billing groups --------------------------------------------------------------------------


def test_billing_groups_lists_every_group_with_unassigned_last(seeded: Engine) -> None:
    with seeded.connect() as conn:
        groups = billing_groups(conn).groups

    assert [(roster.group, roster.emails) for roster in groups] == [
        (GroupOption(APPS, "Apps", 1), [BEN]),
        (GroupOption(PLATFORM, "Platform", 2), [ANA, CARA]),
        (GroupOption(UNASSIGNED, "Unassigned", 1, reserved=True), [DAN]),
    ]


# --- JSON forms ------------------------------------------------------------------------------


def test_overview_json_and_the_daemon_forms(seeded: Engine) -> None:
    with seeded.connect() as conn:
        view = overview(conn, days=7, today=TODAY)
    body = json.loads(json.dumps(view.to_json()))  # plain JSON types only

    assert (body["days"], body["start"], body["end"], body["group"]) == (
        7,
        "2026-11-14",
        "2026-11-20",
        None,
    )
    assert (body["spend"], body["requests"], body["tokens"]) == (6.8, 5, 1800)
    assert (body["active_members"], body["total_members"]) == (3, 4)
    forecast = body["cycle"].pop("forecast")
    assert body["cycle"] == {
        "start": "2026-11-01",
        "end": "2026-11-30",
        "day": 20,
        "length": 30,
        "spend": 16.8,
        "projected": 25.2,
    }
    assert set(forecast) == {"spent", "expected", "low", "high"}
    assert forecast["spent"] == 16.8 <= forecast["low"] <= forecast["expected"] <= forecast["high"]
    assert body["last_collected"] == "2026-11-20T17:00:00+00:00"
    assert body["top_spenders"][0] == {"email": ANA, "name": "Ana Silva", "spend": 4.0}
    assert body["members"][0] == {
        "email": ANA,
        "name": "Ana Silva",
        "role": "owner",
        "group": "Platform",
        "removed": False,
        "spend": 4.0,
        "requests": 2,
        "tokens": 1800,
        "top_model": OPUS,
        "last_active": "2026-11-20",
        "open_incidents": 2,
        "badges": ["low-usage"],
        "adoption": None,
    }
    assert body["groups"][0] == {"id": APPS, "name": "Apps", "member_count": 1}
    # /api/team-spend and /api/model-costs
    assert view.team_spend_json() == [
        {"day": day.isoformat(), "spend": spend}
        for day, spend in zip(window_days(), [1.0, 0, 0.8, 0, 2.0, 0, 3.0], strict=True)
    ]
    assert view.model_costs_json() == [
        {"model": OPUS, "users": 2, "requests": 2, "spend": 5.0},
        {"model": SONNET, "users": 1, "requests": 1, "spend": 1.0},
        {"model": GPT, "users": 1, "requests": 2, "spend": 0.8},
    ]
    assert body["daily"] == view.team_spend_json() and body["models"] == view.model_costs_json()


def test_insights_member_and_groups_json(seeded: Engine) -> None:
    with seeded.begin() as conn:
        upsert_analytics(
            conn,
            [
                metric("dau", START, "dau", 3),
                metric("models", START, "messages", 8, "a"),
                metric("tabs", TODAY, "total_lines_accepted", 200),
                metric("mcp", START, "usage", 5, "search", "github"),
                metric("top-file-extensions", START, "total_files", 2, "py"),
                metric("top-file-extensions", START, "total_lines_accepted", 40, "py"),
                metric("client-versions", TODAY, "user_count", 4, "2.0"),
                metric("client-versions", TODAY, "percentage", 1.0, "2.0"),
            ],
        )
        analytics = json.loads(json.dumps(insights(conn, days=7, today=TODAY).to_json()))
        ana = json.loads(json.dumps(member_detail(conn, ANA, days=7, today=TODAY).to_json()))
        groups = json.loads(json.dumps(billing_groups(conn).to_json()))

    assert analytics["dau"][0] == {"day": "2026-11-14", "count": 3}
    assert analytics["model_adoption"] == [
        {
            "model": "a",
            "daily": [
                {"day": d.isoformat(), "count": 8 if d == START else 0} for d in window_days()
            ],
        }
    ]
    assert analytics["model_efficiency"][0] == {
        "model": OPUS,
        "spend": 5.0,
        "requests": 2,
        "spend_per_request": 2.5,
    }
    assert (analytics["accepted_lines"], analytics["spend_per_accepted_line"]) == (200, 0.034)
    assert analytics["mcp_tools"] == [{"tool": "search", "server": "github", "uses": 5}]
    assert analytics["file_extensions"] == [{"extension": "py", "files": 2, "lines_accepted": 40}]
    assert analytics["client_versions"] == [{"version": "2.0", "users": 4, "share": 1.0}]
    assert (analytics["client_versions_day"], analytics["client_versions_partial"]) == (
        "2026-11-20",
        True,
    )

    assert (ana["email"], ana["spend"], ana["requests"], ana["tokens"], ana["team_rank"]) == (
        ANA,
        4.0,
        2,
        1800,
        1,
    )
    assert ana["daily"][0] == {"day": "2026-11-14", "spend": 1.0, "tokens": 1200, "requests": 1}
    assert ana["models"] == [
        {"model": OPUS, "requests": 1, "spend": 3.0},
        {"model": SONNET, "requests": 1, "spend": 1.0},
    ]
    assert ana["activity"][5][0] == 1 and len(ana["activity"]) == 7

    def listed(email: str, name: str) -> dict[str, object]:
        return {"email": email, "name": name, "assigned_here": False, "not_in_cursor": False}

    ana_, ben_, cara_, dan_ = (
        listed(ANA, "Ana Silva"),
        listed(BEN, "Ben Ito"),
        listed(CARA, "Cara Diaz"),
        listed(DAN, "Dan Roe"),
    )
    # No spend report is stored, so no group has a cycle's spend yet.
    assert groups == {
        "groups": [
            {
                "id": APPS,
                "name": "Apps",
                "source": "cursor",
                "member_count": 1,
                "members": [ben_],
                "spend_cycle": 0.0,
            },
            {
                "id": PLATFORM,
                "name": "Platform",
                "source": "cursor",
                "member_count": 2,
                "members": [ana_, cara_],
                "spend_cycle": 0.0,
            },
            {
                "id": UNASSIGNED,
                "name": "Unassigned",
                "source": "cursor",
                "member_count": 1,
                "members": [dan_],
                "spend_cycle": 0.0,
            },
        ],
        # Dan is on the team in Cursor's reserved group only: in no group of the team's.
        "unassigned": [dan_],
    }
