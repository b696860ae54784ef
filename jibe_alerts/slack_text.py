"""Making arbitrary log text safe to show in Slack.

Slack's ``mrkdwn`` treats ``<...>`` as links and special mentions (``<!channel>``, ``<@U123>``)
and ``&`` as the start of an entity, so every piece of log text is escaped before it is sent.
We also never send ``link_names`` or ``parse=full``; and plain ``@channel``/``@here`` words get a
word joiner so that no client setting can turn log text into a ping.
"""

from __future__ import annotations

import re

__all__ = ["code_block", "escape", "safe_str", "truncate"]

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_WORD_JOINER = "\u2060"
ELLIPSIS = "…"


def safe_str(text: str) -> str:
    """Return ``text`` with lone surrogates and NULs replaced, so it always encodes as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def escape(text: str) -> str:
    """Return ``text`` escaped for Slack ``mrkdwn`` and ``text`` fields: no links, no pings."""
    escaped = safe_str(text).translate(_ESCAPES)
    if "@" in escaped:
        escaped = _BROADCAST.sub(lambda m: "@" + _WORD_JOINER + m.group(1), escaped)
    return escaped


def truncate(text: str, limit: int, *, marker: str = ELLIPSIS) -> str:
    """Return ``text`` cut to at most ``limit`` characters, ending in ``marker`` when cut."""
    if len(text) <= limit:
        return text
    keep = max(0, limit - len(marker))
    cut = text[:keep]
    # Never end inside an escape sequence such as "&amp;": it would render as garbage.
    amp = cut.rfind("&", max(0, keep - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + marker


def code_block(text: str, limit: int) -> str:
    """Return escaped ``text`` as a Slack code block of at most ``limit`` characters.

    Long text keeps its *end* (the last lines of a traceback say what went wrong).
    """
    body = escape(text).replace("```", "`\u200b``")
    fence = 8  # "```\n" + "\n```"
    room = max(0, limit - fence)
    if len(body) > room:
        body = ELLIPSIS + body[len(body) - room + len(ELLIPSIS):]
    return f"```\n{body}\n```"
