"""``jibe-alerts mute TARGET [--for 2h]`` and ``jibe-alerts unmute TARGET``: mutes in the shared
window, which every digest handler of that window reads about once a second."""

from __future__ import annotations

import math
import os
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jibe_alerts.config_check import resolve_class
from jibe_alerts.config_errors import ConfigError
from jibe_alerts.durations import format_duration, parse_duration
from jibe_alerts.reload import read_checked
from jibe_alerts.secrets import redact

if TYPE_CHECKING:
    from jibe_alerts.stores.base import WindowStore

__all__ = ["NO_SHARED_WINDOW", "digest_specs", "run_mute", "run_unmute", "shared_window"]

DEFAULT_PREFIX = "jibe-alerts"
NO_SHARED_WINDOW = (
    "no shared window: the digest handler has no redis_url and JIBE_REDIS_URL is not set. "
    "Mutes and acknowledgements need the Redis window every application process shares "
    "(the embedded window lives inside each application process). Fix: set \"redis_url\" "
    "in the handler's options, or export JIBE_REDIS_URL.")


def digest_specs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the handler specs of ``config`` whose class is a ``SlackDigestHandler``."""
    from jibe_alerts.digest_handler import SlackDigestHandler  # noqa: PLC0415 - fast --help

    found = {}
    for name, spec in (config.get("handlers") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
            continue
        try:
            klass = resolve_class(spec["class"])
        except (ImportError, AttributeError, ValueError):
            continue
        if isinstance(klass, type) and issubclass(klass, SlackDigestHandler):
            found[name] = spec
    return found


def shared_window(*, redis_url: str | None, config: str | None,
                  prefix: str | None) -> tuple[str | None, str]:
    """Return (Redis URL, key prefix): ``redis_url``, else the first digest handler of
    ``config`` that has one, else ``$JIBE_REDIS_URL``. Raises :class:`ConfigError`."""
    if not redis_url and config:
        for spec in digest_specs(read_checked(config)[0]).values():
            if spec.get("redis_url"):
                return str(spec["redis_url"]), prefix or str(spec.get("key_prefix",
                                                                       DEFAULT_PREFIX))
    return redis_url or os.environ.get("JIBE_REDIS_URL"), prefix or DEFAULT_PREFIX


def run_mute(target: str, *, duration: str | None, redis_url: str | None, config: str | None,
             prefix: str | None) -> int:
    """Mute ``target`` (a logger, with its children, or a group key) for ``duration`` (None:
    until unmuted); print what was done; return 0, or 1 when nothing could be done."""
    try:
        seconds = math.inf if duration is None else parse_duration(duration)
    except ValueError as error:
        print(f"mute: --for: {error}", file=sys.stderr)
        return 1
    if seconds <= 0:
        print("mute: --for must be longer than 0s (use `jibe-alerts unmute` to unmute)",
              file=sys.stderr)
        return 1
    found = _store(redis_url=redis_url, config=config, prefix=prefix)
    if found is None:
        return 1
    store, where = found
    until = time.time() + seconds
    store.set_mute(target, until=until)
    if target not in store.mutes(time.time()):
        print(f"mute: the mute of {target!r} did not reach {where}; nothing was muted.",
              file=sys.stderr)
        return 1
    how_long = "until unmuted" if math.isinf(until) else (
        f"for {format_duration(seconds)}, until "
        f"{datetime.fromtimestamp(until, UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}")
    print(f"muted {target} {how_long} in {where}: its records stay out of digests "
          f"(handlers pick this up within about a second). Undo: jibe-alerts unmute {target}")
    return 0


def run_unmute(target: str, *, redis_url: str | None, config: str | None,
               prefix: str | None) -> int:
    """Lift the mute of ``target``; print what was done; return 0, or 1 when Redis is down."""
    found = _store(redis_url=redis_url, config=config, prefix=prefix)
    if found is None:
        return 1
    store, where = found
    was_muted = target in store.mutes(time.time())
    store.set_mute(target, until=None)
    if target in store.mutes(time.time()):
        print(f"unmute: could not unmute {target!r} in {where}.", file=sys.stderr)
        return 1
    print(f"unmuted {target} in {where}." if was_muted else
          f"{target} was not muted in {where}; nothing to do.")
    return 0


def _store(*, redis_url: str | None, config: str | None,
           prefix: str | None) -> tuple[WindowStore, str] | None:
    try:
        url, key_prefix = shared_window(redis_url=redis_url, config=config, prefix=prefix)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return None
    if not url:
        print(f"{NO_SHARED_WINDOW} Or give --redis URL.", file=sys.stderr)
        return None
    from jibe_alerts.stores.redis import RedisStore  # noqa: PLC0415 - optional backend

    try:
        store: WindowStore = RedisStore.from_url(url, prefix=key_prefix)
    except ValueError as error:
        print(f"cannot use the Redis URL {redact(url)}: {redact(str(error))}", file=sys.stderr)
        return None
    where = f"window {key_prefix} at {redact(url)}"
    if not store.counters().get("redis_up", 1):
        print(f"Redis cannot be reached ({where}); nothing was changed.", file=sys.stderr)
        return None
    return store, where
