"""Turning queued records into per-group deltas, one store write per batch.

Runs on the worker thread: the record's group (template, entities) is computed here, not on
the application thread. A batch is first counted per distinct message (a flood repeats the
same few texts), then each distinct message is grouped once, so thousands of records of a few
groups cost a dictionary update each and become a few
:class:`~jibe_alerts.window_state.GroupDelta` objects.
"""

from __future__ import annotations

from collections.abc import Iterable

from jibe_alerts.grouping import Grouper
from jibe_alerts.logger_policy import LoggerPolicies
from jibe_alerts.window_state import GroupDelta

__all__ = ["Collector", "DigestItem"]

#: What the application thread keeps of one record (a plain tuple: cheapest to build):
#: (logger name, level number, msg, args, formatted message, created).
DigestItem = tuple[str, int, object, object, str, float]


class Collector:
    """Groups records and pre-aggregates them per group."""

    def __init__(self, grouper: Grouper, *, channel: str, policies: LoggerPolicies | None = None,
                 max_samples: int = 3) -> None:
        self.grouper = grouper
        self.channel = channel
        self.policies = policies or LoggerPolicies()
        self.max_samples = max_samples
        #: Records left out because their logger is switched off or below its level.
        self.suppressed = 0

    def aggregate(self, items: Iterable[DigestItem]) -> list[GroupDelta]:
        """Return one delta per group present in ``items``, in first-seen order."""
        distinct: dict[tuple[str, int, str, str | None], _Seen] = {}
        policy_for = self.policies.for_logger
        for logger, levelno, msg, args, message, created in items:
            if not policy_for(logger).admits(levelno):
                self.suppressed += 1
                continue
            key = (logger, levelno, message, msg if args and type(msg) is str else None)
            seen = distinct.get(key)
            if seen is None:
                distinct[key] = _Seen(created, msg, args)
            else:
                seen.count += 1
                if created < seen.first:
                    seen.first = created
                elif created > seen.last:
                    seen.last = created
        deltas: dict[str, GroupDelta] = {}
        for (logger, levelno, message, _), seen in distinct.items():
            grouping = self.grouper.group(logger, seen.msg, seen.args, message)
            delta = deltas.get(grouping.key)
            if delta is None:
                delta = deltas[grouping.key] = GroupDelta(
                    key=grouping.key, channel=policy_for(logger).channel or self.channel,
                    logger=logger,
                    template=grouping.template, sample=message, level=levelno, count=0,
                    first_seen=seen.first, last_seen=seen.last,
                )
            delta.absorb(level=levelno, count=seen.count, first=seen.first, last=seen.last,
                         message=message, entities=grouping.entities,
                         max_samples=self.max_samples)
        return list(deltas.values())


class _Seen:
    """Records of one distinct message in a batch: how many, first/last time, msg and args."""

    __slots__ = ("args", "count", "first", "last", "msg")

    def __init__(self, created: float, msg: object, args: object) -> None:
        self.count = 1
        self.first = self.last = created
        self.msg = msg
        self.args = args
