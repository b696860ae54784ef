"""Shared fixtures: a Slack stand-in per test, clean logging state, private Redis (plugin)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from jibe_alerts.testing.slack_standin import SlackStandIn

pytest_plugins = ["tests.redis_fixtures"]

TOKEN = "xoxb-test-token"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A Slack stand-in with generous rate limits (tests of limits make their own)."""
    with SlackStandIn(post_rate_per_sec=1000, post_burst=1000, update_rate_per_min=60_000) as s:
        yield s


@pytest.fixture
def strict_slack() -> Iterator[SlackStandIn]:
    """A Slack stand-in with Slack's own posting rate: one a second per channel, burst of 3."""
    with SlackStandIn() as s:
        yield s


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Give every test the logging tree it found: handlers, levels, propagation."""
    manager = logging.Logger.manager
    before = {
        name: (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
        for name, logger in manager.loggerDict.items() if isinstance(logger, logging.Logger)
    }
    root = logging.getLogger()
    root_before = (root.level, list(root.handlers))
    yield
    for name, logger in list(manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger):
            continue
        level, handlers, propagate, disabled = before.get(name, (logging.NOTSET, [], True, False))
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.setLevel(level)
        logger.handlers = handlers
        logger.propagate, logger.disabled = propagate, disabled
    for handler in root.handlers:
        if handler not in root_before[1]:
            handler.close()
    root.setLevel(root_before[0])
    root.handlers = root_before[1]


class FakeClock:
    """A clock tests move by hand (``advance``); ``sleep`` advances it and records the wait."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """Record a wait and pass the time instantly."""
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock (epoch seconds) for window timers and retry waits."""
    return FakeClock()
