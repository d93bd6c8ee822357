"""Every failure a user can see, as one exception tree with plain-language messages.

    TrackerError
    ├── ConfigError            bad configuration file, key or environment variable (exit 2)
    ├── StorageError           the database could not be opened, migrated or written
    │   └── LeaseHeldError     another collector holds the collection lease
    └── ApiError               the Cursor API could not be used
        ├── ApiAuthError       401: the key was rejected
        ├── ApiPlanError       403: the team is not on the Enterprise plan
        ├── ApiRequestError    400/404 and other non-retryable answers
        ├── ApiResponseError   the answer was not the JSON shape the endpoint documents
        └── ApiUnavailableError  retries ran out (429, 5xx, timeouts, connection errors)

Messages never contain API keys or tokens: they name the endpoint, the status and the field.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Base of every error the tracker reports to a person."""


class ConfigError(TrackerError):
    """The configuration is unusable; the message names the key and where it came from."""


class StorageError(TrackerError):
    """The database could not be used."""


class LeaseHeldError(StorageError):
    """Another process holds the lease this one needs (one collector at a time)."""


class ApiError(TrackerError):
    """The Cursor API could not be used."""

    def __init__(self, message: str, *, endpoint: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status


class ApiAuthError(ApiError):
    """The API rejected the key (HTTP 401)."""


class ApiPlanError(ApiError):
    """The key is valid but the team lacks the Enterprise plan or permission (HTTP 403)."""


class ApiRequestError(ApiError):
    """The API refused the request itself (HTTP 400, 404, ...): retrying will not help."""


class ApiResponseError(ApiError):
    """The API answered with something other than the documented JSON shape."""


class ApiUnavailableError(ApiError):
    """The API kept failing (rate limit, server errors, timeouts) until retries ran out."""
