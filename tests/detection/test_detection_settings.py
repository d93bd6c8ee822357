"""Detection settings: defaults, one validation gate with messages naming key and range."""

from __future__ import annotations

import pytest

from tracker_core.detection.settings import (
    SETTING_KEYS,
    SETTINGS,
    SPECS,
    DetectionSettings,
    SettingError,
    SettingSpec,
    format_setting,
    parse_setting,
)
from tracker_core.errors import ConfigError

DEFAULTS = {
    "max_spend_per_cycle": 0.0,
    "max_requests_per_day": 0,
    "max_tokens_per_day": 0,
    "zscore_multiplier": 2.5,
    "zscore_window_days": 7,
    "spike_multiplier": 5.0,
    "spike_lookback_days": 7,
    "cycle_outlier_multiplier": 10.0,
    "min_daily_spend": 50.0,
    "min_daily_requests": 100,
}


def test_defaults_are_the_documented_ones() -> None:
    assert DetectionSettings().to_json() == DEFAULTS
    assert list(DetectionSettings().to_json()) == list(DEFAULTS)
    assert tuple(DEFAULTS) == SETTING_KEYS


def test_table_defaults_match_the_dataclass() -> None:
    assert {spec.key: spec.default for spec in SPECS} == DEFAULTS
    assert all(spec.help.strip() for spec in SPECS)


def test_whole_number_keys_give_int_and_the_others_float() -> None:
    as_json = DetectionSettings().to_json()
    for key, spec in SETTINGS.items():
        assert type(as_json[key]) is (int if spec.whole else float), key


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("zscore_multiplier", "2.5", 2.5),
        ("zscore_multiplier", " 3 ", 3.0),
        ("zscore_multiplier", "1", 1.0),
        ("zscore_multiplier", "100", 100.0),
        ("zscore_window_days", "7", 7),
        ("zscore_window_days", "14.0", 14),
        ("zscore_window_days", "90", 90),
        ("max_spend_per_cycle", "500", 500.0),
        ("max_spend_per_cycle", "$1250.50", 1250.5),
        ("max_spend_per_cycle", "0", 0.0),
        ("max_requests_per_day", "2000", 2000),
        ("max_tokens_per_day", "10000000", 10_000_000),
        ("min_daily_spend", "0", 0.0),
        ("min_daily_requests", "250", 250),
    ],
)
def test_parse_accepts_good_values(key: str, text: str, expected: float) -> None:
    value = parse_setting(key, text)
    assert value == expected
    assert type(value) is type(expected)


def test_parse_accepts_json_numbers() -> None:
    assert parse_setting("spike_multiplier", 4) == 4.0
    assert parse_setting("spike_lookback_days", 10.0) == 10


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        (
            "zscore_multiplier",
            "abc",
            "zscore_multiplier must be a number between 1 and 100, got 'abc'",
        ),
        (
            "zscore_multiplier",
            "0.5",
            "zscore_multiplier must be a number between 1 and 100, got '0.5'",
        ),
        (
            "spike_multiplier",
            "100.5",
            "spike_multiplier must be a number between 1 and 100, got '100.5'",
        ),
        (
            "zscore_window_days",
            "7.5",
            "zscore_window_days must be a whole number of days between 1 and 90, got '7.5'",
        ),
        (
            "spike_lookback_days",
            "0",
            "spike_lookback_days must be a whole number of days between 1 and 90, got '0'",
        ),
        (
            "max_requests_per_day",
            "-1",
            "max_requests_per_day must be a whole number between 0 and 1000000 (0 turns it off),"
            " got '-1'",
        ),
        (
            "max_spend_per_cycle",
            "lots",
            "max_spend_per_cycle must be a number of dollars between 0 and 1000000"
            " (0 turns it off), got 'lots'",
        ),
        (
            "min_daily_spend",
            "-5",
            "min_daily_spend must be a number of dollars between 0 and 100000, got '-5'",
        ),
        ("cycle_outlier_multiplier", "", None),
        ("cycle_outlier_multiplier", "nan", None),
        ("cycle_outlier_multiplier", "inf", None),
        ("max_tokens_per_day", "1e400", None),
        (
            "min_daily_requests",
            "1e308",
            "min_daily_requests must be a whole number between 0 and 1000000, got '1e308'",
        ),
        ("max_tokens_per_day", "1e11", None),
    ],
)
def test_parse_rejects_bad_values_naming_key_and_range(
    key: str, text: str, message: str | None
) -> None:
    with pytest.raises(SettingError) as caught:
        parse_setting(key, text)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key} must be ")
    if message is not None:
        assert str(caught.value) == message


def test_parse_rejects_booleans() -> None:
    with pytest.raises(SettingError):
        parse_setting("zscore_window_days", True)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_every_key_accepts_its_bounds_and_rejects_beyond(spec: SettingSpec) -> None:
    key, low, high = spec.key, spec.minimum, spec.maximum
    step = 1 if spec.whole else 0.01
    assert parse_setting(key, str(low)) == low
    with pytest.raises(SettingError):
        parse_setting(key, str(low - step))
    assert parse_setting(key, str(high)) == high
    with pytest.raises(SettingError):
        parse_setting(key, str(high + step))


def test_unknown_key_lists_the_known_keys() -> None:
    with pytest.raises(SettingError) as caught:
        parse_setting("zscore_multipler", "3")
    message = str(caught.value)
    assert "zscore_multipler" in message
    for key in SETTING_KEYS:
        assert key in message


def test_setting_error_is_a_value_error_and_a_config_error() -> None:
    with pytest.raises(ValueError):
        parse_setting("zscore_multiplier", "x")
    with pytest.raises(ConfigError):
        parse_setting("nope", "1")


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(SettingError, match="zscore_multiplier"):
        DetectionSettings(zscore_multiplier=0.5)
    assert DetectionSettings(zscore_window_days=14).zscore_window_days == 14


def test_from_stored_without_values_gives_defaults() -> None:
    settings, problems = DetectionSettings.from_stored({})
    assert settings == DetectionSettings()
    assert problems == []


def test_from_stored_parses_text() -> None:
    settings, problems = DetectionSettings.from_stored(
        {"zscore_multiplier": "3", "max_spend_per_cycle": "500", "spike_lookback_days": "14"}
    )
    assert problems == []
    assert settings.zscore_multiplier == 3.0
    assert settings.max_spend_per_cycle == 500.0
    assert settings.spike_lookback_days == 14
    assert settings.min_daily_spend == 50.0


def test_from_stored_falls_back_to_defaults_and_reports() -> None:
    settings, problems = DetectionSettings.from_stored(
        {"zscore_multiplier": "abc", "zscore_window_days": "500", "spike_multiplier": "6", "x": "1"}
    )
    assert settings.zscore_multiplier == 2.5
    assert settings.zscore_window_days == 7
    assert settings.spike_multiplier == 6.0
    assert len(problems) == 3
    joined = "\n".join(problems)
    assert "zscore_multiplier must be a number between 1 and 100, got 'abc'" in joined
    assert "using the default 2.5" in joined
    assert "zscore_window_days" in joined and "using the default 7" in joined
    assert "unknown stored detection setting 'x'" in joined


def test_format_setting_round_trips() -> None:
    for key, value in {**DEFAULTS, "zscore_multiplier": 2.75, "max_spend_per_cycle": 0.1}.items():
        text = format_setting(key, value)
        assert parse_setting(key, text) == value
    assert format_setting("zscore_window_days", 7) == "7"


@pytest.mark.parametrize("text", ["-0", "-0.0", "$-0"])
def test_a_negative_zero_is_stored_and_shown_as_zero(text: str) -> None:
    value = parse_setting("max_spend_per_cycle", text)
    assert value == 0 and format_setting("max_spend_per_cycle", value) == "0.0"


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("max_spend_per_cycle", "$1,000", 1000.0),
        ("max_spend_per_cycle", "1,000.50", 1000.5),
        ("max_tokens_per_day", "2,000,000", 2_000_000),
    ],
)
def test_a_value_typed_with_thousands_separators_is_read(key: str, text: str, value: float) -> None:
    assert parse_setting(key, text) == value


@pytest.mark.parametrize("text", ["2,5", "1,00", "1,0000"])
def test_a_comma_that_groups_no_thousands_is_refused_not_guessed(text: str) -> None:
    """ "2,5" is how half of Europe writes 2.5: refused, never read as 25."""
    with pytest.raises(SettingError, match="zscore_multiplier must be"):
        parse_setting("zscore_multiplier", text)
