"""Configuration loading: file discovery, environment overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker_core.config import load_settings
from tracker_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_example_file_is_valid_and_matches_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    loaded = load_settings(ROOT / "config.example.toml", env={})
    defaults = load_settings(None, env={})
    assert defaults.path is None
    assert loaded.settings.model_dump() == defaults.settings.model_dump()


def test_config_toml_in_working_directory_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text("[collector]\nbackfill_days = 9\n")
    loaded = load_settings(None, env={})
    assert loaded.settings.collector.backfill_days == 9


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[cursor]\napi_url = "http://file.invalid"\n[database]\nurl = "sqlite:///a.db"\n'
    )
    env = {"CURSOR_API_URL": "http://env.invalid", "CURSOR_ADMIN_API_KEY": "key_secret_123"}
    settings = load_settings(path, env=env).settings
    assert settings.cursor.api_url == "http://env.invalid"
    assert settings.database_url == "sqlite:///a.db"
    assert settings.cursor.admin_api_key is not None
    assert settings.cursor.admin_api_key.get_secret_value() == "key_secret_123"
    assert "key_secret_123" not in repr(settings)
    assert "key_secret_123" not in str(settings.model_dump())


def test_unknown_key_names_key_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[cursor]\napi_url = "http://x"\n\n[collector]\nbackfil_days = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    message = str(caught.value)
    assert f"{path}:5" in message
    assert "collector.backfil_days" in message
    assert "unknown key" in message


def test_out_of_range_value_names_key_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[collector]\noverlap_hours = -1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert f"{path}:2" in str(caught.value)
    assert "greater than or equal to 0" in str(caught.value)


def test_wrong_type_names_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[daemon]\nhost = "0.0.0.0"\nport = "eighty"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert f"{path}:3: daemon.port" in str(caught.value)


def test_secret_from_environment_is_masked_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[collector]\nbatch_size = 0\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={"CURSOR_ADMIN_API_KEY": "key_very_secret"})
    assert "collector.batch_size" in str(caught.value)
    assert "key_very_secret" not in str(caught.value)


def test_invalid_toml_is_reported_with_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[cursor\n")
    with pytest.raises(ConfigError, match=str(path)):
        load_settings(path, env={})


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="CURSOR_TRACKER_CONFIG"):
        load_settings(None, env={"CURSOR_TRACKER_CONFIG": str(tmp_path / "nope.toml")})


def test_unknown_key_suggests_the_nearest_known_one(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[collector]\nbackfil_days = 3\n[daemon]\nzzz = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    lines = str(caught.value).splitlines()
    assert any(
        "collector.backfil_days: unknown key; did you mean backfill_days?" in x for x in lines
    )
    assert any(line.endswith("daemon.zzz: unknown key") for line in lines)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[collector]\nanalytics = "yes"\n',
            "collector.analytics: input should be a valid boolean",
        ),
        ('[daemon]\nport = "8080"\n', "daemon.port: input should be a valid integer"),
        ('[cursor]\napi_url = "ftp://files.example.com"\n', "got the scheme 'ftp'"),
        ('[cursor]\napi_url = "https://"\n', "cursor.api_url: must name a host"),
        ('[cursor]\napi_url = "http://[::1/"\n', "cursor.api_url: is not a URL"),
        ('[cursor]\nadmin_api_key = "key_abc\\n"\n', "cursor.admin_api_key: must not contain"),
        ('[email]\nto = "ops@example.com, nobody"\n', "'nobody' is not an email address"),
        ('[email]\nfrom = "alerts"\n', "email.from: must be one email address"),
        ('[email]\nfrom = "A\\r\\nBcc: x@y.z <a@b.c>"\n', "email.from: must be one email"),
        ('[email]\nto = "Ops\\u0007 <ops@x.test>"\n', "email.to: 'Ops\\x07 <ops@x.test>' is not"),
        ('[daemon]\ndashboard_url = "localhost:8080"\n', "daemon.dashboard_url: must be an"),
        ('[daemon]\ndashboard_password = " "\n', "daemon.dashboard_password: must not be blank"),
        ('[database]\nurl = "postgresql://u:hunter2@h:99999/db"\n', "port that is not between"),
        ('[database]\nurl = "sqlite:///file::memory:?uri=true"\n', "in-memory SQLite"),
        (f'[slack]\nchannel_id = "{"C" * 600}"\n', "slack.channel_id: string should have at most"),
        ('[slack]\nchannel_id = "C01\\u0000"\n', "slack.channel_id: must not contain spaces"),
        ('[slack]\nchannel_id = "C01 C02"\n', "slack.channel_id: must not contain spaces"),
        ('[daemon]\nhost = ""\n', "daemon.host: must be a host name or IP address"),
        ('[daemon]\nhost = "0.0.0.0\\n"\n', "daemon.host: must not contain spaces"),
        ('[daemon]\nschedule = "hourly"\n', "daemon.schedule: must be a cron expression of 5"),
        ('[daemon]\nschedule = "0 25 * * *"\n', "daemon.schedule: has '25' as its hour, outside"),
        ('[daemon]\nschedule = "*/0 * * * *"\n', "daemon.schedule: has a step of 0 in its minute"),
        ('[daemon]\nschedule = "0 0 31-1 * *"\n', "daemon.schedule: has the backwards range"),
        ('[daemon]\nschedule = "0 0 * foo *"\n', "daemon.schedule: has 'foo' as its month"),
        ('[daemon]\nschedule = "0 0 * * %"\n', "'%' as its day of week, which is not a cron"),
        ('[database]\nurl = "sqlite:///t.db?timeout=abc"\n', "database.url: has a query option"),
        ('[database]\nurl = "sqlite:///t.db?timeout=5&mode=ro"\n', "take ('mode'); its own"),
        ('[database]\nurl = "sqlite:///t\\n.db"\n', "database.url: must not contain line breaks"),
        ("[cursor]\ntimeout_seconds = nan\n", "cursor.timeout_seconds: input should be a finite"),
        ("[collector]\noverlap_hours = inf\n", "collector.overlap_hours: input should be a finite"),
    ],
)
def test_values_that_would_fail_later_are_refused_naming_key_and_line(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    message = str(caught.value)
    assert f"{path}:2: " in message
    assert problem in message
    assert "hunter2" not in message


def test_usable_values_pass(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[database]\nurl = "postgresql://tracker:pw@db.internal:5432/tracker"\n'
        '[email]\nto = "ops@example.com, Lead <lead@example.com>"\n'
        '[daemon]\ndashboard_url = ""\nschedule = "*/15 9-17,20 1-31/2 jan-dec mon-fri"\n'
    )
    settings = load_settings(path, env={}).settings
    assert settings.email.to == "ops@example.com, Lead <lead@example.com>"
    assert settings.database_url.startswith("postgresql://")
    assert settings.daemon.schedule == "*/15 9-17,20 1-31/2 jan-dec mon-fri"
    for url in ("sqlite:///t.db?mode=ro&uri=true", "sqlite:///t.db?timeout=5"):
        path.write_text(f'[database]\nurl = "{url}"\n')
        assert load_settings(path, env={}).settings.database.url == url
    for schedule in ("", "@daily", "0 * * * *", "59 23 31 12 7"):
        path.write_text(f'[daemon]\nschedule = "{schedule}"\n')
        assert load_settings(path, env={}).settings.daemon.schedule == schedule


def test_every_configured_secret_is_offered_for_scrubbing(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[database]\nurl = "postgresql://tracker:db-pass@localhost/tracker"\n'
        '[slack]\nbot_token = "xoxb-1"\n[daemon]\ncron_secret = "cron-1"\n'
    )
    env = {"CURSOR_ADMIN_API_KEY": "key_admin", "RESEND_API_KEY": "re_1"}
    secrets = load_settings(path, env=env).settings.secret_values()
    assert set(secrets) == {"key_admin", "xoxb-1", "cron-1", "re_1", "db-pass"}


def test_a_password_inside_a_configured_url_is_offered_for_scrubbing(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[cursor]\napi_url = "https://u:p%40ss@proxy.test/"\n')
    env = {"SLACK_API_URL": "https://bot:x@slack.test/api/"}
    secrets = set(load_settings(path, env=env).settings.secret_values())
    assert {"p%40ss", "p@ss", "x"} <= secrets


def test_a_directory_given_as_the_config_file_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path, env={})


def test_a_utf8_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes("\ufeff[collector]\nbackfill_days = 9\n".encode())
    assert load_settings(path, env={}).settings.collector.backfill_days == 9
