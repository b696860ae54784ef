"""Showing a Slack message in a terminal, roughly as Slack would render it."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["preview_message"]

_EMOJI = {
    ":warning:": "⚠️", ":red_circle:": "🔴", ":rotating_light:": "🚨",
    ":information_source:": "ℹ️", ":mag:": "🔍", ":white_check_mark:": "✅",
    ":satellite:": "📡", ":heavy_exclamation_mark:": "❗", ":eyes:": "👀",
}
_EMOJI_RE = re.compile(r":[a-z0-9_+\-]+:")
_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_USER = re.compile(r"<@(U[A-Z0-9]+)>")


def _plain(text: str) -> str:
    text = _DATE.sub(r"\1", text)
    text = _USER.sub(r"@\1", text)
    text = _EMOJI_RE.sub(lambda m: _EMOJI.get(m.group(0), m.group(0)), text)
    return html.unescape(text.replace("\u2060", ""))


def _block_lines(blocks: Iterable[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(_plain(block["text"]["text"]).upper())
        elif kind == "section" and "text" in block:
            lines += _plain(block["text"]["text"]).splitlines()
        elif kind == "context":
            lines.append("  " + " ".join(_plain(e.get("text", "")) for e in block["elements"]))
        elif kind == "actions":
            labels = [e.get("text", {}).get("text", "") for e in block.get("elements", [])]
            lines.append("  " + "  ".join(f"[ {label} ]" for label in labels))
        elif kind == "divider":
            lines.append("  ───")
    return lines


def preview_message(message: Any, *, channel: str, width: int = 100) -> str:
    """Return a terminal rendering of a stand-in ``Message`` (blocks, attachments, replies)."""
    head = f"#{channel} · {message.username or 'bot'}"
    if message.edit_count:
        head += f" · edited {message.edit_count}×"
    body = _block_lines(message.blocks)
    for attachment in message.attachments or []:
        body += ["▌ " + line for line in _block_lines(attachment.get("blocks", []))]
    if not body:
        body = _plain(message.text).splitlines()
    out = [f"┌─ {head}"] + [f"│ {line[:width]}" for line in body]
    for reply in message.replies:
        reply_lines = _block_lines(reply.blocks) or _plain(reply.text).splitlines()
        out += [f"│   ↳ {line[:width - 4]}" for line in reply_lines]
    out.append("└" + "─" * 40)
    return "\n".join(out)
