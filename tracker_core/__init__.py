"""Core of the Cursor usage tracker: collection, storage, detection and alerting, free of any UI."""

__version__ = "0.1.0"
