"""Removing secrets from text that came from elsewhere (a driver's error, an API's error body).

Secrets are found by structure, not by searching for their characters anywhere: a URL's
password field, the value of an ``Authorization`` header or a ``Basic``/``Bearer`` credential,
and each configured secret (with its HTTP Basic form) only where it stands as a whole token.
A plain substring replacement would turn ``connection failed`` into ``conn***ction fail***d``
under a one-letter password, mangling the message and revealing the password by where the
stars fall.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

MASK = "***"

_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:)(?P<secret>[^\s@/]+)(?=@)")
"""``scheme://user:PASSWORD@host``: the password is what lies between the colon and the @."""

_AUTHORIZATION = re.compile(
    r"(?P<head>\bauthorization\b[\"']?\s*[:=]\s*[\"']?(?:(?:basic|bearer|token)\s+)?)"
    r"(?P<secret>[^\s\"',;}]+)",
    re.IGNORECASE,
)
"""An ``Authorization`` header or field, in HTTP, JSON or repr form."""

_CREDENTIAL = re.compile(
    r"(?P<head>\b(?:basic|bearer)\s+)(?P<secret>[A-Za-z0-9+/_\-.~]{8,}=*)", re.IGNORECASE
)
"""``Basic <base64>`` or ``Bearer <token>`` echoed without its header name."""

_TOKEN_CHARS = r"A-Za-z0-9_\-+/"
"""Characters that continue a key or a base64 string: a secret next to one is part of a
longer word, not the secret itself."""


def basic_auth_forms(username: str, password: str = "") -> tuple[str, ...]:
    """How ``username:password`` travels in an HTTP Basic header (padded and unpadded)."""
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return (encoded, encoded.rstrip("="))


def redact(text: str, secrets: Iterable[str | None] = (), *, mask: str = MASK) -> str:
    """``text`` with URL passwords, Authorization values and the given secrets masked.

    Each secret is also masked in its Basic-auth form as a username with an empty password,
    which is how the Cursor API and Slack's and Resend's keys travel.
    """

    def masked(match: re.Match[str]) -> str:
        return match.group("head") + mask

    text = _URL_PASSWORD.sub(masked, text)
    text = _AUTHORIZATION.sub(masked, text)
    text = _CREDENTIAL.sub(masked, text)
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.add(secret)
            forms.update(basic_auth_forms(secret))
    for form in sorted(forms, key=len, reverse=True):
        pattern = rf"(?<![{_TOKEN_CHARS}]){re.escape(form)}(?![{_TOKEN_CHARS}])"
        text = re.sub(pattern, lambda _: mask, text)
    return text
