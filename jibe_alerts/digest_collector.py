"""Turning queued records into per-group deltas, one store write per batch.

Runs on the worker thread: the record's group (template, entities) is computed here, not on
the application thread. A batch is first counted per distinct message (a flood repeats the
same few texts), then each distinct message is grouped once, so thousands of records of a few
groups cost a dictionary update each and become a few
:class:`~jibe_alerts.window_state.GroupDelta` objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from jibe_alerts.grouping import Grouper, Grouping, grouping_key
from jibe_alerts.logger_policy import LoggerPolicies
from jibe_alerts.resolve_rules import ResolveRule, resolve_targets
from jibe_alerts.window_state import GroupDelta

__all__ = ["Batch", "Collector", "DigestItem"]

#: A distinct message of a batch: (logger, level, message, template when args were given).
_Distinct = tuple[str, int, str, str | None]
#: A grouping rule whose key holds this makes one incident per entity.
ENTITY_SLOT = "{entity}"

#: What the application thread keeps of one record (a plain tuple: cheapest to build):
#: (logger name, level number, msg, args, formatted message, created).
DigestItem = tuple[str, int, object, object, str, float]


@dataclass
class Batch:
    """What one batch of records does to the window: deltas to add, incidents to resolve."""

    deltas: list[GroupDelta] = field(default_factory=list)
    resolves: list[str] = field(default_factory=list)


class Collector:
    """Groups records and pre-aggregates them per group."""

    def __init__(self, grouper: Grouper, *, channel: str, policies: LoggerPolicies | None = None,
                 resolve_rules: Sequence[ResolveRule] = (), max_samples: int = 3) -> None:
        self.grouper = grouper
        self.channel = channel
        self.policies = policies or LoggerPolicies()
        self.resolve_rules = tuple(resolve_rules)
        self.max_samples = max_samples
        #: Mutes in force (logger name or group key → until), refreshed from the store.
        self.mutes: Mapping[str, float] = {}
        #: Records left out because their logger is switched off or below its level.
        self.suppressed = 0
        #: Records left out because their logger or group is muted.
        self.muted = 0
        #: Records that resolved an incident (a resolve rule matched).
        self.resolutions = 0

    def aggregate(self, items: Iterable[DigestItem]) -> Batch:
        """Return one delta per group present in ``items`` (first-seen order) and the keys
        of the incidents resolving records closed."""
        return self._group(self._count_distinct(items))

    def _count_distinct(self, items: Iterable[DigestItem]) -> dict[_Distinct, _Seen]:
        distinct: dict[_Distinct, _Seen] = {}
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
        return distinct

    def _group(self, distinct: dict[_Distinct, _Seen]) -> Batch:
        policy_for = self.policies.for_logger
        batch = Batch()
        deltas: dict[str, GroupDelta] = {}
        for (logger, levelno, message, _), seen in distinct.items():
            if self.resolve_rules:
                targets = resolve_targets(self.resolve_rules, logger, message)
                if targets is not None:
                    self.resolutions += seen.count
                    batch.resolves += [grouping_key(logger, t) for t in targets]
                    continue
            if self.mutes and self._logger_muted(logger):
                self.muted += seen.count
                continue
            grouping = self.grouper.group(logger, seen.msg, seen.args, message)
            for key, template, entities in _split(logger, grouping):
                if key in self.mutes:
                    self.muted += seen.count
                    continue
                delta = deltas.get(key)
                if delta is None:
                    policy = policy_for(logger)
                    delta = deltas[key] = GroupDelta(
                        key=key, channel=policy.channel or self.channel,
                        logger=logger, template=template, sample=message, level=levelno,
                        count=0, first_seen=seen.first, last_seen=seen.last,
                        group_wait=policy.group_wait,
                    )
                delta.absorb(level=levelno, count=seen.count, first=seen.first, last=seen.last,
                             message=message, entities=entities, max_samples=self.max_samples)
        batch.deltas = list(deltas.values())
        return batch

    def _logger_muted(self, logger: str) -> bool:
        name = logger
        while True:
            if name in self.mutes:
                return True
            if "." not in name:
                return False
            name = name.rsplit(".", 1)[0]


def _split(logger: str, grouping: Grouping) -> list[tuple[str, str, Sequence[str]]]:
    """One (key, template, entities) per entity when the template has an entity slot."""
    if ENTITY_SLOT not in grouping.template or not grouping.entities:
        return [(grouping.key, grouping.template, grouping.entities)]
    out: list[tuple[str, str, Sequence[str]]] = []
    for entity in grouping.entities:
        template = grouping.template.replace(ENTITY_SLOT, entity)
        out.append((grouping_key(logger, template), template, (entity,)))
    return out


class _Seen:
    """Records of one distinct message in a batch: how many, first/last time, msg and args."""

    __slots__ = ("args", "count", "first", "last", "msg")

    def __init__(self, created: float, msg: object, args: object) -> None:
        self.count = 1
        self.first = self.last = created
        self.msg = msg
        self.args = args
