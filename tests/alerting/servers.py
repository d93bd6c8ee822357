"""Local stand-ins for Slack's ``chat.postMessage`` and Resend's ``POST /emails``.

They are real HTTP servers on 127.0.0.1, so the tests drive the real slack-sdk and resend
clients over real sockets. Replies are scripted: queue them in order with :meth:`FakeService.
script`; once the script runs out, every request succeeds.

The Slack stand-in also keeps the channel: every accepted post is stored with its metadata and
``conversations.history`` answers from it. It can hold a post's answer until told to let go
(Slack slower than the client's timeout), having stored the message or not.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tracker_core.alerting.items import AlertItem

SLACK_TOKEN = "xoxb-test-SECRET-0123456789"
RESEND_KEY = "re_test_SECRET_abcdef0123456789"


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer. A ``str`` body is sent as text/plain, anything else as JSON."""

    status: int
    body: object
    headers: dict[str, str] = field(default_factory=dict)


DROP = Reply(0, "")
"""Scripted as a reply: the request is taken, then the connection closes without an answer."""


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
        self._let_go()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def authorized(self, request: Received) -> bool:
        return request.header("Authorization") == f"Bearer {self.secret}"

    def _answer(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
            if request.path != self.path:
                return self._other(request)
            if not self.authorized(request):
                return self._unauthorized
            reply = self._script.popleft() if self._script else self._success(len(self.received))
            self._accepted(request, reply)
            return reply

    def _other(self, request: Received) -> Reply:
        """The answer on any path but the main route (called holding the lock)."""
        return Reply(404, {"error": "not_found"})

    def _accepted(self, request: Received, reply: Reply) -> None:
        """Hook: the main route answered ``reply`` (called holding the lock)."""

    def _before_reply(self, request: Received) -> None:
        """Hook: runs between answering and replying, outside the lock (a late answer)."""

    def _let_go(self) -> None:
        """Hook: release whatever :meth:`_before_reply` is waiting for."""

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                params = dict(parse_qsl(query, keep_blank_values=True))
                self._reply(Received("GET", path, dict(self.headers.items()), params))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                body: Any
                if (self.headers.get("Content-Type") or "").startswith(
                    "application/x-www-form-urlencoded"
                ):
                    # slack-sdk sends the arguments of a read such as conversations.history
                    # as a form.
                    body = dict(parse_qsl(raw.decode(), keep_blank_values=True))
                else:
                    try:
                        body = json.loads(raw) if raw else None
                    except ValueError:
                        body = None
                self._reply(Received("POST", self.path, dict(self.headers.items()), body))

            def _reply(self, request: Received) -> None:
                reply = service._answer(request)
                service._before_reply(request)
                if reply is DROP:
                    self.close_connection = True
                    return
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
                try:
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (timed out, or was killed)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# Slack ---------------------------------------------------------------------------------------


def slack_ok(count: int) -> Reply:
    """Slack's answer to an accepted post; ``ts`` is Slack's clock (the real one), made unique."""
    ts = f"{int(time.time())}.{count:06d}"
    return Reply(200, {"ok": True, "channel": "C07ALERTS1", "ts": ts, "message": {"ts": ts}})


def slack_error(code: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"ok": False, "error": code}, headers or {})


SLACK_500 = Reply(500, "Internal Server Error")
SLACK_429 = slack_error("ratelimited", status=429, headers={"Retry-After": "1"})
SLACK_CHANNEL_NOT_FOUND = slack_error("channel_not_found")


HISTORY_PATH = "/api/conversations.history"


class FakeSlack(FakeService):
    """``chat.postMessage`` plus the channel it posts to, readable through
    ``conversations.history`` as Slack answers it (newest first, ``oldest``, ``limit``,
    ``cursor``, metadata only with ``include_all_metadata``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channel_messages: list[dict[str, Any]] = []
        """Every message Slack accepted, oldest first."""
        self.history_scope = True
        """False: the token lacks channels:history and the history answers missing_scope."""
        self.history_replies: deque[Reply] = deque()
        """Scripted answers for the next ``conversations.history`` calls."""
        self.post_arrived = threading.Event()
        """Set when a held post has arrived (and, if accepted, been stored)."""
        self._holding = False
        self._store_held = True
        self._release = threading.Event()

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/"

    def posts(self) -> list[dict[str, Any]]:
        """The JSON bodies of every ``chat.postMessage`` call, in arrival order."""
        return [r.body for r in self.received if r.path == self.path]

    def history_calls(self) -> list[dict[str, str]]:
        """The arguments of every ``conversations.history`` call, in arrival order."""
        return [r.body for r in self.received if r.path == HISTORY_PATH]

    def hold_posts(self, *, store: bool = True) -> None:
        """Answer no post until :meth:`release`: Slack slower than the client's timeout.

        With ``store`` each held post is in the channel already (Slack took it and the answer
        is late); without, it is not (the post never got through).
        """
        with self._lock:
            self._holding, self._store_held = True, store
            self._release.clear()
            self.post_arrived.clear()

    def release(self) -> None:
        """Answer the held posts and every later one at once."""
        with self._lock:
            self._holding = False
        self._release.set()

    def _accepted(self, request: Received, reply: Reply) -> None:
        body = reply.body
        if not (isinstance(body, dict) and body.get("ok")) or not isinstance(request.body, dict):
            return
        if self._holding and not self._store_held:
            return
        message = {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B07BOT0001",
            "channel": request.body.get("channel"),
            "ts": body["ts"],
            "text": request.body.get("text"),
            "blocks": request.body.get("blocks"),
        }
        if isinstance(request.body.get("metadata"), dict):
            message["metadata"] = request.body["metadata"]
        self.channel_messages.append(message)

    def _before_reply(self, request: Received) -> None:
        if request.path != self.path:
            return
        with self._lock:
            holding = self._holding
        if holding:
            self.post_arrived.set()
            self._release.wait(timeout=30)

    def _let_go(self) -> None:
        self.release()

    def _other(self, request: Received) -> Reply:
        if request.path != HISTORY_PATH:
            return super()._other(request)
        if not self.authorized(request):
            return slack_error("invalid_auth")
        if self.history_replies:
            return self.history_replies.popleft()
        if not self.history_scope:
            return Reply(
                200,
                {
                    "ok": False,
                    "error": "missing_scope",
                    "needed": "channels:history",
                    "provided": "chat:write",
                },
            )
        query: dict[str, str] = request.body or {}
        oldest = float(query.get("oldest") or 0)
        with_metadata = query.get("include_all_metadata") in ("1", "true")
        newest_first = [
            message
            for message in reversed(self.channel_messages)
            if message["channel"] == query.get("channel") and float(message["ts"]) > oldest
        ]
        start = int(query.get("cursor") or 0)
        limit = int(query.get("limit") or 100)
        page = newest_first[start : start + limit]
        more = start + limit < len(newest_first)
        messages = [
            {k: v for k, v in m.items() if k != "channel" and (with_metadata or k != "metadata")}
            for m in page
        ]
        return Reply(
            200,
            {
                "ok": True,
                "messages": messages,
                "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""},
            },
        )


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
