"""The dashboard's billing groups: the overview's group filter and the settings page's editing.

One organisation per dialect, collected at the real clock so the pages, ``stats --json`` (whose
clock cannot be set from outside) and the API read the same window of the same database. The
tests share it in order: the reading ones first, then the ones that edit (and undo).
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import psycopg
import pytest
from aiohttp.test_utils import TestClient

from tests.daemon.conftest import collect_and_detect, daemon_settings, running_daemon
from tests.integration.helpers import KEY, write_config
from tracker_core.cli import main as cli
from tracker_core.config import Settings
from tracker_core.daemon.pages import CSRF_COOKIE
from tracker_core.formatting import money
from tracker_core.jobs.collect import simulator_settings
from tracker_core.service import open_tracker
from tracker_core.simulator import generate_scenario, running_simulator

try:
    from tests.postgres import PostgresServer
except ModuleNotFoundError:
    from postgres import PostgresServer  # type: ignore[no-redef]

PARENT = "Engineering"
"""The simulator names its first groups ``Engineering > Platform``, ``> Frontend``, ..."""


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    scenario = generate_scenario(users=12, days=10, seed=5, now=datetime.now(UTC))
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as url:
        yield url


def settings_for(db_url: str, api: str) -> Settings:
    settings = daemon_settings(db_url, api_url=api)
    return settings.model_copy(update={"cursor": simulator_settings(api, KEY, db_url).cursor})


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def grouped_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, api: str
) -> Iterator[str]:
    """A collected and detected team, once per module and dialect, one member of which was
    moved out of every group here (so ``unassigned`` holds someone whatever day it is, and
    the filters read the local edits)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('groups') / 'tracker.db'}"
        prepare(url, api)
        yield url
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"groups_{uuid.uuid4().hex}"
    with psycopg.connect(server.conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = server.base_url + name
        prepare(url, api)
        yield url
    finally:
        with psycopg.connect(server.conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(url: str, api: str) -> None:
    settings = settings_for(url, api)
    collect_and_detect(settings)
    with open_tracker(settings) as tracker:
        biggest = max(tracker.groups().groups, key=lambda roster: roster.group.members)
        tracker.assign_members(biggest.emails[:1], "unassigned", actor="test")


@pytest.fixture
async def client(grouped_url: str, api: str) -> AsyncIterator[TestClient[Any, Any]]:
    """The daemon (pages and API together) as `serve` builds it."""
    async with running_daemon(settings_for(grouped_url, api)) as client:
        yield client


async def body_of(client: TestClient[Any, Any], path: str, status: int = 200) -> str:
    response = await client.get(path, allow_redirects=False)
    body = await response.text()
    assert response.status == status, body
    return body


def text_of(body: str, element_id: str) -> str:
    """The text of the element with ``element_id`` (tags dropped, entities decoded)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', body, re.S)
    assert match, f"no #{element_id}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(2))).split())


def stats_cli(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, url: str, api: str, group: str
) -> dict[str, Any]:
    config = write_config(tmp_path / "c.toml", api_url=api, db_url=url)
    capsys.readouterr()
    code = cli.main(["stats", "--days", "7", "--group", group, "--json", "--config", str(config)])
    out = capsys.readouterr()
    assert code == 0, out.err
    answer: dict[str, Any] = json.loads(out.out)
    return answer


def selected_option(body: str) -> tuple[str, str]:
    """(value, text) of the group select's selected option."""
    select = re.search(r'<select id="group".*?</select>', body, re.S)
    assert select, "no group select"
    chosen = re.search(r'<option value="([^"]*)" selected>([^<]*)</option>', select.group(0))
    assert chosen, "nothing selected"
    return html.unescape(chosen.group(1)), html.unescape(chosen.group(2))


@pytest.mark.parametrize("group", [f"parent:{PARENT}", "unassigned", f"{PARENT} > Platform"])
async def test_the_overview_filters_by_parent_unassigned_or_name_as_stats_and_the_api_do(
    client: TestClient[Any, Any],
    grouped_url: str,
    api: str,
    group: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from_cli = stats_cli(capsys, tmp_path, grouped_url, api, group)
    response = await client.get(f"/api/stats?days=7&group={quote(group)}")
    from_api = await response.json()
    assert response.status == 200, from_api
    team = await (await client.get("/api/stats?days=7")).json()
    assert from_cli == from_api
    assert 0 < from_api["members"] < team["members"]

    body = await body_of(client, f"/?days=7&group={quote(group)}")
    # The page's figures are the same members' over the same days.
    spend = text_of(body, "tile-spend")
    assert money(round(from_api["total_spend"] * 100)) in spend
    assert money(round(team["total_spend"] * 100)) not in spend or from_api == team
    assert text_of(body, "members-title").startswith(f"Members {from_api['members']}")
    # The select shows the filter the page is showing, by its menu's words.
    value, text = selected_option(body)
    if group.startswith("parent:"):
        assert (value, text) == (group, f"All {PARENT} ({from_api['members']})")
    elif group == "unassigned":
        assert value == "unassigned" and text.startswith("Unassigned (")
    else:
        assert text == f"Platform ({from_api['members']})"
        assert value != group  # a name is resolved to the group's id, as everywhere


async def test_the_group_select_lists_parents_teams_and_unassigned(
    client: TestClient[Any, Any],
) -> None:
    listed = await (await client.get("/api/groups")).json()
    body = await body_of(client, "/")
    select = re.search(r'<select id="group".*?</select>', body, re.S)
    assert select
    under = [g for g in listed["groups"] if g["name"].startswith(f"{PARENT} > ")]
    assert len(under) >= 2
    section = re.search(rf'<optgroup label="{PARENT}">(.*?)</optgroup>', select.group(0), re.S)
    assert section, "no section for the parent"
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', section.group(1))
    assert options == [
        (f"parent:{PARENT}", f"All {PARENT} ({sum(g['member_count'] for g in under)})"),
        *((g["id"], f"{g['name'].split(' > ', 1)[1]} ({g['member_count']})") for g in under),
    ]
    last = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(0))[-1]
    assert last == ("unassigned", f"Unassigned ({len(listed['unassigned'])})")


async def test_a_filter_the_menu_does_not_list_is_still_the_one_it_shows_selected(
    client: TestClient[Any, Any],
) -> None:
    """Cursor's reserved group by its id (an old link): not a menu choice, but the page's."""
    groups = (await (await client.get("/api/groups")).json())["groups"]
    reserved = next(g for g in groups if g["name"] == "Unassigned")
    body = await body_of(client, f"/?group={quote(reserved['id'])}")
    assert selected_option(body) == (reserved["id"], f"Unassigned ({reserved['member_count']})")
    assert text_of(body, "members-title").startswith(f"Members {reserved['member_count']}")


@pytest.mark.parametrize(
    ("group", "words"),
    [("parent:Nowhere", "no billing group under 'Nowhere'"), ("nope", "no billing group 'nope'")],
)
async def test_an_unknown_group_filter_is_a_404_page_naming_it(
    client: TestClient[Any, Any], group: str, words: str
) -> None:
    body = await body_of(client, f"/?group={quote(group)}", status=404)
    assert words in html.unescape(body)


# --- the settings page's group editing (these change the database: each undoes its edits) ---


async def token_of(client: TestClient[Any, Any]) -> str:
    await body_of(client, "/settings")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[CSRF_COOKIE]
    return str(cookie.value)


async def post(
    client: TestClient[Any, Any], path: str, data: Any, status: int = 303
) -> tuple[str, str]:
    """(Location, body) of a form post."""
    response = await client.post(path, data=data, allow_redirects=False)
    body = await response.text()
    assert response.status == status, body
    return response.headers.get("Location", ""), body


async def listed(client: TestClient[Any, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = await (await client.get("/api/groups")).json()
    return answer


async def test_a_group_form_without_the_pages_token_changes_nothing(
    client: TestClient[Any, Any],
) -> None:
    before = await listed(client)
    group = before["groups"][0]["id"]
    data = {"csrf": "forged", "action": "rename", "group": group, "name": "Forged"}
    _, body = await post(client, "/settings/groups", data, status=403)
    assert "this form expired" in html.unescape(body)
    assert await listed(client) == before


async def test_a_form_with_a_planted_token_from_another_site_changes_nothing(
    client: TestClient[Any, Any],
) -> None:
    """A page on another port of this host can set the token's cookie (cookies ignore ports)
    and post a matching token: what the browser says of the form's origin refuses it."""
    before = await listed(client)
    host = client.make_url("/").authority
    form = {"csrf": "planted", "action": "create", "name": "Planted"}
    cookie = {"Cookie": f"{CSRF_COOKIE}=planted"}
    for headers in (
        {**cookie, "Sec-Fetch-Site": "same-site"},  # another port: same site, not same origin
        {**cookie, "Sec-Fetch-Site": "cross-site"},
        {**cookie, "Origin": "http://127.0.0.1:9"},  # an older browser: Origin only
        {**cookie, "Origin": "null"},  # a sandboxed frame
    ):
        response = await client.post(
            "/settings/groups", data=form, headers=headers, allow_redirects=False
        )
        body = await response.text()
        assert response.status == 403, (headers, body)
        assert "sent from another site" in html.unescape(body)
    assert await listed(client) == before
    # The dashboard's own page, as browsers describe it, still works.
    for headers in (
        {**cookie, "Sec-Fetch-Site": "same-origin", "Origin": f"http://{host}"},
        {**cookie, "Origin": f"http://{host}"},
        {**cookie, "Origin": "https://tracker.example", "X-Forwarded-Host": "tracker.example"},
    ):
        form["name"] = f"Ours {len(headers)}-{headers.get('Origin', '')[-3:]}"
        response = await client.post(
            "/settings/groups", data=form, headers=headers, allow_redirects=False
        )
        assert response.status == 303, await response.text()


async def test_rename_assign_and_undo_through_the_settings_forms(
    client: TestClient[Any, Any],
) -> None:
    token = await token_of(client)
    before = await listed(client)
    group = next(g for g in before["groups"] if g["member_count"] >= 2)
    other = next(g for g in before["groups"] if g["id"] != group["id"])

    where, _ = await post(
        client,
        "/settings/groups",
        {"csrf": token, "action": "rename", "group": group["id"], "name": "Guild > Core"},
    )
    assert where == "/settings?groups=saved#groups"
    page = await body_of(client, where)
    assert text_of(page, "groups-notice") == "Billing groups saved."
    names = {g["id"]: g["name"] for g in (await listed(client))["groups"]}
    assert names[group["id"]] == "Guild > Core"

    # Two members at once, to another group: one step of the history.
    movers = [m["email"] for m in group["members"][:2]]
    data = [("csrf", token), ("action", "assign"), ("to", other["id"])]
    data += [("emails", email) for email in movers]
    await post(client, "/settings/groups", data)
    after = {g["id"]: g for g in (await listed(client))["groups"]}
    assert set(movers) <= {m["email"] for m in after[other["id"]]["members"]}
    history = text_of(await body_of(client, "/settings"), "group-history")
    assert "assign" in history and "rename" in history and "dashboard" in history

    where, _ = await post(client, "/settings/groups", {"csrf": token, "action": "undo"})
    assert where == "/settings?groups=undone#groups"
    where, _ = await post(client, "/settings/groups", {"csrf": token, "action": "undo"})
    restored = await listed(client)
    assert restored == before
    assert "undone" in text_of(await body_of(client, "/settings"), "group-history")


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"action": "rename", "name": "Unassigned"}, 400, "reserved for the group filter"),
        ({"action": "create", "name": "Platform > "}, 400, "empty level"),
        ({"action": "assign", "to": "nowhere"}, 400, "choose at least one member"),
        ({"action": "delete"}, 400, "Cursor"),
    ],
)
async def test_a_refused_group_form_says_why_keeps_what_was_typed_and_stores_nothing(
    client: TestClient[Any, Any], fields: dict[str, str], status: int, words: str
) -> None:
    token = await token_of(client)
    before = await listed(client)
    history = await (await client.get("/api/groups/history")).json()
    data = {"csrf": token, "group": before["groups"][0]["id"], **fields}
    _, body = await post(client, "/settings/groups", data, status=status)
    error = text_of(body, "groups-error")
    assert error.startswith("Nothing was changed: ") and words in error, error
    assert text_of(body, f"{fields['action']}-error") in error
    if "name" in fields:
        assert f'value="{html.escape(fields["name"])}"' in body
    assert await listed(client) == before
    assert await (await client.get("/api/groups/history")).json() == history


async def test_the_hibob_import_previews_then_applies_the_ticked_moves(
    client: TestClient[Any, Any],
) -> None:
    token = await token_of(client)
    before = await listed(client)
    emails = sorted(m["email"] for g in before["groups"] for m in g["members"])[:4]
    rows = [f'{e},Guild,Core,"Doe, Person {n}"' for n, e in enumerate(emails)]
    csv = "\ufeffEmail,Department,Team,Display name\r\n" + "\r\n".join(rows) + "\r\n"

    upload = aiohttp.FormData()
    upload.add_field("csrf", token)
    upload.add_field("action", "preview")
    upload.add_field("file", csv.encode(), filename="people.csv", content_type="text/csv")
    _, page = await post(client, "/settings/groups/import", upload, status=200)
    assert "4 of" in text_of(page, "import-summary")
    assert text_of(page, "import-new-groups") == "Groups to create: Guild > Core"
    ticked = re.findall(r'name="selected" value="([^"]+)"[^>]* checked', page)
    assert sorted(ticked) == emails
    assert await listed(client) == before  # a preview stores nothing
    sent_back = re.search(r'<textarea name="csv" hidden>\n(.*?)</textarea>', page, re.S)
    assert sent_back

    # Apply three of the four: the file's text comes back from the preview's form.
    data = [("csrf", token), ("action", "apply"), ("csv", html.unescape(sent_back.group(1)))]
    data += [("selected", email) for email in emails[:3]]
    where, _ = await post(client, "/settings/groups/import", data)
    assert where == "/settings?groups=imported-3#groups"
    page = await body_of(client, where)
    assert text_of(page, "groups-notice") == "Import applied: 3 members moved."
    core = next(g for g in (await listed(client))["groups"] if g["name"] == "Guild > Core")
    assert sorted(m["email"] for m in core["members"]) == emails[:3]

    await post(client, "/settings/groups", {"csrf": token, "action": "undo"})
    after = await listed(client)
    assert [g for g in after["groups"] if g["name"] == "Guild > Core"] == []


async def test_a_whole_companys_directory_is_previewed_from_the_browser(
    client: TestClient[Any, Any],
) -> None:
    """A People Directory export lists everyone in the company (hundreds of KiB), far more
    than any other form: the form states its own limit and a file of that size is read."""
    token = await token_of(client)
    page = await body_of(client, "/settings")
    assert text_of(page, "import-help").startswith(
        "Files up to 8 MiB ( [daemon] max_upload_bytes )"
    )
    before = await listed(client)
    emails = sorted(m["email"] for g in before["groups"] for m in g["members"])
    rows = [f"{email},Guild,Core" for email in emails]
    rows += [f"person{n}@elsewhere.test,Sales,Field" for n in range(12_000)]
    csv = "Email,Department,Team\n" + "\n".join(rows) + "\n"
    assert len(csv) > 4 * 65536  # the daemon's limit for any other request

    upload = aiohttp.FormData()
    upload.add_field("csrf", token)
    upload.add_field("action", "preview")
    upload.add_field("file", csv.encode(), filename="people.csv", content_type="text/csv")
    _, page = await post(client, "/settings/groups/import", upload, status=200)
    assert f"{len(emails)} of" in text_of(page, "import-summary")
    assert await listed(client) == before


async def test_a_bad_hibob_file_names_the_line_and_imports_nothing(
    client: TestClient[Any, Any],
) -> None:
    token = await token_of(client)
    before = await listed(client)
    upload = aiohttp.FormData()
    upload.add_field("csrf", token)
    upload.add_field("action", "preview")
    bad = b"Email,Department\na@x.test,Eng\nnot-an-email,Sales\n"
    upload.add_field("file", bad, filename="bad.csv", content_type="text/csv")
    _, page = await post(client, "/settings/groups/import", upload, status=400)
    assert text_of(page, "import-error") == (
        "Nothing was imported: line 3, column Email: not an email address ('not-an-email')"
    )
    assert await listed(client) == before
