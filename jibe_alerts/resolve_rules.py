"""Resolve rules: a record that says a problem is over closes the matching incident at once.

Configured as the digest handler's ``resolve_rules`` option, e.g. for Jibe::

    {"match": "^Providers No Longer Sync Delayed: ",
     "entity": "'(?P<entity>[^']+)'",
     "resolves": "Providers Sync Delayed: {entity}"}

``Providers No Longer Sync Delayed: ['Eng Cloud']`` then resolves the incident whose template
is ``Providers Sync Delayed: Eng Cloud`` (the per-entity groups a grouping rule with
``"key": "Providers Sync Delayed: {entity}"`` makes) on the same logger, and no other. A
resolving record is counted, not shown as an incident of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["ResolveRule", "resolve_targets"]

_FIELDS = ("match", "entity", "resolves", "loggers")


@dataclass(frozen=True)
class ResolveRule:
    """One rule: records matching ``match`` resolve ``resolves`` for each ``entity`` found."""

    match: re.Pattern[str]
    resolves: str
    entity: re.Pattern[str] | None = None
    loggers: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, obj: Mapping[str, object]) -> ResolveRule:
        """Build a rule from its JSON form; ``ValueError`` names the bad field."""
        if not isinstance(obj, Mapping):
            raise ValueError("a resolve rule must be an object with match and resolves")
        unknown = set(obj) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        resolves = obj.get("resolves")
        if not isinstance(resolves, str) or not resolves:
            raise ValueError('resolves is required: the template it closes, e.g. '
                             '"Providers Sync Delayed: {entity}"')
        entity = _compile("entity", obj["entity"]) if obj.get("entity") is not None else None
        if entity is not None and "entity" not in entity.groupindex:
            raise ValueError("entity needs a named group (?P<entity>...)")
        if "{entity}" in resolves and entity is None:
            raise ValueError("resolves uses {entity}, so the rule needs an entity pattern")
        loggers = obj.get("loggers", [])
        if not isinstance(loggers, list) or not all(isinstance(x, str) for x in loggers):
            raise ValueError("loggers must be a list of logger names")
        return cls(_compile("match", obj.get("match")), resolves, entity, tuple(loggers))

    def applies_to(self, logger: str) -> bool:
        """True when the rule covers ``logger`` (or all loggers)."""
        return not self.loggers or any(
            logger == name or logger.startswith(name + ".") for name in self.loggers)

    def targets(self, message: str) -> list[str]:
        """Return the templates ``message`` resolves ([] if it does not match)."""
        if not self.match.search(message):
            return []
        if self.entity is None:
            return [self.resolves]
        names = dict.fromkeys(m.group("entity").strip() for m in self.entity.finditer(message))
        return [self.resolves.replace("{entity}", name) for name in names if name]


def resolve_targets(rules: Sequence[ResolveRule], logger: str, message: str) -> list[str] | None:
    """Return the templates a record resolves, or None when it is no resolving record."""
    for rule in rules:
        if rule.applies_to(logger):
            targets = rule.targets(message)
            if targets:
                return targets
    return None


def _compile(name: str, pattern: object) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"{name} is required: a regular expression")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{name} is not a valid regular expression ({exc})") from None
