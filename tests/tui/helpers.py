"""Helpers for the console's tests: waiting for workers, reading what is on screen."""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime, timedelta

from rich.console import Console
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import WorkerCancelled, WorkerFailed

from tracker_tui.widgets.tables import MembersTable

FIXED_NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
"""The organisation's present and the app's clock."""
COLLECTED_AT = FIXED_NOW - timedelta(minutes=12)
"""The fixed collection time: the stamp reads "collected 12 minutes ago"."""
SIM_KEY = "tui-test-key"


async def settle(pilot: Pilot[None]) -> None:
    """Wait until every worker is done and its results are on screen, and stop blinking."""
    for _ in range(4):
        await pilot.pause(0)
        # A load a newer one replaced (exclusive workers) ends cancelled: the next round
        # waits for its successor. A load that failed is the screen's to report (a
        # notification), as the tests of failures check: waiting must not raise it.
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await pilot.app.workers.wait_for_complete()
    await pilot.pause(0)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause(0)


async def open_members(pilot: Pilot[None]) -> MembersTable:
    """Go to the Members screen (key 3), wait for its data, and hand back its table."""
    await pilot.press("3")
    await settle(pilot)
    return pilot.app.screen.query_one(MembersTable)


def help_text(screen: Screen[object]) -> str:
    """The help screen's key tables as plain text, as a person reads them."""
    console = Console(width=100, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    for static in screen.query(Static):
        console.print(static.content)
    console.file.close()
    return console.export_text()
