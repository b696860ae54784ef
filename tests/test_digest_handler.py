"""SlackDigestHandler end to end: grouping, window timers, rendering limits, delivery faults."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jibe_alerts.digest_handler import SlackDigestHandler
from jibe_alerts.stores.memory import MemoryStore
from jibe_alerts.testing.slack_standin import Fault, Message, SlackStandIn
from tests.conftest import TOKEN, FakeClock

DELAY_RULE = {"match": "^Providers (?:Still )?Sync Delayed: ",
              "key": "Providers Sync Delayed: <providers>",
              "entity": "'(?P<entity>[^'\\]]+?) - "}


@pytest.fixture
def log(_restore_logging: None) -> logging.Logger:
    """A non-propagating logger named like Jibe's sync logger."""
    logger = logging.getLogger("jibe.provider.sync")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


@pytest.fixture
def handlers() -> Iterator[list[SlackDigestHandler]]:
    """Closes every handler a test made."""
    made: list[SlackDigestHandler] = []
    yield made
    for handler in made:
        handler.close()


def make(slack: SlackStandIn, clock: FakeClock, made: list[SlackDigestHandler],
         **options: Any) -> SlackDigestHandler:
    options.setdefault("api_key", TOKEN)
    options.setdefault("channel", "#alerts")
    options.setdefault("base_url", slack.base_url)
    options.setdefault("store", MemoryStore(clock=clock))
    options.setdefault("flush_interval", 3600)  # tests drive flushing with flush()
    handler = SlackDigestHandler(clock=clock, sleep=clock.sleep, **options)
    made.append(handler)
    return handler


def texts(message: Message) -> str:
    """All the text of a message's blocks."""
    parts = []
    for block in message.blocks:
        if block["type"] in ("section", "header"):
            parts.append(block["text"]["text"])
        elif block["type"] == "context":
            parts += [e["text"] for e in block["elements"]]
    return "\n".join(parts)


def replies_text(message: Message) -> str:
    return "\n".join(texts(r) or r.text for r in message.replies)


class TestGrouping:
    """A flood of one shape becomes one digest line with its entities."""

    def test_ten_thousand_delays_one_digest(self, slack: SlackStandIn, clock: FakeClock,
                                            handlers: list[SlackDigestHandler],
                                            log: logging.Logger, tmp_path: Path) -> None:
        """10,000 'Still Sync Delayed' records → one digest, ×10,000, providers as entities."""
        handler = make(slack, clock, handlers, rules=[DELAY_RULE])
        file_handler = logging.FileHandler(tmp_path / "info.log", encoding="utf8")
        log.addHandler(handler)
        log.addHandler(file_handler)
        providers = ["Sales GovCloud", "Eng Cloud", "Shared Media", "S3 Cloud"]
        for i in range(10_000):
            name = providers[i % len(providers)]
            log.warning("Providers Still Sync Delayed: %s",
                        [f"{name} - {i % 9 + 1} days, Real-Time Refresh On"])
        handler.flush()
        assert slack.messages("alerts") == []  # group_wait (30 s) has not passed
        clock.advance(31)
        handler.flush()
        (message,) = slack.messages("alerts")
        body = texts(message)
        assert "×10,000" in body
        assert "10,000 records" in body
        for name in providers:
            assert name in body
        file_handler.close()
        assert len((tmp_path / "info.log").read_text(encoding="utf8").splitlines()) == 10_000
        stats = handler.stats()
        assert stats["records_in"] == 10_000 and stats["posted"] == 1
        assert stats["records_delivered"] == 10_000

    def test_different_shapes_share_one_message(self, slack: SlackStandIn, clock: FakeClock,
                                                handlers: list[SlackDigestHandler],
                                                log: logging.Logger) -> None:
        """Three message shapes due together go out in one message with three lines."""
        handler = make(slack, clock, handlers)
        log.addHandler(handler)
        log.warning("New bucket - Shared Media/sharedmedia123_logs")
        log.warning("New bucket - Shared Media/media_assets_123")
        log.warning("Stop Folder Monitor 'Eng Cloud' - [AWSLogs]")
        log.error("Provider Sync Failed: 'Eng Cloud' - AccessDenied (403)")
        handler.flush()  # records enter the window when the worker collects them
        clock.advance(30)
        handler.flush()
        (message,) = slack.messages("alerts")
        sections = [b for b in message.blocks if b["type"] == "section"]
        assert len(sections) == 3
        assert sections[0]["text"]["text"].startswith(":red_circle: *ERROR*")
        assert "×2" in texts(message)


class TestWindow:
    """group_wait, group_interval, escalation, repeat_interval and resolve, on a fake clock."""

    def test_updates_in_place_at_most_every_group_interval(
            self, slack: SlackStandIn, clock: FakeClock, handlers: list[SlackDigestHandler],
            log: logging.Logger) -> None:
        """New records update the same message, not before group_interval has passed."""
        handler = make(slack, clock, handlers, group_interval="5m", resolve_timeout="1h")
        log.addHandler(handler)
        log.warning("disk %d%% full", 91)
        handler.flush()  # records enter the window when the worker collects them
        clock.advance(30)
        handler.flush()
        log.warning("disk %d%% full", 95)
        handler.flush()
        clock.advance(60)
        handler.flush()
        (message,) = slack.messages("alerts")
        assert message.edit_count == 0
        clock.advance(300)
        handler.flush()
        (message,) = slack.messages("alerts")
        assert message.edit_count == 1
        assert "×2" in texts(message)
        assert handler.stats()["updated"] == 1

    def test_level_rise_replies_in_thread_at_once(
            self, slack: SlackStandIn, clock: FakeClock, handlers: list[SlackDigestHandler],
            log: logging.Logger) -> None:
        """WARNING then ERROR of the same shape: a thread reply and an update right away."""
        handler = make(slack, clock, handlers)
        log.addHandler(handler)
        log.warning("Provider %s unreachable", "Eng Cloud")
        handler.flush()  # records enter the window when the worker collects them
        clock.advance(30)
        handler.flush()
        log.error("Provider %s unreachable", "Eng Cloud")
        handler.flush()
        clock.advance(1)
        handler.flush()
        (message,) = slack.messages("alerts")
        assert message.edit_count == 1
        assert "Escalated to *ERROR*" in replies_text(message)

    def test_reminder_after_repeat_interval(
            self, slack: SlackStandIn, clock: FakeClock, handlers: list[SlackDigestHandler],
            log: logging.Logger) -> None:
        """Still going after repeat_interval: a fresh top-level 'Still happening' digest."""
        handler = make(slack, clock, handlers, group_interval="5m", repeat_interval="1h",
                       resolve_timeout="30m")
        log.addHandler(handler)
        for _ in range(13):  # one record every 5 minutes for an hour
            log.warning("Providers Still Sync Delayed: ['Eng Cloud - 1 days']")
            handler.flush()
            clock.advance(300)
            handler.flush()
        messages = slack.messages("alerts")
        assert len(messages) == 2
        assert "Still happening" in texts(messages[1])
        assert "×13" in texts(messages[1]) or "×12" in texts(messages[1])

    def test_resolves_after_silence(self, slack: SlackStandIn, clock: FakeClock,
                                    handlers: list[SlackDigestHandler],
                                    log: logging.Logger) -> None:
        """No record for resolve_timeout: the message says resolved and the thread says so."""
        handler = make(slack, clock, handlers, resolve_timeout="15m")
        log.addHandler(handler)
        log.warning("Bucket removed S3 Cloud/sc-bucketing (Folder Id: 1, Jibe Sync: False)")
        handler.flush()  # records enter the window when the worker collects them
        clock.advance(30)
        handler.flush()
        clock.advance(15 * 60)
        handler.flush()
        (message,) = slack.messages("alerts")
        assert "*Resolved*" in texts(message)
        assert ":white_check_mark: Resolved: `jibe.provider.sync`" in replies_text(message)
        assert handler.stats()["groups"] == 0
        # The same shape later opens a new incident and a new digest.
        log.warning("Bucket removed S3 Cloud/sc-bucketing (Folder Id: 2, Jibe Sync: False)")
        handler.flush()  # records enter the window when the worker collects them
        clock.advance(30)
        handler.flush()
        assert len(slack.messages("alerts")) == 2

    def test_close_delivers_pending(self, slack: SlackStandIn, clock: FakeClock,
                                    log: logging.Logger) -> None:
        """With the embedded store, close() posts what group_wait still held back."""
        handler = make(slack, clock, [])
        log.addHandler(handler)
        log.warning("pending at exit %d", 1)
        handler.close()
        (message,) = slack.messages("alerts")
        assert "pending at exit 1" in texts(message)


class TestLimits:
    """Rendering stays inside every Block Kit limit; nothing is silently missing."""

    def test_three_hundred_groups(self, slack: SlackStandIn, clock: FakeClock,
                                  handlers: list[SlackDigestHandler], log: logging.Logger) -> None:
        """300 distinct groups: one digest of 20 lines, the rest listed in thread replies."""
        handler = make(slack, clock, handlers)
        log.addHandler(handler)
        words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
                 "india", "juliet", "kilo", "lima", "mike", "november", "oscar"]
        shapes = [f"{a} {b} {c} failed" for a in words for b in words for c in words[:2]][:300]
        for shape in shapes:
            log.warning(shape + " " + "x" * 500)
        handler.flush()  # records enter the window when the worker collects them
        clock.advance(30)
        handler.flush()
        assert all(c.response.get("ok") for c in slack.calls if c.method == "chat.postMessage")
        (message,) = slack.messages("alerts")
        assert len(message.blocks) <= 50
        assert "+280 more groups" in texts(message)
        everything = texts(message) + replies_text(message)
        for shape in shapes:
            assert shape in everything

    def test_hostile_text_is_escaped(self, slack: SlackStandIn, clock: FakeClock,
                                     handlers: list[SlackDigestHandler],
                                     log: logging.Logger) -> None:
        """Mentions and markup in log text never ping anyone; 100 kB lines fit."""
        handler = make(slack, clock, handlers)
        log.addHandler(handler)
        log.warning("<!channel> wake up <@U123> & @here")
        log.warning("huge " + "y" * 100_000)
        handler.flush()  # records enter the window when the worker collects them
        clock.advance(30)
        handler.flush()
        (message,) = slack.messages("alerts")
        body = texts(message) + message.text
        assert "<!channel>" not in body and "<@U123>" not in body and "@here" not in body
        assert "&lt;!channel&gt;" in body


class TestDelivery:
    """Slack faults never reach the app; digests are retried, then dead-lettered."""

    def test_rate_limit_storm_then_one_digest(self, slack: SlackStandIn, clock: FakeClock,
                                              handlers: list[SlackDigestHandler],
                                              log: logging.Logger) -> None:
        """Ten 429s in a row: retried with Retry-After waits, exactly one digest lands."""
        slack.inject("chat.postMessage", Fault.rate_limited(2), times=10)
        handler = make(slack, clock, handlers)
        log.addHandler(handler)
        log.warning("storm %d", 1)
        handler.flush()
        clock.advance(30)
        for _ in range(4):
            handler.flush()
            clock.advance(120)
        assert len(slack.messages("alerts")) == 1
        assert handler.stats()["rate_limited"] == 10

    def test_server_errors_then_recovery(self, slack: SlackStandIn, clock: FakeClock,
                                         handlers: list[SlackDigestHandler],
                                         log: logging.Logger) -> None:
        """Slack down for a while: the digest stays pending, then goes out once."""
        slack.set_down(True)
        handler = make(slack, clock, handlers, fail_silent=True)
        log.addHandler(handler)
        log.warning("while down")
        handler.flush()  # records enter the window when the worker collects them
        clock.advance(30)
        handler.flush()
        assert handler.stats()["failed"] >= 1
        slack.set_down(False)
        clock.advance(600)
        handler.flush()
        assert len(slack.messages("alerts")) == 1
        assert handler.stats()["dead_lettered"] == 0

    @pytest.mark.parametrize("fail_silent", [True, False])
    def test_invalid_auth_dead_letters_after_limit(
            self, slack: SlackStandIn, clock: FakeClock, handlers: list[SlackDigestHandler],
            log: logging.Logger, tmp_path: Path, capsys: pytest.CaptureFixture[str],
            fail_silent: bool) -> None:
        """invalid_auth every time: after max attempts the digest is dead-lettered to the file,
        and the next digest that gets through says so."""
        dead = tmp_path / "dead.jsonl"
        slack.inject("chat.postMessage", Fault.api_error("invalid_auth"), times=3)
        handler = make(slack, clock, handlers, fail_silent=fail_silent, dead_letter_path=str(dead),
                       max_delivery_attempts=3)
        log.addHandler(handler)
        log.warning("doomed digest")
        handler.flush()
        clock.advance(30)
        for _ in range(3):
            handler.flush()
            clock.advance(400)
        (entry,) = [json.loads(line) for line in dead.read_text().splitlines()]
        assert entry["reason"].endswith("invalid_auth")
        assert entry["records"] == 1 and entry["groups"][0]["sample"] == "doomed digest"
        err = capsys.readouterr().err
        assert ("invalid_auth" in err) is (not fail_silent)
        assert "Traceback" not in err
        log.warning("next one")
        handler.flush()  # records enter the window when the worker collects them
        clock.advance(30)
        handler.flush()
        (message,) = slack.messages("alerts")
        assert "1 earlier digest(s) could not be delivered" in texts(message)
        assert handler.stats()["dead_lettered"] == 1


class TestConcurrency:
    """Many threads at once: exact counts; a full queue drops and counts."""

    def test_eight_threads_exact_counts(self, slack: SlackStandIn, clock: FakeClock,
                                        handlers: list[SlackDigestHandler],
                                        log: logging.Logger) -> None:
        """8 threads × 2,000 records of 4 shapes: the digest counts add up exactly."""
        handler = make(slack, clock, handlers)
        log.addHandler(handler)

        def produce(n: int) -> None:
            for i in range(2000):
                log.warning("worker %s shape %d step %d", n, i % 4, i)

        threads = [threading.Thread(target=produce, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        handler.flush()  # records enter the window when the worker collects them
        clock.advance(30)
        handler.flush()
        (message,) = slack.messages("alerts")
        assert "16,000 records" in texts(message)
        assert handler.stats()["records_in"] == 16_000

    def test_queue_overflow_is_counted(self, slack: SlackStandIn, clock: FakeClock,
                                       handlers: list[SlackDigestHandler],
                                       log: logging.Logger) -> None:
        """Past queue_size records are dropped and counted; in + dropped = logged."""
        handler = make(slack, clock, handlers, queue_size=100)
        handler.work = lambda: None  # type: ignore[method-assign]  # a stalled worker
        log.addHandler(handler)
        for i in range(1000):
            log.warning("flood %d", i)
        stats = handler.stats()
        assert stats["dropped"] >= 890
        assert stats["records_in"] + stats["dropped"] == 1000


class TestLifecycle:
    """Reloads continue the window; a process that exits delivers what it held."""

    def test_reload_continues_the_window(self, slack: SlackStandIn, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
        """After a config reload the new handler updates the same message, not a new one."""
        from jibe_alerts.reload import apply_config  # noqa: PLC0415

        monkeypatch.setenv("JIBE_SLACK_BASE_URL", slack.base_url)
        config: dict[str, Any] = {
            "version": 1, "disable_existing_loggers": False,
            "handlers": {"digest": {
                "class": "jibe_alerts.SlackDigestHandler", "api_key": TOKEN,
                "channel": "#alerts", "group_wait": 0.2, "group_interval": 0.2,
                "flush_interval": 0.05}},
            "loggers": {"jibe.provider": {"level": "INFO", "handlers": ["digest"],
                                          "propagate": False}},
        }
        apply_config(config)
        log = logging.getLogger("jibe.provider")
        log.warning("Bucket removed %s", "S3 Cloud/a")
        wait_until(lambda: len(slack.messages("alerts")) == 1)
        config["handlers"]["digest"]["title"] = "renamed after reload"
        apply_config(config)
        log.warning("Bucket removed %s", "S3 Cloud/b")
        wait_until(lambda: slack.messages("alerts")[0].edit_count >= 1)
        logging.shutdown()
        (message,) = slack.messages("alerts")
        assert "×2" in texts(message) and "renamed after reload" in texts(message)

    def test_process_exit_delivers_pending(self, slack: SlackStandIn, tmp_path: Path) -> None:
        """A process that logs and exits normally posts its digest at exit (logging.shutdown)."""
        script = f"""
import logging
from jibe_alerts import SlackDigestHandler
handler = SlackDigestHandler({TOKEN!r}, "#alerts", base_url={slack.base_url!r})
log = logging.getLogger("jibe.provider")
log.addHandler(handler)
for i in range(500):
    log.warning("Providers Still Sync Delayed: %s", ["Eng Cloud - %d days" % (i % 3)])
"""
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        (message,) = slack.messages("alerts")
        assert "×500" in texts(message)


def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


class TestLoggerToggles:
    """The handler's ``loggers`` option switches loggers off, raises levels, moves channels."""

    def test_toggles(self, slack: SlackStandIn, clock: FakeClock,
                     handlers: list[SlackDigestHandler], log: logging.Logger) -> None:
        """Off for one logger, ERROR-only for another, a channel of its own for a third."""
        handler = make(slack, clock, handlers, loggers={
            "jibe.provider.sync": {"enabled": False},
            "jibe.bucket": {"level": "ERROR"},
            "jibe.reports": {"channel": "#general"},
        })
        for name in ("jibe.provider.sync", "jibe.bucket", "jibe.reports.ProviderReport"):
            logger = logging.getLogger(name)
            logger.addHandler(handler)
            logger.warning("warning from %s", name)
        logging.getLogger("jibe.bucket").error("error from jibe.bucket")
        for name in ("jibe.bucket", "jibe.reports.ProviderReport"):
            logging.getLogger(name).removeHandler(handler)
        handler.flush()
        clock.advance(30)
        handler.flush()
        (alerts,) = slack.messages("alerts")
        assert "error from jibe.bucket" in texts(alerts)
        assert "warning from" not in texts(alerts)
        (general,) = slack.messages("general")
        assert "warning from jibe.reports.ProviderReport" in texts(general)
        assert handler.stats()["suppressed"] == 2

    def test_bad_toggle_is_a_config_problem(self) -> None:
        """An unknown setting is reported by the config checker with its key."""
        problems = SlackDigestHandler.validate_options(
            {"loggers": {"jibe.provider": {"enabeld": False}}})
        assert problems[0][0] == "loggers.jibe.provider"
        assert "enabeld" in problems[0][1]


class TestTimeouts:
    """A Slack that hangs past the client timeout is retried like any transient failure."""

    def test_hanging_slack_then_one_digest(self, slack: SlackStandIn, clock: FakeClock,
                                           handlers: list[SlackDigestHandler],
                                           log: logging.Logger) -> None:
        """Two posts time out (1 s client timeout); the third attempt lands; nothing raised.

        (As with real Slack, a request that timed out on our side may still be taken late:
        a timeout can duplicate a post, never lose one.)
        """
        slack.inject("chat.postMessage", Fault.hang(3), times=2)
        handler = make(slack, clock, handlers, timeout=1)
        log.addHandler(handler)
        log.warning("slow slack %d", 1)
        handler.flush()
        clock.advance(30)
        handler.flush()
        messages = slack.messages("alerts")
        assert messages
        assert "slow slack 1" in texts(messages[-1])
        assert handler.stats()["retried"] >= 2
        assert handler.stats()["failed"] == 0


class TestResolvedStayShown:
    """An incident that resolved keeps its line in the message through later updates."""

    def test_resolved_line_survives_update(self, slack: SlackStandIn, clock: FakeClock,
                                           handlers: list[SlackDigestHandler],
                                           log: logging.Logger) -> None:
        """A resolves (quiet), B keeps going: B's later update still lists A as resolved."""
        handler = make(slack, clock, handlers, group_interval="1m", resolve_timeout="5m")
        log.addHandler(handler)
        log.warning("Bucket removed %s", "S3 Cloud/a")
        log.warning("Provider %s unreachable", "Eng Cloud")
        handler.flush()
        clock.advance(30)
        handler.flush()
        for _ in range(8):  # B every minute, A silent
            clock.advance(60)
            log.warning("Provider %s unreachable", "Eng Cloud")
            handler.flush()
        (message,) = slack.messages("alerts")
        body = texts(message)
        assert "resolved earlier" in body
        assert "Resolved" in body and "Bucket removed S3 Cloud/a" in body
        assert "×9" in body


PER_PROVIDER = {"match": "^Providers (?:Still )?Sync Delayed: ",
                "key": "Providers Sync Delayed: {entity}",
                "entity": "'(?P<entity>[^'\\]]+?) - "}
NO_LONGER = {"match": "^Providers No Longer Sync Delayed: ",
             "entity": "'(?P<entity>[^']+)'",
             "resolves": "Providers Sync Delayed: {entity}"}


class TestResolveRules:
    """A 'No Longer Sync Delayed' record resolves exactly its provider's incident."""

    def test_resolves_only_the_named_entity(self, slack: SlackStandIn, clock: FakeClock,
                                            handlers: list[SlackDigestHandler],
                                            log: logging.Logger) -> None:
        """Two delayed providers; Eng Cloud recovers: its line resolves, Sales GovCloud's not."""
        handler = make(slack, clock, handlers, rules=[PER_PROVIDER], resolve_rules=[NO_LONGER],
                       resolve_timeout="1h")
        log.addHandler(handler)
        log.warning("Providers Sync Delayed: %s", ["Eng Cloud - 4 days, ReSync Running",
                                                   "Sales GovCloud - 4 hours, Real-Time"])
        handler.flush()
        clock.advance(30)
        handler.flush()
        (message,) = slack.messages("alerts")
        assert texts(message).count("×1") == 2  # one incident per provider
        clock.advance(60)
        log.warning("Providers No Longer Sync Delayed: %s", ["Eng Cloud"])
        handler.flush()
        clock.advance(1)
        handler.flush()
        (message,) = slack.messages("alerts")
        body = texts(message)
        resolved = [line for line in body.splitlines() if "Resolved" in line]
        assert any("Eng Cloud" in line for line in resolved)
        assert not any("Sales GovCloud" in line for line in resolved)
        assert "Resolved" in replies_text(message) and "Eng Cloud" in replies_text(message)
        stats = handler.stats()
        assert stats["groups"] == 1 and stats["resolutions"] == 1

    def test_bad_resolve_rule_is_a_config_problem(self) -> None:
        """A rule without resolves is reported with its index."""
        problems = SlackDigestHandler.validate_options({"resolve_rules": [{"match": "x"}]})
        assert problems[0][0] == "resolve_rules[0]"
        assert "resolves is required" in problems[0][1]


class TestMutes:
    """Mutes written to the store silence a logger or a group in every handler."""

    def test_muted_logger_and_group(self, slack: SlackStandIn, clock: FakeClock,
                                    handlers: list[SlackDigestHandler],
                                    log: logging.Logger) -> None:
        """A muted logger (and its children) and a muted group key are counted, not posted."""
        handler = make(slack, clock, handlers)
        handler.store.set_mute("jibe.provider", until=clock() + 3600)
        log.addHandler(handler)
        other = logging.getLogger("jibe.bucket")
        other.addHandler(handler)
        handler.flush()  # the worker picks the mutes up on its flush tick
        log.warning("muted %d", 1)
        other.warning("shown %d", 1)
        other.removeHandler(handler)
        handler.flush()
        clock.advance(30)
        handler.flush()
        (message,) = slack.messages("alerts")
        assert "shown 1" in texts(message) and "muted 1" not in texts(message)
        assert handler.stats()["muted"] == 1
        handler.store.set_mute("jibe.provider", until=None)
        handler.flush()
        log.warning("back %d", 2)
        handler.flush()
        clock.advance(30)
        handler.flush()
        assert any("back 2" in texts(m) for m in slack.messages("alerts"))
        # a muted group key: only that shape is left out, the logger's other ones go through
        (muted_key,) = handler.store.message_keys(slack.messages("alerts")[-1].channel,
                                                  slack.messages("alerts")[-1].ts)
        handler.store.set_mute(muted_key, until=clock() + 3600)
        handler.flush()
        log.warning("back %d", 3)
        log.warning("other shape %s", "x")
        handler.flush()
        clock.advance(30)
        handler.flush()
        latest = texts(slack.messages("alerts")[-1])
        assert "other shape x" in latest and "back 3" not in latest
        assert handler.stats()["muted"] == 2


class TestAcknowledge:
    """An acknowledged incident is updated in place, not reminded, until the ack expires."""

    def test_ack_updates_and_quiets_then_thread_reminder(
            self, slack: SlackStandIn, clock: FakeClock, handlers: list[SlackDigestHandler],
            log: logging.Logger) -> None:
        """Ack → message shows who; records keep counting in place; no top-level reminder;
        when the ack expires the reminder goes to the thread."""
        handler = make(slack, clock, handlers, interactive=True, group_interval="5m",
                       repeat_interval="1h", resolve_timeout="30m", ack_ttl="2h")
        log.addHandler(handler)
        log.warning("Providers Still Sync Delayed: %s", ["Eng Cloud - 1 days"])
        handler.flush()
        clock.advance(30)
        handler.flush()
        (message,) = slack.messages("alerts")
        assert any(b["type"] == "actions" for b in message.blocks)
        keys = handler.store.message_keys(message.channel, message.ts)
        clock.advance(2)
        assert handler.store.acknowledge(keys, by="U0ONCALL", at=clock()) == keys
        handler.flush()
        (message,) = slack.messages("alerts")
        assert "Acknowledged by <@U0ONCALL> at" in texts(message)
        assert message.edit_count == 1
        for _ in range(3 * 12):  # three hours of records, one every 5 minutes
            clock.advance(300)
            log.warning("Providers Still Sync Delayed: %s", ["Eng Cloud - 1 days"])
            handler.flush()
        messages = slack.messages("alerts")
        assert len(messages) == 1  # no new top-level post while acknowledged, nor after
        assert "×37" in texts(messages[0])
        assert "Still happening after the acknowledgement by <@U0ONCALL> expired" in (
            replies_text(messages[0]))

    def test_interactive_digest_stays_within_limits(
            self, slack: SlackStandIn, clock: FakeClock, handlers: list[SlackDigestHandler],
            log: logging.Logger) -> None:
        """With buttons, 100 groups still fit Slack's 50 blocks; the rest go to the thread."""
        handler = make(slack, clock, handlers, interactive=True, max_groups=23)
        log.addHandler(handler)
        words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
                 "india", "juliet"]
        for a in words:
            for b in words:
                log.warning(f"{a} {b} failed")
        handler.flush()
        clock.advance(30)
        handler.flush()
        (message,) = slack.messages("alerts")
        assert len(message.blocks) <= 50
        assert "+77 more groups" in texts(message)


class TestPerLoggerGroupWait:
    """A logger's own group_wait decides when its first digest goes out."""

    def test_fast_logger(self, slack: SlackStandIn, clock: FakeClock,
                         handlers: list[SlackDigestHandler], log: logging.Logger) -> None:
        """jibe.provider.sync with group_wait 5s posts after 5 s; other loggers wait 30 s."""
        handler = make(slack, clock, handlers,
                       loggers={"jibe.provider.sync": {"group_wait": "5s"}})
        log.addHandler(handler)
        log.warning("fast %d", 1)
        handler.flush()
        clock.advance(5)
        handler.flush()
        (message,) = slack.messages("alerts")
        assert "fast 1" in texts(message)


class TestAckBurst:
    """A burst of acknowledgements on one digest becomes few updates."""

    def test_burst_is_coalesced(self, slack: SlackStandIn, clock: FakeClock,
                                handlers: list[SlackDigestHandler],
                                log: logging.Logger) -> None:
        """Ten acks within a second: one update now, the rest shown 1.5 s later in one more."""
        handler = make(slack, clock, handlers, interactive=True)
        log.addHandler(handler)
        for i in range(10):
            log.warning(f"shape {chr(97 + i)} failed")
        handler.flush()
        clock.advance(30)
        handler.flush()
        (message,) = slack.messages("alerts")
        keys = handler.store.message_keys(message.channel, message.ts)
        clock.advance(5)
        for n, key in enumerate(keys):
            handler.store.acknowledge([key], by=f"U0{n}", at=clock())
            handler.flush()
            clock.advance(0.1)
        assert slack.messages("alerts")[0].edit_count == 1
        clock.advance(1.5)
        handler.flush()
        (message,) = slack.messages("alerts")
        assert message.edit_count == 2
        assert texts(message).count("Acknowledged by") == 10
