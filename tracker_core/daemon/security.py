"""What stands between the network and the handlers: errors as JSON, body limits, auth and
the response headers.

The original tool checked nothing but the cron secret, accepted it in the query string (where
access logs keep it) and compared it with ``!==``. Here every secret is compared in constant
time (user name and password both, so the time says nothing about which was wrong), the cron
secret is read from its header only, an unset secret refuses rather than opens, and a failed
login is logged without what was typed and answered only after a delay.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Container
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from tracker_core.daemon.access_log import loggable_path
from tracker_core.redact import redact
from tracker_core.text import printable

log = logging.getLogger("tracker_core.daemon.security")

Sleep = Callable[[float], Awaitable[None]]

PUBLIC_PATHS: Final = frozenset({"/healthz", "/api/cron"})
"""Served without the dashboard login: the health check is for load balancers and container
engines; ``/api/cron`` has a secret of its own."""
CRON_PATH: Final = "/api/cron"
CRON_HEADER: Final = "x-cron-secret"
FAILED_LOGIN_DELAY_SECONDS: Final = 1.0
"""Each failed login waits this long before its 401, in turn with the client's other failures
(:class:`Refusals`): a guesser gets one try a second however many connections it opens, a
person who mistyped barely notices."""
WRITING_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class BadInput(Exception):
    """A request the daemon refuses: answered ``{"error": message, "field": field}``."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


def error_response(
    status: int, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status, headers=headers)


_REASONS: Final = {
    404: "no such route",
    405: "method not allowed on this route",
    413: "request body too large",
}


class BodyLimit:
    """How large a request's body may be: ``max_body`` bytes, ``max_upload`` for a ``POST``
    to one of the ``uploads`` paths (the imports, which carry a whole file; the settings'
    ``upload_limit`` keeps it at least ``max_body``)."""

    def __init__(self, max_body: int, max_upload: int, uploads: Container[str]) -> None:
        self.max_body = max_body
        self.max_upload = max_upload
        self._uploads = uploads

    def of(self, request: web.Request) -> int:
        if request.method == "POST" and request.path in self._uploads:
            return self.max_upload
        return self.max_body


def error_middleware(
    secrets: tuple[str, ...], count: Callable[[web.Request, int], None], limit: BodyLimit
) -> Middleware:
    """Every answer that is not a success becomes ``{"error": ...}``; each one is counted."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except BadInput as exc:
            response = error_response(exc.status, redact(exc.message, secrets), field=exc.field)
        except web.HTTPException as exc:
            message = _REASONS.get(exc.status, exc.reason)
            if exc.status == 413:
                message = f"request body too large (at most {limit.of(request)} bytes)"
            headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "WWW-Authenticate")}
            response = error_response(exc.status, message, headers=headers)
        except Exception as exc:
            log.error(
                "unhandled error on %s %s: %s: %s",
                request.method,
                loggable_path(request.path, secrets),
                type(exc).__name__,
                redact(str(exc), secrets),
            )
            response = error_response(500, "internal error; the daemon's log says more")
        count(request, response.status)
        return response

    return middleware


def body_middleware(limit: BodyLimit) -> Middleware:
    """413 before reading a body that says it is too big; 415 for an API body that is not JSON
    (the dashboard's pages post HTML forms, checked by the pages themselves).

    The application reads at most ``max_body`` bytes of any body (its ``client_max_size``),
    so a body sent without its length is cut there too; an import's request is handed on
    with the larger limit of its own.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        allowed = limit.of(request)
        length = request.content_length
        if length is not None and length > allowed:
            raise BadInput(
                f"request body too large ({length} bytes; at most {allowed})", status=413
            )
        if allowed != limit.max_body:
            request = request.clone(client_max_size=allowed)
        if (
            request.method in WRITING_METHODS
            and request.path.startswith("/api/")
            and request.body_exists
            and request.content_type != "application/json"
        ):
            raise BadInput(
                f"request body must be JSON (Content-Type: application/json), "
                f"got {request.content_type or 'none'}",
                status=415,
            )
        return await handler(request)

    return middleware


def _credentials(header: str) -> tuple[bytes, bytes] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    return user, password


class Refusals:
    """The wait before a refused login or cron secret, taken in turn per client address.

    A delay per request alone bounds nothing: a guesser with a thousand connections open
    gets a thousand guesses a second. Here each client's refusals queue behind each other,
    so it gets one a second whatever it opens; a right answer never waits.
    """

    def __init__(self, sleep: Sleep, delay: float = FAILED_LOGIN_DELAY_SECONDS) -> None:
        self._sleep = sleep
        self._delay = delay
        self._turns: dict[str, asyncio.Lock] = {}
        self._queued: Counter[str] = Counter()

    async def wait(self, client: str | None) -> None:
        key = client or ""
        turn = self._turns.setdefault(key, asyncio.Lock())
        self._queued[key] += 1
        try:
            async with turn:
                await self._sleep(self._delay)
        finally:
            self._queued[key] -= 1
            if not self._queued[key]:  # nobody left in line: forget the client
                del self._queued[key], self._turns[key]


def auth_middleware(
    user: str,
    password: str | None,
    refusals: Refusals,
    secrets: tuple[str, ...] = (),
) -> Middleware:
    """HTTP Basic auth on every route but :data:`PUBLIC_PATHS` while a password is set;
    ``secrets`` are masked in what a refusal logs."""
    expected_user = user.encode()
    expected_password = (password or "").encode()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if password is None or request.path in PUBLIC_PATHS:
            return await handler(request)
        given = _credentials(request.headers.get("Authorization", ""))
        if given is not None:
            # Both compared whatever the first says (no short-circuit), in constant time.
            user_ok = hmac.compare_digest(given[0], expected_user)
            password_ok = hmac.compare_digest(given[1], expected_password)
            if user_ok & password_ok:
                return await handler(request)
        log.warning(
            "failed login from %s on %s %s (%s)",
            request.remote,
            request.method,
            loggable_path(request.path, secrets),
            "no credentials" if given is None else "wrong user name or password",
        )
        await refusals.wait(request.remote)
        raise BadInput(
            "authentication required (HTTP basic auth: DASHBOARD_USER / DASHBOARD_PASSWORD)",
            status=401,
        )

    return middleware


LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower().rstrip(".") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_host_middleware(also: str | None = None) -> Middleware:
    """Without a password the daemon listens on loopback only, and answers only requests
    addressed to a loopback name or to ``also`` (the host of ``DASHBOARD_URL``, the name a
    proxy in front serves it under); 421 otherwise, ``/healthz`` excepted.

    A web page whose own name its DNS server then points at 127.0.0.1 (DNS rebinding) is,
    to the browser, on the same origin as what it reaches there: it could read every figure
    and post every form. Its requests still carry its own name in ``Host``.
    """
    named = (also or "").lower().rstrip(".")

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            name = urlsplit(f"//{request.host}").hostname or ""
        except ValueError:  # "[bad", say: no name at all
            name = ""
        known = is_loopback(name) or (named and name.lower().rstrip(".") == named)
        if request.path != "/healthz" and not known:
            raise BadInput(
                f"this daemon has no password, so it answers only requests addressed to "
                f"localhost, 127.0.0.1, [::1] or the host of DASHBOARD_URL, not "
                f"{printable(name)!r}; set DASHBOARD_PASSWORD to serve it under other names",
                status=421,
            )
        return await handler(request)

    return middleware


def check_cron_secret(request: web.Request, secret: str | None) -> None:
    """The ``x-cron-secret`` header against ``CRON_SECRET``; raise BadInput when refused."""
    if "secret" in request.query:
        raise BadInput(
            "the cron secret goes in the x-cron-secret header, never in the query string "
            "(where logs and proxies keep it)",
            field="secret",
        )
    if secret is None:
        raise BadInput("POST /api/cron is refused while CRON_SECRET is not set", status=403)
    given = request.headers.get(CRON_HEADER)
    if given is None:
        raise BadInput(f"missing the {CRON_HEADER} header", field=CRON_HEADER, status=401)
    if not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("wrong cron secret from %s", request.remote)
        raise BadInput(f"wrong {CRON_HEADER}", field=CRON_HEADER, status=401)


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The security headers on every answer, errors included; nothing is ever cached."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Cache-Control"] = "no-store"
    if response.status == 401 and request.path not in PUBLIC_PATHS:
        response.headers["WWW-Authenticate"] = 'Basic realm="cursor-tracker", charset="UTF-8"'


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; BadInput (400) when it is missing or not JSON."""
    if not request.body_exists:
        raise BadInput("a JSON body is required", field="body")
    raw = await request.read()
    try:
        text = raw.decode(request.charset or "utf-8")
    except LookupError:
        raise BadInput(f"unknown charset {request.charset!r}; send UTF-8", field="body") from None
    except UnicodeDecodeError:
        raise BadInput("the body is not UTF-8 text", field="body") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"the body is not valid JSON: {exc.msg}", field="body") from None
    except RecursionError:
        raise BadInput("the body's JSON is nested too deeply", field="body") from None
    except ValueError as exc:  # a number of thousands of digits, say
        raise BadInput(f"the body is not usable JSON: {exc}", field="body") from None
