"""A job's coroutine run to completion in a worker thread, which another thread can stop.

A face that must stay responsive while a collection runs (the console's quit, the daemon's
SIGTERM) cannot wait for the collection's current rate-limit wait and request to end (20 to
55 s). Running the collection in its own event loop lets the face cancel it: the cancellation
lands at the collection's next ``await`` (a wait, a request), which is always between two
transactions, so what was stored is whole and the next collection continues. (Textual runs
thread workers in its loop's default executor and waits for them on closing, which is why the
console does not use one for this.)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Stopped(Exception):
    """The run was stopped before it finished."""


class StoppableRun:
    """Runs one coroutine at a time in the calling thread's new event loop; ``stop`` cancels it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self.stop_requested = False

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` (in a worker thread); raises :class:`Stopped` if stopped."""
        loop = asyncio.new_event_loop()
        try:
            with self._lock:
                if self.stop_requested:
                    coroutine.close()
                    raise Stopped
                task = loop.create_task(coroutine)
                self._loop, self._task = loop, task
            try:
                return loop.run_until_complete(task)
            except asyncio.CancelledError:
                raise Stopped from None
        finally:
            with self._lock:
                self._loop = self._task = None
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def check(self) -> None:
        """Raise :class:`Stopped` when a stop was asked for (between steps of the work)."""
        if self.stop_requested:
            raise Stopped

    def stop(self) -> None:
        """Ask the run to stop at its next ``await`` (from any thread; idempotent)."""
        with self._lock:
            self.stop_requested = True
            if self._loop is not None and self._task is not None:
                self._loop.call_soon_threadsafe(self._task.cancel)
