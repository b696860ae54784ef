"""``SlackLogHandler``: the seed's per-record Slack handler, without blocking the application.

Records are formatted on the application thread (like ``QueueHandler``), queued, and posted
by a worker thread through :class:`~jibe_alerts.slack_delivery.SlackDelivery`. When several
records are waiting, one message carries up to ``batch_size`` of them, so a flood becomes
fewer, fuller messages instead of a wall of 429s.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from slack_sdk import WebClient

from jibe_alerts._handover import Successor
from jibe_alerts._records import record_message
from jibe_alerts.queueing import QueueingHandler
from jibe_alerts.record_render import MAX_BATCH_CHARS, RecordItem, render_records
from jibe_alerts.slack_delivery import CircuitOpenError, DeliveryError, SlackDelivery, build_client
from jibe_alerts.slack_options import DEFAULT_USERNAME, SlackOptions, option_problems

__all__ = ["SlackLogHandler"]

#: A batch that failed transiently this many rounds of retries in a row is given up.
MAX_ROUNDS = 3


class SlackLogHandler(QueueingHandler[RecordItem]):
    """Post each log record to a Slack channel from a background thread.

    Options (all settable from dictConfig): ``api_key`` (required, a bot token),
    ``channel`` (required: ``"#name"``, ``"name"`` or an ID), ``username``
    (default ``"Python logger"``), ``icon_url``, ``icon_emoji`` (overrides ``icon_url``;
    ``:heavy_exclamation_mark:`` when neither), ``fail_silent`` (default False: Slack errors
    are reported on stderr through ``handleError``; True: only counted), ``base_url``
    (default ``$JIBE_SLACK_BASE_URL`` or Slack's), ``timeout`` per HTTP call, ``queue_size``,
    ``close_timeout``, ``max_attempts``, ``batch_size`` (records per message, up to 10) and
    ``post_interval`` (seconds between two posts to the channel; Slack allows about 1).
    """

    kind: ClassVar[str] = "slack-log"

    def __init__(
        self,
        api_key: str,
        channel: str,
        *,
        username: str = DEFAULT_USERNAME,
        icon_url: str | None = None,
        icon_emoji: str | None = None,
        fail_silent: bool = False,
        level: int | str = logging.NOTSET,
        base_url: str | None = None,
        timeout: float = 5.0,
        queue_size: int = 10_000,
        close_timeout: float = 5.0,
        max_attempts: int = 5,
        batch_size: int = 10,
        post_interval: float = 1.0,
        client: WebClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = SlackOptions.build(
            api_key=api_key, channel=channel, username=username, icon_url=icon_url,
            icon_emoji=icon_emoji, fail_silent=fail_silent, base_url=base_url, timeout=timeout,
        )
        if not 1 <= batch_size <= 10:
            raise ValueError("batch_size must be between 1 and 10")
        self.batch_size = batch_size
        self.delivery = SlackDelivery(
            client or build_client(self.options.api_key, base_url=base_url, timeout=timeout),
            max_attempts=max_attempts, min_post_interval=post_interval, clock=clock, sleep=sleep,
        )
        self._held: list[RecordItem] = []
        self._held_rounds = 0
        self._sent = {"posted": 0, "messages": 0, "failed": 0}
        super().__init__(
            level=level, queue_size=queue_size, close_timeout=close_timeout, clock=clock
        )

    @classmethod
    def validate_options(cls, options: Mapping[str, object]) -> list[tuple[str, str, str]]:
        """Return ``(option, problem, fix)`` for each bad option value (for config checks)."""
        return option_problems(options)

    def __repr__(self) -> str:
        level = logging.getLevelName(self.level)
        return f"<SlackLogHandler {self.options.channel} ({level})>"

    # -- application thread -------------------------------------------------------------------

    def prepare(self, record: logging.LogRecord) -> RecordItem:
        """Format ``record`` (the traceback kept apart, for a code block) into a queue item."""
        traceback = None
        exc_info, exc_text, stack_info = record.exc_info, record.exc_text, record.stack_info
        if exc_info or exc_text or stack_info:
            formatter = self.formatter or logging.Formatter()
            if exc_info and not exc_text:
                exc_text = record.exc_text = formatter.formatException(exc_info)
            traceback = "\n".join(filter(None, (exc_text, stack_info)))
            record.exc_info = record.exc_text = record.stack_info = None
            try:
                text = self._format(record)
            finally:
                record.exc_info, record.exc_text, record.stack_info = (
                    exc_info, exc_text, stack_info
                )
        else:
            text = self._format(record)
        return RecordItem(text, record.levelno, record.levelname, record.name, record.created,
                          traceback)

    def _format(self, record: logging.LogRecord) -> str:
        try:
            return self.format(record)
        except Exception:
            message, _ = record_message(record)
            self._count("malformed")
            clone = logging.makeLogRecord(record.__dict__)
            clone.msg, clone.args = message, None
            try:
                return self.format(clone)
            except Exception:
                return message

    # -- worker thread ------------------------------------------------------------------------

    def work(self) -> None:
        """Post everything queued, batch by batch; keep a batch Slack could not take yet."""
        self._deliver(deadline=None)

    def finish_work(self, deadline: float) -> None:
        """Post what is queued before ``deadline``."""
        self._deliver(deadline=deadline)

    def _deliver(self, *, deadline: float | None) -> None:
        while True:
            if deadline is not None and self.clock() >= deadline:
                return
            if deadline is None and self._stopping.is_set():
                return  # parked by a reload: the successor takes the rest of the queue
            batch = self._held or self._next_batch()
            if not batch:
                return
            self._held = batch
            if not self._post(batch, deadline):
                return

    def _next_batch(self) -> list[RecordItem]:
        batch: list[RecordItem] = []
        size = 0
        queue = self._queue
        while queue and len(batch) < self.batch_size:
            item = queue[0]
            if batch and size + item.size() > MAX_BATCH_CHARS:
                break
            batch.append(queue.popleft())
            size += item.size()
        self._taken += len(batch)
        return batch

    def _post(self, batch: list[RecordItem], deadline: float | None) -> bool:
        """Post ``batch``; return True when it is settled (sent or given up)."""
        params: dict[str, Any] = {
            "channel": self.options.channel, **self.options.identity(), **render_records(batch)
        }
        try:
            self.delivery.call("chat.postMessage", deadline=deadline, **params)
        except CircuitOpenError:
            return False
        except DeliveryError as error:
            self._held_rounds += 1
            if not error.permanent and self._held_rounds < MAX_ROUNDS:
                return False
            self._settle(batch, delivered=False)
            self._fail(error, len(batch))
            return True
        self._settle(batch, delivered=True)
        return True

    def _settle(self, batch: list[RecordItem], *, delivered: bool) -> None:
        self._held, self._held_rounds = [], 0
        if delivered:
            self._sent["posted"] += len(batch)
            self._sent["messages"] += 1
        else:
            self._sent["failed"] += len(batch)

    def _fail(self, error: DeliveryError, count: int) -> None:
        if self.options.fail_silent:
            return
        try:
            raise error
        except DeliveryError:
            self.handleError(logging.makeLogRecord({
                "msg": "%d record(s) not posted to %s", "args": (count, self.options.channel),
            }))

    def handleError(self, record: logging.LogRecord) -> None:
        """Report a Slack failure as one clear line on stderr; anything else as the stdlib does."""
        error = sys.exc_info()[1]
        if isinstance(error, DeliveryError):
            self.report(f"{record.getMessage()}: {error}")
        else:
            super().handleError(record)

    def leftovers(self) -> list[RecordItem]:
        """Give a batch Slack has not taken yet to a successor (config reload)."""
        held, self._held, self._held_rounds = self._held, [], 0
        return held

    def take_over(self, previous: Successor) -> None:
        """Adopt a parked handler's records and carry its counters on."""
        super().take_over(previous)
        if isinstance(previous, SlackLogHandler):
            for key, value in previous._sent.items():
                self._sent[key] += value

    def pending_count(self) -> int:
        """Return the records of a batch still waiting for Slack."""
        return len(self._held)

    def stats(self) -> dict[str, int]:
        """Return counters: records in, posted, messages, failed, dropped, retried, …"""
        counts = self.counts()
        counts.update(self._sent)
        delivery = self.delivery.stats.snapshot()
        counts["retried"] = delivery["retried"]
        counts["rate_limited"] = delivery["rate_limited"]
        counts["pending"] = len(self._held)
        return counts
