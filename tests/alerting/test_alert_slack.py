"""SlackSender against a local chat.postMessage stand-in, through the real slack-sdk client."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block

from tests.alerting.servers import (
    DROP,
    SLACK_429,
    SLACK_500,
    SLACK_CHANNEL_NOT_FOUND,
    SLACK_TOKEN,
    FakeSlack,
    item,
    slack_ok,
    unused_port,
)
from tracker_core.alerting.items import Attempt, Delivery, Lookup
from tracker_core.alerting.slack import EVENT_TYPE, SlackSender

CHANNEL = "C07ALERTS1"
DASHBOARD = "https://tracker.example.test/"
ID_IN_LINE = re.compile(r"\*#(\d+)\*")


def sender(server: FakeSlack, **kwargs: Any) -> SlackSender:
    kwargs.setdefault("dashboard_url", DASHBOARD)
    return SlackSender(SLACK_TOKEN, CHANNEL, base_url=server.base_url, timeout=5, **kwargs)


def all_text(post: dict[str, Any]) -> str:
    return str(post["text"]) + "\n" + json.dumps(post["blocks"], ensure_ascii=False)


def ids_in(post: dict[str, Any]) -> list[int]:
    lines = [
        block["text"]["text"]
        for block in post["blocks"]
        if block["type"] == "section" and "text" in block
    ]
    return [int(found) for text in lines for found in ID_IN_LINE.findall(text)]


def assert_within_block_kit(post: dict[str, Any]) -> None:
    blocks = post["blocks"]
    assert post["text"]
    assert 1 <= len(blocks) <= 50
    for block in blocks:
        # slack-sdk's own models enforce Block Kit's limits when serialising.
        Block.parse(block).to_dict()  # type: ignore[union-attr]
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            fields = block.get("fields", [])
            assert len(fields) <= 10
            assert all(len(f["text"]) <= 2000 for f in fields)
    assert len(json.dumps(blocks)) < 12_000


def test_two_items_are_two_messages_each_naming_its_member_and_incident(slack: FakeSlack) -> None:
    items = [item(1, name="Ana Silva", email="ana@example.test"), item(2)]

    deliveries = sender(slack).send(items)

    assert deliveries == [Delivery((1,), ok=True), Delivery((2,), ok=True)]
    posts = slack.posts()
    assert len(posts) == 2
    for post, sent in zip(posts, items, strict=True):
        assert post["channel"] == CHANNEL
        assert_within_block_kit(post)
        text = all_text(post)
        assert sent.name in post["text"] and sent.name in text
        assert sent.email in text
        assert f"#{sent.incident_id}" in post["text"]
        assert f"#{sent.incident_id}" in text
    first = all_text(posts[0])
    assert posts[0]["blocks"][0]["text"]["text"] == ":rotating_light: Critical: Spend spike"
    assert posts[1]["blocks"][0]["text"]["text"] == ":warning: Warning: Spend spike"
    assert "$1,234.56" in first and "$250.00" in first
    assert "claude-4-opus (82%)" in first
    assert "https://tracker.example.test/users/ana%40example.test" in first
    assert "https://tracker.example.test/incidents" in first
    assert "2025-03-04 09:30 UTC" in first


def test_sdk_sends_bearer_token_and_json(slack: FakeSlack) -> None:
    sender(slack).send([item(1)])

    request = slack.received[0]
    assert request.header("Authorization") == f"Bearer {SLACK_TOKEN}"
    assert (request.header("Content-Type") or "").startswith("application/json")
    assert request.body["unfurl_links"] is False


def test_values_use_the_unit_of_the_rule(slack: FakeSlack) -> None:
    items = [
        item(1, rule="requests_limit", value=2310, threshold=1000),
        item(2, rule="tokens_limit", value=12_400_000, threshold=5_000_000),
        item(3, rule="spend_limit", top_model=None, top_model_share=None),
    ]

    sender(slack).send(items)

    requests_post, tokens_post, cycle_post = (all_text(p) for p in slack.posts())
    assert "2,310 requests" in requests_post and "1,000 requests" in requests_post
    assert "12.4M tokens" in tokens_post and "5.0M tokens" in tokens_post
    assert "cycle from 2025-03-04" in cycle_post
    assert "Top model*\\n—" in cycle_post


def test_escalation_is_marked_in_the_header(slack: FakeSlack) -> None:
    sender(slack).send([item(7, severity="critical", escalated=True)])

    post = slack.posts()[0]
    header = post["blocks"][0]["text"]["text"]
    assert header == ":rotating_light: Spend spike escalated to critical"
    assert "escalated to critical" in post["text"]


def test_five_items_are_one_summary_listing_all(slack: FakeSlack) -> None:
    items = [item(n) for n in range(1, 6)]

    deliveries = sender(slack).send(items)

    assert deliveries == [Delivery((1, 2, 3, 4, 5), ok=True)]
    (post,) = slack.posts()
    assert_within_block_kit(post)
    assert post["blocks"][0]["text"]["text"] == ":rotating_light: 5 Cursor spend anomalies"
    assert "5 Cursor spend anomalies" in post["text"]
    assert sorted(ids_in(post)) == [1, 2, 3, 4, 5]
    text = all_text(post)
    assert "*3* critical · *2* warning" in text
    assert "https://tracker.example.test/incidents" in text
    for n in range(1, 6):
        assert f"member{n}@example.test" in text


def test_sixty_items_split_into_messages_within_block_kit_limits(slack: FakeSlack) -> None:
    long_message = "Spend climbed far above the usual pattern for this member. " * 4
    items = [item(n, message=f"#{n}: {long_message}") for n in range(1, 61)]

    deliveries = sender(slack).send(items)

    posts = slack.posts()
    assert len(posts) >= 2
    assert len(deliveries) == len(posts)
    carried: Counter[int] = Counter()
    for post, delivery in zip(posts, deliveries, strict=True):
        assert_within_block_kit(post)
        ids = ids_in(post)
        assert delivery == Delivery(tuple(ids), ok=True)
        carried.update(ids)
    assert carried == Counter(range(1, 61))
    assert f"(part 1 of {len(posts)})" in posts[0]["blocks"][0]["text"]["text"]


def test_a_huge_message_is_cut_to_block_kit_limits(slack: FakeSlack) -> None:
    huge = "& <" * 3000
    deliveries = sender(slack).send([item(1, message=huge, name="N" * 3000)])

    assert deliveries[0].ok
    assert_within_block_kit(slack.posts()[0])


def test_summary_split_reports_each_message_separately(slack: FakeSlack) -> None:
    items = [item(n, message="x" * 400) for n in range(1, 61)]
    slack.script(SLACK_500)

    deliveries = sender(slack).send(items)

    assert len(deliveries) >= 2
    assert not deliveries[0].ok
    assert all(d.ok for d in deliveries[1:])
    assert sorted(i for d in deliveries for i in d.incident_ids) == list(range(1, 61))


def test_only_the_refused_message_fails(slack: FakeSlack) -> None:
    slack.script(slack_ok(1), SLACK_500, slack_ok(3))

    deliveries = sender(slack).send([item(1), item(2), item(3)])

    assert [d.ok for d in deliveries] == [True, False, True]
    assert [d.incident_ids for d in deliveries] == [(1,), (2,), (3,)]


def test_server_error_is_not_ok_and_names_the_status(slack: FakeSlack) -> None:
    slack.script(SLACK_500)

    (delivery,) = sender(slack).send([item(1)])

    assert not delivery.ok
    assert delivery.incident_ids == (1,)
    assert delivery.error is not None and delivery.error.startswith("Slack answered 500")
    assert delivery.retry_after is None


def test_rate_limit_reports_retry_after_and_stops_the_batch(slack: FakeSlack) -> None:
    slack.script(SLACK_429)

    deliveries = sender(slack).send([item(1), item(2), item(3)])

    assert len(slack.posts()) == 1
    assert [d.incident_ids for d in deliveries] == [(1,), (2,), (3,)]
    assert not any(d.ok for d in deliveries)
    assert all(d.retry_after == 1.0 for d in deliveries)
    assert deliveries[0].error == "Slack answered 429 ratelimited"
    assert "ratelimited" in (deliveries[1].error or "")


def test_rate_limit_stops_a_split_summary(slack: FakeSlack) -> None:
    slack.script(SLACK_429)
    items = [item(n, message="y" * 400) for n in range(1, 61)]

    deliveries = sender(slack).send(items)

    assert len(slack.posts()) == 1
    assert len(deliveries) >= 2
    assert not any(d.ok for d in deliveries)
    assert all(d.retry_after == 1.0 for d in deliveries)


def test_channel_not_found_is_not_ok_and_named(slack: FakeSlack) -> None:
    slack.script(SLACK_CHANNEL_NOT_FOUND)

    deliveries = sender(slack).send([item(1), item(2)])

    assert deliveries[0] == Delivery(
        (1,), ok=False, error="Slack answered 200 channel_not_found", retry_after=None
    )
    assert not deliveries[1].ok
    assert len(slack.posts()) == 1


def test_wrong_token_is_reported_without_the_token(slack: FakeSlack) -> None:
    bad = "xoxb-wrong-SECRET-999"
    wrong = SlackSender(bad, CHANNEL, base_url=slack.base_url, dashboard_url=DASHBOARD)

    (delivery,) = wrong.send([item(1)])

    assert delivery.error == "Slack answered 200 invalid_auth"
    assert bad not in delivery.error


def test_unreachable_slack_is_a_plain_error_naming_the_host() -> None:
    port = unused_port()
    unreachable = SlackSender(
        SLACK_TOKEN,
        CHANNEL,
        base_url=f"http://127.0.0.1:{port}/api/",
        dashboard_url=DASHBOARD,
        timeout=2,
    )

    deliveries = unreachable.send([item(1), item(2)])

    assert not any(d.ok for d in deliveries)
    error = deliveries[0].error or ""
    assert error.startswith(f"Slack unreachable at 127.0.0.1:{port}")
    assert "\n" not in error


def test_token_never_appears_in_errors(slack: FakeSlack) -> None:
    slack.script(SLACK_500, SLACK_429)
    errors = [d.error for d in sender(slack).send([item(1)])]
    errors += [d.error for d in sender(slack).send([item(2), item(3)])]
    slack.script(SLACK_CHANNEL_NOT_FOUND)
    errors += [d.error for d in sender(slack).send([item(n) for n in range(4, 9)])]
    port = unused_port()
    errors += [
        d.error
        for d in SlackSender(
            SLACK_TOKEN, CHANNEL, base_url=f"http://127.0.0.1:{port}/", dashboard_url=""
        ).send([item(9)])
    ]

    assert len(errors) == 5 and all(errors)
    assert not any(SLACK_TOKEN in (e or "") for e in errors)


def test_user_text_is_escaped_for_mrkdwn(slack: FakeSlack) -> None:
    hostile = "<script>alert(1)</script> & *Mallory* <!channel>"
    items = [
        item(1, name=hostile, message=f"{hostile} spent a lot", top_model="<gpt> & co"),
    ]

    sender(slack).send(items)
    sender(slack).send([*items, item(2), item(3), item(4)])

    for post in slack.posts():
        text = all_text(post)
        assert "<script>" not in text and "<!channel>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; *Mallory* &lt;!channel&gt;" in text
    assert "&lt;script&gt;" in slack.posts()[0]["text"]
    assert "&lt;gpt&gt; &amp; co (82%)" in all_text(slack.posts()[0])


def test_no_dashboard_url_means_no_links(slack: FakeSlack) -> None:
    sender(slack, dashboard_url="").send([item(1)])
    sender(slack, dashboard_url="").send([item(n) for n in range(1, 6)])

    for post in slack.posts():
        assert "/users/" not in all_text(post)
        assert "/incidents" not in all_text(post)


def test_nothing_to_send_sends_nothing(slack: FakeSlack) -> None:
    assert sender(slack).send([]) == []
    assert slack.posts() == []


def test_every_message_names_its_attempt_and_incidents_in_its_metadata(slack: FakeSlack) -> None:
    sender(slack).send([item(1), item(2)], "attempt-a")
    sender(slack).send([item(n) for n in range(3, 8)], "attempt-b")

    payloads = [post["metadata"] for post in slack.posts()]
    assert all(p["event_type"] == EVENT_TYPE for p in payloads)
    assert [p["event_payload"] for p in payloads] == [
        {"attempt": "attempt-a", "incidents": "1"},
        {"attempt": "attempt-a", "incidents": "2"},
        {"attempt": "attempt-b", "incidents": "3 4 5 6 7"},
    ]


def test_a_connection_dropped_after_the_post_is_not_posted_again_by_the_sdk(
    slack: FakeSlack,
) -> None:
    slack.script(DROP)

    (delivery,) = sender(slack).send([item(1)], "attempt-a")

    assert len(slack.posts()) == 1
    assert not delivery.ok and delivery.unknown
    assert (delivery.error or "").startswith("no answer from Slack at 127.0.0.1:")


def test_a_refused_connection_is_a_plain_failure_not_an_unknown_one() -> None:
    port = unused_port()
    unreachable = SlackSender(
        SLACK_TOKEN, CHANNEL, base_url=f"http://127.0.0.1:{port}/api/", dashboard_url=""
    )

    (delivery,) = unreachable.send([item(1)], "attempt-a")

    assert not delivery.ok and not delivery.unknown


def recently(attempt: str, *incidents: int) -> Attempt:
    return Attempt(attempt, datetime.now(UTC) - timedelta(seconds=5), incidents)


def test_the_history_check_finds_every_message_of_an_attempt_across_pages(
    slack: FakeSlack,
) -> None:
    ours = sender(slack)
    ours.send([item(n) for n in range(1, 6)], "attempt-a")
    ours.send([item(6)], "attempt-b")
    for n in range(199):
        ours.send([item(100 + n)], f"other-{n}")
    ours.send([item(7)], "attempt-b")  # the same attempt's next message, a page later
    for n in range(10):
        ours.send([item(300 + n)], f"later-{n}")
    slack.received.clear()

    lookup = ours.find_delivered([recently("attempt-b", 6, 7)])
    both = ours.find_delivered([recently("attempt-a", 1, 2, 3, 4, 5), recently("gone", 9)])

    assert lookup == Lookup(frozenset({("attempt-b", 6), ("attempt-b", 7)}))
    assert both == Lookup(frozenset(("attempt-a", n) for n in range(1, 6)))
    calls = slack.history_calls()
    assert len(calls) == 4 and calls[1]["cursor"]
    assert all(call["channel"] == CHANNEL for call in calls)


def test_the_history_check_stops_reading_once_every_incident_is_found(slack: FakeSlack) -> None:
    ours = sender(slack)
    ours.send([item(1)], "attempt-a")
    for n in range(210):
        ours.send([item(100 + n)], f"other-{n}")
    ours.send([item(2)], "attempt-b")
    slack.received.clear()

    lookup = ours.find_delivered([recently("attempt-b", 2)])

    assert lookup == Lookup(frozenset({("attempt-b", 2)}))
    assert len(slack.history_calls()) == 1


def test_without_the_history_scope_the_check_says_it_cannot_tell(slack: FakeSlack) -> None:
    sender(slack).send([item(1)], "attempt-a")
    slack.history_scope = False

    lookup = sender(slack).find_delivered([recently("attempt-a", 1)])

    assert lookup.delivered == frozenset() and not lookup.retry
    assert lookup.error is not None
    assert "missing_scope" in lookup.error and "channels:history" in lookup.error


def test_a_rate_limited_or_unreachable_history_check_is_asked_again_later(
    slack: FakeSlack,
) -> None:
    slack.history_replies.append(SLACK_429)
    limited = sender(slack).find_delivered([recently("attempt-a", 1)])
    port = unused_port()
    gone = SlackSender(
        SLACK_TOKEN, CHANNEL, base_url=f"http://127.0.0.1:{port}/api/", dashboard_url=""
    ).find_delivered([recently("attempt-a", 1)])

    assert limited.retry and "429 ratelimited" in (limited.error or "")
    assert gone.retry and f"127.0.0.1:{port}" in (gone.error or "")
    assert SLACK_TOKEN not in (limited.error or "") + (gone.error or "")
