"""Checks of configuration values whose type alone says too little (URLs, keys, addresses).

Each check is a pure function that returns the value or raises ``ValueError`` with a message
that completes "KEY: ..." in the configuration error. A value that would only fail later
(a key with a stray newline that no HTTP header can carry, a database that keeps nothing) is
refused here, where the message can still name the key and the file or variable it came from.
Messages never repeat a secret, nor a password found inside a URL.
"""

from __future__ import annotations

import re
import warnings
from urllib.parse import urlsplit

from pydantic import SecretStr
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SAWarning

MAX_URL_LENGTH = 2048
MAX_TEXT_LENGTH = 512
MAX_SECRET_LENGTH = 1024

SQLITE_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite"})
POSTGRES_DRIVERS = frozenset({"postgresql", "postgres", "postgresql+psycopg"})
DATABASE_EXAMPLES = "sqlite:////abs/path/tracker.db or postgresql://user@host/dbname"

_CONTROL_OR_SPACE = re.compile(r"[\s\x00-\x1f\x7f]")
_ADDRESS = re.compile(r"^[^\s@<>,]+@[^\s@<>,]+\.[^\s@<>,]+$")
_NAMED_ADDRESS = re.compile(r"^[^<>]*<([^<>]+)>$")


def http_url(value: str) -> str:
    """An ``http://`` or ``https://`` URL with a host: anything else cannot be requested."""
    text = value.strip()
    if not text:
        raise ValueError("must be an http:// or https:// URL, got an empty value")
    if _CONTROL_OR_SPACE.search(text):
        raise ValueError("must be a URL without spaces or control characters")
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # an unclosed IPv6 bracket, for one
        raise ValueError(f"is not a URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"the scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise ValueError(f"must be an http:// or https:// URL, got {shown}")
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ValueError("has a port that is not a number between 0 and 65535") from None
    if not parts.hostname:
        raise ValueError("must name a host, as in https://host/")
    return text


def optional_http_url(value: str) -> str:
    """Empty (the feature is off) or an http(s) URL."""
    return value if not value.strip() else http_url(value)


def _secret_text(value: SecretStr) -> str:
    secret = value.get_secret_value()
    if not secret.strip():
        raise ValueError("must not be blank")
    if len(secret) > MAX_SECRET_LENGTH:
        raise ValueError(f"is longer than {MAX_SECRET_LENGTH} characters")
    return secret


def token(value: SecretStr | None) -> SecretStr | None:
    """An API key or token sent in an HTTP header: not blank, no spaces or control characters."""
    if value is None:
        return None
    secret = _secret_text(value)
    if _CONTROL_OR_SPACE.search(secret):
        raise ValueError(
            "must not contain spaces, line breaks or control characters (check for a stray "
            "newline or quote when it was pasted)"
        )
    return value


def password(value: SecretStr | None) -> SecretStr | None:
    """A password people type: anything but blank or control characters."""
    if value is None:
        return None
    secret = _secret_text(value)
    if re.search(r"[\x00-\x1f\x7f]", secret):
        raise ValueError("must not contain line breaks or control characters")
    return value


def _address(item: str) -> str | None:
    """The bare address of ``a@b.c`` or ``Name <a@b.c>``, or None when it is neither.

    A line break or control character anywhere, the display name included, makes it neither:
    in a mail header it would start a header of its own.
    """
    if re.search(r"[\x00-\x1f\x7f]", item):
        return None
    named = _NAMED_ADDRESS.match(item)
    address = named.group(1).strip() if named else item
    return address if _ADDRESS.match(address) else None


def recipients(value: str) -> str:
    """Empty (email alerts off) or a comma-separated list of at least one address."""
    if not value.strip():
        return ""
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise ValueError("lists no email address (separate several addresses with commas)")
    for item in items:
        if _address(item) is None:
            raise ValueError(f"{item!r} is not an email address")
    return ", ".join(items)


def sender(value: str) -> str:
    """One address, bare or as ``Name <address>``."""
    if _address(value.strip()) is None:
        raise ValueError("must be one email address, as in 'Alerts <alerts@example.com>'")
    return value.strip()


def _is_in_memory(url: URL) -> bool:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return True
    mode = url.query.get("mode", ())
    return "memory" in ((mode,) if isinstance(mode, str) else mode)


def database_url(value: str) -> str:
    """Empty (the default file) or a SQLite file or PostgreSQL URL this tracker can open.

    An in-memory SQLite database is refused: every command opens its own connection, so what
    one collects would vanish as it exits while reporting success.
    """
    text = value.strip()
    if not text:
        return ""
    if re.search(r"[\x00-\x1f\x7f]", text):
        raise ValueError("must not contain line breaks or control characters")
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise ValueError(f"is not a database URL; expected {DATABASE_EXAMPLES}") from None
    driver = url.drivername
    if driver in SQLITE_DRIVERS:
        if _is_in_memory(url):
            raise ValueError(
                "is an in-memory SQLite database, which keeps nothing once the command ends; "
                "give a file, as in sqlite:////abs/path/tracker.db"
            )
        _sqlite_options(url)
        return text
    if driver in POSTGRES_DRIVERS:
        if url.port is not None and not 1 <= url.port <= 65535:
            raise ValueError("has a port that is not between 1 and 65535")
        return text
    raise ValueError(
        f"names the unsupported database driver {driver!r}; expected {DATABASE_EXAMPLES}"
    )


def no_control(value: str) -> str:
    """An identifier (a Slack channel, a host): no spaces, line breaks or control characters,
    which no API or socket would accept and which would only fail at the first alert."""
    if _CONTROL_OR_SPACE.search(value):
        raise ValueError("must not contain spaces, line breaks or control characters")
    return value


def host(value: str) -> str:
    """An address to listen on: a host name or IP address, never blank."""
    if not value.strip():
        raise ValueError("must be a host name or IP address, as in 127.0.0.1, got an empty value")
    return no_control(value)


def basic_user(value: str) -> str:
    """A basic-auth user name: not blank, no colon (the header splits on the first one)."""
    if not value.strip():
        raise ValueError("must not be blank")
    if ":" in value:
        raise ValueError(
            "must not contain ':' (HTTP basic auth separates user and password with it)"
        )
    return no_control(value)


_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    ),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
_CRON_MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_CRON_ITEM = re.compile(r"^(?:\*|(?P<low>\w+)(?:-(?P<high>\w+))?)(?:/(?P<step>\d+))?$")


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...], field: str) -> int:
    offset = 1 if field == "month" else 0
    if text.lower() in names:
        return names.index(text.lower()) + offset
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"has {text!r} as its {field}, outside {low}-{high}")
    return int(text)


def cron_schedule(value: str) -> str:
    """Empty (no schedule) or a five-field cron expression (UTC), checked field by field.

    A schedule that cannot be read would otherwise be accepted now and refused only when the
    daemon starts, far from the file that holds it.
    """
    text = value.strip()
    if not text or text.lower() in _CRON_MACROS:
        return text
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            f"must be a cron expression of 5 fields (minute hour day month weekday), as in "
            f"'0 * * * *', got {len(fields)}"
        )
    for part, (field, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for item in part.split(","):
            match = _CRON_ITEM.match(item)
            if match is None:
                raise ValueError(f"has {item!r} as its {field}, which is not a cron field")
            if match["step"] is not None and int(match["step"]) == 0:
                raise ValueError(f"has a step of 0 in its {field}")
            if match["low"] is not None:
                first = _cron_value(match["low"], low, high, names, field)
                if match["high"] is not None:
                    last = _cron_value(match["high"], low, high, names, field)
                    if last < first:
                        raise ValueError(f"has the backwards range {item!r} as its {field}")
    return text


def _sqlite_options(url: URL) -> None:
    """Refuse query options the SQLite driver would reject or silently ignore.

    The driver reads them only when a connection is made, so ``?timeout=abc`` used to end in a
    traceback and ``?mode=ro`` without ``uri=true`` in a database opened read-write.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        try:
            url.get_dialect()().create_connect_args(url)
        except SAWarning as exc:
            named = re.search(r"argument\(s\) (.+?) are not accepted", str(exc))
            unknown = named.group(1) if named else ", ".join(repr(key) for key in url.query)
            raise ValueError(
                f"has query options SQLite does not take ({unknown}); its own options, such as "
                "mode=ro, need uri=true as well"
            ) from exc
        except (ValueError, TypeError) as exc:
            raise ValueError(f"has a query option SQLite cannot use: {exc}") from None
