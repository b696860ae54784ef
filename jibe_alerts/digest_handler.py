"""``SlackDigestHandler``: a flood of records becomes a few grouped, updating Slack digests.

The application thread only reads the record's message and queues it (no I/O, no lock). The
worker thread groups the queued records (:mod:`jibe_alerts.grouping`), adds one delta per group
to the window store (embedded, or Redis shared by every process), and, about once a second,
delivers whatever the window says is due (:mod:`jibe_alerts.digest_flusher`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from slack_sdk import WebClient

from jibe_alerts._handover import Successor
from jibe_alerts._records import record_message
from jibe_alerts.dead_letter import DeadLetters
from jibe_alerts.digest_collector import Collector, DigestItem
from jibe_alerts.digest_flusher import LEASE_TTL, Flusher
from jibe_alerts.digest_render import DigestLook
from jibe_alerts.durations import parse_duration
from jibe_alerts.grouping import Grouper, GroupingRule
from jibe_alerts.logger_policy import LoggerPolicies
from jibe_alerts.queueing import QueueingHandler
from jibe_alerts.resolve_rules import ResolveRule
from jibe_alerts.slack_delivery import DeliveryError, SlackDelivery, build_client
from jibe_alerts.slack_options import DEFAULT_USERNAME, SlackOptions, option_problems
from jibe_alerts.stores.base import StoreLimits, WindowStore
from jibe_alerts.stores.memory import MemoryStore
from jibe_alerts.window_state import Timers

__all__ = ["SlackDigestHandler"]

_DURATIONS = ("group_wait", "group_interval", "repeat_interval", "resolve_timeout",
              "flush_interval", "close_timeout", "ack_ttl", "lease_ttl")


class SlackDigestHandler(QueueingHandler[DigestItem]):
    """Group records in a time window and post one digest message per channel to Slack.

    Takes every option of :class:`~jibe_alerts.SlackLogHandler` (``api_key``, ``channel``,
    ``username``, ``icon_url``, ``icon_emoji``, ``fail_silent``, ``base_url``, ``timeout``)
    plus the window's timers — ``group_wait`` (first digest after the first record, default
    ``"30s"``), ``group_interval`` (in-place updates at most this often, ``"5m"``),
    ``repeat_interval`` (reminder while unacknowledged, ``"4h"``), ``resolve_timeout``
    (silence that resolves, ``"15m"``) — and ``max_groups`` per digest, ``max_samples`` and
    ``max_entities`` per group, ``max_open_groups``, ``queue_size``, ``redis_url`` (absent:
    the embedded in-memory store) with its ``key_prefix`` and ``lease_ttl`` (a killed flusher
    is replaced after this long, ``60``), ``dead_letter_path``,
    ``max_delivery_attempts``, ``rules`` (grouping overrides; a ``key`` with ``{entity}``
    makes one incident per entity), ``resolve_rules``, ``loggers`` (per-logger
    ``enabled``/``level``/``channel``), ``title``, ``interactive`` (Acknowledge/Mute buttons,
    for ``jibe-alerts serve``), ``ack_ttl`` (how long an acknowledgement silences
    reminders, ``"4h"``), ``ack_users``/``ack_usergroups`` (who may acknowledge; empty:
    anyone) and ``ack_reaction`` (the emoji that acknowledges a digest, ``"eyes"``).
    Durations take seconds or strings such as ``"30s"``, ``"5m"``.
    """

    kind: ClassVar[str] = "slack-digest"

    def __init__(
        self,
        api_key: str,
        channel: str,
        *,
        username: str = DEFAULT_USERNAME,
        icon_url: str | None = None,
        icon_emoji: str | None = None,
        fail_silent: bool = False,
        base_url: str | None = None,
        timeout: float = 5.0,
        group_wait: float | str = "30s",
        group_interval: float | str = "5m",
        repeat_interval: float | str = "4h",
        resolve_timeout: float | str = "15m",
        max_groups: int = 20,
        max_samples: int = 3,
        max_entities: int = 50,
        max_open_groups: int = 5_000,
        queue_size: int = 100_000,
        redis_url: str | None = None,
        key_prefix: str = "jibe-alerts",
        lease_ttl: float | str = LEASE_TTL,
        dead_letter_path: str | None = None,
        max_delivery_attempts: int = 5,
        rules: Sequence[Mapping[str, Any]] = (),
        loggers: Mapping[str, Mapping[str, object]] | None = None,
        resolve_rules: Sequence[Mapping[str, Any]] = (),
        title: str = "jibe-alerts digest",
        interactive: bool = False,
        ack_ttl: float | str = "4h",
        ack_users: Sequence[str] = (),
        ack_usergroups: Sequence[str] = (),
        ack_reaction: str = "eyes",
        flush_interval: float | str = 1.0,
        close_timeout: float | str = 5.0,
        level: int | str = logging.NOTSET,
        store: WindowStore | None = None,
        client: WebClient | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = SlackOptions.build(
            api_key=api_key, channel=channel, username=username, icon_url=icon_url,
            icon_emoji=icon_emoji, fail_silent=fail_silent, base_url=base_url, timeout=timeout)
        self.timers = Timers(
            group_wait=parse_duration(group_wait), group_interval=parse_duration(group_interval),
            repeat_interval=parse_duration(repeat_interval),
            resolve_timeout=parse_duration(resolve_timeout))
        self.flush_interval = parse_duration(flush_interval)
        limits = StoreLimits(max_open_groups=_positive("max_open_groups", max_open_groups),
                             max_entities=_positive("max_entities", max_entities),
                             max_samples=_positive("max_samples", max_samples))
        self.store = store or _make_store(redis_url, key_prefix, limits)
        self.delivery = SlackDelivery(
            client or build_client(self.options.api_key, base_url=base_url, timeout=timeout),
            clock=clock, sleep=sleep)
        self.collector = Collector(Grouper([GroupingRule.from_config(r) for r in rules]),
                                   channel=self.options.channel,
                                   policies=LoggerPolicies(loggers),
                                   resolve_rules=[ResolveRule.from_config(r)
                                                  for r in resolve_rules],
                                   max_samples=max_samples)
        self.flusher = Flusher(
            self.store, self.delivery, owner=f"{socket.gethostname()}:{os.getpid()}:"
            f"{uuid.uuid4().hex[:8]}", timers=self.timers,
            look=DigestLook(title=title, max_groups=max_groups, interactive=interactive),
            ack_ttl=parse_duration(ack_ttl), lease_ttl=parse_duration(lease_ttl), clock=clock,
            identity=self.options.identity(), dead_letters=DeadLetters(dead_letter_path),
            max_attempts=_positive("max_delivery_attempts", max_delivery_attempts),
            on_error=self._delivery_failed)
        self.window_clock = clock
        #: Who may acknowledge (``jibe-alerts serve`` enforces it; empty: everyone).
        self.ack_users = tuple(ack_users)
        self.ack_usergroups = tuple(ack_usergroups)
        self.ack_reaction = ack_reaction.strip(":")
        self._next_flush = 0.0
        self._flush_requested = False
        super().__init__(level=level, queue_size=queue_size,
                         close_timeout=parse_duration(close_timeout), clock=time.monotonic)

    @classmethod
    def validate_options(cls, options: Mapping[str, object]) -> list[tuple[str, str, str]]:
        """Return ``(option, problem, fix)`` for each bad option value (for config checks)."""
        problems = option_problems(options)
        for name in _DURATIONS:
            if name in options:
                try:
                    parse_duration(options[name])
                except ValueError as exc:
                    problems.append((name, str(exc), 'write seconds or "30s", "5m", "4h"'))
        rules = options.get("rules") or []
        if not isinstance(rules, list):
            problems.append(("rules", "must be a list of rule objects",
                             'write "rules": [{"match": "...", "entity": "..."}]'))
            rules = []
        for index, rule in enumerate(rules):
            try:
                GroupingRule.from_config(rule)
            except (ValueError, TypeError) as exc:
                problems.append((f"rules[{index}]", str(exc), "correct the rule"))
        if options.get("loggers") is not None:
            problems += LoggerPolicies.problems(options["loggers"])
        for index, rule in enumerate(_as_list(options.get("resolve_rules"))):
            try:
                ResolveRule.from_config(rule)
            except (ValueError, TypeError) as exc:
                problems.append((f"resolve_rules[{index}]", str(exc), "correct the rule"))
        return problems

    def __repr__(self) -> str:
        level = logging.getLevelName(self.level)
        return f"<SlackDigestHandler {self.options.channel} ({level})>"

    # -- application thread -------------------------------------------------------------------

    def prepare(self, record: logging.LogRecord) -> DigestItem:
        """Read the record's message once; grouping happens on the worker thread."""
        try:
            message = record.getMessage()
        except Exception:
            message, _ = record_message(record)
            self._count("malformed")
        return (record.name, record.levelno, record.msg, record.args, message, record.created)

    # -- worker thread ------------------------------------------------------------------------

    def work(self) -> None:
        """Move queued records into the window; deliver what is due about once a second."""
        tick = time.monotonic()
        flush_due = self._flush_requested or tick >= self._next_flush
        if flush_due:
            self._refresh_mutes()  # before collecting: the first tick already obeys them
        self._collect()
        if flush_due:
            self._flush_requested = False
            self._next_flush = tick + self.flush_interval
            self.flusher.flush(now=self.window_clock())

    def _refresh_mutes(self) -> None:
        mutes = self.store.mutes(self.window_clock())
        if getattr(self.store, "reachable", True):  # keep the last mutes through an outage
            self.collector.mutes = mutes

    def request_flush(self) -> None:
        """Ask the worker to deliver what is due now, without waiting (e.g. after an ack)."""
        self._flush_requested = True
        self._wake.set()

    def flush(self) -> None:
        """Push buffered records into the window and deliver what is due, then return."""
        self._flush_requested = True
        super().flush()

    def finish_work(self, deadline: float) -> None:
        """Push everything into the window, then deliver: with the embedded store, everything."""
        self._collect()
        self.flusher.flush(now=self.window_clock(), everything=not self.store.shared,
                           deadline=deadline)
        self.flusher.release()

    def park_work(self) -> None:
        """Before a reload swaps handlers: push buffered records into the (surviving) window."""
        self._collect()
        self.flusher.release()

    def _collect(self) -> None:
        items = self.take_items()
        if items:
            now = self.window_clock()
            batch = self.collector.aggregate(items)
            if batch.deltas:
                self.store.add(batch.deltas, now=now, timers=self.timers)
            if batch.resolves:
                self.store.request_resolve(batch.resolves, at=now)

    def _delivery_failed(self, error: DeliveryError) -> None:
        if not self.options.fail_silent:
            self.report(str(error))

    def pending_count(self) -> int:
        """Return records still in the window (embedded store: lost if the process ends)."""
        return 0 if self.store.shared else self.store.counters().get("pending_records", 0)

    def take_over(self, previous: Successor) -> None:
        """Adopt a parked handler's queue and, with the embedded store, its window.

        (A shared store needs no adoption: both handlers already see the same window.)
        """
        super().take_over(previous)
        if isinstance(previous, SlackDigestHandler):
            if not previous.store.shared and not self.store.shared:
                self.store = self.flusher.store = previous.store
            for key, value in previous.flusher.stats.counts.items():
                self.flusher.stats.add(key, value)

    def stats(self) -> dict[str, int]:
        """Return counters: records in, dropped, malformed, open groups, posted, updated,
        thread replies, retried, failed, dead-lettered, overflowed, pending records."""
        counts = self.counts()
        counts.update(self.flusher.stats.counts)
        store = self.store.counters()
        counts["groups"] = store.get("open_groups", 0)
        counts["pending_records"] = store.get("pending_records", 0)
        counts["overflowed"] = store.get("overflowed", 0)
        counts["suppressed"] = self.collector.suppressed
        counts["muted"] = self.collector.muted
        counts["resolutions"] = self.collector.resolutions
        delivery = self.delivery.stats.snapshot()
        counts["retried"] = delivery["retried"]
        counts["rate_limited"] = delivery["rate_limited"]
        return counts


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1")
    return value


def _make_store(redis_url: str | None, prefix: str, limits: StoreLimits) -> WindowStore:
    url = redis_url or os.environ.get("JIBE_REDIS_URL")
    if url:
        from jibe_alerts.stores.redis import RedisStore  # noqa: PLC0415 - optional backend

        store: WindowStore = RedisStore.from_url(url, limits=limits, prefix=prefix)
        return store
    return MemoryStore(limits)
