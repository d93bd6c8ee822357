"""``cursor-tracker forecast`` on a collected organisation, on SQLite and PostgreSQL.

The simulator's organisation is collected once per dialect; the command runs in this process.
Its figures are checked against ``stats`` on the same database (the spend so far is the
cycle's spend) and against each other (a group's total is its line in the team's forecast).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.collecting import collect_at
from tests.daemon.conftest import daemon_settings, running_daemon
from tests.integration.helpers import KEY
from tests.postgres import PostgresServer
from tracker_core.cli import main as cli
from tracker_core.config import load_settings
from tracker_core.jobs.collect import simulator_settings
from tracker_core.service import open_tracker
from tracker_core.simulator import generate_scenario, running_simulator
from tracker_core.views.forecast import (
    forecast_json,
    forecast_moment,
    summed_scope_forecast,
    team_forecast,
)

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def config(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A config whose database holds a small collected organisation (once per dialect)."""
    folder = tmp_path_factory.mktemp("forecast")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'tracker.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        name = f"test_{uuid.uuid4().hex}"
        with psycopg.connect(server.conninfo, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = server.base_url + name
    scenario = generate_scenario(users=10, days=30, seed=11, now=NOW)
    with running_simulator(scenario, api_key=KEY, rate_limits=False) as api:
        settings = simulator_settings(api, KEY, url, backfill_days=30, events_window_days=30)
        asyncio.run(collect_at(settings, NOW))
    path = folder / "c.toml"
    path.write_text(f'[cursor]\napi_url = "http://127.0.0.1:9"\n[database]\nurl = "{url}"\n')
    yield path
    if request.param != "sqlite":
        with psycopg.connect(server.conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main([*args, "--config", str(config)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def as_json(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> Any:
    code, out, err = run(capsys, config, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def ranged(line: dict[str, Any]) -> bool:
    return line["spent"] <= line["low"] <= line["expected"] <= line["high"]


def test_forecast_lists_team_groups_and_members_by_forecast(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    shown = as_json(capsys, config, "forecast")
    stats = as_json(capsys, config, "stats", "--days", "1")
    assert shown["group"] is None
    assert shown["cycle"]["start"] == stats["cycle"]["start"]
    assert 1 <= shown["cycle"]["day"] <= shown["cycle"]["length"]
    total = shown["total"]
    assert total["spent"] == pytest.approx(stats["cycle"]["spend"], abs=0.01)
    assert total["spent"] < total["expected"] and ranged(total)
    members = shown["members"]
    assert {m["email"] for m in members} >= {u["email"] for u in stats["users"]}
    assert [m["expected"] for m in members] == sorted(
        (m["expected"] for m in members), reverse=True
    )
    assert sum(m["expected"] for m in members) == pytest.approx(total["expected"], abs=0.05)
    assert all(ranged(m) for m in members)
    groups = shown["groups"]
    assert groups and [g["expected"] for g in groups] == sorted(
        (g["expected"] for g in groups), reverse=True
    )
    # The team's range is not its members' ranges added up: their days offset each other.
    # (Above the expectation: below it a member's range stops at what they spent.)
    assert total["high"] - total["expected"] < sum(m["high"] - m["expected"] for m in members)


def test_forecast_of_one_group_is_its_line_in_the_teams(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    team = as_json(capsys, config, "forecast")
    named = [g for g in team["groups"] if g["id"] != "unassigned"]
    group = max(named, key=lambda g: g["members"])
    mine = as_json(capsys, config, "forecast", "--group", group["name"])
    assert mine["group"] == group["id"]
    assert [g["id"] for g in mine["groups"]] == [group["id"]]
    for key in ("spent", "expected", "low", "high"):
        assert mine["total"][key] == pytest.approx(group[key], abs=0.01)
    in_stats = as_json(capsys, config, "stats", "--group", group["id"])
    assert {m["email"] for m in mine["members"]} == {u["email"] for u in in_stats["users"]}
    everyone = {m["email"]: m for m in team["members"]}
    assert all(everyone[m["email"]] == m for m in mine["members"])
    # Members in no group: the team's "unassigned" line, as stats --group unassigned counts them.
    nowhere = as_json(capsys, config, "forecast", "--group", "unassigned")
    line = next(g for g in team["groups"] if g["id"] == "unassigned")
    assert [g["id"] for g in nowhere["groups"]] == ["unassigned"]
    assert nowhere["total"] == {key: line[key] for key in ("spent", "expected", "low", "high")}
    # Cursor's reserved group asked for by name: its own line, its own members.
    reserved = as_json(capsys, config, "forecast", "--group", "Unassigned")
    assert [g["id"] for g in reserved["groups"]] == [reserved["group"]]
    assert reserved["groups"][0]["members"] == len(reserved["members"])


def test_forecast_text_shows_the_cycle_day_and_the_top_member(
    capsys: pytest.CaptureFixture[str], config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: rich would shorten the cells
    shown = as_json(capsys, config, "forecast")
    code, out, _ = run(capsys, config, "forecast", "--top", "3")
    assert code == 0
    day, length = shown["cycle"]["day"], shown["cycle"]["length"]
    assert f"day {day} of {length}" in out
    assert f"${shown['total']['expected']:,.2f}" in out
    assert shown["members"][0]["email"] in out
    assert shown["members"][3]["email"] not in out
    assert "Members (3 of" in out


def test_forecast_figures_are_whole_at_80_columns(
    capsys: pytest.CaptureFixture[str], config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a narrow terminal the names wrap; a forecast, its range and the spend never get
    cut."""
    monkeypatch.setenv("COLUMNS", "80")
    shown = as_json(capsys, config, "forecast")
    code, out, _ = run(capsys, config, "forecast", "--top", "5")
    assert code == 0
    for line in (*shown["members"][:5], *shown["groups"]):
        for value in (line["expected"], line["spent"]):
            assert f"${value:,.2f}" in out
        assert f"${line['low']:,.2f}-${line['high']:,.2f}" in out


def test_forecast_of_an_unknown_group_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    code, out, err = run(capsys, config, "forecast", "--group", "No Such Group")
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and "No Such Group" in err


def test_forecast_of_a_never_collected_database_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "empty.db"}"\n')
    code, out, err = run(capsys, config, "forecast")
    assert (code, out) == (1, "")
    assert "empty.db" in err and "collect" in err


def test_stats_and_the_drilldown_show_the_forecasts_own_figures(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    """``stats --json`` and a member's drilldown carry the forecast ``forecast`` prints."""
    shown = as_json(capsys, config, "forecast")
    assert as_json(capsys, config, "stats")["cycle"]["forecast"] == shown["total"]
    group = max(shown["groups"], key=lambda g: g["members"])
    of_group = as_json(capsys, config, "stats", "--group", group["id"])["cycle"]["forecast"]
    assert of_group == {key: group[key] for key in ("spent", "expected", "low", "high")}
    top = shown["members"][0]
    with open_tracker(load_settings(config).settings) as tracker:
        detail = tracker.member(top["email"]).to_json()
        by_id = tracker.forecast().group(group["id"])  # what a budget check reads
    assert by_id is not None
    assert forecast_json(by_id) == {key: group[key] for key in ("spent", "expected", "low", "high")}
    assert detail["forecast"] == {key: top[key] for key in ("spent", "expected", "low", "high")}


async def test_the_daemon_serves_the_commands_forecast(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    url = load_settings(config).settings.database_url
    async with running_daemon(daemon_settings(url)) as client:
        team = await client.get("/api/forecast")
        assert team.status == 200
        served = await team.json()
        assert served == as_json(capsys, config, "forecast")
        group = served["groups"][0]
        mine = await (await client.get(f"/api/forecast?group={group['id']}")).json()
        assert mine["total"] == {key: group[key] for key in ("spent", "expected", "low", "high")}
        unknown = await client.get("/api/forecast?group=No%20Such%20Group")
        assert unknown.status == 404
        assert (await unknown.json())["field"] == "group"


def test_the_scopes_summed_forecast_is_the_member_by_member_total(config: Path) -> None:
    """What the overview and ``stats`` show (sums the database adds up) is the total of the
    member-by-member forecast ``forecast`` prints, for the team and every kind of filter."""
    with open_tracker(load_settings(config).settings) as tracker:
        engine = tracker.engine
        now = forecast_moment(tracker.clock())
        with engine.connect() as conn:
            team = team_forecast(conn, now=now)
            named = [g.id for g in team.groups if g.id != "unassigned"]
            scopes = [None, "unassigned", *named]
            scopes += [f"parent:{g.name.split(' > ')[0]}" for g in team.groups[:1]]
            for scope in scopes:
                plain = team_forecast(conn, now=now, group_id=scope).total
                summed = summed_scope_forecast(conn, now=now, group_id=scope)
                assert summed.start == plain.start
                assert summed.path == pytest.approx(plain.path, rel=1e-9, abs=1e-9), scope
                for key in ("spent", "expected", "low", "high"):
                    assert getattr(summed, key) == pytest.approx(
                        getattr(plain, key), rel=1e-9, abs=1e-9
                    ), (scope, key)
    assert team.total.expected > team.total.spent > 0
