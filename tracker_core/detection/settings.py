"""Detection settings: the one place that knows each key's type, range, default and meaning.

The command line (``settings set``), the TUI form and ``PUT /api/settings`` all validate through
:func:`parse_setting`, so a value accepted by one face is accepted by every face, and a rejected
value is explained the same way everywhere: the key and its allowed range.

Values are stored as text in the database. A stored value can stop validating (hand-edited row,
a range tightened by an upgrade); :meth:`DetectionSettings.from_stored` then falls back to that
key's default and reports the problem, so detection keeps running and the caller can warn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Final, Literal

from tracker_core.errors import ConfigError
from tracker_core.text import typed_number

SettingKind = Literal["count", "dollars", "number", "days"]
"""``count`` and ``days`` are whole numbers; ``dollars`` and ``number`` may have decimals."""

SettingValue = int | float


class SettingError(ConfigError, ValueError):
    """A detection setting value (or key) was rejected; the message names the key and range.

    It is a :class:`ConfigError`, so the command line reports it as bad input (exit 2), and a
    :class:`ValueError`, so form and HTTP validation can treat it as plain invalid input.
    """

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """How one setting is typed, bounded and explained."""

    key: str
    kind: SettingKind
    default: SettingValue
    minimum: SettingValue
    maximum: SettingValue
    """Every key has one: far above any team's real figures, it stops a slip of the keyboard
    (``1e308``) from storing a number that silently turns a rule off or overflows a column."""
    help: str
    zero_is_off: bool = False

    @property
    def whole(self) -> bool:
        return self.kind in ("count", "days")

    def describe_range(self) -> str:
        """The allowed values in words, as every rejection message states them."""
        noun = {
            "count": "a whole number",
            "days": "a whole number of days",
            "dollars": "a number of dollars",
            "number": "a number",
        }[self.kind]
        text = f"{noun} between {_plain(self.minimum)} and {_plain(self.maximum)}"
        return f"{text} (0 turns it off)" if self.zero_is_off else text


SPECS: Final[tuple[SettingSpec, ...]] = (
    SettingSpec(
        "max_spend_per_cycle",
        "dollars",
        0.0,
        0,
        1_000_000,
        "Flag a member whose spend this billing cycle exceeds this many dollars.",
        zero_is_off=True,
    ),
    SettingSpec(
        "max_requests_per_day",
        "count",
        0,
        0,
        1_000_000,
        "Flag a member who makes more than this many requests in one UTC day.",
        zero_is_off=True,
    ),
    SettingSpec(
        "max_tokens_per_day",
        "count",
        0,
        0,
        10_000_000_000,
        "Flag a member who uses more than this many tokens (input + output) in one UTC day.",
        zero_is_off=True,
    ),
    SettingSpec(
        "zscore_multiplier",
        "number",
        2.5,
        1,
        100,
        "Standard deviations above the rest of the team at which a day's spend or requests"
        " is flagged.",
    ),
    SettingSpec(
        "zscore_window_days",
        "days",
        7,
        1,
        90,
        "Days of team history before the day that the z-score compares against.",
    ),
    SettingSpec(
        "spike_multiplier",
        "number",
        5.0,
        1,
        100,
        "Flag a day's spend above this many times the member's own average on active days.",
    ),
    SettingSpec(
        "spike_lookback_days",
        "days",
        7,
        1,
        90,
        "Days before the day whose active days (spend > 0) form the member's own average.",
    ),
    SettingSpec(
        "cycle_outlier_multiplier",
        "number",
        10.0,
        1,
        100,
        "Flag cycle spend above this many times the median of the members active this cycle.",
    ),
    SettingSpec(
        "min_daily_spend",
        "dollars",
        50.0,
        0,
        100_000,
        "Dollars a member must spend in a day before a z-score or spike alert on spend.",
    ),
    SettingSpec(
        "min_daily_requests",
        "count",
        100,
        0,
        1_000_000,
        "Requests a member must make in a day before a z-score alert on requests.",
    ),
)
SETTINGS: Final[Mapping[str, SettingSpec]] = {spec.key: spec for spec in SPECS}
SETTING_KEYS: Final[tuple[str, ...]] = tuple(SETTINGS)


def _plain(value: SettingValue) -> str:
    """``2.5`` stays ``2.5``, ``100.0`` becomes ``100``: ranges read like a person wrote them."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _spec(key: str) -> SettingSpec:
    try:
        return SETTINGS[key]
    except KeyError:
        known = ", ".join(SETTING_KEYS)
        raise SettingError(
            f"unknown detection setting {key!r}; known settings: {known}", key=key
        ) from None


def _reject(spec: SettingSpec, raw: object) -> SettingError:
    shown = raw if isinstance(raw, str) else str(raw)
    return SettingError(f"{spec.key} must be {spec.describe_range()}, got {shown!r}", key=spec.key)


def _number(spec: SettingSpec, raw: str | float) -> float:
    """The raw input as a finite float, or the key's rejection."""
    if isinstance(raw, bool):
        raise _reject(spec, raw)
    if isinstance(raw, str):
        text = typed_number(raw, dollars=spec.kind == "dollars")
        try:
            number = float(text)
        except ValueError:
            raise _reject(spec, raw) from None
    else:
        number = float(raw)
    if not math.isfinite(number):
        raise _reject(spec, raw)
    return number


def parse_setting(key: str, text: str | float) -> SettingValue:
    """Validate one setting value; the single gate for every face that edits settings.

    ``text`` is what a person typed (``"2.5"``, ``"$500"`` for dollar keys) or a JSON number.
    Whole-number keys return ``int``, the others ``float``.
    """
    spec = _spec(key)
    number = _number(spec, text)
    if spec.whole and not number.is_integer():
        raise _reject(spec, text)
    if not spec.minimum <= number <= spec.maximum:
        raise _reject(spec, text)
    # ``+ 0.0`` turns a typed "-0" into 0.0, so it is stored and shown as the 0 it means.
    return int(number) if spec.whole else number + 0.0


def format_setting(key: str, value: SettingValue) -> str:
    """The text to store for a value, which :func:`parse_setting` reads back unchanged."""
    spec = _spec(key)
    return str(int(value)) if spec.whole else repr(float(value))


@dataclass(frozen=True, slots=True)
class DetectionSettings:
    """The detector's knobs. Dollars are dollars here; the rules convert to cents."""

    max_spend_per_cycle: float = 0.0
    max_requests_per_day: int = 0
    max_tokens_per_day: int = 0
    zscore_multiplier: float = 2.5
    zscore_window_days: int = 7
    spike_multiplier: float = 5.0
    spike_lookback_days: int = 7
    cycle_outlier_multiplier: float = 10.0
    min_daily_spend: float = 50.0
    min_daily_requests: int = 100

    def __post_init__(self) -> None:
        """Built in code or from storage, a settings object is always within range."""
        for spec in SPECS:
            value = getattr(self, spec.key)
            parsed = parse_setting(spec.key, value)
            object.__setattr__(self, spec.key, parsed)

    @classmethod
    def from_stored(cls, stored: Mapping[str, str]) -> tuple[DetectionSettings, list[str]]:
        """Settings from stored text, plus one problem line per value that was not usable.

        Missing keys take their defaults. A stored value that no longer validates also takes
        its default rather than stopping detection; an unknown stored key is ignored. Both are
        reported so the caller can warn.
        """
        values: dict[str, SettingValue] = {}
        problems: list[str] = []
        for key, text in sorted(stored.items()):
            spec = SETTINGS.get(key)
            if spec is None:
                problems.append(f"ignoring unknown stored detection setting {key!r}")
                continue
            try:
                values[key] = parse_setting(key, text)
            except SettingError as exc:
                problems.append(f"stored {exc}; using the default {_plain(spec.default)}")
        return cls(**values), problems  # type: ignore[arg-type]

    def to_json(self) -> dict[str, SettingValue]:
        """Key to value, in the documented key order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
