"""SlackLogHandler: every seed option, never blocking, retries, hostile text, close."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from jibe_alerts import SlackLogHandler
from jibe_alerts.testing.slack_standin import Fault, Message, SlackStandIn
from tests.conftest import TOKEN, FakeClock


def make_handler(slack: SlackStandIn, **options: Any) -> SlackLogHandler:
    options.setdefault("api_key", TOKEN)
    options.setdefault("channel", "#alerts")
    options.setdefault("base_url", slack.base_url)
    options.setdefault("timeout", 2)
    return SlackLogHandler(**options)


@pytest.fixture
def log(_restore_logging: None) -> logging.Logger:
    """A logger of the test's own that does not propagate to pytest's handlers."""
    logger = logging.getLogger("tests.slack_handler")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def attach(log: logging.Logger, handler: SlackLogHandler) -> SlackLogHandler:
    log.addHandler(handler)
    return handler


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def only_message(slack: SlackStandIn, channel: str = "alerts") -> Message:
    messages = slack.messages(channel)
    assert len(messages) == 1, messages
    return messages[0]


def attachment_text(message: Message) -> str:
    return "\n".join(
        block["text"]["text"]
        for attachment in message.attachments for block in attachment["blocks"]
        if block["type"] == "section"
    )


class TestOptions:
    """Each documented option changes what reaches Slack."""

    def test_defaults_username_and_icon(self, slack: SlackStandIn, log: logging.Logger) -> None:
        """Without username/icons the post says "Python logger" with :heavy_exclamation_mark:."""
        handler = attach(log, make_handler(slack))
        log.warning("disk %s full", "/var")
        handler.close()
        message = only_message(slack)
        assert message.username == "Python logger"
        assert message.icon_emoji == ":heavy_exclamation_mark:"
        assert "disk /var full" in attachment_text(message)

    def test_username_and_icon_url(self, slack: SlackStandIn, log: logging.Logger) -> None:
        """username and icon_url are sent as given."""
        handler = attach(log, make_handler(slack, username="Jibe", icon_url="https://x.test/i.png"))
        log.error("boom")
        handler.close()
        message = only_message(slack)
        assert (message.username, message.icon_url, message.icon_emoji) == (
            "Jibe", "https://x.test/i.png", None)

    def test_icon_emoji_overrides_icon_url(self, slack: SlackStandIn, log: logging.Logger) -> None:
        """icon_emoji wins over icon_url, and a bare name gets its colons."""
        handler = attach(log, make_handler(slack, icon_emoji="eyes", icon_url="https://x.test/i.png"))
        log.error("boom")
        handler.close()
        message = only_message(slack)
        assert (message.icon_emoji, message.icon_url) == (":eyes:", None)

    @pytest.mark.parametrize("channel", ["#alerts", "alerts", "C0000ALERTS"])
    def test_channel_forms(self, slack: SlackStandIn, log: logging.Logger, channel: str) -> None:
        """A channel given as #name, name or ID reaches the same channel."""
        handler = attach(log, make_handler(slack, channel=channel))
        log.error("to %s", channel)
        handler.close()
        assert f"to {channel}" in attachment_text(only_message(slack))

    def test_invalid_channel_is_a_clear_error(self, slack: SlackStandIn) -> None:
        """A channel that cannot be a Slack channel fails at construction, naming the fix."""
        with pytest.raises(ValueError, match="lower-case letters"):
            make_handler(slack, channel="#Bad Channel!")

    def test_missing_api_key_is_a_clear_error(self, slack: SlackStandIn) -> None:
        """An empty api_key fails at construction and says what a token looks like."""
        with pytest.raises(ValueError, match="xoxb"):
            make_handler(slack, api_key="")

    def test_level_filters(self, slack: SlackStandIn, log: logging.Logger) -> None:
        """A handler at WARNING ignores INFO records."""
        handler = make_handler(slack)
        handler.setLevel(logging.WARNING)
        attach(log, handler)
        log.info("quiet")
        log.warning("loud")
        handler.close()
        assert "loud" in attachment_text(only_message(slack))
        assert "quiet" not in attachment_text(only_message(slack))

    def test_formatter_applies(self, slack: SlackStandIn, log: logging.Logger) -> None:
        """The configured formatter shapes the text."""
        handler = make_handler(slack)
        handler.setFormatter(logging.Formatter("%(levelname)s - %(name)s - %(message)s"))
        attach(log, handler)
        log.warning("shaped")
        handler.close()
        assert "WARNING - tests.slack_handler - shaped" in attachment_text(only_message(slack))

    def test_colour_follows_level(self, slack: SlackStandIn, log: logging.Logger) -> None:
        """ERROR records are red, WARNING amber."""
        handler = attach(log, make_handler(slack, batch_size=1))
        log.warning("w")
        handler.flush()
        log.error("e")
        handler.close()
        colours = [m.attachments[0]["color"] for m in slack.messages("alerts")]
        assert colours == ["#daa038", "#d40e0d"]

    def test_base_url_from_environment(self, slack: SlackStandIn, log: logging.Logger,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a base_url option, JIBE_SLACK_BASE_URL points the client."""
        monkeypatch.setenv("JIBE_SLACK_BASE_URL", slack.base_url)
        handler = attach(log, SlackLogHandler(api_key=TOKEN, channel="alerts"))
        log.error("via env")
        handler.close()
        assert "via env" in attachment_text(only_message(slack))


class TestFailSilent:
    """fail_silent decides whether Slack errors are reported; both count them."""

    def test_fail_silent_false_reports_on_stderr(self, slack: SlackStandIn, log: logging.Logger,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
        """A bad token is reported on stderr as one clear line, never as a traceback."""
        handler = attach(log, make_handler(slack, api_key="xoxb-wrong-token-123"))
        log.error("lost")
        handler.close()
        err = capsys.readouterr().err
        assert "invalid_auth" in err
        assert "Traceback" not in err
        assert "xoxb-wrong-token-123" not in err
        assert handler.stats()["failed"] == 1

    def test_fail_silent_true_swallows(self, slack: SlackStandIn, log: logging.Logger,
                                       capsys: pytest.CaptureFixture[str]) -> None:
        """With fail_silent the error is only counted."""
        handler = attach(log, make_handler(slack, api_key="xoxb-wrong", fail_silent=True))
        log.error("lost")
        handler.close()
        assert capsys.readouterr().err == ""
        assert handler.stats()["failed"] == 1

    def test_error_goes_through_handle_error(self, slack: SlackStandIn, log: logging.Logger,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
        """fail_silent=False routes the failure through handleError, off the app's stack."""
        seen: list[str] = []
        handler = make_handler(slack)
        monkeypatch.setattr(handler, "handleError", lambda record: seen.append(record.getMessage()))
        slack.inject("chat.postMessage", Fault.api_error("channel_not_found"))
        attach(log, handler)
        log.error("x")  # returns normally: nothing raised into the application
        handler.close()
        assert seen == ["1 record(s) not posted to #alerts"]


class TestNeverBlocks:
    """The application thread never waits on Slack."""

    def test_thousand_calls_with_slack_hanging(self, slack: SlackStandIn,
                                               log: logging.Logger) -> None:
        """With every Slack call hanging 30 s, 1,000 logging calls still return at once."""
        slack.inject("chat.postMessage", Fault.hang(30), times=100)
        handler = attach(log, make_handler(slack, timeout=1, close_timeout=0.2, fail_silent=True))
        started = time.perf_counter()
        for i in range(1000):
            log.error("record %d", i)
        elapsed = time.perf_counter() - started
        assert elapsed < 1.0  # coarse bound: the calls only queue
        assert handler.stats()["records_in"] == 1000
        handler.close()

    def test_queue_is_bounded_and_drops_are_counted(self, slack: SlackStandIn,
                                                    log: logging.Logger) -> None:
        """Past queue_size, records are dropped and counted, never buffered without limit."""
        slack.set_down(True)
        handler = attach(log, make_handler(slack, queue_size=10, fail_silent=True,
                                           close_timeout=0.1, max_attempts=1))
        for i in range(500):
            log.error("flood %d", i)
        stats = handler.stats()
        assert stats["dropped"] >= 480
        assert stats["records_in"] + stats["dropped"] == 500
        handler.close()

    def test_sdk_records_do_not_loop(self, slack: SlackStandIn) -> None:
        """On the root logger at DEBUG, slack_sdk/urllib3 records never come back to Slack."""
        root = logging.getLogger()
        root.setLevel(logging.DEBUG)
        handler = make_handler(slack)
        root.addHandler(handler)
        logging.getLogger("tests.app").error("only me")
        logging.getLogger("slack_sdk.web.base_client").error("sdk noise")
        logging.getLogger("urllib3.connectionpool").error("pool noise")
        handler.close()
        root.removeHandler(handler)
        texts = [attachment_text(m) for m in slack.messages("alerts")]
        assert len(texts) == 1
        assert "only me" in texts[0]


class TestRetries:
    """Rate limits, server errors and permanent errors, with an injected clock."""

    def test_429_then_success_waits_retry_after(self, slack: SlackStandIn,
                                                log: logging.Logger, clock: FakeClock) -> None:
        """A 429 with Retry-After: 7 is waited exactly, then the record is posted once."""
        slack.inject("chat.postMessage", Fault.rate_limited(7))
        handler = attach(log, make_handler(slack, sleep=clock.sleep))
        log.error("after the wait")
        handler.flush()  # close() would not wait 7 s past its deadline
        handler.close()
        assert clock.sleeps == [7.0]
        assert len(slack.messages("alerts")) == 1
        assert [c.status for c in slack.calls if c.method == "chat.postMessage"] == [429, 200]
        assert handler.stats()["retried"] == 1

    def test_server_errors_back_off_then_succeed(self, slack: SlackStandIn,
                                                 log: logging.Logger, clock: FakeClock) -> None:
        """Two 503s are retried with growing, jittered waits; one post lands."""
        slack.inject("chat.postMessage", Fault.http_error(503), times=2)
        handler = attach(log, make_handler(slack, sleep=clock.sleep))
        log.error("eventually")
        handler.close()
        assert len(clock.sleeps) == 2
        assert all(0 <= s <= 30 for s in clock.sleeps)
        assert len(slack.messages("alerts")) == 1

    def test_disconnect_is_retried(self, slack: SlackStandIn, log: logging.Logger,
                                   clock: FakeClock) -> None:
        """A dropped connection counts as transient and is retried."""
        slack.inject("chat.postMessage", Fault.disconnect())
        handler = attach(log, make_handler(slack, sleep=clock.sleep))
        log.error("after a reset")
        handler.close()
        assert len(slack.messages("alerts")) == 1

    @pytest.mark.parametrize("error", ["invalid_auth", "channel_not_found", "not_in_channel"])
    def test_permanent_errors_are_not_retried(self, slack: SlackStandIn, log: logging.Logger,
                                              clock: FakeClock, error: str) -> None:
        """Permanent errors are tried once and counted as failed."""
        slack.inject("chat.postMessage", Fault.api_error(error))
        handler = attach(log, make_handler(slack, sleep=clock.sleep, fail_silent=True))
        log.error("never")
        handler.close()
        assert clock.sleeps == []
        assert [c.method for c in slack.calls] == ["chat.postMessage"]
        assert handler.stats()["failed"] == 1

    def test_batches_a_backlog(self, strict_slack: SlackStandIn, log: logging.Logger) -> None:
        """A burst of 25 records goes out as at most 3 messages, not 25 rate-limited posts."""
        handler = attach(log, make_handler(strict_slack))
        for i in range(25):
            log.error("burst %d", i)
        handler.close()
        messages = strict_slack.messages("alerts")
        assert 3 <= len(messages) <= 4
        assert sum(len(m.attachments) for m in messages) == 25


class TestHostileText:
    """Log text can never ping, break the payload or raise into the application."""

    def test_mentions_are_escaped(self, slack: SlackStandIn, log: logging.Logger) -> None:
        """<!channel>, <@U123>, @here and & arrive escaped: nobody is pinged."""
        handler = attach(log, make_handler(slack))
        log.error("<!channel> <@U123> @here a & b <https://evil|click>")
        handler.close()
        message = only_message(slack)
        body = attachment_text(message) + message.text
        assert "<!channel>" not in body and "<@U123>" not in body and "<https" not in body
        assert "&lt;!channel&gt;" in body and "a &amp; b" in body
        assert "@here" not in body

    def test_huge_message_is_truncated(self, slack: SlackStandIn, log: logging.Logger) -> None:
        """A 100 kB message is cut to Slack's section limit and still posted."""
        handler = attach(log, make_handler(slack))
        log.error("x" * 100_000)
        handler.close()
        text = attachment_text(only_message(slack))
        assert 2900 < len(text) <= 3000
        assert text.endswith("…")

    def test_surrogates_and_bad_args(self, slack: SlackStandIn, log: logging.Logger) -> None:
        """Lone surrogates and a failing msg % args are reported, not raised."""
        handler = attach(log, make_handler(slack))
        log.error("bad \udcff byte")
        # Straight to the handler: pytest's own capture handler would raise on this record.
        handler.handle(logging.LogRecord("tests.slack_handler", logging.ERROR, __file__, 1,
                                         "needs %d numbers %d", ("only one",), None))
        handler.close()
        texts = "\n".join(attachment_text(m) for m in slack.messages("alerts"))
        assert "bad \ufffd byte" in texts or "bad ? byte" in texts
        assert "needs %d numbers %d" in texts and "only one" in texts
        assert handler.stats()["malformed"] == 1

    def test_traceback_is_a_code_block(self, slack: SlackStandIn, log: logging.Logger) -> None:
        """exc_info becomes a code block holding the traceback's end, within the limit."""
        handler = attach(log, make_handler(slack))
        try:
            raise RuntimeError("deep <failure> " + "y" * 5000)
        except RuntimeError:
            log.exception("sync failed")
        handler.close()
        sections = [b["text"]["text"] for b in only_message(slack).attachments[0]["blocks"]
                    if b["type"] == "section"]
        assert sections[0] == "sync failed"
        assert sections[1].startswith("```\n") and sections[1].endswith("\n```")
        assert "RuntimeError: deep &lt;failure&gt;" in sections[1] or "yyyy" in sections[1]
        assert len(sections[1]) <= 3000


class TestClose:
    """close() delivers what is queued within its deadline and never hangs."""

    def test_close_delivers_queue(self, slack: SlackStandIn, log: logging.Logger) -> None:
        """Records queued just before close are posted by close."""
        handler = attach(log, make_handler(slack))
        for i in range(12):
            log.error("pending %d", i)
        handler.close()
        assert sum(len(m.attachments) for m in slack.messages("alerts")) == 12
        assert handler.stats()["posted"] == 12

    def test_close_gives_up_at_deadline(self, slack: SlackStandIn, log: logging.Logger,
                                        capsys: pytest.CaptureFixture[str]) -> None:
        """With Slack hanging, close returns near its deadline and reports what it left."""
        slack.inject("chat.postMessage", Fault.hang(30), times=10)
        handler = attach(log, make_handler(slack, timeout=5, close_timeout=0.5))
        log.error("stuck")
        time.sleep(0.2)
        started = time.monotonic()
        handler.close()
        assert time.monotonic() - started < 2.0
        stats = handler.stats()
        assert stats["undelivered_at_close"] + stats["posted"] + stats["failed"] >= 1

    def test_repr_hides_token(self, slack: SlackStandIn) -> None:
        """Neither repr nor the options show the token."""
        handler = make_handler(slack, api_key="xoxb-123-secret")
        try:
            assert "secret" not in repr(handler)
            assert "secret" not in repr(handler.options)
        finally:
            handler.close()


@pytest.fixture(autouse=True)
def _no_stray_stderr_from_other_tests() -> Iterator[None]:
    yield
    sys.stderr.flush()
