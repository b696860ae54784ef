"""``jibe-alerts status``: the shared window as a terminal table."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from jibe_alerts.config_errors import ConfigError
from jibe_alerts.durations import format_duration
from jibe_alerts.reload import read_checked
from jibe_alerts.secrets import redact

__all__ = ["run_status"]


def run_status(*, redis_url: str | None, config: str | None, prefix: str | None,
               as_json: bool = False) -> int:
    """Print the open incidents, lease and counters of the Redis window; return 0 or 1."""
    try:
        url, key_prefix = _target(redis_url, config, prefix)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    if not url:
        print("status: no shared window to show. Give --redis URL, set JIBE_REDIS_URL, or "
              "--config a file whose digest handler has redis_url (the embedded window lives "
              "inside each application process).", file=sys.stderr)
        return 1
    from jibe_alerts.stores.redis import RedisStore, describe_window  # noqa: PLC0415

    store = RedisStore.from_url(url, prefix=key_prefix)
    now = time.time()
    view = describe_window(store, now)
    view["mutes"] = {target: (None if until == float("inf") else until)
                     for target, until in store.mutes(now).items()}
    if as_json:
        print(json.dumps(view, indent=2, default=str))
    else:
        print(_render(view, redact(url)))
    return 0 if view["redis_up"] else 1


def _target(redis_url: str | None, config: str | None,
            prefix: str | None) -> tuple[str | None, str]:
    if redis_url or not config:
        return redis_url or os.environ.get("JIBE_REDIS_URL"), prefix or "jibe-alerts"
    loaded, _ = read_checked(config)
    for spec in (loaded.get("handlers") or {}).values():
        if isinstance(spec, dict) and spec.get("redis_url"):
            return str(spec["redis_url"]), prefix or str(spec.get("key_prefix", "jibe-alerts"))
    return os.environ.get("JIBE_REDIS_URL"), prefix or "jibe-alerts"


def _render(view: dict[str, Any], url: str) -> str:
    now = time.time()
    lines = [f"window {view['prefix']} at {url}: Redis {'up' if view['redis_up'] else 'DOWN'}"]
    lease = view["lease"]
    lines.append(f"flush lease: {lease['holder'] or 'free'}"
                 + (f" (expires in {lease['expires_in']:.1f}s)" if lease["expires_in"] else ""))
    incidents = view["incidents"]
    lines.append(f"\n{len(incidents)} open incident(s)")
    if incidents:
        lines.append(f"{'level':8} {'count':>8}  {'logger':24} {'state':28} message")
    for inc in incidents:
        if inc["acked_by"]:
            state = f"acked by {inc['acked_by']}"
        elif inc["message_ts"]:
            state = f"posted {inc['message_ts']}"
        elif inc["due_at"]:
            state = f"due in {format_duration(max(0.0, inc['due_at'] - now))}"
        else:
            state = "pending"
        entities = f" ({', '.join(inc['entities'])})" if inc["entities"] else ""
        lines.append(f"{inc['level']:8} {inc['count']:>8,}  {inc['logger'][:24]:24} "
                     f"{state[:28]:28} {inc['sample'][:60]}{entities}")
        lines.append(f"{'':44}opened {_clock(inc['opened_at'])}, quiet for "
                     f"{format_duration(inc['quiet_for'])}")
    mutes = view.get("mutes") or {}
    lines.append(f"\n{len(mutes)} mute(s)")
    for target, until in sorted(mutes.items()):
        left = "until unmuted" if until is None else f"for {format_duration(until - now)}"
        lines.append(f"  {target} muted {left}")
    counters = {k: v for k, v in sorted(view["counters"].items()) if v}
    lines.append("\ncounters: " + (", ".join(f"{k} {v:,}" for k, v in counters.items()) or "-"))
    return "\n".join(lines)


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
