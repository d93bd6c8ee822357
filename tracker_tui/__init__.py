"""The Textual console on top of tracker_core: ``TrackerApp`` and ``run_tui``."""

from __future__ import annotations

from tracker_tui.app import TrackerApp, run_tui

__all__ = ["TrackerApp", "run_tui"]
