"""Driving the console from the keyboard, and finding the effects in the database."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from time import monotonic

import pytest
from sqlalchemy import create_engine, delete, insert
from textual import events
from textual.color import Color
from textual.containers import VerticalScroll
from textual.css.stylesheet import Stylesheet
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.tui.helpers import FIXED_NOW, SIM_KEY, help_text, open_members, settle
from tracker_core import incidents
from tracker_core.config import DatabaseSettings, Settings
from tracker_core.detection.backtest import summary_line
from tracker_core.detection.model import Finding
from tracker_core.jobs.collect import simulator_settings
from tracker_core.service import open_tracker
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.storage import begin_write, open_database, repo, tables
from tracker_tui.app import TrackerApp
from tracker_tui.progress import Activity
from tracker_tui.screens.confirm import ConfirmDialog
from tracker_tui.screens.help import HelpScreen
from tracker_tui.screens.incidents import IncidentsScreen
from tracker_tui.screens.insights import InsightsScreen
from tracker_tui.screens.member import MemberScreen
from tracker_tui.screens.members import MembersScreen
from tracker_tui.screens.overview import OverviewScreen
from tracker_tui.screens.settings import SettingsScreen
from tracker_tui.widgets.scroll import VimScroll
from tracker_tui.widgets.status import TopBar
from tracker_tui.widgets.tables import MembersTable
from tracker_tui.widgets.tiles import Tile

AppFactory = Callable[[], TrackerApp]
SIZE = (120, 40)


def stored_settings(db_path: Path) -> dict[str, str]:
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            return repo.get_detection_settings(conn)
    finally:
        engine.dispose()


def incident(db_path: Path, incident_id: int) -> incidents.IncidentView:
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            return incidents.get_incident(conn, incident_id)
    finally:
        engine.dispose()


async def test_number_keys_reach_every_screen(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        expected = {
            "2": InsightsScreen,
            "3": MembersScreen,
            "4": IncidentsScreen,
            "5": SettingsScreen,
            "1": OverviewScreen,
        }
        for key, screen_type in expected.items():
            await pilot.press(key)
            await settle(pilot)
            assert type(app.screen) is screen_type
            assert app.screen.data is not None, f"{screen_type.__name__} never loaded"


async def test_a_database_never_collected_says_how_to_fill_it(
    make_app: AppFactory, tmp_path: Path
) -> None:
    empty = TrackerApp(
        Settings(database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'empty.db'}")),
        clock=lambda: FIXED_NOW,
        refresh_seconds=3600,
    )
    try:
        async with empty.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            for key in ("1", "3"):
                await pilot.press(key)
                await settle(pilot)
                hint = empty.screen.query_one("#no-data", Static)
                assert hint.display and hint.region.height > 0, f"no hint on screen {key}"
                assert "Press c to collect" in str(hint.content)
                assert "cursor-tracker demo" in str(hint.content)
    finally:
        empty.tracker.close()

    collected = make_app()
    async with collected.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not collected.screen.query_one("#no-data", Static).display


async def test_status_line_uses_the_injected_clock(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        line = app.screen.query_one(TopBar)
        assert line.text.startswith("collected 12 minutes ago")
        assert not line.has_class("-stale")


def record_run(db_path: Path, finished: datetime) -> None:
    """A collection run made by another process (the hourly job), as the console would see."""
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        conn.execute(
            insert(tables.collection_runs).values(
                started_at=finished - timedelta(minutes=1), finished_at=finished, status="ok"
            )
        )
    engine.dispose()


async def test_the_stamp_follows_collections_made_elsewhere(
    make_app: AppFactory, db_path: Path
) -> None:
    """On the overview the stamp comes with the figures, elsewhere from its own query."""
    app = make_app()
    app.refresh_seconds = 0.2
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.query_one(TopBar).text.startswith("collected 12 minutes ago")
        record_run(db_path, FIXED_NOW - timedelta(minutes=3))
        await pilot.pause(0.8)
        assert app.screen.query_one(TopBar).text.startswith("collected 3 minutes ago")
        await pilot.press("4")
        await settle(pilot)
        record_run(db_path, FIXED_NOW - timedelta(minutes=1))
        await pilot.pause(0.8)
        assert isinstance(app.screen, IncidentsScreen)
        assert app.screen.query_one(TopBar).text.startswith("collected 1 minute ago")
        app.paused = True
        await app.workers.wait_for_complete()


async def test_search_filters_the_members_table(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_members(pilot)
        everyone = table.row_count
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"leila")
        await settle(pilot)
        names = [row.name for row in table.shown_rows()]
        assert names and all("leila" in name.lower() for name in names)
        assert table.row_count == len(names) < everyone
        await pilot.press("escape")
        assert app.focused is table


async def test_sort_key_and_header_click_sort_the_table(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_members(pilot)
        spend = [row.spend_cents for row in table.shown_rows()]
        assert spend == sorted(spend, reverse=True)
        await pilot.press("G")  # the last row highlighted, then a new order: read from its top
        await pilot.press("s")
        await settle(pilot)
        requests = [row.requests for row in table.shown_rows()]
        assert requests == sorted(requests, reverse=True)
        assert table.cursor_row == 0 and table.scroll_y == 0
        await pilot.click(MembersTable, offset=(3, 1))  # the Name header
        await pilot.pause()
        names = [row.name.lower() for row in table.shown_rows()]
        assert names == sorted(names)


async def test_the_drilldown_scrolls_with_vim_keys_at_80x24(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_members(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MemberScreen)
        body = app.screen.query_one("#member-body", VimScroll)
        assert app.focused is body and body.max_scroll_y > 0
        # Scrolling animates: each check waits for the animation to end.
        await pilot.press("G")
        await pilot.wait_for_scheduled_animations()
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("g")
        await pilot.wait_for_scheduled_animations()
        assert body.scroll_y == 0
        await pilot.press("j", "j")
        await pilot.wait_for_scheduled_animations()
        assert body.scroll_y == 2
        await pilot.press("?")
        await pilot.pause()
        assert "Scrolling panes" in help_text(app.screen)


async def test_the_overview_tiles_come_back_from_the_members_table_at_80x24(
    make_app: AppFactory,
) -> None:
    """G in the overview's members table scrolls the tiles away; g, then k or Page Up on the
    first row, scroll the page back up to them: no key leaves them behind."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        body = app.screen.query_one("#overview-body", VimScroll)
        table = app.screen.query_one(MembersTable)
        table.focus()
        await pilot.press("G", "G")
        await settle(pilot)
        assert body.scroll_y > 0  # the tiles are above the fold
        await pilot.press("g")
        await settle(pilot)
        assert table.cursor_row == 0
        for key in ("k", "pageup"):
            await pilot.press("G", "g")
            await settle(pilot)
            for _ in range(body.max_scroll_y):
                await pilot.press(key)
            await settle(pilot)
            assert body.scroll_y == 0, key
            assert app.focused is table and table.cursor_row == 0


async def test_enter_opens_the_drilldown_and_q_goes_back(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_members(pilot)
        top = table.shown_rows()[0]
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("j")
        assert table.cursor_row == 1
        await pilot.press("k", "enter")
        await settle(pilot)
        assert isinstance(app.screen, MemberScreen)
        assert app.screen.email == top.email
        assert app.screen.data is not None
        assert app.screen.data.detail.spend_cents == pytest.approx(top.spend_cents)
        assert len(app.screen.data.detail.activity) == 7
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, MembersScreen)


async def test_acknowledge_then_resolve_from_the_keyboard(
    make_app: AppFactory, db_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, IncidentsScreen)
        first = screen.selected()
        assert first is not None and first.status != "resolved"

        await pilot.press("a")
        await settle(pilot)
        assert incident(db_path, first.id).status == "acknowledged"
        assert incident(db_path, first.id).acknowledged_at is not None

        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert incident(db_path, first.id).status == "acknowledged"

        await pilot.press("r")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        resolved = incident(db_path, first.id)
        assert resolved.status == "resolved"
        assert resolved.resolved_by == "person"
        # The active queue no longer lists it.
        assert screen.data is not None
        assert first.id not in [view.id for view in screen.data.queue]


async def test_the_timeline_says_why_nobody_was_alerted_and_scrolls_at_80x24(
    make_app: AppFactory,
) -> None:
    """The fixed organisation has no Slack or email configured: the timeline says so."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, IncidentsScreen)
        story = str(app.screen.query_one("#timeline", Static).content)
        assert "slack  not sent: not configured" in story
        assert "email  not sent: not configured" in story
        mttd = app.screen.query_one("#tile-mttd", Tile).render().plain
        assert mttd == "n/a\nno alert sent yet"

        detail = app.screen.query_one("#incident-detail", VerticalScroll)
        assert detail.max_scroll_y > 0, "the timeline fits; the scrolling is not exercised"
        await pilot.press("tab")
        assert app.focused is detail
        await pilot.press("end")
        await pilot.wait_for_scheduled_animations()
        assert detail.scroll_y == detail.max_scroll_y


async def test_enter_on_an_incident_opens_its_member(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, IncidentsScreen)
        view = app.screen.selected()
        assert view is not None
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MemberScreen)
        assert app.screen.email == view.email
        assert app.screen.data is not None
        assert view.id in [v.id for v in app.screen.data.incidents]


async def test_a_setting_is_saved_from_the_form(make_app: AppFactory, db_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("e")
        field = app.focused
        assert isinstance(field, Input) and field.id == "setting-max_spend_per_cycle"
        await pilot.press("end", *["backspace"] * len(field.value), *"500", "enter")
        await settle(pilot)
        # Stored as `settings set max_spend_per_cycle 500` stores it: one text for one value.
        assert stored_settings(db_path)["max_spend_per_cycle"] == "500.0"
        error = app.screen.query_one("#error-max_spend_per_cycle", Static)
        assert str(error.content) == ""


async def test_a_bad_value_is_refused_in_place(make_app: AppFactory, db_path: Path) -> None:
    before = stored_settings(db_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        field = app.screen.query_one("#setting-zscore_multiplier", Input)
        field.focus()
        await pilot.press("end", *["backspace"] * len(field.value), *"1000", "enter")
        await settle(pilot)
        message = str(app.screen.query_one("#error-zscore_multiplier", Static).content)
        assert "zscore_multiplier must be a number between 1 and 100" in message
        assert field.has_class("-invalid")
        assert field.value == "1000"
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert stored_settings(db_path) == before


async def test_a_field_is_checked_as_typed_and_its_message_follows_the_value(
    make_app: AppFactory, db_path: Path
) -> None:
    before = stored_settings(db_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        field = app.screen.query_one("#setting-zscore_multiplier", Input)
        error = app.screen.query_one("#error-zscore_multiplier", Static)
        field.focus()
        await pilot.press("end", *["backspace"] * len(field.value), *"abc")
        await pilot.pause()
        assert field.value == "abc"
        assert "got 'abc'" in str(error.content)  # no Enter pressed
        assert field.has_class("-invalid")
        await pilot.press("backspace", "backspace", "backspace", "3")
        await pilot.pause()
        assert str(error.content) == ""
        assert not field.has_class("-invalid")
        await pilot.press("0", "0", "0")
        await pilot.pause()
        assert "got '3000'" in str(error.content)
    assert stored_settings(db_path) == before  # typing alone stores nothing


async def test_b_backtests_the_values_in_the_form_without_storing_them(
    make_app: AppFactory, db_path: Path, tui_settings: Settings
) -> None:
    """The line under the intro has the figures ``detect --backtest --set`` gives."""
    before = stored_settings(db_path)
    with open_tracker(tui_settings, clock=lambda: FIXED_NOW) as tracker:
        current = summary_line(tracker.backtest(days=28))
        proposed = summary_line(tracker.backtest(days=28, changes={"spike_multiplier": "2"}))
    assert current != proposed
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        line = app.screen.query_one("#backtest", Static)
        assert str(line.content) == current
        field = app.screen.query_one("#setting-spike_multiplier", Input)
        field.focus()
        await pilot.press("end", *["backspace"] * len(field.value), "2", "escape", "b")
        await settle(pilot)
        assert str(line.content) == proposed
        assert proposed.startswith("Backtest of the last 28 days with spike_multiplier=2: ")
    assert stored_settings(db_path) == before


async def test_help_lists_the_screen_and_global_bindings(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = help_text(app.screen)
        for expected in ("Acknowledge", "Resolve", "Overview", "Collect", "Pause", "j", "G"):
            assert expected in text
        await pilot.press("escape")
        assert isinstance(app.screen, IncidentsScreen)


async def test_p_pauses_auto_refresh(make_app: AppFactory) -> None:
    app = make_app()
    app.refresh_seconds = 0.2
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(1.0)
        assert app.auto_refreshes >= 1
        await pilot.press("p")
        assert app.paused
        assert "paused" in app.screen.query_one(TopBar).text
        await pilot.pause(0.3)
        count = app.auto_refreshes
        await pilot.pause(0.8)
        assert app.auto_refreshes == count
        await pilot.press("p")
        await pilot.pause(1.0)
        assert app.auto_refreshes > count
        await app.workers.wait_for_complete()


async def test_collect_without_a_key_is_an_error_notification(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "no Cursor Admin API key" in errors[-1].message
        assert not app.collecting
        assert app.screen.data is not None  # the last good data stays on screen


def open_incident_elsewhere(db_path: Path, email: str) -> int:
    """What a detection run in the daemon or cron does while the console is open."""
    engine = open_database(f"sqlite:///{db_path}")
    found = Finding(
        rule="requests_limit",
        email=email,
        name="Watcher Test",
        period=FIXED_NOW.date(),
        value=5000.0,
        threshold=1000.0,
        severity="critical",
        message=f"{email} made 5,000 requests today, above the cap of 1,000",
        top_model=None,
        top_model_share=None,
    )
    try:
        with begin_write(engine) as conn:
            result = incidents.apply_findings(
                conn, [found], onsets={}, now=FIXED_NOW, channels={}, cycle_start=FIXED_NOW.date()
            )
    finally:
        engine.dispose()
    return result.new[0].incident_id


def incident_notices(app: TrackerApp) -> list[tuple[str, str]]:
    return [(n.title, n.message) for n in app._notifications if "incident" in n.title]


async def test_an_incident_opened_elsewhere_is_announced_once(
    make_app: AppFactory, db_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert incident_notices(app) == []  # what was already open at start is not news

        number = open_incident_elsewhere(db_path, "flood@example.test")
        await pilot.press("space")
        await settle(pilot)
        assert incident_notices(app) == [
            (
                f"New critical incident #{number}",
                "flood@example.test made 5,000 requests today, above the cap of 1,000",
            )
        ]
        await pilot.press("space")
        await settle(pilot)
        assert len(incident_notices(app)) == 1

        second = open_incident_elsewhere(db_path, "loop@example.test")
        await pilot.press("space", "space")  # two looks that may overlap
        await settle(pilot)
        titles = [title for title, _ in incident_notices(app)]
        assert titles == [f"New critical incident #{number}", f"New critical incident #{second}"]


async def test_palette_lists_screens_and_actions(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        names = [name for name, _, _ in app.palette_commands()]
        assert "Go to Incidents" in names and "Collect now" in names
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"incidents")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, IncidentsScreen)


async def test_insights_without_analytics_says_what_to_collect(
    make_app: AppFactory, db_path: Path
) -> None:
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        conn.execute(delete(tables.analytics_values))
    engine.dispose()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InsightsScreen)
        assert screen.data is not None and not screen.data.has_analytics
        empty = screen.query_one("#empty-state", Static)
        assert empty.display
        assert "cursor-tracker collect" in str(empty.content)
        assert not screen.query_one(".charts.analytics").display  # DAU and model adoption
        assert screen.query_one("#efficiency").display  # usage events still tell this


async def test_c_collects_then_detects_with_visible_progress(db_path: Path) -> None:
    scenario = generate_scenario(users=24, days=35, seed=5, now=FIXED_NOW)
    with running_simulator(scenario, api_key=SIM_KEY, rate_limits=False) as url:
        settings = simulator_settings(url, SIM_KEY, f"sqlite:///{db_path}")
        app = TrackerApp(settings, clock=lambda: FIXED_NOW, refresh_seconds=3600)
        seen: list[str] = []
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            original = app.set_activity

            def spy(activity: Activity) -> None:
                seen.append(activity.text)
                original(activity)

            app.set_activity = spy  # type: ignore[method-assign]
            await pilot.press("c")
            await settle(pilot)
            assert not app.collecting
            finished = [n.message for n in app._notifications if n.title == "Collection finished"]
            assert finished and finished[-1].startswith("Collected "), [
                n.message for n in app._notifications
            ]
    assert any(text.startswith("collecting usage events") for text in seen), seen
    assert "running detection…" in seen
    assert seen[-1] == ""


def limited_settings(url: str, db_path: Path, per_minute: int) -> Settings:
    """Collect from ``url`` with the client allowing itself ``per_minute`` Admin requests."""
    settings = simulator_settings(url, SIM_KEY, f"sqlite:///{db_path}")
    cursor = settings.cursor.model_copy(update={"admin_requests_per_minute": per_minute})
    return settings.model_copy(update={"cursor": cursor})


async def wait_for(condition: Callable[[], bool], pilot: Pilot[None], seconds: float) -> bool:
    deadline = monotonic() + seconds
    while not condition():
        if monotonic() > deadline:
            return False
        await pilot.pause(0.05)
    return True


async def test_q_during_a_rate_limited_collection_quits_at_once_and_the_next_resumes(
    tmp_path: Path,
) -> None:
    """The client allows itself 3 requests a minute: the fourth waits most of a minute.

    The status line says so at 80 columns, with the time left; q then stops the collection
    at that wait and the console quits within a couple of seconds (it hung for the wait's
    length); the stopped run left the lease free and the next collection completes.
    """
    db_path = tmp_path / "fresh.db"
    scenario = generate_scenario(users=10, days=10, seed=3, now=FIXED_NOW)
    with running_simulator(scenario, api_key=SIM_KEY, rate_limits=True) as url:
        app = TrackerApp(limited_settings(url, db_path, 3), clock=lambda: FIXED_NOW)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("c")
            bar = app.screen.query_one(TopBar)
            assert await wait_for(lambda: "waiting" in bar.line().plain, pilot, 10)
            line = bar.line().plain
            assert line.startswith("Overview  collecting "), line
            assert re.search(r": waiting \d\d s for Cursor's rate limit", line), line
            assert "press c" not in line

            await pilot.press("q")
            asked = monotonic()
            assert await wait_for(lambda: not app.is_running, pilot, 5)
            assert monotonic() - asked < 2
        engine = open_database(f"sqlite:///{db_path}")
        try:
            with engine.connect() as conn:
                assert repo.table_counts(conn)["members"] >= 10  # kept from the stopped run
        finally:
            engine.dispose()

        again = TrackerApp(limited_settings(url, db_path, 10_000), clock=lambda: FIXED_NOW)
        async with again.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("c")
            assert await wait_for(lambda: not again.collecting, pilot, 15)
            finished = [n.message for n in again._notifications if n.title == "Collection finished"]
            assert finished and "failed" not in finished[-1], finished


@pytest.mark.parametrize("again", ["q", "ctrl+c"])
async def test_a_second_q_quits_while_the_collection_is_still_stopping(
    tmp_path: Path, again: str
) -> None:
    """Stopping waits for the step in progress; a second q (or Ctrl+C) does not."""
    db_path = tmp_path / "fresh.db"
    scenario = generate_scenario(users=10, days=10, seed=3, now=FIXED_NOW)
    with running_simulator(scenario, api_key=SIM_KEY, rate_limits=True) as url:
        app = TrackerApp(limited_settings(url, db_path, 3), clock=lambda: FIXED_NOW)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("c")
            run = app._collection
            assert run is not None
            stop = run.stop
            run.stop = lambda: None  # type: ignore[method-assign]  # as a step that takes long
            try:
                await pilot.press("q")
                await pilot.pause(0.3)
                assert app.is_running
                assert "q again: quit now" in app.screen.query_one(TopBar).line().plain
                await pilot.press(again)
                assert await wait_for(lambda: not app.is_running, pilot, 2)
            finally:
                stop()  # the abandoned collection thread ends with the test


async def test_a_theme_change_reaches_screens_built_before_and_after_it(
    make_app: AppFactory,
) -> None:
    """Screens skip Textual's restyle when their mode opens; a new theme must still reach the
    screen in front, one built earlier in another mode, and one built after the change."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")  # insights, built now and left behind
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        dark_panel = app.screen.query_one(TopBar).styles.background
        app.theme = "textual-light"
        await settle(pilot)
        panel = Color.parse(app.theme_variables["panel"])
        background = Color.parse(app.theme_variables["background"])
        assert panel != dark_panel
        for key, screen in (("1", OverviewScreen), ("2", InsightsScreen), ("3", MembersScreen)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, screen)
            assert app.screen.query_one(TopBar).styles.background == panel, screen
            assert app.screen.styles.background == background, screen


async def test_opening_each_screen_parses_no_stylesheet_again(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual re-parses every stylesheet when a mode's screen first opens unless the screen
    says it is styled already (``DataScreen._styled_as_now``): some 15 ms of a start. This
    fails if a Textual upgrade changes how screens say so."""
    reparses: list[str] = []
    original = Stylesheet.reparse

    def counted(self: Stylesheet) -> None:
        reparses.append(type(app.screen).__name__)
        original(self)

    monkeypatch.setattr(Stylesheet, "reparse", counted)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in "23451":
            await pilot.press(key)
            await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
    assert reparses == []


async def test_closing_help_keeps_the_figures_and_coming_back_reloads_them(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        overview = app.screen
        assert isinstance(overview, OverviewScreen)
        loads = overview.loads
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is overview and overview.loads == loads  # a moment under help
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert app.screen is overview and overview.loads == loads + 1  # away on another screen


async def burst(pilot: Pilot[None], key: str, times: int) -> None:
    """``times`` presses arriving together, as key repeat or an SSH packet delivers them."""
    for _ in range(times):
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize(("number", "pane"), [("2", "#insights-body"), ("5", "#settings-body")])
async def test_insights_and_settings_scroll_from_the_keyboard_at_80x24(
    make_app: AppFactory, number: str, pane: str
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(number)
        await settle(pilot)
        body = app.screen.query_one(pane, VimScroll)
        assert app.focused is body and body.max_scroll_y > 20
        await pilot.press("G")
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("g")
        assert body.scroll_y == 0
        await pilot.press("pagedown")
        assert body.scroll_y == body.scrollable_content_region.height
        await pilot.press("pageup", "j", "j", "k")
        assert body.scroll_y == 1
        await burst(pilot, "j", 10)
        assert body.scroll_y == 11  # every press counts (a burst used to move one line)
        await burst(pilot, "pagedown", 2)
        assert body.scroll_y == min(
            11 + 2 * body.scrollable_content_region.height, body.max_scroll_y
        )
        await pilot.press("?")
        await pilot.pause()
        assert "Page down" in help_text(app.screen)


async def test_leaving_a_settings_field_lets_the_keys_scroll_again(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        body = app.screen.query_one("#settings-body", VimScroll)
        await pilot.press("e")
        assert isinstance(app.focused, Input)
        await pilot.press("escape", "j", "j")
        assert body.scroll_y == 2
        app.screen.set_focus(None)  # as after a click on a part that takes no focus
        await pilot.press("G")
        assert body.scroll_y == body.max_scroll_y
