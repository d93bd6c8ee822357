"""The group commands as a user runs them, and the daemon's answers after an edit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.daemon.conftest import collect_and_detect, daemon_settings, running_daemon
from tests.integration.helpers import KEY, run_cli, write_config
from tracker_core.config import Settings
from tracker_core.jobs.collect import simulator_settings
from tracker_core.service import open_tracker
from tracker_core.simulator import generate_scenario, running_simulator


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    scenario = generate_scenario(users=12, days=10, seed=5, now=datetime.now(UTC))
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as url:
        yield url


def test_groups_list_on_a_new_database_says_where_groups_come_from(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.toml", api_url="http://127.0.0.1:9", db_url=f"sqlite:///{tmp_path / 't.db'}"
    )
    listed = run_cli("groups", "list", config=config)
    assert listed.code == 0
    text = " ".join(listed.stdout.split())
    assert "no billing groups yet" in text and "cursor-tracker groups create NAME" in text
    assert "┃" not in listed.stdout  # no empty table


def test_groups_commands_edit_list_and_undo(api: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", api_url=api, db_url=f"sqlite:///{tmp_path / 't.db'}")
    assert run_cli("collect", "--json", config=config).code == 0

    listed = run_cli("groups", "list", "--json", config=config).json()
    assert set(listed) == {"groups", "unassigned"}
    group = next(g for g in listed["groups"] if g["member_count"] >= 2)
    assert set(group) == {"id", "name", "source", "members", "member_count", "spend_cycle"}
    assert group["source"] == "cursor" and group["member_count"] == len(group["members"])
    assert {"email", "name"} <= set(group["members"][0])
    mover = group["members"][0]["email"]

    created = run_cli("groups", "create", "Guild > Tools", "--json", config=config)
    assert created.code == 0, created.stderr
    moved = run_cli("groups", "assign", mover, "--to", "Guild > Tools", config=config)
    assert (moved.code, moved.stdout.strip()) == (0, "moved 1 member to 'Guild > Tools'")
    renamed = run_cli("groups", "rename", group["id"], "Guild > Core", config=config)
    assert renamed.code == 0, renamed.stderr

    after = run_cli("groups", "list", "--json", config=config).json()
    names = {g["name"]: g for g in after["groups"]}
    assert [m["email"] for m in names["Guild > Tools"]["members"]] == [mover]
    assert names["Guild > Tools"]["source"] == "local"
    assert mover not in {m["email"] for m in names["Guild > Core"]["members"]}

    team = run_cli("stats", "--days", "7", "--json", config=config).json()
    guild = run_cli("stats", "--days", "7", "--group", "parent:Guild", "--json", config=config)
    assert guild.code == 0, guild.stderr
    emails = {
        m["email"] for g in names.values() if g["name"].startswith("Guild") for m in g["members"]
    }
    assert {u["email"] for u in guild.json()["users"]} <= emails
    assert 0 < guild.json()["total_spend"] <= team["total_spend"]

    history = run_cli("groups", "history", "--json", config=config).json()["edits"]
    assert [e["kind"] for e in history] == ["create", "assign", "rename"]
    assert history[2]["from"] == {"source": "cursor", "name": None, "shown": group["name"]}
    assert history[2]["to"] == {"source": "cursor", "name": "Guild > Core"}
    assert all(e["who"].startswith("cli") for e in history)
    # As a person reads it: groups by their names, the renamed one by the name it had.
    text = run_cli("groups", "history", config=config, env={"COLUMNS": "200"}).stdout
    rows = [" ".join(line.split("│")[3:7]).split() for line in text.splitlines() if "│" in line]
    assert rows[0] == ["create", "Guild", ">", "Tools", "-", "Guild", ">", "Tools"]
    # A group is shown by its name now: the one the member left was renamed since.
    assert " ".join(rows[1]) == f"assign {mover} Guild > Core Guild > Tools"
    assert " ".join(rows[2]) == f"rename Guild > Core {group['name']} Guild > Core"
    assert group["id"] not in text and "local_" not in text

    assert run_cli("groups", "undo", config=config).code == 0
    assert run_cli("groups", "undo", config=config).code == 0
    undone = run_cli("groups", "list", "--json", config=config).json()
    back = {g["id"]: g for g in undone["groups"]}
    assert back[group["id"]]["name"] == group["name"]
    assert mover in {m["email"] for m in back[group["id"]]["members"]}


@pytest.mark.parametrize(
    "args",
    [
        ("groups", "rename", "no-such-group", "X"),
        ("groups", "assign", "nobody@example.test", "--to", "Unassigned"),
        ("groups", "create", "  >  "),
        ("groups", "undo"),
        ("stats", "--group", "parent:Nowhere"),
    ],
)
def test_a_refused_group_command_is_one_line_exit_2(
    api: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    config = write_config(tmp_path / "c.toml", api_url=api, db_url=f"sqlite:///{tmp_path / 't.db'}")
    result = run_cli(*args, config=config)
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("cursor-tracker: ")
    assert "Traceback" not in result.stderr


def settings_for(db_url: str, api: str) -> Settings:
    """The daemon tests' settings, with the key this module's simulator takes."""
    settings = daemon_settings(db_url, api_url=api)
    return settings.model_copy(update={"cursor": simulator_settings(api, KEY, db_url).cursor})


@pytest.fixture
def daemon_db(db_url: str, api: str) -> str:
    collect_and_detect(settings_for(db_url, api))
    return db_url


async def test_the_daemon_answers_new_figures_right_after_an_edit(daemon_db: str, api: str) -> None:
    settings = settings_for(daemon_db, api)
    async with running_daemon(settings) as client:
        listed = await (await client.get("/api/groups")).json()
        group = max(listed["groups"], key=lambda g: g["member_count"])
        path = f"/api/stats?days=14&group={quote(group['id'])}"
        before = await (await client.get(path)).json()
        assert await (await client.get(path)).json() == before  # kept
        spender = max(before["users"], key=lambda u: u["spend"])
        with open_tracker(settings) as tracker:
            tracker.assign_members([spender["email"]], "unassigned", actor="test")
            expected = tracker.groups().to_json()
        after = await (await client.get(path)).json()
        assert spender["email"] not in {u["email"] for u in after["users"]}
        assert spender["spend"] > 0
        assert after["total_spend"] == pytest.approx(
            before["total_spend"] - spender["spend"], abs=0.011
        )  # each figure is rounded to the cent
        # /api/groups is the object `groups list --json` prints.
        assert await (await client.get("/api/groups")).json() == expected


def test_import_hibob_previews_then_applies(api: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", api_url=api, db_url=f"sqlite:///{tmp_path / 't.db'}")
    assert run_cli("collect", "--json", config=config).code == 0
    members = run_cli("groups", "list", "--json", config=config).json()
    emails = sorted(m["email"] for g in members["groups"] for m in g["members"])[:3]
    csv = tmp_path / "bob.csv"
    rows = [f"{e},Guild,Core,Person {n}" for n, e in enumerate(emails)]
    csv.write_text("\ufeffEmail,Department,Team,Display name\n" + "\n".join(rows) + "\n")

    preview = run_cli("groups", "import-hibob", str(csv), "--json", config=config)
    assert preview.code == 0, preview.stderr
    body = preview.json()
    assert set(body) == {
        "total_members",
        "matched",
        "matched_by_name",
        "moves",
        "new_groups",
        "groups",
        "not_in_file",
        "unknown_rows",
    }
    assert body["new_groups"] == ["Guild > Core"] and body["matched"] == 3
    assert {"email", "name", "from", "to"} <= set(body["moves"][0])
    assert run_cli("groups", "list", "--json", config=config).json() == members

    text = run_cli("groups", "import-hibob", str(csv), config=config)
    assert "Preview only" in text.stdout and "Guild > Core" in text.stdout

    applied = run_cli("groups", "import-hibob", str(csv), "--apply", "--json", config=config)
    assert applied.json()["applied"] == 3
    after = run_cli("groups", "list", "--json", config=config).json()
    core = next(g for g in after["groups"] if g["name"] == "Guild > Core")
    assert sorted(m["email"] for m in core["members"]) == emails

    bad = tmp_path / "bad.csv"
    bad.write_text("Email,Site\na@x.test,Paris\n")
    refused = run_cli("groups", "import-hibob", str(bad), "--apply", config=config)
    assert refused.code == 2
    assert "lacks the column Department" in refused.stderr
    missing = run_cli("groups", "import-hibob", str(tmp_path / "nope.csv"), config=config)
    assert missing.code == 2 and "cannot read" in missing.stderr
    assert run_cli("groups", "list", "--json", config=config).json() == after


async def test_the_daemon_edits_imports_and_exports_groups(daemon_db: str, api: str) -> None:
    settings = settings_for(daemon_db, api)
    async with running_daemon(settings) as client:
        listed = await (await client.get("/api/groups")).json()
        group = max(listed["groups"], key=lambda g: g["member_count"])
        email = group["members"][0]["email"]

        renamed = await client.patch(
            "/api/groups", json={"action": "rename", "group": group["id"], "name": "Api > Core"}
        )
        assert renamed.status == 200, await renamed.text()
        body = await renamed.json()
        assert body["edit"]["changes"] == 1
        assert "Api > Core" in {g["name"] for g in body["groups"]["groups"]}
        by_parent = await client.get("/api/stats?days=14&group=parent:Api")
        by_id = await client.get(f"/api/stats?days=14&group={quote(group['id'])}")
        assert by_parent.status == 200 and await by_parent.json() == await by_id.json()

        for payload, status, field in (
            ({"action": "rename", "group": "nope", "name": "X"}, 404, "group"),
            ({"action": "rename", "group": group["id"], "name": " > "}, 400, "name"),
            ({"action": "assign", "emails": ["nobody@x.test"], "to": "Api > Core"}, 404, "emails"),
            ({"action": "assign", "emails": "a@x.test", "to": "Api > Core"}, 400, "emails"),
            ({"action": "explode"}, 400, "action"),
        ):
            refused = await client.patch("/api/groups", json=payload)
            assert (refused.status, (await refused.json())["field"]) == (status, field), payload

        csv = f"Work Email;Department;Team\n{email};Api;Solo\n"
        preview = await (await client.post("/api/groups/import", json={"csv": csv})).json()
        assert preview["moves"][0]["email"] == email and "applied" not in preview
        applied = await client.post(
            "/api/groups/import", json={"csv": csv, "apply": True, "selected": [email]}
        )
        assert (await applied.json())["applied"] == 1
        bad = await client.post("/api/groups/import", json={"csv": "Name\nx\n"})
        assert bad.status == 400 and (await bad.json())["field"] == "csv"

        exported = await client.get("/api/groups/export")
        assert exported.headers["Content-Type"].startswith("text/csv")
        assert "group-mapping-" in exported.headers["Content-Disposition"]
        text = await exported.text()
        assert text.startswith("email,name,group\n") and f"{email}," in text

        history = (await (await client.get("/api/groups/history")).json())["edits"]
        assert [e["kind"] for e in history] == ["rename", "create", "assign"]
        assert {e["who"] for e in history} == {"api"}
        for _ in range(2):
            assert (await client.patch("/api/groups", json={"action": "undo"})).status == 200
        again = await client.patch("/api/groups", json={"action": "undo"})
        assert again.status == 409
        assert (await (await client.get("/api/groups")).json()) == listed
