"""EmailSender against a local Resend stand-in, through the real resend SDK."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import resend

from tests.alerting.servers import (
    RESEND_429,
    RESEND_500,
    RESEND_KEY,
    FakeResend,
    item,
    resend_ok,
    serve_resend,
    unused_port,
)
from tracker_core.alerting.email import EmailSender
from tracker_core.alerting.items import Delivery

SENDER = "Cursor Tracker <alerts@example.test>"
TO = "ops@example.test, finance@example.test"
DASHBOARD = "https://tracker.example.test"


@pytest.fixture
def server() -> Iterator[FakeResend]:
    with serve_resend() as fake:
        yield fake


def sender(fake: FakeResend, **kwargs: Any) -> EmailSender:
    kwargs.setdefault("dashboard_url", DASHBOARD)
    return EmailSender(RESEND_KEY, TO, SENDER, api_url=fake.api_url, **kwargs)


def test_two_items_are_two_emails(server: FakeResend) -> None:
    items = [item(1, name="Ana Silva", email="ana@example.test"), item(2)]

    deliveries = sender(server).send(items)

    assert deliveries == [Delivery((1,), ok=True), Delivery((2,), ok=True)]
    first, second = server.emails()
    assert first.header("Authorization") == f"Bearer {RESEND_KEY}"
    assert first.body["from"] == SENDER
    assert first.body["to"] == ["ops@example.test", "finance@example.test"]
    assert first.body["subject"] == "[CRITICAL] Spend spike: Ana Silva"
    assert second.body["subject"] == "[WARNING] Spend spike: Member 2"
    html, text = first.body["html"], first.body["text"]
    for part in (html, text):
        assert "Ana Silva" in part and "ana@example.test" in part
        assert "#1" in part
        assert "$1,234.56" in part and "$250.00" in part
        assert "claude-4-opus (82%)" in part
        assert "https://tracker.example.test/users/ana%40example.test" in part
        assert "https://tracker.example.test/incidents" in part
        assert "2025-03-04 09:30 UTC" in part
    assert "<table" in html and "<table" not in text


def test_five_items_are_one_summary_email(server: FakeResend) -> None:
    items = [item(n) for n in range(1, 6)]

    deliveries = sender(server).send(items)

    assert deliveries == [Delivery((1, 2, 3, 4, 5), ok=True)]
    (email,) = server.emails()
    assert email.body["subject"] == "[Cursor spend] 5 anomalies (3 critical)"
    for part in (email.body["html"], email.body["text"]):
        assert "5 Cursor spend anomalies" in part
        for n in range(1, 6):
            assert f"#{n}" in part and f"member{n}@example.test" in part
        assert "https://tracker.example.test/incidents" in part


def test_summary_of_warnings_only_says_so(server: FakeResend) -> None:
    sender(server).send([item(n, severity="warning") for n in range(1, 5)])

    assert server.emails()[0].body["subject"] == "[Cursor spend] 4 anomalies (all warnings)"


def test_escalation_is_in_the_subject(server: FakeResend) -> None:
    sender(server).send([item(3, severity="critical", escalated=True)])

    subject = server.emails()[0].body["subject"]
    assert subject == "[CRITICAL] Spend spike escalated to critical: Member 3"


def test_html_escapes_every_user_value(server: FakeResend) -> None:
    hostile = item(
        1,
        name="<b>Mallory</b>",
        email="mal<x>@example.test",
        message='Mallory <img src=x onerror="alert(1)"> spent & spent',
        top_model="<gpt>",
    )

    sender(server).send([hostile])
    sender(server).send([hostile, item(2), item(3), item(4)])

    for email in server.emails():
        html = email.body["html"]
        assert "<b>Mallory" not in html and "<img" not in html and "<gpt>" not in html
        assert "&lt;b&gt;Mallory&lt;/b&gt;" in html
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; spent &amp; spent" in html
        assert "<b>Mallory</b>" in email.body["text"]
    assert "&lt;gpt&gt; (82%)" in server.emails()[0].body["html"]
    assert server.emails()[0].body["subject"] == "[CRITICAL] Spend spike: <b>Mallory</b>"


def test_subject_cannot_carry_newlines(server: FakeResend) -> None:
    sender(server).send([item(1, name="Eve\r\nBcc: victim@example.test")])

    assert server.emails()[0].body["subject"] == (
        "[CRITICAL] Spend spike: Eve Bcc: victim@example.test"
    )


def test_idempotency_key_is_stable_per_content(server: FakeResend) -> None:
    sender(server).send([item(1), item(2)])
    sender(server).send([item(1)])
    sender(server).send([item(1, escalated=True)])
    sender(server).send([item(n) for n in range(1, 6)])

    keys = [email.header("Idempotency-Key") for email in server.emails()]
    assert all(keys)
    first, second, again, escalated, summary = keys
    assert again == first
    assert len({first, second, escalated, summary}) == 4
    assert (first or "").startswith("alert-1-new-")
    assert (escalated or "").startswith("alert-1-escalated-")
    assert (summary or "").startswith("alert-1.2.3.4.5-new-")
    assert all(len(key or "") <= 256 for key in keys)


def test_long_summary_key_stays_within_resend_limit(server: FakeResend) -> None:
    sender(server).send([item(n) for n in range(1000, 1100)])

    key = server.emails()[0].header("Idempotency-Key") or ""
    assert key.startswith("alert-") and len(key) <= 256


def test_server_error_is_not_ok(server: FakeResend) -> None:
    server.script(RESEND_500)

    (delivery,) = sender(server).send([item(1)])

    assert delivery == Delivery(
        (1,),
        ok=False,
        error="Resend answered 500 application_error: Something went wrong on our side.",
    )


def test_only_the_refused_email_fails(server: FakeResend) -> None:
    server.script(resend_ok(1), RESEND_500, resend_ok(3))

    deliveries = sender(server).send([item(1), item(2), item(3)])

    assert [d.ok for d in deliveries] == [True, False, True]
    assert len(server.emails()) == 3


def test_rate_limit_reports_retry_after_and_stops_the_batch(server: FakeResend) -> None:
    server.script(RESEND_429)

    deliveries = sender(server).send([item(1), item(2)])

    assert len(server.emails()) == 1
    assert not any(d.ok for d in deliveries)
    assert [d.retry_after for d in deliveries] == [1.0, 1.0]
    assert (deliveries[0].error or "").startswith("Resend answered 429 rate_limit_exceeded")


def test_unreachable_resend_is_a_plain_error() -> None:
    port = unused_port()
    unreachable = EmailSender(
        RESEND_KEY, TO, SENDER, api_url=f"http://127.0.0.1:{port}", dashboard_url=DASHBOARD
    )

    deliveries = unreachable.send([item(1), item(2)])

    assert deliveries[0] == Delivery(
        (1,), ok=False, error=f"Resend unreachable at 127.0.0.1:{port}: connection failed"
    )
    assert not deliveries[1].ok


def test_key_never_appears_in_errors(server: FakeResend) -> None:
    server.script(RESEND_500, RESEND_429)
    errors = [d.error for d in sender(server).send([item(1)])]
    errors += [d.error for d in sender(server).send([item(2), item(3)])]
    wrong_key = "re_wrong_SECRET_42"
    errors += [
        d.error
        for d in EmailSender(wrong_key, TO, SENDER, api_url=server.api_url, dashboard_url="").send(
            [item(4)]
        )
    ]
    port = unused_port()
    errors += [
        d.error
        for d in EmailSender(
            RESEND_KEY, TO, SENDER, api_url=f"http://127.0.0.1:{port}/", dashboard_url=""
        ).send([item(5)])
    ]

    assert len(errors) == 5 and all(errors)
    assert errors[3] == "Resend answered 403 invalid_api_key: API key is invalid"
    assert not any(RESEND_KEY in (e or "") or wrong_key in (e or "") for e in errors)


def test_sdk_globals_are_restored(server: FakeResend) -> None:
    before = (resend.api_key, resend.api_url)

    sender(server).send([item(1)])

    assert (resend.api_key, resend.api_url) == before


def test_no_dashboard_url_means_no_links(server: FakeResend) -> None:
    sender(server, dashboard_url="").send([item(1)])
    sender(server, dashboard_url="").send([item(n) for n in range(1, 6)])

    for email in server.emails():
        for part in (email.body["html"], email.body["text"]):
            assert "/users/" not in part and "/incidents" not in part


def test_recipients_are_required() -> None:
    with pytest.raises(ValueError, match="recipient"):
        EmailSender(RESEND_KEY, " , ", SENDER, dashboard_url=DASHBOARD)


def test_nothing_to_send_sends_nothing(server: FakeResend) -> None:
    assert sender(server).send([]) == []
    assert server.emails() == []


@pytest.mark.parametrize("wrong_key", ["e", "invalid", "re_$(x)/+="])
def test_a_key_of_any_shape_is_masked_without_mangling_the_error(
    server: FakeResend, wrong_key: str
) -> None:
    (delivery,) = EmailSender(wrong_key, TO, SENDER, api_url=server.api_url, dashboard_url="").send(
        [item(1)]
    )

    error = delivery.error or ""
    assert error.startswith("Resend answered 403 invalid_api_key: API key is ")
    assert error in (
        "Resend answered 403 invalid_api_key: API key is invalid",
        "Resend answered 403 invalid_api_key: API key is [api key]",
    )
    assert f" {wrong_key} " not in f" {error} ".replace(":", " ")
