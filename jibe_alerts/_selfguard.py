"""Keeping the handlers' own machinery from logging into the handlers.

slack_sdk, urllib3, redis and tenacity log through ``logging`` too; if one of our handlers sits
on the root logger, their records would come back to us while we deliver, and loop. Records from
those loggers, and any record emitted on one of our worker threads, are ignored by our handlers.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["INTERNAL_LOGGER_PREFIXES", "is_internal", "mark_internal_thread"]

INTERNAL_LOGGER_PREFIXES: tuple[str, ...] = (
    "slack_sdk",
    "slack_bolt",
    "urllib3",
    "requests",
    "redis",
    "tenacity",
    "aiohttp",
    "websocket",
    "jibe_alerts",
)
_PREFIX_DOTS = tuple(p + "." for p in INTERNAL_LOGGER_PREFIXES)
_local = threading.local()


def mark_internal_thread() -> None:
    """Mark the calling thread as ours: records it emits are never handled by our handlers."""
    _local.internal = True


def is_internal(record: logging.LogRecord) -> bool:
    """Return True when ``record`` comes from our own machinery and must be ignored."""
    if getattr(_local, "internal", False):
        return True
    name = record.name
    return name in INTERNAL_LOGGER_PREFIXES or name.startswith(_PREFIX_DOTS)
