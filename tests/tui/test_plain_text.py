"""Names, messages and errors are shown as written, never read as Rich markup.

Member names, group names and error messages come from outside (Cursor, the HR export, the
operating system); "[Errno 111]" or "Ana [contractor]" read as markup would lose words, and a
stray "[/]" would stop the console with a MarkupError.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from sqlalchemy import select, update

from tests.tui.helpers import settle
from tracker_core.storage import begin_write
from tracker_core.storage import tables as t
from tracker_tui.app import TrackerApp
from tracker_tui.screens.confirm import ConfirmDialog
from tracker_tui.screens.members import MembersScreen

AppFactory = Callable[[], TrackerApp]
ODD_NAME = "Ana [contractor] [/] Silva"


def screen_text(app: TrackerApp) -> str:
    """What the screen shows, as text: the screenshot SVG's text runs, in order."""
    runs = re.findall(r"<text[^>]*>(.*?)</text>", app.export_screenshot(), flags=re.DOTALL)
    return html.unescape("".join(runs)).replace("\xa0", " ")


async def test_a_name_with_brackets_shows_as_written(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        with begin_write(app.tracker.engine) as conn:
            email = conn.execute(select(t.members.c.email).limit(1)).scalar_one()
            conn.execute(update(t.members).where(t.members.c.email == email).values(name=ODD_NAME))
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, MembersScreen)
        await pilot.press("slash", *"contractor", "enter")
        await settle(pilot)
        assert ODD_NAME in screen_text(app)


async def test_a_notification_with_brackets_shows_as_written(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        app.screen.notify("[Errno 111] Connection refused [/]", title="Could not load")
        await pilot.pause(0.2)
        assert "[Errno 111] Connection refused [/]" in screen_text(app)


async def test_a_question_quoting_data_shows_as_written(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await app.push_screen(ConfirmDialog(f"Resolve incident #7?\n{ODD_NAME} spent $90"))
        await pilot.pause()
        assert ODD_NAME in screen_text(app)
