"""The dashboard's pages over HTTP, on a collected organisation in SQLite and PostgreSQL.

What a person sees (figures, forms, links from alerts) is checked against what the Tracker
answers on the same database; the browser tests (test_browser.py) add what only a browser
shows: scripts that do not run, styles that do not apply, the phone layout.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.dashboard.helpers import FIXED_NOW, XSS_NAME, pages_app, settings_for
from tracker_core.alerting.format import member_url, queue_url
from tracker_core.badges import BADGES, BY_ID, adoption_parts
from tracker_core.daemon.assets import LONG_CACHE
from tracker_core.daemon.page_parts import parse_days
from tracker_core.daemon.pages import CSRF_COOKIE
from tracker_core.formatting import money
from tracker_core.service import Tracker, open_tracker

PAGES = ("/", "/insights", "/incidents", "/settings")


@pytest.fixture
async def client(organisation_url: str) -> AsyncIterator[TestClient[object, object]]:
    app = pages_app(settings_for(organisation_url))
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
def tracker(organisation_url: str) -> Iterator[Tracker]:
    with open_tracker(settings_for(organisation_url), clock=lambda: FIXED_NOW) as tracker:
        yield tracker


async def page(client: TestClient[object, object], path: str, status: int = 200) -> str:
    response = await client.get(path, allow_redirects=False)
    body = await response.text()
    assert response.status == status, body
    return body


def text_of(body: str, element_id: str) -> str:
    """The text of the element with ``element_id`` (tags dropped, entities decoded)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', body, re.S)
    assert match, f"no #{element_id}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(2))).split())


async def test_the_overview_shows_the_trackers_figures(
    client: TestClient[object, object], tracker: Tracker
) -> None:
    view = tracker.overview(days=30)
    body = await page(client, "/")
    assert money(view.spend_cents) in text_of(body, "tile-spend")
    assert f"{view.active_members} / {view.total_members}" in text_of(body, "tile-members")
    assert str(view.open_incidents) in text_of(body, "tile-incidents")
    cycle = text_of(body, "tile-cycle")
    assert f"day {view.cycle.day} of {view.cycle.length}" in cycle
    # Spend so far, the cycle-end forecast and its p10-p90, as the console's tile shows them.
    assert view.forecast is not None
    assert money(view.cycle.spend_cents) in cycle
    assert f"forecast {money(view.forecast.expected * 100)}" in cycle
    assert f"range {money(view.forecast.low * 100)} to {money(view.forecast.high * 100)}" in cycle
    # The table lists every member, ranked by spend, the top spender first.
    top = view.members[0]
    first_row = body.split('id="members-table"')[1].split("<tbody>")[1].split("</tr>")[0]
    assert html.escape(top.email) in first_row and money(top.spend_cents) in first_row
    # Three charts, each with its numbers as a table.
    assert body.count('class="pygal-chart"') == 3
    assert body.count("<summary>The numbers</summary>") == 3


async def test_the_window_and_the_search_narrow_the_overview(
    client: TestClient[object, object], tracker: Tracker
) -> None:
    week = tracker.overview(days=7)
    body = await page(client, "/?days=7&q=ZOE")
    assert money(week.spend_cents) in text_of(body, "tile-spend")
    rows = body.split("<tbody>")[-1].split("</tbody>")[0]
    assert rows.count("<tr") == 1 and "zoe." in rows.lower()


async def test_every_page_is_served_with_a_strict_policy_and_no_inline_code(
    client: TestClient[object, object], tracker: Tracker
) -> None:
    email = tracker.overview(days=30).members[0].email
    for path in (*PAGES, f"/members/{email}"):
        response = await client.get(path)
        assert response.status == 200, path
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        body = await response.text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", body), path
        assert "<style" not in body and " style=" not in body, path


async def test_names_from_the_api_are_shown_as_text(client: TestClient[object, object]) -> None:
    body = await page(client, "/")
    assert XSS_NAME not in body
    assert html.escape(XSS_NAME) in body


async def test_bad_input_is_one_line_naming_it(client: TestClient[object, object]) -> None:
    body = await page(client, "/?days=week", 400)
    assert "days must be a whole number between 1 and 366, got &#39;week&#39;" in body
    body = await page(client, "/members/nobody@example.test", 404)
    assert "no member nobody@example.test" in body
    with pytest.raises(Exception, match="days must be"):
        parse_days({"days": "0"})


async def test_alert_links_land_on_their_page(
    client: TestClient[object, object], tracker: Tracker
) -> None:
    email = tracker.overview(days=30).members[0].email
    base = "http://dashboard.example"
    member = urlsplit(member_url(base, email) or "").path
    response = await client.get(member, allow_redirects=True)
    assert response.status == 200
    assert html.escape(email) in text_of(await response.text(), "member-email")
    queue = urlsplit(queue_url(base) or "").path
    await page(client, queue)
    incident = tracker.incident_queue().incidents[0].id
    response = await client.get(f"/incidents/{incident}", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == f"/incidents#incident-{incident}"
    assert f'id="incident-{incident}"' in await page(client, "/incidents")


async def test_assets_have_their_hash_in_the_name_and_are_kept_long(
    client: TestClient[object, object],
) -> None:
    body = await page(client, "/")
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', body)
    assert len(links) == 2
    for link in links:
        response = await client.get(link)
        assert response.status == 200
        assert response.headers["Cache-Control"] == LONG_CACHE
        content = await response.read()
        import hashlib

        assert hashlib.sha256(content).hexdigest()[:12] in link
    assert (await client.get("/static/style.000000000000.css")).status == 404


async def test_acknowledge_and_resolve_need_this_dashboards_form(
    client: TestClient[object, object], tracker: Tracker
) -> None:
    incident = tracker.incident_queue(status="open").incidents[0].id
    # A post without the page's token (another site's form) changes nothing.
    response = await client.post(f"/incidents/{incident}/acknowledge", data={"csrf": "forged"})
    assert response.status == 403
    assert tracker.incident(incident).incident.status == "open"
    body = await page(client, "/incidents")
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))[CSRF_COOKIE].value
    assert f'value="{token}"' in body
    response = await client.post(
        f"/incidents/{incident}/acknowledge", data={"csrf": token}, allow_redirects=False
    )
    assert response.status == 303
    assert tracker.incident(incident).incident.status == "acknowledged"
    # Resolving asks first: the link shows a confirmation, the form on it resolves.
    confirm = await page(client, f"/incidents/{incident}/resolve")
    assert f"Yes, resolve incident {incident}" in confirm
    assert tracker.incident(incident).incident.status == "acknowledged"
    response = await client.post(
        f"/incidents/{incident}/resolve", data={"csrf": token}, allow_redirects=False
    )
    assert response.status == 303
    assert tracker.incident(incident).incident.status == "resolved"
    again = await client.post(f"/incidents/{incident}/acknowledge", data={"csrf": token})
    assert again.status == 409
    assert "resolved" in await again.text()


async def test_a_bad_setting_is_refused_next_to_its_field_and_nothing_is_saved(
    client: TestClient[object, object], tracker: Tracker
) -> None:
    before = tracker.detection_settings().settings
    await page(client, "/settings")
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))[CSRF_COOKIE].value
    response = await client.post(
        "/settings",
        data={"csrf": token, "spike_multiplier": "7", "zscore_multiplier": "0.5"},
    )
    assert response.status == 400
    body = await response.text()
    field = body.split('id="field-zscore_multiplier"')[1].split('<div class="field')[0]
    assert "must be a number between 1 and 100, got &#39;0.5&#39;" in field
    assert 'value="0.5"' in field and 'aria-invalid="true"' in field
    assert tracker.detection_settings().settings == before
    response = await client.post(
        "/settings", data={"csrf": token, "spike_multiplier": "7"}, allow_redirects=False
    )
    assert response.status == 303
    assert tracker.detection_settings().settings.spike_multiplier == 7


async def test_the_overview_follows_incidents_changed_elsewhere(
    client: TestClient[object, object], tracker: Tracker
) -> None:
    """The overview is kept between views: a change made by the command line, the console or
    detection must still show at the next view."""
    shown = int(text_of(await page(client, "/"), "tile-incidents").split()[2])
    active = tracker.incident_queue(status="active").incidents
    before = tracker.incidents_fingerprint()
    tracker.acknowledge(active[0].id)
    assert tracker.incidents_fingerprint() != before
    tracker.resolve(active[-1].id)
    assert int(text_of(await page(client, "/"), "tile-incidents").split()[2]) == shown - 1


async def test_the_members_table_shows_badges_and_filters_by_one(
    client: TestClient[object, object], tracker: Tracker
) -> None:
    members = tracker.overview(days=30).members
    worn = Counter(ident for row in members for ident in row.badges)
    # The badge worn by the fewest members (but some): a filter that visibly narrows.
    badge = min(worn, key=lambda ident: worn[ident])
    assert worn[badge] < len(members)
    body = await page(client, f"/?badge={badge}")
    rows = body.split("<tbody>")[-1].split("</tbody>")[0].split("</tr>")[:-1]
    wearing = {row.email for row in members if badge in row.badges}
    assert len(rows) == len(wearing)
    label = BY_ID[badge].label
    for row in rows:
        assert f'title="{html.escape(BY_ID[badge].rule)}">{label}</span>' in row
        assert any(html.escape(email) in row for email in wearing)
    assert f'<option value="{badge}" selected>{label} ({worn[badge]})</option>' in body
    # Each badge's rule is on the page, one "?" away, and says it is a heuristic.
    rules = text_of(body, "badge-rules")
    assert all(b.rule in rules for b in BADGES) and "heuristics" in rules
    assert 'href="#badge-rules"' in body
    # Sorting keeps the filter.
    assert f"badge={badge}&amp;sort=requests" in body

    refused = await page(client, "/?badge=gold", 400)
    assert "badge must be one of" in refused and "got &#39;gold&#39;" in refused


async def test_the_member_page_has_an_ai_adoption_card(
    client: TestClient[object, object], tracker: Tracker
) -> None:
    members = tracker.overview(days=30).members
    scored = next(row for row in members if row.adoption is not None)
    detail = tracker.member(scored.email, days=30).detail
    assert detail.adoption is not None
    body = await page(client, f"/members/{scored.email}")
    card = text_of(body, "adoption")
    assert f"{detail.adoption.score:.1f} {detail.adoption.tier.value}" in card
    for what, value in adoption_parts(detail.adoption):
        assert f"{what} {value}" in card
    assert all(BY_ID[ident].label in text_of(body, "member-badges") for ident in detail.badges)
    # A member too quiet to score: tests/badges/test_read.py.


async def test_a_kept_overview_page_follows_the_clock_and_the_query(organisation_url: str) -> None:
    """The overview is rendered once per query and data version, and rendered again when its
    freshness stamp would read differently: a page kept from a minute ago must not say
    "collected 2 minutes ago" an hour later, nor answer another search."""
    now = [FIXED_NOW]
    app = pages_app(settings_for(organisation_url), clock=lambda: now[0])
    async with TestClient(TestServer(app)) as client:
        first = text_of(await page(client, "/"), "freshness")
        assert text_of(await page(client, "/"), "freshness") == first
        # Within the hour, so that the data's fingerprint (which holds the hour) stays.
        now[0] = FIXED_NOW + timedelta(minutes=20)
        later = text_of(await page(client, "/"), "freshness")
        assert "12 minutes ago" in first and "32 minutes ago" in later
        everyone = (await page(client, "/")).split("<tbody>")[-1]
        searched = (await page(client, "/?q=zoe")).split("<tbody>")[-1]
        assert searched.count("<tr") == 1 < everyone.count("<tr")
