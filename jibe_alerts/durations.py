"""Durations in config: seconds, or a string such as ``"30s"``, ``"5m"``, ``"1h30m"``."""

from __future__ import annotations

import math
import re

__all__ = ["format_duration", "parse_duration"]

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:\s*\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w))+\s*")


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds.

    Accepts a non-negative int or float (seconds), a numeric string, or a string of
    ``<number><unit>`` parts with units ``ms``, ``s``, ``m``, ``h``, ``d``, ``w``
    (``"30s"``, ``"5m"``, ``"4h"``, ``"1h30m"``). Raises ``ValueError`` with an example of a
    valid value otherwise.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 30, '30s', '5m' or '4h', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise ValueError(
            f"expected a duration such as 30, \"30s\", \"5m\" or \"4h\", got {type(value).__name__}"
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration must be a finite number of seconds >= 0 (e.g. 30 or "
                         f"\"30s\"), got {value!r}")
    return seconds


def _parse_text(text: str) -> float:
    stripped = text.strip().lower()
    try:
        return float(stripped)
    except ValueError:
        pass
    if not stripped or not _WHOLE.fullmatch(stripped):
        raise ValueError(
            f"cannot read {text[:40]!r} as a duration; write seconds (30) or a number with a unit "
            "(\"30s\", \"5m\", \"4h\", \"1h30m\"; units ms, s, m, h, d, w)"
        )
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(stripped))


def format_duration(seconds: float) -> str:
    """Return a short human form of ``seconds``: ``"45s"``, ``"5m"``, ``"4h 12m"``, ``"2d 3h"``."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"
