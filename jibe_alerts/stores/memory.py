"""The embedded window store: the digest window in this process's memory.

Used when no ``redis_url`` is configured. It survives handler replacement (a config reload):
the new handler adopts its predecessor's store. Memory is bounded:
at most ``max_open_groups`` incidents (records past that fold into one overflow group per
channel, counted, never lost), bounded entities and samples per group, and message records
kept in a ``cachetools.TTLCache`` so none outlives ``repeat_interval`` plus a margin.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Callable, Sequence

from cachetools import TTLCache

from jibe_alerts.stores.base import OVERFLOW_PREFIX, OVERFLOW_TEMPLATE, Due, StoreLimits
from jibe_alerts.window_state import (
    MAX_RESOLVED_LINES,
    GroupDelta,
    GroupState,
    MessageState,
    Timers,
    merge_entities,
)

__all__ = ["MemoryStore"]

#: Messages are forgotten this long after their last update even if something went wrong.
MESSAGE_TTL = 2 * 24 * 3600.0


class MemoryStore:
    """The window in process memory (thread-safe; one flusher at a time via a lease)."""

    shared = False

    def __init__(self, limits: StoreLimits | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.limits = limits or StoreLimits()
        self._lock = threading.RLock()
        self._groups: dict[str, GroupState] = {}
        self._outbox_due: dict[str, float] = {}
        self._messages: TTLCache[str, MessageState] = TTLCache(
            maxsize=max(1000, self.limits.max_open_groups), ttl=MESSAGE_TTL, timer=clock)
        self._message_due: dict[str, float] = {}
        self._lease: tuple[str, float] | None = None
        self._mutes: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._counters = {"overflowed": 0, "entities_dropped": 0, "incidents_opened": 0,
                          "incidents_resolved": 0}

    # -- adders -------------------------------------------------------------------------------

    def add(self, deltas: Sequence[GroupDelta], *, now: float, timers: Timers) -> None:
        """Merge ``deltas``; new incidents are due ``group_wait`` after they open."""
        with self._lock:
            for delta in deltas:
                self._add_one(delta, now, timers)

    def _add_one(self, delta: GroupDelta, now: float, timers: Timers) -> None:
        group = self._groups.get(delta.key)
        if group is None:
            if len(self._groups) >= self.limits.max_open_groups:
                self._counters["overflowed"] += delta.count
                delta = _as_overflow(delta)
                group = self._groups.get(delta.key)
            if group is None:
                self._open(delta, now, timers)
                return
        before_level = group.level
        group.count += delta.count
        group.level = max(group.level, delta.level)
        group.first_seen = min(group.first_seen, delta.first_seen)
        group.last_seen = max(group.last_seen, delta.last_seen)
        group.active_at = now
        self._merge_details(group, delta)
        if group.message_id is not None and group.message_id in self._messages:
            message = self._messages[group.message_id]
            due = now if group.level > before_level else max(
                now, message.updated_at + timers.group_interval)
            self._message_due[message.id] = min(self._message_due.get(message.id, due), due)

    def _open(self, delta: GroupDelta, now: float, timers: Timers) -> None:
        group = GroupState(
            key=delta.key, channel=delta.channel, logger=delta.logger, template=delta.template,
            sample=delta.sample, level=delta.level, count=delta.count,
            first_seen=delta.first_seen, last_seen=delta.last_seen, opened_at=now, active_at=now,
        )
        self._merge_details(group, delta)
        self._groups[delta.key] = group
        wait = timers.group_wait if delta.group_wait is None else delta.group_wait
        self._outbox_due[delta.key] = now + wait
        self._counters["incidents_opened"] += 1

    def _merge_details(self, group: GroupState, delta: GroupDelta) -> None:
        dropped = merge_entities(group.entities, delta.entities, limit=self.limits.max_entities)
        group.entities_other += dropped
        self._counters["entities_dropped"] += dropped
        for sample in delta.samples:
            if len(group.samples) >= self.limits.max_samples:
                break
            if sample not in group.samples:
                group.samples.append(sample)

    # -- the flush lease ------------------------------------------------------------------------

    def acquire_lease(self, owner: str, *, ttl: float, now: float) -> bool:
        """Take or renew the flush lease (another live holder keeps it until it expires)."""
        with self._lock:
            if self._lease is not None and self._lease[0] != owner and self._lease[1] > now:
                return False
            self._lease = (owner, now + ttl)
            return True

    def release_lease(self, owner: str) -> None:
        """Give the lease up if ``owner`` holds it."""
        with self._lock:
            if self._lease is not None and self._lease[0] == owner:
                self._lease = None

    # -- the flusher ----------------------------------------------------------------------------

    def due(self, now: float, *, everything: bool = False) -> Due:
        """Return copies of the groups and messages due at ``now``."""
        with self._lock:
            due = Due()
            for key, at in self._outbox_due.items():
                if everything or at <= now:
                    group = self._groups[key]
                    due.outbox.setdefault(group.channel, []).append(_copy(group))
            for message_id, at in list(self._message_due.items()):
                message = self._messages.get(message_id)
                if message is None:
                    del self._message_due[message_id]
                    continue
                if everything or at <= now:
                    keys = (*message.keys, *message.overflow_keys)
                    groups = [_copy(self._groups[k]) for k in keys if k in self._groups]
                    due.messages.append((dataclasses.replace(
                        message, keys=list(message.keys), resolved=list(message.resolved)),
                        groups))
            return due

    def record_post(self, *, channel: str, ts: str, shown: Sequence[GroupState],
                    overflow: Sequence[GroupState], now: float, next_due: float,
                    changed_due: float) -> MessageState:
        """Create the message record and attach ``shown`` + ``overflow`` groups to it; due
        again at ``changed_due`` if any of them got records since it was read."""
        with self._lock:
            message = MessageState(
                id=f"m{next(self._ids)}", channel=channel, ts=ts,
                keys=[g.key for g in shown], posted_at=now, updated_at=now,
                overflow_keys=[g.key for g in overflow],
            )
            self._messages[message.id] = message
            self._message_due[message.id] = next_due
            for snapshot in (*shown, *overflow):
                group = self._groups.get(snapshot.key)
                if group is None:
                    continue
                if group.count > snapshot.count or group.level > snapshot.level:
                    self._message_due[message.id] = min(next_due, changed_due)
                self._outbox_due.pop(group.key, None)
                group.message_id = message.id
                group.posted_count, group.posted_level = snapshot.count, snapshot.level
                group.posted_at, group.attempts, group.reminder = now, 0, False
            return message

    def record_update(self, message: MessageState, *, shown: Sequence[GroupState],
                      updated_at: float, next_due: float | None,
                      resolved: Sequence[str] = (), reminded: Sequence[str] = ()) -> None:
        """Store what ``message`` shows now (``shown``) and when to look at it again."""
        with self._lock:
            stored = self._messages.get(message.id)
            if stored is None:
                return
            stored.updated_at = updated_at
            if resolved:
                stored.resolved = [*stored.resolved, *resolved][-MAX_RESOLVED_LINES:]
            for snapshot in shown:
                group = self._groups.get(snapshot.key)
                if group is not None and group.message_id == message.id:
                    group.posted_count, group.posted_level = snapshot.count, snapshot.level
            for key in reminded:
                group = self._groups.get(key)
                if group is not None and group.message_id == message.id:
                    group.posted_at = updated_at
            stored.keys = self._attached(stored.keys, message.id)
            stored.overflow_keys = self._attached(stored.overflow_keys, message.id)
            if not stored.keys and not stored.overflow_keys:
                self.drop_message(message.id)
            elif next_due is None:
                self._message_due.pop(message.id, None)
            else:
                self._message_due[message.id] = next_due

    def _attached(self, keys: Sequence[str], message_id: str) -> list[str]:
        return [k for k in keys if k in self._groups and self._groups[k].message_id == message_id]

    def resolve(self, groups: Sequence[GroupState]) -> list[str]:
        """Close the incidents whose ``active_at`` did not move since they were read."""
        closed = []
        with self._lock:
            for snapshot in groups:
                group = self._groups.get(snapshot.key)
                if group is not None and group.active_at == snapshot.active_at:
                    del self._groups[snapshot.key]
                    self._outbox_due.pop(snapshot.key, None)
                    closed.append(snapshot.key)
            self._counters["incidents_resolved"] += len(closed)
        return closed

    def requeue(self, groups: Sequence[GroupState], *, due_at: float, failed: bool,
                reminder: bool = False) -> None:
        """Put ``groups`` in their channel's outbox again (a retry, a reminder, a lost message)."""
        with self._lock:
            for snapshot in groups:
                group = self._groups.get(snapshot.key)
                if group is None:
                    continue
                if reminder or group.message_id is not None:
                    group.message_id = None
                group.reminder = reminder or group.reminder
                if failed:
                    group.attempts += 1
                self._outbox_due[group.key] = due_at

    def drop(self, keys: Sequence[str]) -> None:
        """Forget these groups."""
        with self._lock:
            for key in keys:
                self._groups.pop(key, None)
                self._outbox_due.pop(key, None)

    def drop_message(self, message_id: str) -> None:
        """Forget a message record."""
        with self._lock:
            self._messages.pop(message_id, None)
            self._message_due.pop(message_id, None)

    # -- acknowledgements, resolve requests, mutes (jibe-alerts serve, resolve rules) ----------

    def acknowledge(self, keys: Sequence[str], *, by: str, at: float) -> list[str]:
        """Mark open incidents acknowledged; their messages become due at ``at``."""
        done = []
        with self._lock:
            for group in self._open_groups(keys):
                group.acked_by, group.acked_at = by, at
                self._due_now(group, at)
                done.append(group.key)
        return done

    def message_keys(self, channel: str, ts: str) -> list[str]:
        """Return the keys a posted message shows."""
        with self._lock:
            for message in self._messages.values():
                if message.ts == ts and message.channel == channel:
                    return [*message.keys, *message.overflow_keys]
        return []

    def request_resolve(self, keys: Sequence[str], *, at: float) -> list[str]:
        """Flag open incidents to resolve at the next flush."""
        done = []
        with self._lock:
            for group in self._open_groups(keys):
                group.resolve_requested = True
                self._due_now(group, at)
                done.append(group.key)
        return done

    def set_mute(self, target: str, *, until: float | None) -> None:
        """Mute (or, with ``None``, unmute) a logger or group."""
        with self._lock:
            if until is None:
                self._mutes.pop(target, None)
            else:
                self._mutes[target] = until

    def mutes(self, now: float) -> dict[str, float]:
        """Return the mutes in force at ``now``."""
        with self._lock:
            for target in [t for t, until in self._mutes.items() if until <= now]:
                del self._mutes[target]
            return dict(self._mutes)

    def _open_groups(self, keys: Sequence[str]) -> list[GroupState]:
        return [self._groups[k] for k in dict.fromkeys(keys) if k in self._groups]

    def _due_now(self, group: GroupState, at: float) -> None:
        if group.message_id is not None and group.message_id in self._messages:
            self._message_due[group.message_id] = min(
                self._message_due.get(group.message_id, at), at)

    def counters(self) -> dict[str, int]:
        """Return open groups, messages, and the store's drop/overflow counters."""
        with self._lock:
            return {**self._counters, "open_groups": len(self._groups),
                    "messages": len(self._messages),
                    "pending_records": sum(g.count - g.posted_count for g in self._groups.values()
                                           if g.count > g.posted_count)}


def _copy(group: GroupState) -> GroupState:
    return dataclasses.replace(group, entities=dict(group.entities), samples=list(group.samples))


def _as_overflow(delta: GroupDelta) -> GroupDelta:
    return dataclasses.replace(
        delta, key=OVERFLOW_PREFIX + delta.channel, logger="*", template=OVERFLOW_TEMPLATE,
        sample=OVERFLOW_TEMPLATE, entities={delta.logger: delta.count}, samples=[],
    )
