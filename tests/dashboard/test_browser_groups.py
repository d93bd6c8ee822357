"""Billing groups in a real browser (Debian's chromium through Playwright): the overview's group
select, and the settings page's editing and HiBob import, driven as a person would.

One browser and one served organisation for the module; each test leaves the groups as it found
them (through the page's own undo), and fails on any console error (a refused inline script or
style shows up there).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.dashboard.helpers import (
    CHROMIUM,
    FIXED_NOW,
    build_organisation,
    pages_app,
    serving,
    settings_for,
)
from tracker_core.formatting import money
from tracker_core.service import Tracker, open_tracker

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (make system-packages)"
)


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("browser-groups") / "tracker.db"
    return build_organisation(f"sqlite:///{path}", users=12, days=10)


@pytest.fixture(scope="module")
def base_url(database_url: str) -> Iterator[str]:
    with serving(pages_app(settings_for(database_url))) as url:
        yield url


@pytest.fixture(scope="module")
def browser(base_url: str) -> Iterator[Browser]:
    """Started after the organisation is collected and served: Playwright's synchronous API
    keeps an event loop running, inside which the collection's ``asyncio.run`` cannot."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def tracker(database_url: str) -> Iterator[Tracker]:
    with open_tracker(settings_for(database_url), clock=lambda: FIXED_NOW) as tracker:
        yield tracker


REFUSED: Final = "Failed to load resource: the server responded with a status of 400 (Bad Request)"
"""What the browser notes of a refused form (answered 400): the only console line allowed."""


@pytest.fixture
def seen() -> Iterator[list[str]]:
    """The console errors and uncaught exceptions of the test's page (see ``page``)."""
    yield []


@pytest.fixture
def page(browser: Browser, seen: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("console", lambda m: seen.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: seen.append(str(error)))
    yield page
    context.close()


def memberships(tracker: Tracker) -> dict[str, tuple[str, list[str]]]:
    """Group id -> (name, member emails), as the Tracker reads them."""
    return {r.group.id: (r.group.name, r.emails) for r in tracker.groups().groups}


def test_choosing_a_parent_in_the_overviews_select_shows_every_team_under_it(
    page: Page, base_url: str, tracker: Tracker, seen: list[str]
) -> None:
    view = tracker.overview(days=30, group_id="parent:Engineering")
    page.goto(base_url + "/")
    page.select_option("#group", "parent:Engineering")  # the select submits itself
    expect(page).to_have_url(f"{base_url}/?days=30&group=parent%3AEngineering")
    expect(page.locator("#group")).to_have_value("parent:Engineering")
    expect(page.locator("#tile-spend .big")).to_have_text(money(view.spend_cents))
    expect(page.locator("#members-table tbody tr")).to_have_count(len(view.members))
    assert seen == []


def test_rename_move_members_and_undo_in_the_browser(
    page: Page, base_url: str, tracker: Tracker, seen: list[str]
) -> None:
    before = memberships(tracker)
    group = next(gid for gid, (_, emails) in before.items() if len(emails) >= 2)
    other = next(gid for gid in before if gid != group)
    movers = before[group][1][:2]

    page.goto(base_url + "/settings")
    page.select_option("#rename-group", group)
    page.fill("#rename-name", "Guild > Core")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator("#groups-notice")).to_have_text("Billing groups saved.")
    assert memberships(tracker)[group][0] == "Guild > Core"
    expect(page.locator("#groups summary").filter(has_text="Guild > Core")).to_have_count(1)

    page.select_option("#assign-emails", movers)
    page.select_option("#assign-to", other)
    page.get_by_role("button", name="Move").click()
    expect(page.locator("#groups-notice")).to_have_text("Billing groups saved.")
    assert set(movers) <= set(memberships(tracker)[other][1])
    expect(page.locator("#group-history tbody tr").first).to_contain_text("assign")

    page.get_by_role("button", name="Undo the last change").click()
    expect(page.locator("#groups-notice")).to_have_text("The last change was undone.")
    assert memberships(tracker)[group] == ("Guild > Core", before[group][1])
    page.get_by_role("button", name="Undo the last change").click()
    expect(page.locator("#groups-notice")).to_have_text("The last change was undone.")
    assert memberships(tracker) == before
    assert seen == []


def test_a_refused_rename_is_shown_at_its_form_and_changes_nothing(
    page: Page, base_url: str, tracker: Tracker, seen: list[str]
) -> None:
    before = memberships(tracker)
    first, second = list(before)[:2]
    page.goto(base_url + "/settings")
    page.select_option("#rename-group", first)
    page.fill("#rename-name", before[second][0])
    page.get_by_role("button", name="Rename").click()
    expect(page.locator("#rename-error")).to_have_text(
        f"a billing group is already named {before[second][0]!r}"
    )
    expect(page.locator("#rename-name")).to_have_value(before[second][0])
    assert memberships(tracker) == before
    assert seen == [REFUSED]


def test_import_a_hibob_file_preview_untick_one_and_apply(
    page: Page, base_url: str, tracker: Tracker, tmp_path: Path, seen: list[str]
) -> None:
    before = memberships(tracker)
    emails = sorted(e for _, members in before.values() for e in members)[:4]
    rows = [f'{e};Guild;Core;"Doe; Person {n}"' for n, e in enumerate(emails)]
    csv = tmp_path / "people.csv"
    csv.write_bytes(("Work email;Department;Team;Display name\r\n" + "\r\n".join(rows)).encode())

    page.goto(base_url + "/settings")
    page.set_input_files("#import-file", str(csv))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-moves tbody tr")).to_have_count(4)
    expect(page.locator("#import-new-groups")).to_have_text("Groups to create: Guild > Core")
    assert memberships(tracker) == before  # a preview stores nothing
    page.locator(f'#import-moves input[value="{emails[0]}"]').uncheck()
    page.get_by_role("button", name="Apply the ticked moves").click()
    expect(page.locator("#groups-notice")).to_have_text("Import applied: 3 members moved.")
    core = next(emails for name, emails in memberships(tracker).values() if name == "Guild > Core")
    assert core == emails[1:]

    page.get_by_role("button", name="Undo the last change").click()  # the import is one step
    expect(page.locator("#groups-notice")).to_have_text("The last change was undone.")
    assert memberships(tracker) == before
    assert seen == []


def test_a_bad_csv_shows_the_error_naming_its_line(
    page: Page, base_url: str, tracker: Tracker, tmp_path: Path, seen: list[str]
) -> None:
    before = memberships(tracker)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"Email,Department\na@x.test,Eng\nb@x.test,Sales,EMEA\n")
    page.goto(base_url + "/settings")
    page.set_input_files("#import-file", str(bad))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#import-error")).to_contain_text("Nothing was imported: line 3:")
    expect(page.locator("#import-moves")).to_have_count(0)
    assert memberships(tracker) == before
    assert seen == [REFUSED]
