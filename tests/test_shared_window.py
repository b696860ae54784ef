"""The Redis-backed window end to end: many processes, killed flushers, Redis outages, Cluster.

Every test runs real processes (or threads) logging through SlackDigestHandler into a private
redis-server, and the real slack_sdk client against the Slack stand-in.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jibe_alerts.digest_handler import SlackDigestHandler
from jibe_alerts.testing.redis_server import RedisServer
from jibe_alerts.testing.slack_standin import Fault, Message, SlackStandIn
from tests.conftest import TOKEN

CHILD = """
import logging, sys, time
from jibe_alerts import SlackDigestHandler
redis_url, base_url, records, wait, linger = sys.argv[1], sys.argv[2], int(sys.argv[3]), \\
    sys.argv[4], float(sys.argv[5])
handler = SlackDigestHandler({token!r}, "#alerts", base_url=base_url, redis_url=redis_url,
                             group_wait=wait, group_interval="1s", flush_interval=0.1,
                             lease_ttl=2, timeout=20, close_timeout=2)
log = logging.getLogger("jibe.provider.sync")
log.propagate = False
log.addHandler(handler)
print("ready", flush=True)
for i in range(records):
    log.warning("Providers Still Sync Delayed: %s", ["Eng Cloud - %d days" % (i % 7)])
    log.warning("Start Folder Monitor '%s' - [AWSLogs]", "Shared Media")
    log.warning("New bucket - %s/bucket_%d", "S3 Cloud", i % 11)
    log.error("Provider Sync Failed: '%s' - AccessDenied (403)", "Finance Archive")
    log.warning("syncOnProviderEvent: PutObject:not_found - my-big-bucket/%d.zip", i)
print("logged", flush=True)
time.sleep(linger)
"""


def spawn(redis_url: str, slack: SlackStandIn, *, records: int, wait: str = "2s",
          linger: float = 0.0) -> subprocess.Popen[str]:
    """Start a child process that logs ``records`` records of each of 5 groups."""
    return subprocess.Popen(
        [sys.executable, "-c", CHILD.format(token=TOKEN), redis_url, slack.base_url,
         str(records), wait, str(linger)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def texts(message: Message) -> str:
    return "\n".join(b["text"]["text"] for b in message.blocks if b["type"] == "section")


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.fixture
def observer(redis_url: str, slack: SlackStandIn) -> Iterator[SlackDigestHandler]:
    """A handler in the test process on the same window: it flushes what the children left."""
    handler = SlackDigestHandler(TOKEN, "#alerts", base_url=slack.base_url, redis_url=redis_url,
                                 group_wait="2s", group_interval="1s", flush_interval=0.1,
                                 lease_ttl=2)
    yield handler
    handler.close()


class TestManyProcesses:
    """Processes sharing one window produce one digest per group, with exact totals."""

    def test_eight_processes_one_digest_exact_counts(self, redis_url: str, slack: SlackStandIn,
                                                     observer: SlackDigestHandler) -> None:
        """8 processes × 5 groups × 10,000 records → one message, each group ×80,000."""
        children = [spawn(redis_url, slack, records=10_000) for _ in range(8)]
        for child in children:
            _, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            assert "Traceback" not in err
        wait_until(lambda: len(slack.messages("alerts")) >= 1)
        wait_until(lambda: texts(slack.messages("alerts")[0]).count("×80,000") == 5)
        messages = slack.messages("alerts")
        assert len(messages) == 1, [texts(m)[:200] for m in messages]
        assert "400,000 records" in "\n".join(
            b["text"]["text"] for b in messages[0].blocks if b["type"] == "header")
        # every post was accepted: no duplicate digest was even attempted
        posts = [c for c in slack.calls if c.method == "chat.postMessage"]
        assert len(posts) == 1


class TestKilledFlusher:
    """A process killed while it holds the flush lease loses nothing."""

    def test_sigkill_mid_post_another_process_delivers(self, redis_url: str,
                                                        slack: SlackStandIn) -> None:
        """The lease holder is SIGKILLed while it waits out a 429 on its post (so Slack never
        took it); a second process posts the digest once the lease expires — once."""
        slack.inject("chat.postMessage", Fault.rate_limited(10))
        first = spawn(redis_url, slack, records=100, wait="0.3s", linger=60)
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "ready"
        assert first.stdout.readline().strip() == "logged"
        wait_until(lambda: any(c.status == 429 for c in slack.calls), timeout=20)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        second = spawn(redis_url, slack, records=0, wait="0.3s", linger=15)
        wait_until(lambda: len(slack.messages("alerts")) == 1, timeout=20)
        second.kill()
        second.wait(10)
        (message,) = slack.messages("alerts")
        assert texts(message).count("×100") == 5
        accepted = [c for c in slack.calls if c.method == "chat.postMessage" and c.status == 200]
        assert len(accepted) == 1

    def test_stalled_holder_does_not_post_twice(self, redis_url: str,
                                                slack: SlackStandIn) -> None:
        """A holder stalled past its lease (a long Retry-After) is replaced; when it wakes it
        finds the lease gone and does not post the same digest again."""
        slack.inject("chat.postMessage", Fault.rate_limited(6))
        first = spawn(redis_url, slack, records=100, wait="0.3s", linger=12)
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "ready"
        wait_until(lambda: any(c.status == 429 for c in slack.calls), timeout=20)
        second = spawn(redis_url, slack, records=0, wait="0.3s", linger=12)
        for child in (first, second):
            _, err = child.communicate(timeout=60)
            assert "Traceback" not in err
        accepted = [c for c in slack.calls if c.method == "chat.postMessage" and c.status == 200]
        assert len(accepted) == 1
        assert texts(slack.messages("alerts")[0]).count("×100") == 5


class TestRedisOutage:
    """Redis down or hung mid-storm: the application never notices; digests resume."""

    def _storm(self, log: logging.Logger, seconds: float, errors: list[BaseException]) -> int:
        count = 0
        started = time.monotonic()
        try:
            while time.monotonic() - started < seconds:
                log.warning("Providers Still Sync Delayed: %s", ["Eng Cloud - 1 days"])
                count += 1
                if count % 100 == 0:
                    time.sleep(0.005)
        except BaseException as exc:  # the test asserts nothing escapes
            errors.append(exc)
        return count

    def test_hung_redis_for_five_seconds_counts_exact(
            self, redis_server: RedisServer, redis_url: str, slack: SlackStandIn,
            observer: SlackDigestHandler) -> None:
        """SIGSTOP Redis for 5 s mid-storm: logging calls never block or raise, and the
        digest's total equals what was logged."""
        log = logging.getLogger("jibe.provider.sync")
        log.propagate = False
        log.addHandler(observer)
        errors: list[BaseException] = []
        result: dict[str, Any] = {}
        slowest = [0.0]

        def storm() -> None:
            result["count"] = self._storm(log, 9, errors)

        def timed_calls() -> None:
            for _ in range(400):
                started = time.perf_counter()
                log.warning("Providers Still Sync Delayed: %s", ["Sales GovCloud - 2 days"])
                slowest[0] = max(slowest[0], time.perf_counter() - started)
                time.sleep(0.02)

        threads = [threading.Thread(target=storm), threading.Thread(target=timed_calls)]
        for t in threads:
            t.start()
        time.sleep(2)
        redis_server.pause()
        time.sleep(5)
        redis_server.resume()
        for t in threads:
            t.join()
        assert errors == []
        assert slowest[0] < 0.5  # coarse: no logging call waited on Redis (1 s timeouts)
        total = result["count"] + 400
        wait_until(lambda: f"{total:,} records" in _header(slack), timeout=30)
        assert observer.stats()["dropped"] == 0

    def test_redis_restarted_empty_recovers(
            self, redis_server: RedisServer, redis_url: str, slack: SlackStandIn,
            observer: SlackDigestHandler) -> None:
        """Redis killed (data lost) and restarted: no error reaches the app; new records form
        new digests."""
        log = logging.getLogger("jibe.provider.sync")
        log.propagate = False
        log.addHandler(observer)
        log.warning("before the crash %d", 1)
        wait_until(lambda: len(slack.messages("alerts")) == 1)
        redis_server.kill()
        errors: list[BaseException] = []
        logged = self._storm(log, 1, errors)
        redis_server.restart()
        log.warning("after the crash %d", 2)
        assert errors == []
        assert logged > 0
        wait_until(lambda: "after the crash 2" in "\n".join(
            texts(m) for m in slack.messages("alerts")), timeout=30)


class TestCluster:
    """The same shared window on a 3-master Redis Cluster."""

    def test_processes_on_cluster(self, redis_cluster_url: str, slack: SlackStandIn) -> None:
        """3 processes on the cluster: one digest, exact totals."""
        url = redis_cluster_url + ("&" if "?" in redis_cluster_url else "?") + "cluster=true"
        children = [spawn(url, slack, records=2_000) for _ in range(3)]
        for child in children:
            _, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
        observer = SlackDigestHandler(TOKEN, "#alerts", base_url=slack.base_url, redis_url=url,
                                      group_wait="2s", group_interval="1s", flush_interval=0.1,
                                      lease_ttl=2)
        try:
            wait_until(lambda: len(slack.messages("alerts")) >= 1)
            wait_until(lambda: texts(slack.messages("alerts")[0]).count("×6,000") == 5)
            assert len(slack.messages("alerts")) == 1
        finally:
            observer.close()


def _header(slack: SlackStandIn) -> str:
    return "\n".join(b["text"]["text"] for m in slack.messages("alerts") for b in m.blocks
                     if b["type"] == "header")


class TestMuteAcrossProcesses:
    """A mute written with the CLI is obeyed by another process on the same window."""

    def test_cli_mute_reaches_a_second_process(self, redis_url: str,
                                               slack: SlackStandIn) -> None:
        """Muted: the other process's records make no digest; unmuted: they do."""
        from jibe_alerts.cli import main  # noqa: PLC0415

        assert main(["mute", "jibe.provider.sync", "--for", "1h", "--redis", redis_url]) == 0
        child = spawn(redis_url, slack, records=50, wait="0.3s", linger=2)
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        assert slack.messages("alerts") == []
        assert main(["unmute", "jibe.provider.sync", "--redis", redis_url]) == 0
        child = spawn(redis_url, slack, records=50, wait="0.3s", linger=2)
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        (message,) = slack.messages("alerts")
        assert texts(message).count("×50") == 5
