"""The interface both window stores implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from jibe_alerts.window_state import GroupDelta, GroupState, MessageState, Timers

__all__ = ["OVERFLOW_PREFIX", "Due", "StoreLimits", "WindowStore"]

#: Group keys of the catch-all group that takes records past ``max_open_groups``.
OVERFLOW_PREFIX = "overflow:"
OVERFLOW_TEMPLATE = "(other messages: more distinct groups than max_open_groups)"


@dataclass(frozen=True)
class StoreLimits:
    """Bounds that keep a store's memory flat whatever the log stream does."""

    max_open_groups: int = 5_000
    max_entities: int = 50
    max_samples: int = 3


@dataclass
class Due:
    """What the flusher has to do now: groups to post per channel, messages to revisit."""

    outbox: dict[str, list[GroupState]] = field(default_factory=dict)
    messages: list[tuple[MessageState, list[GroupState]]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.outbox or self.messages)


class WindowStore(Protocol):
    """The digest window's state, shared by every handler (and process) that uses it."""

    #: True when other processes share the window (Redis); False for the embedded store.
    shared: bool

    def add(self, deltas: Sequence[GroupDelta], *, now: float, timers: Timers) -> None:
        """Merge ``deltas`` into the window, opening incidents and scheduling their digests."""

    def acquire_lease(self, owner: str, *, ttl: float, now: float) -> bool:
        """Take or renew the flush lease for ``owner``; return False if another holds it."""

    def release_lease(self, owner: str) -> None:
        """Give the flush lease up if ``owner`` holds it."""

    def due(self, now: float, *, everything: bool = False) -> Due:
        """Return the work due at ``now`` (``everything``: all of it, as at a final close)."""

    def record_post(self, *, channel: str, ts: str, shown: Sequence[GroupState],
                    overflow: Sequence[GroupState], now: float, next_due: float,
                    changed_due: float) -> MessageState:
        """Remember that ``shown`` (+ ``overflow``) went out as message ``ts`` in ``channel``.

        The message is due at ``next_due``, or at ``changed_due`` when a group got records
        (from any process) after the snapshot that was posted.
        """

    def record_update(self, message: MessageState, *, shown: Sequence[GroupState],
                      updated_at: float, next_due: float | None,
                      resolved: Sequence[str] = (), reminded: Sequence[str] = ()) -> None:
        """Remember that ``message`` now shows ``shown`` (as of ``updated_at``); revisit it at
        ``next_due`` (None: nothing left to watch); append ``resolved`` lines (incidents that
        resolved in it, kept for later renders, at most ``MAX_RESOLVED_LINES``); restart the
        reminder clock (``posted_at``) of the ``reminded`` groups."""

    def resolve(self, groups: Sequence[GroupState]) -> list[str]:
        """Close the incidents of ``groups`` that had no record since they were read.

        Returns the keys actually closed (a group that got a record meanwhile stays open).
        """

    def requeue(self, groups: Sequence[GroupState], *, due_at: float, failed: bool,
                reminder: bool = False) -> None:
        """Put ``groups`` (back) in their channel's outbox, due at ``due_at``.

        ``failed`` counts a delivery attempt (dead-lettered at the limit); ``reminder`` detaches
        the groups from their message so they go out in a fresh top-level digest.
        """

    def drop(self, keys: Sequence[str]) -> None:
        """Forget these groups (dead-lettered)."""

    def drop_message(self, message_id: str) -> None:
        """Forget a message record (its groups are resolved or moved)."""

    def acknowledge(self, keys: Sequence[str], *, by: str, at: float) -> list[str]:
        """Mark the open incidents ``keys`` acknowledged by user ``by`` at ``at``.

        Their messages become due at ``at`` (to show the acknowledgement). Returns the keys
        that were open and are now acknowledged (a resolved one is ignored).
        """

    def message_keys(self, channel: str, ts: str) -> list[str]:
        """Return the group keys a posted message (channel ID, ts) shows; [] if unknown."""

    def request_resolve(self, keys: Sequence[str], *, at: float) -> list[str]:
        """Ask for the incidents ``keys`` to resolve at the next flush (a resolve rule matched).

        Posted ones' messages become due at ``at``. Returns the keys that were open.
        """

    def set_mute(self, target: str, *, until: float | None) -> None:
        """Mute ``target`` (a logger name or group key) until ``until`` (``inf``: until
        unmuted); ``None`` unmutes it."""

    def mutes(self, now: float) -> dict[str, float]:
        """Return the mutes in force at ``now``: target → until."""

    def counters(self) -> dict[str, int]:
        """Return store-side counters: open groups, messages, overflowed records…"""
