"""Turning due groups into Slack messages: post, update in place, reply in thread, dead-letter.

Only the holder of the store's flush lease flushes, so however many processes share a window,
each due group goes out in one digest per channel. A digest Slack did not take stays in the
window and is retried with backoff; after ``max_attempts`` it is dead-lettered and the next
digest that gets through says how many were.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from jibe_alerts.dead_letter import DeadLetters
from jibe_alerts.digest_render import DigestLook, render_digest, render_note, render_overflow
from jibe_alerts.durations import format_duration
from jibe_alerts.levels import level_emoji
from jibe_alerts.slack_delivery import (
    CallAborted,
    CircuitOpenError,
    DeliveryError,
    SlackDelivery,
)
from jibe_alerts.slack_text import escape, truncate
from jibe_alerts.stores.base import WindowStore
from jibe_alerts.window_plan import MessagePlan, next_message_due, plan_message
from jibe_alerts.window_state import GroupState, MessageState, Timers

__all__ = ["LEASE_TTL", "FlushStats", "Flusher", "LeaseLost"]

#: How long a flusher's lease lasts without renewal. It is renewed before every Slack call,
#: so it must only outlast one call with its retries; a process killed mid-flush is
#: replaced after at most this long.
LEASE_TTL = 60.0


class LeaseLost(CallAborted):
    """Another process took the flush lease: stop flushing now (it will deliver)."""


@dataclass
class FlushStats:
    """What the flusher did, for ``handler.stats()``."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("posted", "updated", "thread_replies", "failed", "dead_lettered", "records_delivered"), 0))

    def add(self, key: str, n: int = 1) -> None:
        """Increase counter ``key`` by ``n``."""
        self.counts[key] += n


class Flusher:
    """Delivers what the window says is due (one instance per handler)."""

    def __init__(self, store: WindowStore, delivery: SlackDelivery, *, owner: str,
                 timers: Timers, look: DigestLook, identity: dict[str, Any],
                 dead_letters: DeadLetters, max_attempts: int = 5, ack_ttl: float = 4 * 3600.0,
                 lease_ttl: float = LEASE_TTL, clock: Callable[[], float] = time.time,
                 on_error: Callable[[DeliveryError], None] = lambda e: None) -> None:
        self.store = store
        self.delivery = delivery
        self.owner = owner
        self.timers = timers
        self.look = look
        self.identity = identity
        self.dead_letters = dead_letters
        self.max_attempts = max_attempts
        self.ack_ttl = ack_ttl
        self.lease_ttl = lease_ttl
        self.clock = clock
        self.on_error = on_error
        self.stats = FlushStats()
        self._unreported_dead = 0

    def flush(self, *, now: float, everything: bool = False,
              deadline: float | None = None) -> None:
        """Deliver what is due at ``now`` (``everything``: all pending, as at a final close)."""
        if not self.store.acquire_lease(self.owner, ttl=self.lease_ttl, now=now):
            return
        with contextlib.suppress(LeaseLost):
            self._flush(now=now, everything=everything, deadline=deadline)

    def _flush(self, *, now: float, everything: bool, deadline: float | None) -> None:
        if everything:
            # A final flush (close) has little time: undelivered groups go first.
            self._post_outbox(now=now, everything=True, deadline=deadline)
        for message, groups in self.store.due(now, everything=everything).messages:
            self._revisit(message, groups, now=now, everything=everything, deadline=deadline)
        # Read the outbox after revisiting: reminders and lost messages moved there go out now.
        self._post_outbox(now=now, everything=everything, deadline=deadline)

    def _post_outbox(self, *, now: float, everything: bool, deadline: float | None) -> None:
        for channel, groups in self.store.due(now, everything=everything).outbox.items():
            self._post(channel, groups, now=now, everything=everything, deadline=deadline)

    def release(self) -> None:
        """Give the flush lease up (at close), so another process can take over at once."""
        self.store.release_lease(self.owner)

    # -- new digests --------------------------------------------------------------------------

    def _post(self, channel: str, groups: list[GroupState], *, now: float, everything: bool,
              deadline: float | None) -> None:
        rendered = render_digest(groups, now=now, look=self.look,
                                 reminder=all(g.reminder for g in groups),
                                 dead_lettered=self._unreported_dead)
        try:
            answer = self._call("chat.postMessage", deadline, channel=channel,
                                **rendered.payload)
        except DeliveryError as error:
            self._post_failed(channel, groups, rendered.payload["text"], error, now=now,
                              final=everything)
            return
        channel_id, ts = str(answer.get("channel", channel)), str(answer.get("ts", ""))
        self._unreported_dead = 0
        self.stats.add("posted")
        self.stats.add("records_delivered", sum(g.count - g.posted_count for g in groups))
        shown = [replace(g, posted_count=g.count, posted_level=g.level, posted_at=now)
                 for g in groups]
        fresh = MessageState(id="", channel=channel_id, ts=ts, keys=[], posted_at=now,
                             updated_at=now)
        next_due = next_message_due(fresh, shown, now=now, timers=self.timers,
                                    ack_ttl=self.ack_ttl)
        self.store.record_post(channel=channel_id, ts=ts, shown=rendered.shown,
                               overflow=rendered.overflow, now=now, next_due=next_due or now,
                               changed_due=now + self.timers.group_interval)
        for reply in render_overflow(rendered.overflow, look=self.look):
            self._reply(channel_id, ts, reply, deadline)

    def _post_failed(self, channel: str, groups: list[GroupState], text: str,
                     error: DeliveryError, *, now: float, final: bool) -> None:
        if isinstance(error, CircuitOpenError) and not final:
            # Not an attempt: Slack was not called. Try again when the circuit half-opens.
            self.store.requeue(groups, due_at=now + error.retry_in, failed=False)
            return
        self.stats.add("failed")
        self.on_error(error)
        attempts = max(g.attempts for g in groups) + 1
        if attempts >= self.max_attempts or final:
            self.dead_letters.write(channel=channel, reason=str(error), groups=groups, text=text)
            self.store.drop([g.key for g in groups])
            self.stats.add("dead_lettered")
            self._unreported_dead += 1
            return
        backoff = min(300.0, 5.0 * 2 ** (attempts - 1))
        self.store.requeue(groups, due_at=now + backoff, failed=True)

    # -- posted digests -----------------------------------------------------------------------

    def _revisit(self, message: MessageState, groups: list[GroupState], *, now: float,
                 everything: bool, deadline: float | None) -> None:
        plan = plan_message(message, groups, now=now, timers=self.timers, ack_ttl=self.ack_ttl,
                            force=everything)
        resolved = {g.key for g in plan.resolve}
        updated_at = message.updated_at
        if plan.update:
            rendered = render_digest(groups, now=now, look=self.look, resolved=resolved,
                                     resolved_earlier=message.resolved)
            try:
                self._call("chat.update", deadline, channel=message.channel, ts=message.ts,
                           **rendered.payload)
            except DeliveryError as error:
                self._update_failed(message, groups, error, now=now)
                return
            self.stats.add("updated")
            self.stats.add("records_delivered", sum(g.count - g.posted_count for g in groups))
            updated_at = now
        for group in plan.escalated:
            self._reply(message.channel, message.ts, render_note(_escalation(group)), deadline)
        notes: list[str] = []
        if plan.resolve:
            closed = set(self.store.resolve(plan.resolve))
            notes = [_resolution(g) for g in plan.resolve if g.key in closed]
            if notes:
                self._reply(message.channel, message.ts, render_note("\n".join(notes)), deadline)
        if plan.remind:
            self.store.requeue(plan.remind, due_at=now, failed=False, reminder=True)
        if plan.remind_in_thread:
            note = "\n".join(_still_going(g) for g in plan.remind_in_thread)
            self._reply(message.channel, message.ts, render_note(note), deadline)
        moved = resolved | {g.key for g in plan.remind}
        remaining = [_shown(g) if plan.update else g for g in groups if g.key not in moved]
        after = replace(message, updated_at=updated_at)
        self.store.record_update(
            message, shown=remaining if plan.update else [], updated_at=updated_at,
            next_due=next_message_due(after, [_reminded(g, now, plan) for g in remaining],
                                      now=now, timers=self.timers, ack_ttl=self.ack_ttl),
            resolved=notes, reminded=[g.key for g in plan.remind_in_thread])

    def _update_failed(self, message: MessageState, groups: list[GroupState],
                       error: DeliveryError, *, now: float) -> None:
        if not isinstance(error, CircuitOpenError):
            self.stats.add("failed")
            self.on_error(error)
        if error.error in ("message_not_found", "cant_update_message", "channel_not_found"):
            # The message is gone (deleted by someone): post its groups again.
            self.store.requeue(groups, due_at=now, failed=False)
            self.store.drop_message(message.id)
            return
        self.store.record_update(message, shown=[], updated_at=message.updated_at,
                                 next_due=now + min(300.0, self.timers.group_interval))

    # -- Slack calls --------------------------------------------------------------------------

    def _call(self, method: str, deadline: float | None, **params: Any) -> dict[str, Any]:
        if method == "chat.postMessage":
            params = {**self.identity, **params}
        return self.delivery.call(method, deadline=deadline, before_attempt=self._renew_lease,
                                  **params)

    def _renew_lease(self) -> None:
        """Renew the lease before every attempt: if another process took it over while we
        waited (a Retry-After longer than lease_ttl, a stall), it delivers instead — never
        both."""
        if not self.store.acquire_lease(self.owner, ttl=self.lease_ttl, now=self.clock()):
            raise LeaseLost

    def _reply(self, channel: str, ts: str, payload: dict[str, Any],
               deadline: float | None) -> None:
        try:
            self._call("chat.postMessage", deadline, channel=channel, thread_ts=ts, **payload)
        except DeliveryError as error:
            self.stats.add("failed")
            self.on_error(error)
            return
        self.stats.add("thread_replies")


def _shown(group: GroupState) -> GroupState:
    return replace(group, posted_count=group.count, posted_level=group.level)


def _escalation(group: GroupState) -> str:
    level = logging.getLevelName(group.level)
    return (f"{level_emoji(group.level)} Escalated to *{level}*: `{escape(group.logger)}` "
            f"×{group.count:,} {truncate(escape(group.sample), 500)}")


def _reminded(group: GroupState, now: float, plan: MessagePlan) -> GroupState:
    return replace(group, posted_at=now) if group in plan.remind_in_thread else group


def _still_going(group: GroupState) -> str:
    who = f"<@{group.acked_by}>" if group.acked_by and group.acked_by.isalnum() else "on-call"
    return (f":alarm_clock: Still happening after the acknowledgement by {who} expired: "
            f"`{escape(group.logger)}` ×{group.count:,} {truncate(escape(group.sample), 300)}")


def _resolution(group: GroupState) -> str:
    lasted = group.last_seen - group.first_seen
    after = f" after {format_duration(lasted)}" if lasted >= 1 else ""
    return (f":white_check_mark: Resolved{after}: `{escape(group.logger)}` "
            f"×{group.count:,} {truncate(escape(group.sample), 300)}")
