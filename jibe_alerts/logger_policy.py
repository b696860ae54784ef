"""Per-logger settings of a digest handler: on/off, minimum level, channel, group_wait.

Configured as the handler's ``loggers`` option::

    "loggers": {
        "jibe.provider.sync": {"enabled": false},
        "jibe.provider": {"level": "ERROR", "channel": "#provider-alerts", "group_wait": "10s"}
    }

A logger takes the settings of its closest configured ancestor (``jibe.provider`` covers
``jibe.provider.sync`` unless that has its own entry). Decided once per logger name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from jibe_alerts.durations import parse_duration
from jibe_alerts.levels import parse_level
from jibe_alerts.slack_options import normalize_channel

__all__ = ["LoggerPolicies", "LoggerPolicy"]

_KEYS = ("enabled", "level", "channel", "group_wait")


@dataclass(frozen=True)
class LoggerPolicy:
    """What a digest handler does with one logger's records."""

    enabled: bool = True
    level: int = logging.NOTSET
    channel: str | None = None
    group_wait: float | None = None

    def admits(self, levelno: int) -> bool:
        """True when a record of ``levelno`` goes into the digest."""
        return self.enabled and levelno >= self.level


class LoggerPolicies:
    """Looks up the policy of a logger name (closest configured ancestor wins)."""

    def __init__(self, config: Mapping[str, Mapping[str, object]] | None = None) -> None:
        self._configured = {name: _policy(name, spec) for name, spec in (config or {}).items()}
        self._resolved: dict[str, LoggerPolicy] = {}

    @classmethod
    def problems(cls, config: object) -> list[tuple[str, str, str]]:
        """Return ``(key, problem, fix)`` for each bad entry of a ``loggers`` option."""
        if not isinstance(config, Mapping):
            return [("loggers", "must be an object of logger names",
                     'write "loggers": {"jibe.provider.sync": {"enabled": false}}')]
        found = []
        for name, spec in config.items():
            try:
                _policy(str(name), spec)
            except ValueError as exc:
                found.append((f"loggers.{name}", str(exc), f"use only {', '.join(_KEYS)}"))
        return found

    def for_logger(self, name: str) -> LoggerPolicy:
        """Return the policy for logger ``name``."""
        policy = self._resolved.get(name)
        if policy is None:
            policy = self._resolved[name] = self._lookup(name)
        return policy

    def _lookup(self, name: str) -> LoggerPolicy:
        while True:
            if name in self._configured:
                return self._configured[name]
            if "." not in name:
                return self._configured.get("", LoggerPolicy())
            name = name.rsplit(".", 1)[0]


def _policy(name: str, spec: object) -> LoggerPolicy:
    if not isinstance(spec, Mapping):
        raise ValueError(f"the settings of {name!r} must be an object")
    unknown = set(spec) - set(_KEYS)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(sorted(map(str, unknown)))}")
    enabled = spec.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("enabled must be true or false")
    level = parse_level(spec["level"]) if "level" in spec else logging.NOTSET
    channel = normalize_channel(spec["channel"]) if "channel" in spec else None
    wait = parse_duration(spec["group_wait"]) if "group_wait" in spec else None
    return LoggerPolicy(enabled=enabled, level=level, channel=channel, group_wait=wait)
