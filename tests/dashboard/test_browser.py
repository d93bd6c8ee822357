"""The dashboard in a real browser (Debian's chromium through Playwright).

One browser and one served organisation for the module; each test opens its own page. A
console error fails the test that caused it, which is how a Content-Security-Policy violation
(an inline style or script the policy refuses) shows up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.dashboard.helpers import (
    CHROMIUM,
    FIXED_NOW,
    XSS_NAME,
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
    return build_organisation(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'tracker.db'}")


@pytest.fixture(scope="module")
def base_url(database_url: str) -> Iterator[str]:
    with serving(pages_app(settings_for(database_url))) as url:
        yield url


@pytest.fixture(scope="module")
def browser(database_url: str) -> Iterator[Browser]:
    # The organisation is collected first, whichever test asks first: Playwright's sync API
    # runs an event loop in this thread, inside which the collection's asyncio.run cannot.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def tracker(database_url: str) -> Iterator[Tracker]:
    with open_tracker(settings_for(database_url), clock=lambda: FIXED_NOW) as tracker:
        yield tracker


class Watched:
    """A page whose console errors, uncaught exceptions and dialogs are recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._dialog)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(message.text)

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(str(dialog))
        dialog.dismiss()  # type: ignore[attr-defined]


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context.new_page())
    yield watched
    context.close()


def test_every_page_renders_its_figures_and_charts_without_a_console_error(
    watched: Watched, base_url: str, tracker: Tracker
) -> None:
    page = watched.page
    view = tracker.overview(days=30)
    page.goto(base_url + "/")
    expect(page.locator("#tile-spend .big")).to_have_text(money(view.spend_cents))
    expect(page.locator("#tile-incidents .big")).to_have_text(str(view.open_incidents))
    expect(page.locator("#members-table tbody tr")).to_have_count(len(view.members))
    for chart in ("#chart-daily", "#chart-spenders", "#chart-models"):
        expect(page.locator(f"{chart} svg.pygal-chart")).to_be_visible()
        assert page.locator(f"{chart} svg .rect").count() > 0, chart
    # The numbers behind a chart, for whoever would rather read them.
    page.click("#chart-daily summary")
    expect(page.locator("#chart-daily table tbody tr")).to_have_count(30)

    insights = tracker.insights(days=30)
    page.goto(base_url + "/insights")
    expect(page.locator("#chart-dau svg.pygal-chart")).to_be_visible()
    expect(page.locator("#tile-models .big")).to_have_text(str(len(insights.model_efficiency)))

    member = view.members[0]
    page.goto(base_url + f"/members/{member.email}")
    expect(page.locator("#member-email")).to_have_text(member.email)
    expect(page.locator("#tile-spend .big")).to_have_text(money(member.spend_cents))
    expect(page.locator("#chart-spend svg.pygal-chart")).to_be_visible()
    expect(page.locator("#activity table.heat tbody tr")).to_have_count(7)

    queue = tracker.incident_queue()
    page.goto(base_url + "/incidents")
    expect(page.locator("article.incident")).to_have_count(len(queue.incidents))

    page.goto(base_url + "/settings")
    expect(page.locator("#zscore_multiplier")).to_have_value("2.5")
    assert watched.errors == []


def test_acknowledging_and_resolving_in_the_browser_change_the_incident(
    watched: Watched, base_url: str, tracker: Tracker
) -> None:
    page = watched.page
    incident = tracker.incident_queue(status="open").incidents[0].id
    page.goto(base_url + "/incidents")
    card = page.locator(f"#incident-{incident}")
    card.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#done")).to_have_text(f"Incident {incident} acknowledged.")
    assert tracker.incident(incident).incident.status == "acknowledged"
    page.locator(f"#incident-{incident}").get_by_role("link", name="Resolve…").click()
    # Nothing is resolved until the confirmation is given.
    assert tracker.incident(incident).incident.status == "acknowledged"
    page.get_by_role("button", name=f"Yes, resolve incident {incident}").click()
    expect(page.locator("#done")).to_have_text(f"Incident {incident} resolved.")
    assert tracker.incident(incident).incident.status == "resolved"
    expect(page.locator(f"#incident-{incident} .status")).to_have_text("resolved")
    assert watched.errors == []


def test_a_bad_setting_is_refused_in_place(
    watched: Watched, base_url: str, tracker: Tracker
) -> None:
    page = watched.page
    before = tracker.detection_settings().settings
    page.goto(base_url + "/settings")
    page.fill("#spike_multiplier", "6")
    page.fill("#zscore_window_days", "400")
    page.get_by_role("button", name="Save").click()
    error = page.locator("#field-zscore_window_days .error")
    expect(error).to_contain_text("must be a whole number of days between 1 and 90")
    expect(page.locator("#zscore_window_days")).to_have_value("400")
    expect(page.locator("#zscore_window_days")).to_be_focused()
    assert tracker.detection_settings().settings == before
    # The refusal is answered 400, which the browser notes; nothing else may be there.
    assert watched.errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]


def test_a_name_holding_html_is_shown_as_text_and_runs_nothing(
    watched: Watched, base_url: str
) -> None:
    page = watched.page
    page.goto(base_url + "/")
    link = page.locator("#members-table tbody th a", has_text=XSS_NAME)
    expect(link).to_have_count(1)
    link.click()
    expect(page.locator("#member-name")).to_have_text(XSS_NAME)
    assert page.locator("img").count() == 0
    assert watched.dialogs == []
    assert watched.errors == []


@pytest.mark.parametrize("path", ["/", "/insights", "/incidents", "/settings", "member"])
def test_a_phone_screen_needs_no_sideways_scrolling(
    browser: Browser, base_url: str, tracker: Tracker, path: str
) -> None:
    if path == "member":
        path = "/members/" + tracker.overview(days=30).members[0].email
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(base_url + path)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    context.close()
    assert overflow <= 0


def test_the_figures_refresh_every_minute_while_the_page_is_visible(
    watched: Watched, base_url: str, tracker: Tracker
) -> None:
    page = watched.page
    page.clock.install()
    page.goto(base_url + "/")
    shown = int(page.locator("#tile-incidents .big").inner_text())
    target = tracker.incident_queue(status="active").incidents[0].id
    tracker.resolve(target)
    page.clock.run_for(59_000)
    expect(page.locator("#tile-incidents .big")).to_have_text(str(shown))
    page.clock.run_for(2_000)
    expect(page.locator("#tile-incidents .big")).to_have_text(str(shown - 1))
    assert re.search(r"Data collected 12 minutes ago", page.locator("#freshness").inner_text())
    assert watched.errors == []


def test_the_pages_work_with_javascript_off(
    browser: Browser, base_url: str, tracker: Tracker
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    view = tracker.overview(days=30)
    group = next(option for option in view.groups if option.members)
    page.goto(base_url + "/")
    page.select_option("#group", group.id)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#group")).to_have_value(group.id)
    expect(page.locator("#members-table tbody tr")).to_have_count(
        len(tracker.overview(days=30, group_id=group.id).members)
    )
    page.get_by_role("link", name="Requests").click()
    expect(page.locator("#members-table thead th[aria-sort]")).to_contain_text("Requests")
    incident = tracker.incident_queue(status="open").incidents[0].id
    page.goto(base_url + "/incidents")
    page.locator(f"#incident-{incident}").get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#done")).to_have_text(f"Incident {incident} acknowledged.")
    assert tracker.incident(incident).incident.status == "acknowledged"
    context.close()
