"""``cursor-tracker budgets list|set|unset`` in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.budgets.org import PLATFORM, cycle_start, seed
from tests.integration.helpers import write_config
from tracker_core.cli.main import main
from tracker_core.storage.budgets import stored_budgets


@pytest.fixture
def config(tmp_path: Path, db_url: str, db_engine: Engine) -> str:
    seed(db_engine, datetime.now(UTC).date(), daily_cents={"bo@example.test": 2_000.0})
    path = write_config(tmp_path / "config.toml", api_url="http://127.0.0.1:9", db_url=db_url)
    return str(path)


def run(config: str, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["budgets", *argv, "--config", config])
    out, err = capsys.readouterr()
    return code, out, err


def test_set_list_and_unset_each_scope_with_this_cycles_spend(
    config: str, capsys: pytest.CaptureFixture[str], db_engine: Engine
) -> None:
    assert run(config, capsys, "set", "team", "5,000")[0] == 0
    assert run(config, capsys, "set", "group", "Platform", "2000")[0] == 0
    code, out, _ = run(config, capsys, "set", "member", "ANA@example.test", "$300", "--json")
    assert code == 0
    assert json.loads(out) == {
        "scope": "member",
        "key": "ana@example.test",
        "name": "ana@example.test",
        "amount": 300.0,
        "changed": True,
        "summary": "ana@example.test: $300.00 per cycle",
    }

    code, out, _ = run(config, capsys, "list", "--json")
    listed = json.loads(out)
    assert code == 0
    today = datetime.now(UTC).date()
    assert listed["cycle"]["start"] == cycle_start(today).isoformat()
    assert listed["cycle"]["day"] == 18
    rows = {(row["scope"], row["key"]): row for row in listed["budgets"]}
    assert list(rows) == [("team", None), ("group", PLATFORM), ("member", "ana@example.test")]
    platform = rows[("group", PLATFORM)]
    assert (platform["name"], platform["amount"], platform["spent"], platform["percent"]) == (
        "Platform",
        2000.0,
        1640.0,
        82,
    )
    assert rows[("team", None)]["spent"] == 1640.0
    assert rows[("member", "ana@example.test")]["percent"] == 300
    assert platform["forecast"] is not None and platform["forecast"] > platform["spent"]
    assert platform["set_by"].startswith("cli")

    code, out, _ = run(config, capsys, "list")
    assert code == 0
    assert "Platform" in out and "$2,000.00" in out and "82 %" in out

    assert run(config, capsys, "unset", "group", PLATFORM)[0] == 0
    assert run(config, capsys, "set", "team", "0")[0] == 0  # 0 is off
    with db_engine.connect() as conn:
        assert [(b.scope, b.key) for b in stored_budgets(conn)] == [("member", "ana@example.test")]


REFUSED = [
    (("set", "team", "-5"), "budget amount '-5' is negative"),
    (("set", "team", "lots"), "budget amount 'lots' is not a number of dollars"),
    (("set", "team", "nan"), "budget amount 'nan' is not a number of dollars"),
    (("set", "team", "2,5"), "budget amount '2,5' is not a number of dollars"),
    (("set", "team", "1e12"), "budget amount '1e12' is above $10,000,000.00 per cycle"),
    (("set", "team", "10.001"), "budget amount '10.001' has a fraction of a cent"),
    (("set", "group", "Payments", "100"), "no billing group 'Payments'"),
    (("set", "member", "zed@example.test", "100"), "no member 'zed@example.test'"),
    (("set", "planet", "x", "100"), "unknown budget scope 'planet'"),
    (("set", "group", "100"), "expected 'budgets set group NAME AMOUNT'"),
    (("set", "member", "100"), "expected 'budgets set member EMAIL AMOUNT'"),
    # A scope written as a group key is named as the unknown scope, not counted as values.
    (("set", "group:Payments", "100"), "unknown budget scope 'group:Payments'"),
    (("unset", "member", "zed@example.test"), "no member 'zed@example.test'"),
]


def test_a_refused_budget_exits_2_with_one_line_and_keeps_what_was_stored(
    config: str, capsys: pytest.CaptureFixture[str], db_engine: Engine
) -> None:
    assert run(config, capsys, "set", "team", "5000")[0] == 0
    for argv, message in REFUSED:
        code, _, err = run(config, capsys, *argv)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (argv, err)
    with db_engine.connect() as conn:
        assert [(b.scope, b.amount_cents) for b in stored_budgets(conn)] == [("team", 500_000)]
