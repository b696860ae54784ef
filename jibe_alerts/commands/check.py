"""``jibe-alerts check PATH``: validate a config file and explain what is wrong."""

from __future__ import annotations

import sys
import warnings

from jibe_alerts.config_errors import ConfigError
from jibe_alerts.reload import read_checked

__all__ = ["run_check"]


def run_check(path: str) -> int:
    """Print whether ``path`` can be applied (and why not); return 0 or 1."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            config, _ = read_checked(path)
        except ConfigError as error:
            print(error, file=sys.stderr)
            return 1
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    handlers = config.get("handlers") or {}
    loggers = config.get("loggers") or {}
    print(f"{path}: OK — {len(handlers)} handler(s), {len(loggers)} logger(s)")
    for name, spec in handlers.items():
        print(f"  handler {name}: {spec.get('class', spec.get('()'))} "
              f"(level {spec.get('level', 'NOTSET')})")
    for name, spec in loggers.items():
        print(f"  logger {name}: level {spec.get('level', 'NOTSET')}, "
              f"handlers {', '.join(spec.get('handlers', [])) or '-'}")
    return 0
