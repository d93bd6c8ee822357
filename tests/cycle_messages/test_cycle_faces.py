"""The "Plan exhaustion" panel on the console's Insights screen and the HTML /insights page."""

from __future__ import annotations

import html
import re
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import Engine
from textual.widgets import Static

from tests.cycle_messages.team import NOW, store_team
from tests.dashboard.helpers import pages_app, settings_for
from tests.tui.helpers import settle
from tracker_core.config import DatabaseSettings, Settings
from tracker_core.storage import open_database
from tracker_tui.app import TrackerApp
from tracker_tui.screens.insights import InsightsScreen
from tracker_tui.widgets.tables import VimDataTable


def text_of(body: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', body, re.S)
    assert match, f"no #{element_id}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(2))).split())


async def _insights(path: Path) -> tuple[bool, str, list[list[str]], bool, str]:
    settings = Settings(database=DatabaseSettings(url=f"sqlite:///{path}"))
    app = TrackerApp(settings, clock=lambda: NOW, refresh_seconds=3600)
    try:
        async with app.run_test(size=(120, 60)) as pilot:
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, InsightsScreen)
            table = screen.query_one("#exhaustion", VimDataTable)
            rows = [
                [str(cell).strip() for cell in table.get_row_at(n)] for n in range(table.row_count)
            ]
            empty = screen.query_one("#no-exhaustion", Static)
            title = f"{table.border_title} | {table.border_subtitle}"
            return table.display, title, rows, empty.display, str(empty.content)
    finally:
        app.tracker.close()


async def test_the_console_shows_when_members_ran_out(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    engine = open_database(f"sqlite:///{path}")
    store_team(engine)
    engine.dispose()
    shown, title, rows, empty, _ = await _insights(path)
    assert shown and not empty
    assert title == (
        "Plan exhaustion: 3 of 4 active ran out since 2026-11-01 | avg day 7.7 · median day 5"
    )
    assert rows == [
        ["cycle day 1-3", "1", "33%"],
        ["cycle day 4-7", "1", "33%"],
        ["cycle day 8-14", "0", "0%"],
        ["cycle day 15+", "1", "33%"],
    ]


async def test_the_console_says_when_nobody_ran_out(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    engine = open_database(f"sqlite:///{path}")
    store_team(engine, ran_out={})
    engine.dispose()
    shown, _, _, empty, text = await _insights(path)
    assert empty and not shown
    assert "nobody has run out of included usage this billing cycle" in text


async def test_the_insights_page_shows_plan_exhaustion(db_engine: Engine, db_url: str) -> None:
    store_team(db_engine)
    app = pages_app(settings_for(db_url), clock=lambda: NOW)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/insights")
        body = await response.text()
    assert response.status == 200, body
    panel = text_of(body, "plan-exhaustion")
    assert "3 of 4 active members ran out of included usage this cycle" in panel
    assert "average day 7.7, median day 5" in panel
    assert "cycle day 15+ 1 33%" in panel
    first = text_of(body, "plan-exhausted-members")
    assert first.index("Ana Silva 2") < first.index("Ben Ito 5") < first.index("Cara Diaz 16")
    assert 'href="/members/ana@example.test"' in body


async def test_the_insights_page_says_when_nobody_ran_out(db_engine: Engine, db_url: str) -> None:
    store_team(db_engine, ran_out={})
    app = pages_app(settings_for(db_url), clock=lambda: NOW)
    async with TestClient(TestServer(app)) as client:
        body = await (await client.get("/insights")).text()
    assert "Nobody has run out of included usage this billing cycle." in text_of(
        body, "plan-exhaustion"
    )
    assert 'id="plan-exhausted-members"' not in body
