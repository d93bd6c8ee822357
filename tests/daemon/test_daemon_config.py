"""The daemon's configuration keys: checked at load, each problem naming the key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker_core.config import load_settings
from tracker_core.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[daemon]\njitter_seconds = -1\n", "daemon.jitter_seconds: input should be greater"),
        ("[daemon]\njitter_seconds = inf\n", "daemon.jitter_seconds: input should be a finite"),
        ('[daemon]\ngrace_seconds = "5"\n', "daemon.grace_seconds: input should be a valid"),
        ("[daemon]\ngrace_seconds = 7200\n", "daemon.grace_seconds: input should be less"),
        ("[daemon]\nmax_body_bytes = 10\n", "daemon.max_body_bytes: input should be greater"),
        ("[daemon]\nmax_upload_bytes = 1e12\n", "daemon.max_upload_bytes: input should be a valid"),
        (
            "[daemon]\nmax_upload_bytes = 99999999999\n",
            "daemon.max_upload_bytes: input should be less",
        ),
        ('[daemon]\ndashboard_user = "ops:1"\n', "daemon.dashboard_user: must not contain ':'"),
        ('[daemon]\ndashboard_user = " "\n', "daemon.dashboard_user: must not be blank"),
        ('[daemon]\ndashboard_user = "o\\tps"\n', "daemon.dashboard_user: must not contain"),
    ],
)
def test_bad_daemon_values_name_the_key_and_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert f"{path}:2: {problem}" in str(caught.value)


def test_daemon_keys_and_their_environment_variables(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[daemon]\njitter_seconds = 30\ngrace_seconds = 5.5\nmax_body_bytes = 2048\n"
        'dashboard_user = "file-user"\n'
    )
    daemon = load_settings(path, env={"DASHBOARD_USER": "ops"}).settings.daemon
    assert (daemon.jitter_seconds, daemon.grace_seconds, daemon.max_body_bytes) == (30, 5.5, 2048)
    assert daemon.dashboard_user == "ops"
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    defaults = load_settings(empty, env={}).settings.daemon
    assert defaults.dashboard_user == "admin" and defaults.grace_seconds == 30
    # An import's file may be far larger than any other body, and never smaller.
    assert (defaults.max_body_bytes, defaults.upload_limit) == (65536, 8 * 1024 * 1024)
    small = tmp_path / "small.toml"
    small.write_text("[daemon]\nmax_body_bytes = 1048576\nmax_upload_bytes = 2048\n")
    assert load_settings(small, env={}).settings.daemon.upload_limit == 1048576
    with pytest.raises(ConfigError) as caught:
        load_settings(empty, env={"DASHBOARD_USER": "a:b"})
    assert "environment variable DASHBOARD_USER: daemon.dashboard_user" in str(caught.value)
