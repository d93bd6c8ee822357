"""The command's outside: help, exit codes and messages a user reads, and the demo."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.integration.helpers import cli_env, in_own_process, run_in_process
from tracker_core.domain import Member
from tracker_core.storage import open_database, repo

SUBCOMMANDS = ["demo", "collect", "stats", "simulator", "daemon"]


def cursor_tracker(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``cursor-tracker ARGS``; one-shot commands in this process (see ``run_cli``)."""
    if not in_own_process(args):
        run = run_in_process(list(args), env or cli_env(), cwd)
        return subprocess.CompletedProcess(args, run.code, run.stdout, run.stderr)
    return subprocess.run(
        [sys.executable, "-m", "tracker_core", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or cli_env(),
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help_with_config_flag(command: str) -> None:
    result = cursor_tracker(command, "--help")
    assert result.returncode == 0
    assert "--config" in result.stdout


def test_bad_configuration_exits_2_naming_key_and_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[cursor]\ntimeout_seconds = 0\n")
    result = cursor_tracker("stats", "--config", str(config))
    assert result.returncode == 2
    assert f"{config}:2" in result.stderr and "cursor.timeout_seconds" in result.stderr


def test_collect_without_key_is_a_configuration_error(tmp_path: Path) -> None:
    env = cli_env()
    del env["CURSOR_ADMIN_API_KEY"]
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 't.db'}"
    result = cursor_tracker("collect", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "CURSOR_ADMIN_API_KEY" in result.stderr


def test_bad_flag_exits_2() -> None:
    result = cursor_tracker("stats", "--days", "0")
    assert result.returncode == 2
    assert "--days" in result.stderr


def test_unreachable_api_fails_with_plain_message(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[cursor]\napi_url = "http://127.0.0.1:9"\nmax_attempts = 2\nbackoff_base_seconds = 0.01\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "t.db"}"\n'
    )
    result = cursor_tracker("collect", "--config", str(config))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "/teams/members" in result.stderr


@pytest.mark.slow
def test_demo_collects_an_organisation_with_no_key(tmp_path: Path) -> None:
    env = cli_env()
    del env["CURSOR_ADMIN_API_KEY"]
    result = cursor_tracker(
        "demo", "--users", "10", "--days", "14", "--data-dir", str(tmp_path / "demo"), env=env
    )
    assert result.returncode == 0, result.stderr
    assert "Top spenders" in result.stdout
    assert (tmp_path / "demo" / "tracker.db").is_file()
    # The table lists real simulated members, with money.
    assert "@" in result.stdout and "$" in result.stdout


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    """No config file or default database of the person running the tests can be found."""
    return cli_env(
        extra={
            "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
            "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        }
    )


@pytest.mark.parametrize("config_first", [True, False], ids=["before", "after"])
def test_config_is_read_before_or_after_the_command(tmp_path: Path, config_first: bool) -> None:
    database = tmp_path / "configured.db"
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{database}"\n')
    env = _isolated_env(tmp_path)

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        flag = ("--config", str(config))
        args = (*flag, *command) if config_first else (*command, *flag)
        return cursor_tracker(*args, cwd=tmp_path, env=env)

    assert run("settings", "set", "min_daily_requests", "7").returncode == 0
    shown = run("settings", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    assert '"min_daily_requests": 7' in shown.stdout
    assert database.is_file()
    assert not (tmp_path / "xdg-data").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--config", "{missing}", "stats"),
        ("stats", "--config", "{missing}"),
        ("--config", "{missing}", "incidents", "list"),
        ("incidents", "list", "--config", "{missing}"),
        ("--config", "", "stats"),
    ],
)
def test_missing_config_file_is_an_error_wherever_given(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    missing = str(tmp_path / "nope.toml")
    result = cursor_tracker(
        *(arg.format(missing=missing) for arg in args), cwd=tmp_path, env=_isolated_env(tmp_path)
    )
    assert result.returncode == 2
    assert "--config" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "xdg-data").exists()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "sqlite://", "in-memory"),
        ("DATABASE_URL", "sqlite:///:memory:", "in-memory"),
        ("DATABASE_URL", ":memory:", "not a database URL"),
        ("DATABASE_URL", "postgresql://tracker:hunter2@db:5x2/tracker", "not a database URL"),
        ("DATABASE_URL", "mysql://db/tracker", "unsupported database driver 'mysql'"),
        ("CURSOR_API_URL", "api.cursor.com", "http:// or https://"),
        ("CURSOR_ADMIN_API_KEY", "   ", "must not be blank"),
        ("ALERT_EMAIL_TO", ", ,", "lists no email address"),
        ("SLACK_API_URL", "file:///etc/passwd", "http:// or https://"),
        ("DATABASE_URL", "sqlite:///t.db?timeout=soon", "has a query option SQLite cannot use"),
        ("DATABASE_URL", "sqlite:///t.db?check_same_thread=maybe", "query option"),
        ("DATABASE_URL", "sqlite:///t.db?mode=ro", "need uri=true as well"),
        ("SLACK_CHANNEL_ID", "#alerts\n", "must not contain spaces, line breaks"),
    ],
)
def test_unusable_environment_value_exits_2_naming_the_variable(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    env = _isolated_env(tmp_path)
    env.setdefault("DATABASE_URL", f"sqlite:///{tmp_path / 't.db'}")
    env[variable] = value
    result = cursor_tracker("detect", cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"environment variable {variable}" in result.stderr
    assert expected in result.stderr
    assert "hunter2" not in result.stderr


def test_config_file_that_is_not_utf8_exits_2_naming_the_file(tmp_path: Path) -> None:
    config = tmp_path / "latin1.toml"
    config.write_bytes('[slack]\nchannel_id = "caf\xe9"\n'.encode("latin-1"))
    result = cursor_tracker("stats", "--config", str(config), env=_isolated_env(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{config}: not UTF-8" in result.stderr


def test_setting_beyond_its_maximum_is_refused_and_the_stored_value_kept(
    tmp_path: Path, db_url: str
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n')
    env = _isolated_env(tmp_path)
    assert (
        cursor_tracker(
            "settings", "set", "min_daily_requests", "250", "--config", str(config), env=env
        ).returncode
        == 0
    )

    refused = cursor_tracker(
        "settings", "set", "min_daily_requests", "1e308", "--config", str(config), env=env
    )

    assert refused.returncode == 2
    assert "min_daily_requests must be a whole number between 0 and 1000000" in refused.stderr
    for negative in ("-1e3", "-inf", "-5"):
        refused = cursor_tracker(
            "settings", "set", "min_daily_requests", negative, "--config", str(config), env=env
        )
        assert refused.returncode == 2
        assert f"between 0 and 1000000, got '{negative}'" in refused.stderr
    shown = cursor_tracker("settings", "show", "--json", "--config", str(config), env=env)
    assert '"min_daily_requests": 250' in shown.stdout


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("simulator", "--port", "99999"), "--port"),
        (("simulator", "--users", "5"), "--users"),
        (("simulator", "--days", "3"), "--days"),
        (("simulator", "--fault-rate", "1.5"), "--fault-rate"),
        (("simulator", "--latency", "-1"), "--latency"),
        (("demo", "--users", "5", "--no-tui"), "--users"),
        (("demo", "--days", "3", "--no-tui"), "--days"),
        (("demo", "--days", "400", "--no-tui"), "--days"),
        (("demo", "--users", "many", "--no-tui"), "--users"),
        (("stats", "--days", "99999999999"), "--days"),
        (("incidents", "list", "--days", "99999999999"), "--days"),
        (("incidents", "ack", str(2**70)), "ID"),
        (("simulator", "--fault-rate", "-inf"), "--fault-rate"),
        (("simulator", "--latency", "-1e3"), "--latency"),
        (("demo", "--data-dir", __file__, "--no-tui"), "--data-dir"),
    ],
)
def test_flags_out_of_range_are_one_line_exit_2(
    tmp_path: Path, args: tuple[str, ...], flag: str
) -> None:
    result = cursor_tracker(*args, cwd=tmp_path, env=_isolated_env(tmp_path), timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert flag in lines[0]
    assert "between" in lines[0] or "not a directory" in lines[0]
    assert not (tmp_path / ".demo").exists()  # refused before generating anything


def _tiny_scenario(path: Path, input_tokens: int) -> Path:
    event = {
        "timestamp": "1700000000000",
        "userEmail": "a@example.com",
        "model": "m",
        "kind": "Usage-based",
        "tokenUsage": {"inputTokens": input_tokens, "outputTokens": 1, "totalCents": 1.0},
        "chargedCents": 1.0,
    }
    member = {"name": "A", "email": "a@example.com", "role": "member"}
    path.write_text(json.dumps({"teamMembers": [member], "usageEvents": [event]}))
    return path


def test_simulator_on_a_port_in_use_is_one_line_exit_2(tmp_path: Path) -> None:
    scenario = _tiny_scenario(tmp_path / "s.json", 5)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cursor_tracker(
            "simulator", "--scenario", str(scenario), "--port", str(port), timeout=60
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"cursor-tracker: cannot listen on 127.0.0.1:{port}: the port is already in use "
        "(--port 0 picks a free one)"
    ]


def test_scenario_with_tokens_beyond_64_bits_is_one_line_exit_2(tmp_path: Path) -> None:
    scenario = _tiny_scenario(tmp_path / "s.json", 2**63)
    result = cursor_tracker("simulator", "--scenario", str(scenario), "--port", "0", timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "usageEvents[0].tokenUsage.inputTokens" in lines[0]


def demo_env() -> dict[str, str]:
    """The environment of someone who installed the tracker: ``cursor-tracker`` is on PATH."""
    env = cli_env()
    del env["CURSOR_ADMIN_API_KEY"]
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def pasted(line: str, *extra: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command the demo printed, exactly as a person pasting it into a shell would."""
    return subprocess.run(
        " ".join([line, *extra]),
        shell=True,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=demo_env(),
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_the_demos_reopen_line_works_where_the_venv_is_not_on_the_path(tmp_path: Path) -> None:
    """`make demo` runs `.venv/bin/cursor-tracker` without putting `.venv/bin` on the PATH:
    the command it prints must still run when pasted, from any directory."""
    script = Path(sys.executable).parent / "cursor-tracker"
    env = {**demo_env(), "PATH": os.pathsep.join(("/usr/bin", "/bin"))}
    demo = subprocess.run(
        [str(script), "demo", "--no-tui", "--users", "10", "--days", "14"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    [line] = [ln for ln in demo.stdout.splitlines() if ln.lstrip().startswith("or: ")]
    command = line.split("or: ", 1)[1]
    assert shlex.split(command)[1] == str(script)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    stats = subprocess.run(
        command, shell=True, capture_output=True, text=True, cwd=elsewhere, env=env, check=False
    )
    assert stats.returncode == 0, stats.stderr
    assert "$0.00" not in stats.stdout.splitlines()[0]  # the demo's team, not an empty database


@pytest.mark.slow
def test_demo_rerun_keeps_acknowledgements_or_says_it_replaces_them(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "demo")
    demo = ("demo", "--no-tui", "--users", "10", "--days", "14", "--data-dir", data_dir)
    first = cursor_tracker(*demo, cwd=tmp_path, env=demo_env())
    assert first.returncode == 0, first.stderr
    assert "Reusing" not in first.stderr and "Replaced" not in first.stderr
    assert "of 10 members over 14 days" in first.stderr
    # A count of windows in words: "1 window", "2 windows", never "1 windows".
    windows = re.findall(r"collecting \w[\w ]* \((\d+) (windows?)\)", first.stderr)
    assert windows and all((n == "1") == (word == "window") for n, word in windows)
    [reopen] = [
        line.removeprefix("Reopen it: ")
        for line in first.stdout.splitlines()
        if line.startswith("Reopen it: ")
    ]
    assert reopen.endswith("cursor-tracker tui")
    # The printed command reopens the demo database from anywhere, not an empty one.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    base = reopen.removesuffix(" tui")
    listing = pasted(base, "incidents", "list", "--json", cwd=elsewhere)
    assert listing.returncode == 0, listing.stderr

    def reopened(*args: str) -> subprocess.CompletedProcess[str]:
        """The printed command once more, its environment as the shell sets it (in-process:
        pasting it in a shell was proven by the listing above)."""
        assignment, program = shlex.split(base)
        name, _, value = assignment.partition("=")
        assert program == "cursor-tracker" and name == "DATABASE_URL"
        return cursor_tracker(*args, cwd=elsewhere, env={**demo_env(), name: value})

    target = listing_json(listing)["incidents"][0]["id"]
    assert reopened("incidents", "ack", str(target)).returncode == 0
    one_day = reopened("incidents", "list", "--days", "1")
    assert one_day.returncode == 0 and "Last 1 day: " in one_day.stdout
    # The stats text shows the per-day table as well as the top spenders.
    week = reopened("stats", "--days", "7")
    week_json = json.loads(reopened("stats", "--days", "7", "--json").stdout)
    assert week.returncode == 0 and "Top spenders" in week.stdout and "Per day" in week.stdout
    for day in week_json["daily"]:
        assert re.search(rf"{day['day']}\W+\${day['spend']:,.2f}\W", week.stdout), day
    assert reopened("settings", "set", "zscore_multiplier", "3").returncode == 0

    again = cursor_tracker(*demo, cwd=tmp_path, env=demo_env())
    assert again.returncode == 0, again.stderr
    assert "Reusing the demo database" in again.stderr and "are kept" in again.stderr
    after = listing_json(reopened("incidents", "list", "--json"))
    assert {i["id"]: i["status"] for i in after["incidents"]}[target] == "acknowledged"
    settings = reopened("settings", "show", "--json")
    assert json.loads(settings.stdout)["zscore_multiplier"] == 3

    other = cursor_tracker(*demo, "--seed", "8", cwd=tmp_path, env=demo_env())
    assert other.returncode == 0, other.stderr
    assert "Replaced the demo database" in other.stderr and "not kept" in other.stderr
    assert "seed 7" in other.stderr
    replaced = listing_json(reopened("incidents", "list", "--json"))
    assert all(i["status"] != "acknowledged" for i in replaced["incidents"])
    settings = reopened("settings", "show", "--json")
    assert json.loads(settings.stdout)["zscore_multiplier"] == 2.5


def listing_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_reports_on_a_never_collected_database_name_it_and_say_how_to_fill_it(
    db_url: str, tmp_path: Path
) -> None:
    env = cli_env(extra={"DATABASE_URL": db_url})
    for command in (("stats",), ("stats", "--json"), ("incidents", "list")):
        result = cursor_tracker(*command, cwd=tmp_path, env=env)
        assert result.returncode == 1, command
        assert "nothing has been collected into" in result.stderr
        assert "cursor-tracker collect" in result.stderr
        assert result.stdout == ""  # no "$0.00" that reads like a quiet month
        if db_url.startswith("sqlite"):
            assert str(tmp_path / "tracker.db") in result.stderr
        else:
            url = make_url(db_url)
            assert f"@{url.host}:{url.port}/{url.database}" in result.stderr
            assert not url.password or str(url.password) not in result.stderr
    engine = open_database(db_url)
    try:
        with engine.begin() as conn:
            repo.upsert_members(
                conn, [Member("ana@example.com", "Ana", "member")], seen_at=datetime.now(UTC)
            )
    finally:
        engine.dispose()
    result = cursor_tracker("stats", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "Top spenders" in result.stdout


def test_a_relative_sqlite_url_is_named_by_its_full_path(tmp_path: Path) -> None:
    env = cli_env(extra={"DATABASE_URL": "sqlite:///tracker.db"})
    result = cursor_tracker("stats", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert f"into {tmp_path / 'tracker.db'} yet" in result.stderr


def test_settings_set_help_lists_every_key_with_its_default_and_range() -> None:
    from tracker_core.detection.settings import SPECS

    result = cursor_tracker("settings", "set", "--help")
    assert result.returncode == 0
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    for spec in SPECS:
        assert spec.key in lines, spec.key
        assert spec.describe_range() in lines[spec.key]
    assert "zscore_multiplier         2.5;" in result.stdout


def test_simulator_help_states_every_default() -> None:
    result = cursor_tracker("simulator", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for flag, default in [
        ("--host HOST", "127.0.0.1"),
        ("--port PORT", "8787"),
        ("--users USERS", "40"),
        ("--days DAYS", "45"),
        ("--seed SEED", "7"),
        ("--fault-rate F", "0"),
        ("--latency SECONDS", "0"),
    ]:
        flag_help = text.split(f" {flag} ", 1)[1].split(" --", 1)[0]
        assert f"default {default})" in flag_help, flag


def test_cron_help_and_example_config_describe_the_daemon() -> None:
    result = cursor_tracker("cron", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "crontab" in text and "`cursor-tracker daemon` run it on its [daemon] schedule" in text
    assert "No built-in daemon" not in text
    example = (Path(__file__).resolve().parents[2] / "config.example.toml").read_text()
    daemon = example.split("[daemon]", 1)[1]
    assert "not built yet" not in daemon and "Not used yet" not in daemon
    keys = ("schedule", "jitter_seconds", "grace_seconds", "max_body_bytes", "max_upload_bytes")
    for key in (*keys, "dashboard_user"):
        assert f"\n{key} = " in daemon, key


def test_a_data_directory_that_cannot_be_used_is_one_line_exit_1(tmp_path: Path) -> None:
    env = _isolated_env(tmp_path)
    (tmp_path / "notes.txt").write_text("mine\n")
    under_a_file = cursor_tracker(
        "demo", "--data-dir", str(tmp_path / "notes.txt" / "demo"), "--no-tui", env=env
    )
    (tmp_path / "demo" / "tracker.db").mkdir(parents=True)
    (tmp_path / "demo" / "tracker.db" / "keep.txt").write_text("mine\n")
    directory_as_database = cursor_tracker(
        "demo", "--data-dir", str(tmp_path / "demo"), "--no-tui", env=env
    )

    for result, named in (
        (under_a_file, "notes.txt"),
        (directory_as_database, str(tmp_path / "demo" / "tracker.db")),
    ):
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert named in lines[0]
    assert (tmp_path / "notes.txt").read_text() == "mine\n"
    assert (tmp_path / "demo" / "tracker.db" / "keep.txt").read_text() == "mine\n"
