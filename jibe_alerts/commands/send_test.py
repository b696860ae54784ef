"""``jibe-alerts send-test``: one test message through a configured Slack handler."""

from __future__ import annotations

import json
import socket
import sys
from typing import Any

from jibe_alerts.config_check import resolve_class
from jibe_alerts.config_errors import ConfigError
from jibe_alerts.reload import read_checked
from jibe_alerts.secrets import redact
from jibe_alerts.slack_delivery import DeliveryError, SlackDelivery, build_client
from jibe_alerts.slack_options import SlackOptions

__all__ = ["run_send_test"]

_SLACK_OPTIONS = ("api_key", "channel", "username", "icon_url", "icon_emoji", "base_url",
                  "timeout")


def run_send_test(path: str, handler: str | None) -> int:
    """Post a test message with handler ``handler`` of config ``path``; return 0 or 1."""
    try:
        config, _ = read_checked(path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    name, spec = _pick(config.get("handlers") or {}, handler)
    if spec is None:
        wanted = f"handler {handler!r}" if handler else "a Slack handler"
        print(f"{path}: no {wanted} found (jibe_alerts.SlackLogHandler or SlackDigestHandler)",
              file=sys.stderr)
        return 1
    options = SlackOptions.build(**{k: spec[k] for k in _SLACK_OPTIONS if k in spec})
    delivery = SlackDelivery(
        build_client(options.api_key, base_url=options.base_url, timeout=options.timeout),
        max_attempts=3)
    text = f"jibe-alerts test message from {socket.gethostname()} (handler {name})"
    try:
        answer = delivery.call("chat.postMessage", channel=options.channel, text=text,
                               **options.identity())
    except DeliveryError as error:
        print(f"Slack refused the test message: {error}", file=sys.stderr)
        return 1
    print(f"sent to {options.channel} through handler {name}; Slack answered:")
    print(redact(json.dumps(answer, indent=2, default=str)))
    return 0


def _pick(handlers: dict[str, Any], wanted: str | None) -> tuple[str, dict[str, Any] | None]:
    from jibe_alerts.queueing import QueueingHandler  # noqa: PLC0415

    for name, spec in handlers.items():
        if wanted is not None and name != wanted:
            continue
        if not isinstance(spec, dict) or "class" not in spec:
            continue
        try:
            klass = resolve_class(spec["class"])
        except (ImportError, AttributeError, ValueError):
            continue
        if isinstance(klass, type) and issubclass(klass, QueueingHandler):
            return name, spec
    return wanted or "", None
