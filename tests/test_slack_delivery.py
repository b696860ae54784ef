"""SlackDelivery: classification, Retry-After, backoff, circuit breaker, pacing."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from jibe_alerts.secrets import Secret, redact
from jibe_alerts.slack_delivery import (
    CircuitBreaker,
    CircuitOpenError,
    DeliveryError,
    SlackDelivery,
    build_client,
    resolve_base_url,
)
from jibe_alerts.testing.slack_standin import Fault, SlackStandIn
from tests.conftest import TOKEN, FakeClock


def delivery(slack: SlackStandIn, clock: FakeClock, **options: object) -> SlackDelivery:
    client = WebClient(token=TOKEN, base_url=slack.base_url, timeout=2, retry_handlers=[])
    return SlackDelivery(client, clock=clock, sleep=clock.sleep, **options)  # type: ignore[arg-type]


class TestRetries:
    """What is retried, how long it waits, and what is not."""

    def test_retry_after_is_honoured(self, slack: SlackStandIn, clock: FakeClock) -> None:
        """Two 429s wait exactly their Retry-After values."""
        slack.inject("chat.postMessage", Fault.rate_limited(3))
        slack.inject("chat.postMessage", Fault.rate_limited(11))
        answer = delivery(slack, clock).call("chat.postMessage", channel="#alerts", text="hi")
        assert answer["ok"] is True
        assert clock.sleeps == [3.0, 11.0]

    def test_gives_up_after_max_attempts(self, slack: SlackStandIn, clock: FakeClock) -> None:
        """Five 500s: five attempts, then a DeliveryError naming the status."""
        slack.inject("chat.postMessage", Fault.http_error(500), times=5)
        with pytest.raises(DeliveryError) as error:
            delivery(slack, clock).call("chat.postMessage", channel="#alerts", text="hi")
        assert error.value.attempts == 5
        assert "HTTP 500" in str(error.value)
        assert not error.value.permanent

    def test_deadline_stops_retrying(self, slack: SlackStandIn, clock: FakeClock) -> None:
        """A Retry-After past the deadline is not waited for."""
        slack.inject("chat.postMessage", Fault.rate_limited(30))
        with pytest.raises(DeliveryError):
            delivery(slack, clock).call("chat.postMessage", deadline=clock() + 5,
                                        channel="#alerts", text="hi")
        assert clock.sleeps == []

    def test_timeout_is_transient(self, slack: SlackStandIn, clock: FakeClock) -> None:
        """A hanging Slack times out and the call is retried."""
        slack.inject("chat.postMessage", Fault.hang(3))
        client = WebClient(token=TOKEN, base_url=slack.base_url, timeout=1, retry_handlers=[])
        answer = SlackDelivery(client, clock=clock, sleep=clock.sleep).call(
            "chat.postMessage", channel="#alerts", text="after timeout")
        assert answer["ok"] is True


class TestCircuitBreaker:
    """After repeated failures Slack is not hammered."""

    def test_opens_then_half_opens(self, slack: SlackStandIn, clock: FakeClock) -> None:
        """Five failures open the circuit; calls are refused until reset_timeout passes."""
        breaker = CircuitBreaker(failure_threshold=5, reset_timeout=30, clock=clock)
        d = delivery(slack, clock, breaker=breaker, max_attempts=10)
        slack.set_down(True)
        with pytest.raises(DeliveryError):
            d.call("chat.postMessage", channel="#alerts", text="x")
        calls = len(slack.calls)
        assert calls == 5  # stopped retrying when the circuit opened
        with pytest.raises(CircuitOpenError):
            d.call("chat.postMessage", channel="#alerts", text="x")
        assert len(slack.calls) == calls
        slack.set_down(False)
        clock.advance(31)
        assert d.call("chat.postMessage", channel="#alerts", text="x")["ok"] is True
        assert not breaker.is_open


class TestPacing:
    """At most one post per second per channel, whatever name the channel is given by."""

    def test_second_post_waits(self, slack: SlackStandIn, clock: FakeClock) -> None:
        """Two posts in a row: the second waits out the second; the ID counts as the name."""
        d = delivery(slack, clock)
        d.call("chat.postMessage", channel="#alerts", text="1")
        d.call("chat.postMessage", channel="C0000ALERTS", text="2")
        assert clock.sleeps == [pytest.approx(1.0)]


class TestSecrets:
    """Tokens never show."""

    def test_redact(self) -> None:
        """Bot, user and app tokens and redis passwords are masked."""
        text = redact("xoxb-1-2-abc xoxp-9 xapp-1-A-b redis://u:pw@host:6379/0")
        assert "abc" not in text and "pw@" not in text and "xapp-1-A" not in text

    def test_secret_repr(self) -> None:
        """A Secret prints redacted but reveals on demand."""
        secret = Secret("xoxb-123")
        assert "123" not in repr(secret) and "123" not in f"{secret}"
        assert secret.reveal() == "xoxb-123"

    def test_base_url_resolution(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Option, then environment, then Slack's URL; always with a trailing slash."""
        monkeypatch.delenv("JIBE_SLACK_BASE_URL", raising=False)
        assert resolve_base_url(None) == "https://slack.com/api/"
        monkeypatch.setenv("JIBE_SLACK_BASE_URL", "http://127.0.0.1:1/api")
        assert resolve_base_url(None) == "http://127.0.0.1:1/api/"
        assert resolve_base_url("http://x/api/") == "http://x/api/"
        client = build_client(Secret("xoxb-1"), base_url="http://x/api/", timeout=2)
        assert client.base_url == "http://x/api/"
