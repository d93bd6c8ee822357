"""The first screen's data, read from the moment the app is created.

Between creating the app and composing its first screen, Textual sets itself up (the driver,
every stylesheet parsed, the app styled): a tenth of a second or more, in which the database
could already be working. The app starts the first screen's load in a thread of its own as
it is created, and the screen, once composed, takes it over instead of starting another
(:meth:`tracker_tui.screens.base.DataScreen.compose`):

* figures the database holds ready-made (``ready``) are on hand when the screen is composed,
  and shown with its first paint;
* figures that need summing (``load``) arrive while Textual lays the screen out; the query
  runs outside the interpreter's lock, so the two overlap;
* what those figures left out (``then``: the overview's forecast) is computed in
  the same thread right after them, while the screen paints the figures, rather than by a
  second load started once they are painted; when it is done before the figures are
  handed over, the screen gets the complete data at once and paints once.

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

    def __init__(
        self,
        ready: Callable[[], T | None],
        load: Callable[[], T],
        then: Callable[[T], T | None] | None = None,
    ) -> None:
        self._ready = ready
        self._load = load
        self._then = then
        self._future: Future[T] = Future()
        self._completed: Future[T | None] = Future()
        """What ``then`` made of the first figures (None: nothing was left out)."""
        self._handed = False
        """Whether the completed figures were handed over already (by :meth:`result`)."""
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
        else:
            self._decided.set()
            try:
                found = self._load()
            except BaseException as exc:
                self._future.set_exception(exc)
                self._completed.set_result(None)
                return
            self._future.set_result(found)
        try:
            self._completed.set_result(None if self._then is None else self._then(found))
        except BaseException as exc:
            self._completed.set_exception(exc)

    def ready(self) -> T | None:
        """The ready-made figures, or None when they are being summed.

        Waits for the look into the view cache (a few small queries, mostly done by the time
        a screen asks): a first paint with its figures is cheaper than a paint without them
        and another one with them.
        """
        self._decided.wait()
        return self._future.result() if self._remembered else None

    async def result(self) -> T:
        """The figures, however obtained; raises what the load raised.

        The completed figures instead when they are on hand already: one paint, not two.
        """
        first = await asyncio.wrap_future(self._future)
        if self._completed.done() and self._completed.exception() is None:
            completed = self._completed.result()
            if completed is not None:
                self._handed = True
                return completed
        return first

    def settled(self) -> bool:
        """Whether the figures and their completion have both been computed (or failed)."""
        return self._completed.done()

    def follow_up(self) -> Future[T | None] | None:
        """The completion of the figures :meth:`result` gave, None when they were complete
        (handed over whole, or nothing to follow); its result is None when nothing was left
        out. Taken once."""
        if self._then is None or self._handed:
            return None
        self._handed = True
        return self._completed
