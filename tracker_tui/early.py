"""The first screen's data, read from the moment the app is created.

Between creating the app and composing its first screen, Textual sets itself up (the driver,
every stylesheet parsed, the app styled): a tenth of a second or more, in which the database
could already be working. The app starts the first screen's load in a thread of its own as
it is created, and the screen, once composed, takes it over instead of starting another
(:meth:`tracker_tui.screens.base.DataScreen.compose`):

* figures the database holds ready-made (``ready``) are on hand when the screen is composed,
  and shown with its first paint;
* figures that need summing (``load``) arrive while Textual lays the screen out; the query
  runs outside the interpreter's lock, so the two overlap.

A plain daemon thread, not a Textual worker: no worker can run before the app does, and a
person who quits before the figures arrive does not wait for them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")


class EarlyLoad(Generic[T]):
    """A load started ahead of its screen: the ready-made figures if there are any, else
    the summed ones."""

    def __init__(self, ready: Callable[[], T | None], load: Callable[[], T]) -> None:
        self._ready = ready
        self._load = load
        self._future: Future[T] = Future()
        self._decided = threading.Event()
        """Set once it is known whether the figures were ready-made (``_remembered``)."""
        self._remembered = False
        threading.Thread(target=self._run, name="first screen's load", daemon=True).start()

    def _run(self) -> None:
        try:
            found = self._ready()
        except Exception:  # the full load below reports whatever is wrong, plainly
            found = None
        if found is not None:
            self._remembered = True
            self._future.set_result(found)
            self._decided.set()
            return
        self._decided.set()
        try:
            self._future.set_result(self._load())
        except BaseException as exc:
            self._future.set_exception(exc)

    def ready(self) -> T | None:
        """The ready-made figures, or None when they are being summed.

        Waits for the look into the view cache (a few small queries, mostly done by the time
        a screen asks): a first paint with its figures is cheaper than a paint without them
        and another one with them.
        """
        self._decided.wait()
        return self._future.result() if self._remembered else None

    async def result(self) -> T:
        """The figures, however obtained; raises what the load raised."""
        return await asyncio.wrap_future(self._future)
