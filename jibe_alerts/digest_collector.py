"""Turning queued records into per-group deltas, one store write per batch.

Runs on the worker thread: the record's group (template, entities) is computed here, not on
the application thread, and a batch of thousands of records of a few groups becomes a few
:class:`~jibe_alerts.window_state.GroupDelta` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from jibe_alerts.grouping import Grouper
from jibe_alerts.window_state import GroupDelta

__all__ = ["Collector", "DigestItem"]


class DigestItem(NamedTuple):
    """What the application thread keeps of one record."""

    logger: str
    levelno: int
    msg: object
    args: object
    message: str
    created: float


class Collector:
    """Groups records and pre-aggregates them per group."""

    def __init__(self, grouper: Grouper, *, channel_for: Callable[[str], str],
                 max_samples: int = 3) -> None:
        self.grouper = grouper
        self.channel_for = channel_for
        self.max_samples = max_samples

    def aggregate(self, items: Iterable[DigestItem]) -> list[GroupDelta]:
        """Return one delta per group present in ``items``, in first-seen order."""
        deltas: dict[str, GroupDelta] = {}
        for item in items:
            grouping = self.grouper.group(item.logger, item.msg, item.args, item.message)
            delta = deltas.get(grouping.key)
            if delta is None:
                delta = deltas[grouping.key] = GroupDelta(
                    key=grouping.key, channel=self.channel_for(item.logger), logger=item.logger,
                    template=grouping.template, sample=item.message, level=item.levelno, count=0,
                    first_seen=item.created, last_seen=item.created,
                )
            delta.absorb(level=item.levelno, created=item.created, message=item.message,
                         entities=grouping.entities, max_samples=self.max_samples)
        return list(deltas.values())
