"""Rendering a digest as Block Kit plus a ``text`` fallback, always within Slack's limits.

Limits honoured (Slack's): at most 50 blocks, 3,000 characters per section, 150 per header,
a ``text`` fallback under 4,000 characters. Groups beyond ``max_groups`` are not dropped: the
message says ``+N more groups`` and the flusher lists them in thread replies (see
:func:`render_overflow`). Every piece of log text is escaped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jibe_alerts.durations import format_duration
from jibe_alerts.levels import level_emoji
from jibe_alerts.slack_text import escape, truncate
from jibe_alerts.window_state import GroupState

__all__ = ["DigestLook", "Rendered", "render_digest", "render_note", "render_overflow"]

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
FALLBACK_LIMIT = 3900
SAMPLE_LIMIT = 700
#: Blocks a digest needs besides its group lines: header, the incidents resolved earlier,
#: closing context (and, when interactive, the "Acknowledge all" actions).
FIXED_BLOCKS = 3
#: Action ids of the digest's buttons (``jibe-alerts serve`` acts on them).
ACK_ACTION, MUTE_ACTION, ACK_ALL_ACTION = "jibe.ack", "jibe.mute", "jibe.ack_all"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")


@dataclass(frozen=True)
class DigestLook:
    """Presentation options of a digest (``interactive``: Acknowledge / Mute buttons)."""

    title: str = "jibe-alerts digest"
    max_groups: int = 20
    shown_entities: int = 5
    interactive: bool = False

    @property
    def blocks_per_group(self) -> int:
        """A section per group, plus its buttons when interactive."""
        return 2 if self.interactive else 1

    def __post_init__(self) -> None:
        fixed = FIXED_BLOCKS + (1 if self.interactive else 0)
        most = (MAX_BLOCKS - fixed) // self.blocks_per_group
        if not 1 <= self.max_groups <= most:
            raise ValueError(f"max_groups must be between 1 and {most}"
                             + (" with interactive buttons" if self.interactive else ""))


@dataclass
class Rendered:
    """A rendered digest: the payload, the groups shown, and those left for thread replies."""

    payload: dict[str, Any]
    shown: list[GroupState]
    overflow: list[GroupState]


def _order(group: GroupState) -> tuple[int, int, float]:
    return (-group.level, -group.count, group.first_seen)


def render_digest(groups: Sequence[GroupState], *, now: float, look: DigestLook,
                  resolved: Collection[str] = (), reminder: bool = False,
                  dead_lettered: int = 0, resolved_earlier: Sequence[str] = ()) -> Rendered:
    """Return the digest showing ``groups`` (those in ``resolved`` marked resolved) and the
    lines of incidents that resolved in it earlier."""
    ordered = sorted(groups, key=lambda g: (g.key in resolved, *_order(g)))
    shown, overflow = ordered[: look.max_groups], ordered[look.max_groups:]
    total = sum(g.count for g in groups)
    blocks: list[dict[str, Any]] = [
        _header(look.title, len(groups), total, reminder, len(resolved_earlier))]
    for group in shown:
        blocks.append(_group_section(group, look, group.key in resolved))
        if look.interactive and group.key not in resolved:
            blocks.append(_group_actions(group))
    if resolved_earlier:
        text = "\n".join(resolved_earlier)
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}})
    blocks.append(_footer(overflow, dead_lettered, now))
    if look.interactive and any(g.acked_by is None and g.key not in resolved for g in groups):
        blocks.append({"type": "actions", "block_id": "jibe.all", "elements": [
            _button("Acknowledge all", ACK_ALL_ACTION, "all", style="primary")]})
    text = _fallback(look.title, ordered, total, reminder)
    return Rendered({"text": text, "blocks": blocks}, shown, overflow)


def render_overflow(groups: Sequence[GroupState], *, look: DigestLook,
                    resolved: Collection[str] = ()) -> list[dict[str, Any]]:
    """Return thread-reply payloads listing ``groups`` compactly (none is left out)."""
    lines = [_compact_line(g, look, g.key in resolved) for g in sorted(groups, key=_order)]
    sections: list[str] = []
    for line in lines:
        if sections and len(sections[-1]) + 1 + len(line) <= SECTION_LIMIT:
            sections[-1] += "\n" + line
        else:
            sections.append(truncate(line, SECTION_LIMIT))
    per_reply = 20
    replies = []
    for start in range(0, len(sections), per_reply):
        chunk = sections[start:start + per_reply]
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in chunk]
        text = f"{len(groups)} more group(s) of this digest (part {start // per_reply + 1})"
        replies.append({"text": text, "blocks": blocks})
    return replies


def render_note(text: str) -> dict[str, Any]:
    """Return a short thread reply (escalation, resolution) from already-escaped ``text``."""
    body = truncate(text, SECTION_LIMIT)
    return {"text": truncate(text, FALLBACK_LIMIT),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": body}}]}


def _header(title: str, groups: int, records: int, reminder: bool,
            resolved_earlier: int = 0) -> dict[str, Any]:
    prefix = "Still happening: " if reminder else ""
    text = f"{prefix}{title}: {groups} group{'s' * (groups != 1)}, {records:,} record" + (
        "s" * (records != 1))
    if resolved_earlier:
        text += f", {resolved_earlier} resolved earlier"
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, HEADER_LIMIT)}}


def _group_section(group: GroupState, look: DigestLook, resolved: bool
                   ) -> dict[str, Any]:
    level = logging.getLevelName(group.level)
    status = ":white_check_mark: " if resolved else level_emoji(group.level) + " "
    head = f"{status}*{escape(str(level))}* · `{escape(group.logger)}` · *×{group.count:,}*"
    sample = truncate(escape(group.sample), SAMPLE_LIMIT)
    details = [_entities(group, look.shown_entities), _seen(group)]
    if resolved:
        details.append(_resolved(group))
    elif group.acked_by:
        details.append(_acknowledged(group))
    line = " · ".join(d for d in details if d)
    text = f"{head}\n{sample}\n{line}" if line else f"{head}\n{sample}"
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def _resolved(group: GroupState) -> str:
    lasted = group.last_seen - group.first_seen
    return f"*Resolved* after {format_duration(lasted)}" if lasted >= 1 else "*Resolved*"


def _acknowledged(group: GroupState) -> str:
    who = group.acked_by or ""
    name = f"<@{who}>" if _USER_ID.fullmatch(who) else escape(who)
    when = f" at {_clock(group.acked_at)[:5]} UTC" if group.acked_at else ""
    return f":eyes: Acknowledged by {name}{when}"


def _group_actions(group: GroupState) -> dict[str, Any]:
    elements = [] if group.acked_by else [_button("Acknowledge", ACK_ACTION, group.key)]
    elements.append(_button("Mute 1h", MUTE_ACTION, group.key))
    return {"type": "actions", "block_id": f"g:{group.key}"[:255], "elements": elements}


def _button(text: str, action_id: str, value: str, *, style: str | None = None
            ) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": action_id, "value": value[:2000],
                              "text": {"type": "plain_text", "text": text}}
    if style:
        button["style"] = style
    return button


def _entities(group: GroupState, limit: int) -> str:
    top = group.top_entities(limit)
    if not top:
        return ""
    more = len(group.entities) - len(top) + (1 if group.entities_other else 0)
    names = ", ".join(truncate(escape(e), 80) for e in top)
    return f"_{names}{f' +{more}' if more > 0 else ''}_"


def _seen(group: GroupState) -> str:
    first, last = _clock(group.first_seen), _clock(group.last_seen)
    return f"first {first}" if group.count == 1 else f"first {first} · last {last}"


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S UTC")


def _footer(overflow: Sequence[GroupState], dead_lettered: int, now: float) -> dict[str, Any]:
    parts = [f"as of {_clock(now)}"]
    if overflow:
        more = sum(g.count for g in overflow)
        parts.append(f"+{len(overflow)} more group{'s' * (len(overflow) != 1)} "
                     f"(×{more:,}) listed in the thread")
    if dead_lettered:
        parts.append(f":warning: {dead_lettered} earlier digest(s) could not be delivered "
                     "and were dead-lettered")
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(parts)}]}


def _compact_line(group: GroupState, look: DigestLook, resolved: bool) -> str:
    mark = ":white_check_mark:" if resolved else level_emoji(group.level)
    entities = _entities(group, look.shown_entities)
    sample = truncate(escape(group.sample), 300)
    line = f"{mark} ×{group.count:,} `{escape(group.logger)}` {sample}"
    return f"{line} {entities}" if entities else line


def _fallback(title: str, groups: Sequence[GroupState], total: int, reminder: bool) -> str:
    prefix = "Still happening: " if reminder else ""
    parts = [f"{prefix}{title}: {len(groups)} group(s), {total:,} record(s)"]
    parts += [f"×{g.count:,} {truncate(g.sample, 200)}" for g in groups[:10]]
    if len(groups) > 10:
        parts.append(f"+{len(groups) - 10} more")
    return truncate(escape(" · ".join(parts)), FALLBACK_LIMIT)
