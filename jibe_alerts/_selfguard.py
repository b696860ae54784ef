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
_internal_threads: set[int] = set()
# Verdict per logger name: emit() runs for every record, so decide each name once.
_verdicts: dict[str, bool] = {}
_MAX_VERDICTS = 10_000


def mark_internal_thread() -> None:
    """Mark the calling thread as ours: records it emits are never handled by our handlers."""
    _internal_threads.add(threading.get_ident())


def unmark_internal_thread() -> None:
    """Forget the calling thread (it is about to end; its ident may be reused)."""
    _internal_threads.discard(threading.get_ident())


def is_internal(record: logging.LogRecord) -> bool:
    """Return True when ``record`` comes from our own machinery and must be ignored."""
    name = record.name
    verdict = _verdicts.get(name)
    if verdict is None:
        if len(_verdicts) >= _MAX_VERDICTS:
            _verdicts.clear()
        verdict = _verdicts[name] = (
            name in INTERNAL_LOGGER_PREFIXES or name.startswith(_PREFIX_DOTS))
    return verdict or threading.get_ident() in _internal_threads
