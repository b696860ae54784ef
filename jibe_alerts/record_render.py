"""Rendering queued log records as one ``chat.postMessage`` payload (the per-record handler)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from jibe_alerts.levels import level_colour, level_emoji
from jibe_alerts.slack_text import code_block, escape, truncate

__all__ = ["MAX_BATCH_CHARS", "RecordItem", "render_records"]

SECTION_LIMIT = 3000
FALLBACK_LIMIT = 3000
#: Keep one message's visible text well under Slack's 40,000-character ceiling.
MAX_BATCH_CHARS = 12_000


class RecordItem(NamedTuple):
    """What the application thread keeps of one record: formatted text and metadata."""

    text: str
    levelno: int
    levelname: str
    logger: str
    created: float
    traceback: str | None

    def size(self) -> int:
        """Return roughly how many characters this record adds to a message."""
        return min(len(self.text), SECTION_LIMIT) + min(len(self.traceback or ""), SECTION_LIMIT)


def render_records(items: Sequence[RecordItem]) -> dict[str, Any]:
    """Return ``text`` and ``attachments`` showing ``items`` (one coloured attachment each)."""
    return {"text": _fallback(items), "attachments": [_attachment(item) for item in items]}


def _attachment(item: RecordItem) -> dict[str, Any]:
    body = escape(item.text) or "(empty message)"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(body, SECTION_LIMIT)}}
    ]
    if item.traceback:
        blocks.append({
            "type": "section",
            "text": {"type": "mrkdwn", "text": code_block(item.traceback, SECTION_LIMIT)},
        })
    when = datetime.fromtimestamp(item.created, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    context = f"{escape(item.levelname)} · {escape(item.logger)} · {when}"
    blocks.append({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(context, SECTION_LIMIT)}],
    })
    return {
        "color": level_colour(item.levelno),
        "fallback": truncate(f"{item.levelname}: {escape(item.text)}", 300),
        "blocks": blocks,
    }


def _fallback(items: Sequence[RecordItem]) -> str:
    top = max(items, key=lambda i: i.levelno)
    if len(items) == 1:
        first_line = top.text.split("\n", 1)[0]
        text = f"{level_emoji(top.levelno)} {top.levelname} {top.logger}: {first_line}"
    else:
        loggers = ", ".join(sorted({i.logger for i in items}))
        emoji = level_emoji(top.levelno)
        text = f"{emoji} {len(items)} log records ({loggers}), up to {top.levelname}"
    return truncate(escape(text), FALLBACK_LIMIT)
