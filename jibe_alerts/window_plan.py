"""Deciding what a posted digest message needs now: update, escalate, remind, resolve.

Pure functions of the state and the clock, shared by every store, so the window behaves the
same in memory and in Redis (Alertmanager's ``group_interval``/``repeat_interval``, plus a
``resolve_timeout`` of silence).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from jibe_alerts.window_state import GroupState, MessageState, Timers

__all__ = ["ACK_UPDATE_GAP", "MessagePlan", "is_acked", "next_message_due", "plan_message"]

#: Acknowledgements show at once, but a message is not updated for them more often than this
#: (a burst of clicks becomes one update a second and a half; Slack allows ~50 a minute).
ACK_UPDATE_GAP = 1.5


@dataclass
class MessagePlan:
    """What to do with one posted message at one flush."""

    resolve: list[GroupState] = field(default_factory=list)
    escalated: list[GroupState] = field(default_factory=list)
    #: Still going after repeat_interval, never acknowledged: a fresh top-level digest.
    remind: list[GroupState] = field(default_factory=list)
    #: Still going after an acknowledgement expired: reminded in the digest's thread.
    remind_in_thread: list[GroupState] = field(default_factory=list)
    update: bool = False


def is_acked(group: GroupState, now: float, ack_ttl: float) -> bool:
    """True while an acknowledgement of ``group``'s incident is in force."""
    return group.acked_at is not None and now - group.acked_at < ack_ttl


def _ack_pending(message: MessageState, groups: Sequence[GroupState]) -> bool:
    """True when a group was acknowledged after the message was last rendered."""
    return any(g.acked_at is not None and g.acked_at >= message.updated_at for g in groups)


def plan_message(message: MessageState, groups: Sequence[GroupState], *, now: float,
                 timers: Timers, ack_ttl: float = 4 * 3600.0, force: bool = False) -> MessagePlan:
    """Return what ``message`` needs at ``now``; ``force`` ignores ``group_interval``."""
    plan = MessagePlan()
    for group in groups:
        if group.resolve_requested or now - group.active_at >= timers.resolve_timeout:
            plan.resolve.append(group)
            continue
        if group.level > group.posted_level:
            plan.escalated.append(group)
        posted_at = group.posted_at if group.posted_at is not None else message.posted_at
        if is_acked(group, now, ack_ttl):
            continue
        if group.acked_at is not None:  # acknowledged once, and the ack expired
            expired_at = group.acked_at + ack_ttl
            if posted_at < expired_at or now - posted_at >= timers.repeat_interval:
                plan.remind_in_thread.append(group)
        elif now - posted_at >= timers.repeat_interval:
            plan.remind.append(group)
    changed = any(g.changed for g in groups)
    interval_passed = now - message.updated_at >= timers.group_interval
    # An acknowledgement shows at once (it is what the person who clicked waits to see).
    acked = _ack_pending(message, groups) and now - message.updated_at >= ACK_UPDATE_GAP
    plan.update = bool(plan.resolve or plan.escalated or acked) or (
        changed and (force or interval_passed))
    return plan


def next_message_due(message: MessageState, groups: Sequence[GroupState], *, now: float,
                     timers: Timers, ack_ttl: float = 4 * 3600.0) -> float | None:
    """Return when ``message`` (showing ``groups``, still open) must be looked at again."""
    if not groups:
        return None
    candidates = []
    if any(g.changed for g in groups):
        candidates.append(message.updated_at + timers.group_interval)
    if _ack_pending(message, groups):
        candidates.append(message.updated_at + ACK_UPDATE_GAP)
    for group in groups:
        candidates.append(group.active_at + timers.resolve_timeout)
        posted_at = group.posted_at if group.posted_at is not None else message.posted_at
        if group.acked_at is not None and is_acked(group, now, ack_ttl):
            candidates.append(group.acked_at + ack_ttl)
        else:
            candidates.append(posted_at + timers.repeat_interval)
    return max(now, min(candidates))
