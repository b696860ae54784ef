"""How a log level looks in Slack: a colour for the attachment bar and an emoji."""

from __future__ import annotations

import logging

__all__ = ["level_colour", "level_emoji", "parse_level"]

_STYLES: tuple[tuple[int, str, str], ...] = (
    (logging.CRITICAL, "#7b0000", ":rotating_light:"),
    (logging.ERROR, "#d40e0d", ":red_circle:"),
    (logging.WARNING, "#daa038", ":warning:"),
    (logging.INFO, "#439fe0", ":information_source:"),
    (logging.NOTSET, "#9e9e9e", ":mag:"),
)


def _style(levelno: int) -> tuple[int, str, str]:
    return next(s for s in _STYLES if levelno >= s[0])


def level_colour(levelno: int) -> str:
    """Return the attachment colour for ``levelno`` (red for ERROR, amber for WARNING…)."""
    return _style(levelno)[1]


def level_emoji(levelno: int) -> str:
    """Return the emoji shown next to records of ``levelno``."""
    return _style(levelno)[2]


def parse_level(value: object) -> int:
    """Return the numeric level for ``"WARNING"``, ``"warning"`` or ``30``; raise ``ValueError``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        level = logging.getLevelName(value.strip().upper())
        if isinstance(level, int):
            return level
    raise ValueError(
        f"{value!r} is not a log level: use DEBUG, INFO, WARNING, ERROR or CRITICAL"
    )
