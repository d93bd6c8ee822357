"""The Textual console on top of tracker_core (screens arrive with the console issue)."""
