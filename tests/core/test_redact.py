"""Secrets are removed from error text by structure, leaving the rest of the message intact."""

from __future__ import annotations

import base64

import pytest

from tracker_core.redact import redact


def test_a_short_secret_inside_words_leaves_the_words_alone() -> None:
    text = 'connection failed: connection to server at "127.0.0.1", port 9 failed: refused'
    assert redact(text, ["e"]) == text


def test_a_secret_standing_alone_is_masked() -> None:
    assert redact("password e was rejected", ["e"]) == "password *** was rejected"
    assert redact("key=key_abc123, retry", ["key_abc123"]) == "key=***, retry"


def test_a_longer_word_containing_the_secret_is_not_the_secret() -> None:
    assert redact("key_abc1234 is not key_abc123", ["key_abc123"]) == "key_abc1234 is not ***"


def test_the_password_field_of_any_url_is_masked() -> None:
    text = "cannot reach postgresql://tracker:pa55@db:5432/t and https://u:x@h/p"
    assert redact(text) == "cannot reach postgresql://tracker:***@db:5432/t and https://u:***@h/p"


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Basic a2V5X3NlY3JldDo=",
        "{'authorization': 'Bearer xoxb-1234-abcd'}",
        '{"Authorization":"Token tok_zz"}',
        "rejected credentials Basic a2V5X3NlY3JldDo=",
    ],
)
def test_authorization_values_are_masked(text: str) -> None:
    masked = redact(text)
    assert "a2V5X3NlY3JldDo" not in masked
    assert "xoxb-1234-abcd" not in masked
    assert "tok_zz" not in masked
    assert "***" in masked


def test_a_key_is_masked_in_its_basic_auth_form_too() -> None:
    key = "key_0123456789"
    encoded = base64.b64encode(f"{key}:".encode()).decode()
    text = f"invalid credentials {encoded} and {encoded.rstrip('=')}; key {key}"
    masked = redact(text, [key])
    assert key not in masked
    assert encoded.rstrip("=") not in masked
    assert masked == "invalid credentials *** and ***; key ***"
