"""Digests Slack never took: appended to a JSON-lines file, and counted."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jibe_alerts.secrets import redact
from jibe_alerts.window_state import GroupState

__all__ = ["DeadLetters"]


class DeadLetters:
    """Writes undeliverable digests to ``path`` (JSON lines) when set, and counts them."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path else None
        self.count = 0
        self.records = 0
        self._lock = threading.Lock()

    def write(self, *, channel: str, reason: str, groups: Sequence[GroupState],
              text: str) -> None:
        """Record one undeliverable digest (file errors are swallowed: this is the last resort)."""
        entry: dict[str, Any] = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "channel": channel,
            "reason": redact(reason),
            "records": sum(g.count - g.posted_count for g in groups),
            "groups": [
                {"logger": g.logger, "level": g.level, "count": g.count, "template": g.template,
                 "sample": g.sample, "entities": g.top_entities(20),
                 "first_seen": g.first_seen, "last_seen": g.last_seen}
                for g in groups
            ],
            "text": text,
        }
        with self._lock:
            self.count += 1
            self.records += entry["records"]
            if self.path is None:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(entry) + "\n")
            except (OSError, ValueError):
                pass
