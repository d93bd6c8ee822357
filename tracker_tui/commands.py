"""The command palette (Ctrl+P): jump to a screen or run an action by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider


class PaletteTarget(Protocol):
    """What the palette drives; the app provides it."""

    def palette_commands(self) -> list[tuple[str, Callable[[], object], str]]: ...


class TrackerCommands(Provider):
    """Screens and actions of the tracker, listed on open and fuzzy-matched while typing."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        return cast(PaletteTarget, self.app).palette_commands()

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, partial(callback), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(callback), help=help_text)
