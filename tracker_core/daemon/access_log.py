"""One structured line per request: method, path, status, duration, client.

The query string is left out (it is where a careless caller puts a secret, and the original
tool accepted its cron secret there), no header is logged (Authorization above all), and
configured secrets are masked should one appear in a path anyway.
"""

from __future__ import annotations

import json
import logging
import re

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from tracker_core.redact import redact

ACCESS_LOGGER = "tracker_core.daemon.access"


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def loggable_path(path: str, secrets: tuple[str, ...]) -> str:
    """``path`` as a plain-text log line may hold it: secrets masked (:func:`masked_path`) and
    control characters escaped, so that a crafted path (``/x%0A2026-11-30 ... INFO ...``)
    cannot start a line of its own that reads like the daemon's."""
    return _UNPRINTABLE.sub(
        lambda match: match.group().encode("unicode_escape").decode("ascii"),
        masked_path(path, secrets),
    )


def masked_path(path: str, secrets: tuple[str, ...]) -> str:
    """``path`` with every segment that is (or holds) a configured secret masked.

    Segment by segment, because :func:`redact` treats ``/`` as part of a token (base64 has
    it), so a secret sent as ``/api/users/<secret>`` would not stand alone there.
    """
    return "/".join(redact(segment, secrets) for segment in path.split("/"))


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access logger, writing one JSON object per request."""

    secrets: tuple[str, ...] = ()
    """Set by the daemon before it serves (aiohttp builds the logger itself)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        line = {
            "method": request.method,
            "path": masked_path(request.path, self.secrets),
            "status": response.status,
            "duration_ms": round(time * 1000, 2),
            "remote": request.remote,
        }
        self.logger.info(json.dumps(line))


def access_logger_for(secrets: tuple[str, ...]) -> type[AccessLogger]:
    """An access logger class that masks ``secrets`` (aiohttp wants a class, not an object)."""
    return type("ConfiguredAccessLogger", (AccessLogger,), {"secrets": secrets})


def access_log() -> logging.Logger:
    return logging.getLogger(ACCESS_LOGGER)


class RedactingFilter(logging.Filter):
    """Masks configured secrets in every record a handler writes, whoever logged it (a
    library quoting a URL, an error carrying a header): the last guard, not the only one."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            record.msg = redact(record.getMessage(), self._secrets)
            record.args = None
        return True


def configure_logging(secrets: tuple[str, ...]) -> None:
    """Log lines (access log included) to stderr, each with its time, level and source."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Migrations at start and every HTTP request to Cursor are noise at INFO in a service log.
    for chatty in ("alembic", "httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
