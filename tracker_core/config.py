"""Configuration: a TOML file, overridden by environment variables, validated once at load.

The environment variable names are the original tool's (``CURSOR_ADMIN_API_KEY``,
``DATABASE_URL``...), so its users can keep their ``.env``. Every problem becomes a
:class:`~tracker_core.errors.ConfigError` naming the key and where it came from (file and line,
or the variable), and secrets are ``SecretStr`` so they never print.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote, urlsplit

import platformdirs
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from sqlalchemy.engine import make_url

from tracker_core import config_checks as check
from tracker_core.errors import ConfigError

APP_NAME = "cursor-tracker"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# Field types with their checks attached; numbers and booleans are strict, so a quoted "30" or
# "yes" is refused instead of being read as something the person may not have meant.
HttpUrl = Annotated[str, Field(max_length=check.MAX_URL_LENGTH), AfterValidator(check.http_url)]
OptionalHttpUrl = Annotated[
    str, Field(max_length=check.MAX_URL_LENGTH), AfterValidator(check.optional_http_url)
]
Token = Annotated[SecretStr | None, AfterValidator(check.token)]
Password = Annotated[SecretStr | None, AfterValidator(check.password)]
ShortText = Annotated[str, Field(max_length=check.MAX_TEXT_LENGTH)]


class CursorSettings(_Section):
    """How to reach the Cursor Admin and Analytics APIs."""

    admin_api_key: Token = None
    """Admin API key (HTTP Basic username). Required to collect."""
    analytics_api_key: Token = None
    """Analytics API key; the admin key is used when unset."""
    api_url: HttpUrl = "https://api.cursor.com"
    """Base URL of the API; point it at the simulator to try the tool without a key."""
    timeout_seconds: float = Field(30.0, gt=0, le=600, strict=True, allow_inf_nan=False)
    """Per-request timeout; a request that takes longer is retried."""
    max_attempts: int = Field(8, ge=1, le=50, strict=True)
    """Attempts per request before giving up (429, 5xx, timeouts, connection errors)."""
    max_retry_seconds: float = Field(300.0, gt=0, le=3600, strict=True, allow_inf_nan=False)
    """Total time one request may spend retrying."""
    backoff_base_seconds: float = Field(1.0, gt=0, le=60, strict=True, allow_inf_nan=False)
    """First backoff delay when the API gives no Retry-After; doubles on each attempt."""
    admin_requests_per_minute: int = Field(20, ge=1, le=10000, strict=True)
    """Client-side ceiling for the Admin API (Cursor allows 20 per minute per team)."""
    analytics_requests_per_minute: int = Field(100, ge=1, le=10000, strict=True)
    """Client-side ceiling for the Analytics API (Cursor allows 100 per minute per team)."""


class DatabaseSettings(_Section):
    """Where collected data is stored."""

    url: Annotated[
        str, Field(max_length=check.MAX_URL_LENGTH), AfterValidator(check.database_url)
    ] = ""
    """SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``); empty = default file."""


def check_tiers(value: list[list[float]]) -> list[list[float]]:
    """Each tier is ``[every_hours, lookback_hours]`` with a lookback of a minute to 30 days."""
    for n, tier in enumerate(value):
        if len(tier) != 2:
            raise ValueError(f"tier {n + 1} must be [every_hours, lookback_hours]")
        every, lookback = tier
        if not (0 <= every <= 24 * 30 and 0 < lookback <= 24 * 30):
            raise ValueError(
                f"tier {n + 1}: every_hours must be 0 to 720 and lookback_hours above 0 up to 720"
            )
    return value


class CollectorSettings(_Section):
    """How much to fetch on each collection pass."""

    backfill_days: int = Field(30, ge=1, le=365, strict=True)
    """Days fetched on the first run (and for a stream that has never succeeded)."""
    overlap_hours: float = Field(48.0, ge=0, le=24 * 30, strict=True, allow_inf_nan=False)
    """Re-fetched on every run when ``refetch_tiers`` is empty (the fixed overlap); analytics
    re-reads this many hours' worth of days."""
    refetch_tiers: Annotated[list[list[float]], AfterValidator(check_tiers)] = Field(
        default_factory=lambda: [[0.0, 0.25], [12.0, 12.0], [24.0, 48.0]]
    )
    """[every_hours, lookback_hours] pairs: re-read the last lookback hours that often (0: every
    run), each from its own previous run; events delivered within the longest lookback are
    caught. Empty: ``overlap_hours`` on every run."""
    snapshot_every_hours: float = Field(6.0, ge=0, le=24 * 7, strict=True, allow_inf_nan=False)
    """Members, billing groups and daily usage are read whole, whatever changed, so they are
    read again only after this many hours (0: on every run); members at once when events name
    someone not yet listed."""
    spend_every_hours: float = Field(6.0, ge=0, le=24 * 7, strict=True, allow_inf_nan=False)
    """The cycle's spend per member is read again after this many hours (0: on every run),
    and at once when the billing cycle has rolled over since the last read."""
    max_run_minutes: float = Field(10.0, gt=0, le=60, strict=True, allow_inf_nan=False)
    """Minutes of the Admin rate limit one run may spend; a re-fetch of the past that would
    go beyond is left to the next run, which resumes it (new events are always read first)."""
    refetch_chunk_hours: float = Field(12.0, gt=0, le=24 * 7, strict=True, allow_inf_nan=False)
    """A re-fetch is committed in stretches of this many hours; a stopped one resumes there."""
    events_window_days: int = Field(7, ge=1, le=30, strict=True)
    """Usage events are fetched in windows of this many days; progress is saved per window."""
    batch_size: int = Field(2000, ge=1, le=100_000, strict=True)
    """Rows written per database transaction."""
    analytics: bool = Field(True, strict=True)
    """Also collect the Analytics API team metrics."""
    lease_wait_seconds: float = Field(10.0, ge=0, le=3600, strict=True, allow_inf_nan=False)
    """How long a second collector waits for the first to finish before giving up."""


class SlackSettings(_Section):
    """Slack alerts (chat.postMessage); off while the token or channel is unset."""

    bot_token: Token = None
    channel_id: Annotated[ShortText, AfterValidator(check.no_control)] = ""
    api_url: HttpUrl = "https://slack.com/api/"


class EmailSettings(_Section):
    """Email alerts through Resend; off while the key or recipient is unset."""

    resend_api_key: Token = None
    to: Annotated[str, Field(max_length=check.MAX_URL_LENGTH), AfterValidator(check.recipients)] = (
        ""
    )
    """Recipients, separated by commas."""
    from_address: Annotated[ShortText, AfterValidator(check.sender)] = Field(
        "Cursor Tracker <alerts@resend.dev>", alias="from"
    )
    api_url: HttpUrl = "https://api.resend.com"


class DaemonSettings(_Section):
    """The HTTP daemon: schedule, endpoints and dashboard."""

    host: Annotated[ShortText, AfterValidator(check.host)] = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535, strict=True)
    dashboard_url: OptionalHttpUrl = "http://localhost:8080"
    """Base of the links in alerts."""
    cron_secret: Token = None
    """Required ``x-cron-secret`` header on ``POST /api/cron``; refused by all while unset."""
    dashboard_password: Password = None
    """HTTP basic auth for the dashboard and API; unset, the daemon listens on loopback only."""
    dashboard_user: Annotated[ShortText, AfterValidator(check.basic_user)] = "admin"
    """User name of that basic auth."""
    schedule: Annotated[ShortText, AfterValidator(check.cron_schedule)] = "0 * * * *"
    """Cron expression (UTC) of the collect-and-detect job; empty turns the schedule off."""
    jitter_seconds: float = Field(0.0, ge=0, le=3600, strict=True, allow_inf_nan=False)
    """Each scheduled run starts up to this much later, at random, so that many instances on
    the same schedule do not all call Cursor in the same second."""
    grace_seconds: float = Field(30.0, ge=0, le=3600, strict=True, allow_inf_nan=False)
    """On SIGTERM or SIGINT, how long a running job may go on before it is cancelled."""
    max_body_bytes: int = Field(65536, ge=1024, le=16 * 1024 * 1024, strict=True)
    """Largest request body accepted (413 above it), the imports' files excepted."""
    max_upload_bytes: int = Field(8 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024, strict=True)
    """Largest body of an import (the dashboard's HiBob import, ``POST /api/groups/import``
    and ``/api/groups/restore``): a company's People Directory export runs to hundreds of
    KiB, every other request is small. Never below ``max_body_bytes``."""

    @property
    def upload_limit(self) -> int:
        """What an import's body may hold: ``max_upload_bytes``, or ``max_body_bytes`` when
        that is the larger."""
        return max(self.max_upload_bytes, self.max_body_bytes)


class Settings(_Section):
    """Everything the tracker reads from its configuration file and environment."""

    cursor: CursorSettings = CursorSettings()
    database: DatabaseSettings = DatabaseSettings()
    collector: CollectorSettings = CollectorSettings()
    slack: SlackSettings = SlackSettings()
    email: EmailSettings = EmailSettings()
    daemon: DaemonSettings = DaemonSettings()

    @property
    def database_url(self) -> str:
        """The configured database, else a SQLite file in the user's data directory."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{default_data_dir() / 'tracker.db'}"

    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret in clear, for scrubbing text that is about to be shown."""
        keys = (
            self.cursor.admin_api_key,
            self.cursor.analytics_api_key,
            self.slack.bot_token,
            self.email.resend_api_key,
            self.daemon.cron_secret,
            self.daemon.dashboard_password,
        )
        values = [key.get_secret_value() for key in keys if key is not None]
        if self.database.url:
            password = make_url(self.database.url).password
            if password:
                values.append(str(password))
        for url in (
            self.cursor.api_url,
            self.slack.api_url,
            self.email.api_url,
            self.daemon.dashboard_url,
        ):
            # A proxy's credentials in a URL are as secret as a key: masked wherever they show.
            password = urlsplit(url).password
            if password:
                values += [password, unquote(password)]
        return tuple(values)


ENVIRONMENT: Mapping[str, tuple[str, str]] = {
    "CURSOR_ADMIN_API_KEY": ("cursor", "admin_api_key"),
    "CURSOR_ANALYTICS_API_KEY": ("cursor", "analytics_api_key"),
    "CURSOR_API_URL": ("cursor", "api_url"),
    "DATABASE_URL": ("database", "url"),
    "SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "SLACK_CHANNEL_ID": ("slack", "channel_id"),
    "SLACK_API_URL": ("slack", "api_url"),
    "RESEND_API_KEY": ("email", "resend_api_key"),
    "ALERT_EMAIL_TO": ("email", "to"),
    "ALERT_EMAIL_FROM": ("email", "from"),
    "RESEND_API_URL": ("email", "api_url"),
    "DASHBOARD_URL": ("daemon", "dashboard_url"),
    "CRON_SECRET": ("daemon", "cron_secret"),
    "DASHBOARD_PASSWORD": ("daemon", "dashboard_password"),
    "DASHBOARD_USER": ("daemon", "dashboard_user"),
}
"""Environment variables that override the file, and the key each one sets."""


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/cursor-tracker`` (or the platform's equivalent)."""
    return platformdirs.user_data_path(APP_NAME)


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/cursor-tracker/config.toml`` (or the platform's equivalent)."""
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def find_config_file(explicit: str | Path | None, env: Mapping[str, str]) -> Path | None:
    """The file to read: ``--config``, else ``$CURSOR_TRACKER_CONFIG``, else ``./config.toml``,
    else the user's config directory; ``None`` when no file exists (defaults apply).

    A path named explicitly must exist: silently ignoring a typo would run with defaults.
    """
    if explicit is not None and not str(explicit).strip():
        raise ConfigError("--config was given an empty path")
    for source, value in (
        ("--config", explicit),
        ("CURSOR_TRACKER_CONFIG", env.get("CURSOR_TRACKER_CONFIG")),
    ):
        if value:
            path = Path(value).expanduser()
            if path.is_dir():
                raise ConfigError(f"configuration file {path} (from {source}) is a directory")
            if not path.is_file():
                raise ConfigError(f"configuration file {path} (from {source}) does not exist")
            return path
    for candidate in (Path("config.toml"), default_config_path()):
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class LoadedSettings:
    """Settings plus where they came from, for messages and ``--help`` output."""

    settings: Settings
    path: Path | None


def load_settings(
    explicit_path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> LoadedSettings:
    """Read, merge and validate the configuration; raise ConfigError naming the bad key."""
    environ = os.environ if env is None else env
    path = find_config_file(explicit_path, environ)
    raw: dict[str, Any] = {}
    text = ""
    if path is not None:
        try:
            # utf-8-sig: Windows editors start a UTF-8 file with a byte-order mark.
            text = path.read_text(encoding="utf-8-sig")
            raw = tomllib.loads(text)
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                f"{exc.start}); save the file as UTF-8"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from exc

    origins: dict[tuple[str, str], str] = {}
    for variable, (section, key) in ENVIRONMENT.items():
        value = environ.get(variable)
        if value is None or value == "":
            continue
        target = raw.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(_where(path, text, (section,)) + f": [{section}] must be a table")
        target[key] = value
        origins[(section, key)] = variable

    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, text, origins)) from None
    return LoadedSettings(settings=settings, path=path)


def _describe(
    exc: ValidationError, path: Path | None, text: str, origins: Mapping[tuple[str, str], str]
) -> str:
    """One line per problem: which key, where it was set, and what is wrong with it."""
    lines = []
    for error in exc.errors():
        location = tuple(str(part) for part in error["loc"])
        key = ".".join(location)
        if error["type"] == "extra_forbidden":
            problem = "unknown key" + _suggestion(location)
        elif error["type"] == "value_error":
            problem = str(error.get("ctx", {}).get("error", error["msg"]))
        else:
            problem = error["msg"][0].lower() + error["msg"][1:]
        variable = origins.get((location[0], location[1])) if len(location) >= 2 else None
        where = f"environment variable {variable}" if variable else _where(path, text, location)
        lines.append(f"{where}: {key}: {problem}")
    return "invalid configuration\n  " + "\n  ".join(lines)


def _suggestion(location: tuple[str, ...]) -> str:
    """``"; did you mean backfill_days?"`` when a known key is spelled nearly the same."""
    model: type[BaseModel] = Settings
    for part in location[:-1]:
        field = model.model_fields.get(part)
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    known = [field.alias or name for name, field in model.model_fields.items()]
    close = difflib.get_close_matches(location[-1], known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _where(path: Path | None, text: str, location: tuple[str, ...]) -> str:
    """``file:line`` of a key, found by scanning the TOML text (tomllib keeps no positions)."""
    if path is None:
        return "defaults"
    section, key = (*location, "", "")[:2]
    current = ""
    header = re.compile(r"^\s*\[([^\]]+)\]")
    for number, line in enumerate(text.splitlines(), start=1):
        match = header.match(line)
        if match:
            current = match.group(1).strip()
            if current == section and not key:
                return f"{path}:{number}"
            continue
        if current == section and key and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return f"{path}:{number}"
    return str(path)
