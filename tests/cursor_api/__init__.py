"""Tests of the Cursor API client (tracker_core.cursor_api)."""
