"""The console's start without remembered figures: the overview sums them from the rollups.

A new day or new events leave the view cache without the overview's figures; the first
screen then sums them (per member from whole weeks where it can, ``storage.rollups``), and
what it shows must be what the events say. A load that fails must say so.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select, text

from tests.tui.helpers import FIXED_NOW, settle
from tracker_core.formatting import money_short
from tracker_core.storage import cache, open_database, spend_cents_expr
from tracker_core.storage import tables as t
from tracker_core.views import DEFAULT_DAYS
from tracker_core.views.overview import Overview, overview, remembered_overview
from tracker_tui.app import TrackerApp
from tracker_tui.early import EarlyLoad
from tracker_tui.screens.overview import OverviewScreen
from tracker_tui.widgets.tables import MembersTable
from tracker_tui.widgets.tiles import Tile

SIZE = (120, 40)


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{db_path}")
    yield engine
    engine.dispose()


def per_member_from_events(engine: Engine) -> dict[str, tuple[float, int]]:
    """The truth: each member's spend and requests over the overview's days, from the events."""
    ue = t.usage_events
    today = FIXED_NOW.date()
    start = today.fromordinal(today.toordinal() - DEFAULT_DAYS + 1)
    with engine.connect() as conn:
        rows = conn.execute(
            select(ue.c.user_email, func.sum(spend_cents_expr()), func.count())
            .where(ue.c.day.between(start, today))
            .group_by(ue.c.user_email)
        ).all()
    return {email: (round(float(cents or 0), 6), int(n)) for email, cents, n in rows}


def shown(data: Overview) -> dict[str, tuple[float, int]]:
    return {
        row.email: (round(row.spend_cents, 6), row.requests) for row in data.members if row.requests
    }


async def test_a_cold_start_shows_the_overview_summed_as_the_events_say(
    make_app: Callable[[], TrackerApp], engine: Engine
) -> None:
    cache.forget_all(engine)
    truth = per_member_from_events(engine)
    assert truth
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OverviewScreen) and screen.data is not None
        assert shown(screen.data) == truth
        assert screen.data.spend_cents == pytest.approx(sum(s for s, _ in truth.values()))
        assert screen.query_one(MembersTable).row_count == min(len(screen.data.members), 50)
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_a_cold_start_paints_the_figures_and_badges_then_the_forecast(
    make_app: Callable[[], TrackerApp], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forecast does not hold up the first paint; it follows it. The badges come with
    the figures."""
    cache.forget_all(engine)
    painted: list[bool] = []
    badged: list[bool] = []
    show = OverviewScreen.show

    def recording_show(screen: OverviewScreen, data: Overview) -> None:
        painted.append(data.pending)
        badged.append(any(row.badges for row in data.members))
        show(screen, data)

    monkeypatch.setattr(OverviewScreen, "show", recording_show)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OverviewScreen) and screen.data is not None
        # The figures, then the forecast; or both at once when the forecast was done by
        # the time the figures were handed over (the EarlyLoad tests below).
        assert painted in ([True, False], [False])
        assert all(badged)  # the first paint has the badges already
        assert screen.loads == len(painted)  # one load (or its completion) per paint
        assert screen.data.forecast is not None
        expected = app.tracker.overview()
        worn = {row.email: row.badges for row in screen.data.members}
        assert worn == {row.email: row.badges for row in expected.members}
        assert any(worn.values())
        # The badge filter (f) finds the members wearing the top spender's first badge.
        top = screen.data.members[0]
        table = screen.query_one(MembersTable)
        table.filter_badge(top.badges[0])
        assert top.email in [row.email for row in table.shown_rows()]
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_a_forecast_not_remembered_follows_the_first_paint(
    make_app: Callable[[], TrackerApp], engine: Engine
) -> None:
    """Figures remembered, forecast not (a new hour): the Cycle tile does not keep its "…"."""
    with engine.connect() as conn:  # as the hourly job leaves it: remembered
        overview(conn, days=DEFAULT_DAYS, today=FIXED_NOW.date(), now=FIXED_NOW)
    with engine.begin() as conn:
        conn.execute(delete(t.view_cache).where(t.view_cache.c.key.startswith("forecast:")))
    with engine.connect() as conn:  # the start is a ready one
        assert remembered_overview(conn, days=DEFAULT_DAYS, today=FIXED_NOW.date()) is not None
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OverviewScreen) and screen.data is not None
        forecast = screen.data.forecast
        assert forecast is not None and not screen.data.pending
        tile = screen.query_one("#tile-cycle", Tile)
        assert str(tile.render()).startswith(f"{money_short(screen.data.cycle.spend_cents)} → $")


async def test_a_cold_start_that_cannot_sum_says_so(
    make_app: Callable[[], TrackerApp], engine: Engine
) -> None:
    cache.forget_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE event_rollups_weekly"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OverviewScreen) and screen.data is None
        errors = [(n.title, n.message) for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1, errors
        title, message = errors[0]
        assert title == "Could not load overview"
        assert "event_rollups_weekly" in message and "SELECT" not in message


async def test_the_first_figures_do_not_wait_for_what_completes_them() -> None:
    """The early load hands over the figures as soon as they are summed, while the same
    thread goes on computing what they left out (the forecast)."""
    release = threading.Event()

    def complete(first: str) -> str:
        release.wait(10)
        return f"{first} with badges"

    early = EarlyLoad(lambda: None, lambda: "figures", complete)
    assert early.ready() is None  # nothing remembered: the screen takes the load over
    assert await early.result() == "figures"
    follow = early.follow_up()
    assert follow is not None and not follow.done()
    release.set()
    assert await asyncio.wrap_future(follow) == "figures with badges"
    assert early.follow_up() is None  # taken once


async def test_a_completion_done_before_the_hand_over_is_painted_alone() -> None:
    """When the completion is ready by the time the screen asks, the screen gets the whole
    data at once: one paint, and nothing left to follow."""
    early = EarlyLoad(lambda: None, lambda: "figures", lambda first: f"{first} with badges")
    for _ in range(1000):
        if early.settled():
            break
        await asyncio.sleep(0.005)
    assert await early.result() == "figures with badges"
    assert early.follow_up() is None


async def test_a_failed_completion_leaves_the_figures_and_says_so() -> None:
    def complete(first: str) -> str:
        raise RuntimeError("the rollup is gone")

    early = EarlyLoad(lambda: None, lambda: "figures", complete)
    for _ in range(1000):
        if early.settled():
            break
        await asyncio.sleep(0.005)
    assert await early.result() == "figures"
    follow = early.follow_up()
    assert follow is not None
    with pytest.raises(RuntimeError, match="the rollup is gone"):
        await asyncio.wrap_future(follow)
