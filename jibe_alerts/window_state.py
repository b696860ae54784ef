"""The state the digest window keeps: per-group aggregates and the digest messages posted.

Fields of :class:`GroupState` have one writer each, so a shared store needs no read-modify-write
across processes: *adders* (every process's collector) own the aggregate fields (count, level,
times, entities, samples); the *flusher* (one lease holder at a time) owns the delivery fields
(message, posted count and level, post times, attempts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["MAX_RESOLVED_LINES", "GroupDelta", "GroupState", "MessageState", "Timers",
           "merge_entities"]


@dataclass(frozen=True)
class Timers:
    """The window's timers, in seconds (Alertmanager's names)."""

    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    resolve_timeout: float = 900.0


@dataclass
class GroupDelta:
    """What one batch of records adds to one group (pre-aggregated before any store write)."""

    key: str
    channel: str
    logger: str
    template: str
    sample: str
    level: int
    count: int
    first_seen: float
    last_seen: float
    entities: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    #: This group's own group_wait (a per-logger setting); None: the handler's.
    group_wait: float | None = None

    def absorb(self, *, level: int, count: int, first: float, last: float, message: str,
               entities: Sequence[str], max_samples: int) -> None:
        """Add ``count`` records of this group with the same ``message``."""
        self.count += count
        self.level = max(self.level, level)
        self.first_seen = min(self.first_seen, first)
        self.last_seen = max(self.last_seen, last)
        for entity in entities:
            self.entities[entity] = self.entities.get(entity, 0) + count
        if len(self.samples) < max_samples and message not in self.samples:
            self.samples.append(message)


@dataclass
class GroupState:
    """One open incident: a group's aggregates plus where and how it was last shown."""

    key: str
    channel: str
    logger: str
    template: str
    sample: str
    level: int
    count: int
    first_seen: float
    last_seen: float
    opened_at: float
    active_at: float
    entities: dict[str, int] = field(default_factory=dict)
    entities_other: int = 0
    samples: list[str] = field(default_factory=list)
    # written by the flusher only
    message_id: str | None = None
    posted_count: int = 0
    posted_level: int = 0
    posted_at: float | None = None
    attempts: int = 0
    reminder: bool = False
    acked_by: str | None = None
    acked_at: float | None = None
    #: A resolve rule matched (e.g. "No Longer Sync Delayed"): resolve at the next flush.
    resolve_requested: bool = False

    @property
    def changed(self) -> bool:
        """True when the group has records or a level not shown in its message yet."""
        return self.count != self.posted_count or self.level > self.posted_level

    def top_entities(self, limit: int) -> list[str]:
        """Return up to ``limit`` entities, most frequent first (ties by name)."""
        ranked = sorted(self.entities.items(), key=lambda kv: (-kv[1], kv[0]))
        return [name for name, _ in ranked[:limit]]


@dataclass
class MessageState:
    """A digest message posted to Slack, and the groups it shows."""

    id: str
    channel: str
    ts: str
    keys: list[str]
    posted_at: float
    updated_at: float
    overflow_keys: list[str] = field(default_factory=list)
    #: Lines (rendered) of the incidents that resolved in this message, oldest first.
    resolved: list[str] = field(default_factory=list)


#: A message keeps at most this many resolved lines (the oldest go first).
MAX_RESOLVED_LINES = 20


def merge_entities(into: dict[str, int], new: Mapping[str, int], *, limit: int) -> int:
    """Add ``new`` counts to ``into``, keeping at most ``limit`` entities (the most frequent).

    Returns how many entity occurrences were dropped to stay within the bound.
    """
    for name, count in new.items():
        into[name] = into.get(name, 0) + count
    if len(into) <= limit:
        return 0
    ranked = sorted(into.items(), key=lambda kv: (-kv[1], kv[0]))
    dropped = sum(count for _, count in ranked[limit:])
    into.clear()
    into.update(ranked[:limit])
    return dropped
