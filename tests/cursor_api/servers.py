"""Small real HTTP servers standing in for Cursor, so client tests exercise sockets, not mocks.

Each route's handler is called with what the client sent and how many times that route has
been hit, which keeps "fail twice, then answer" scenarios one line long.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer

KEY = "crsr_test_SECRET_0123456789abcdef"
ANALYTICS_KEY = "crsr_test_ANALYTICS_fedcba9876543210"


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: object
    at: float
    count: int
    """1-based number of this request among the requests to the same route."""


Handler = Callable[[Seen], Awaitable[web.StreamResponse]]


@dataclass
class Recorder:
    seen: list[Seen] = field(default_factory=list)

    def to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


def reply(
    payload: object, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(payload), status=status, content_type="application/json", headers=headers
    )


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return reply({"error": "Error", "message": message}, status=status, headers=headers)


def always(make: Callable[[], web.StreamResponse]) -> Handler:
    """A handler giving the same answer every time (a fresh response object per request)."""

    async def handle(seen: Seen) -> web.StreamResponse:
        return make()

    return handle


@asynccontextmanager
async def serve(routes: Mapping[tuple[str, str], Handler]) -> AsyncIterator[tuple[str, Recorder]]:
    """Start a server on 127.0.0.1 with ``{(method, path): handler}``; yield its URL and log."""
    recorder = Recorder()
    counts: dict[tuple[str, str], int] = {}

    def route(
        key: tuple[str, str], handler: Handler
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            counts[key] = counts.get(key, 0) + 1
            raw = await request.read()
            seen = Seen(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=json.loads(raw) if raw else None,
                at=time.monotonic(),
                count=counts[key],
            )
            recorder.seen.append(seen)
            return await handler(seen)

        return handle

    app = web.Application()
    for (method, path), handler in routes.items():
        app.router.add_route(method, path, route((method, path), handler))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}", recorder
    finally:
        await server.close()
