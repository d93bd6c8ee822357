"""Local stand-ins for Slack's ``chat.postMessage`` and Resend's ``POST /emails``.

They are real HTTP servers on 127.0.0.1, so the tests drive the real slack-sdk and resend
clients over real sockets. Replies are scripted: queue them in order with :meth:`FakeService.
script`; once the script runs out, every request succeeds.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tracker_core.alerting.items import AlertItem

SLACK_TOKEN = "xoxb-test-SECRET-0123456789"
RESEND_KEY = "re_test_SECRET_abcdef0123456789"


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer. A ``str`` body is sent as text/plain, anything else as JSON."""

    status: int
    body: object
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    """The parsed JSON body, or None when it was not JSON."""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


class FakeService:
    """A scripted HTTP server: one route, one bearer secret, a log of what it received."""

    def __init__(
        self,
        path: str,
        secret: str,
        success: Callable[[int], Reply],
        unauthorized: Reply,
    ) -> None:
        self.path = path
        self.secret = secret
        self.received: list[Received] = []
        self._success = success
        self._unauthorized = unauthorized
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order."""
        with self._lock:
            self._script.extend(replies)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
            if request.path != self.path:
                return Reply(404, {"error": "not_found"})
            if request.header("Authorization") != f"Bearer {self.secret}":
                return self._unauthorized
            if self._script:
                return self._script.popleft()
            return self._success(len(self.received))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                reply = service._answer(
                    Received("POST", self.path, dict(self.headers.items()), body)
                )
                if isinstance(reply.body, str):
                    payload = reply.body.encode()
                    content_type = "text/plain; charset=utf-8"
                else:
                    payload = json.dumps(reply.body).encode()
                    content_type = "application/json; charset=utf-8"
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# Slack ---------------------------------------------------------------------------------------


def slack_ok(count: int) -> Reply:
    ts = f"1741003300.{count:06d}"
    return Reply(200, {"ok": True, "channel": "C07ALERTS1", "ts": ts, "message": {"ts": ts}})


def slack_error(code: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"ok": False, "error": code}, headers or {})


SLACK_500 = Reply(500, "Internal Server Error")
SLACK_429 = slack_error("ratelimited", status=429, headers={"Retry-After": "1"})
SLACK_CHANNEL_NOT_FOUND = slack_error("channel_not_found")


class FakeSlack(FakeService):
    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/"

    def posts(self) -> list[dict[str, Any]]:
        """The JSON bodies of every ``chat.postMessage`` call, in arrival order."""
        return [r.body for r in self.received if r.path == self.path]


@contextmanager
def serve_slack(token: str = SLACK_TOKEN) -> Iterator[FakeSlack]:
    server = FakeSlack("/api/chat.postMessage", token, slack_ok, slack_error("invalid_auth"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


# Resend --------------------------------------------------------------------------------------


def resend_ok(count: int) -> Reply:
    return Reply(200, {"id": str(uuid.uuid4())})


def resend_error(
    status: int, name: str, message: str, headers: dict[str, str] | None = None
) -> Reply:
    return Reply(status, {"statusCode": status, "message": message, "name": name}, headers or {})


RESEND_500 = resend_error(500, "application_error", "Something went wrong on our side.")
RESEND_429 = resend_error(
    429,
    "rate_limit_exceeded",
    "Too many requests. You can only make 2 requests per second.",
    headers={"retry-after": "1", "ratelimit-limit": "2", "ratelimit-remaining": "0"},
)


class FakeResend(FakeService):
    @property
    def api_url(self) -> str:
        return self.origin

    def emails(self) -> list[Received]:
        return [r for r in self.received if r.path == self.path]


@contextmanager
def serve_resend(key: str = RESEND_KEY) -> Iterator[FakeResend]:
    server = FakeResend(
        "/emails", key, resend_ok, resend_error(403, "invalid_api_key", "API key is invalid")
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def unused_port() -> int:
    """A loopback port nothing listens on (closed right after the OS picked it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def item(incident_id: int, **overrides: Any) -> AlertItem:
    """An alert for incident ``incident_id``; odd ids are critical, even ones warnings."""
    values: dict[str, Any] = {
        "incident_id": incident_id,
        "rule": "spend_spike",
        "email": f"member{incident_id}@example.test",
        "name": f"Member {incident_id}",
        "period": date(2025, 3, 4),
        "value": 1234.56,
        "threshold": 250.0,
        "severity": "critical" if incident_id % 2 else "warning",
        "message": f"Member {incident_id}: daily spend spiked to $1,234.56 (9.9x the 7-day avg)",
        "detected_at": datetime(2025, 3, 4, 9, 30, tzinfo=UTC),
        "top_model": "claude-4-opus",
        "top_model_share": 0.82,
    }
    values.update(overrides)
    return AlertItem(**values)
