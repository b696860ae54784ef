"""Every Redis key the window store uses, built in one place.

All keys of a deployment start with ``{<prefix>}:``: the prefix is a Redis Cluster hash tag, so
they share one slot and the multi-key Lua scripts stay legal on Cluster. Only safe text goes
into a key name: the prefix is checked, and a group key or message id that is not a plain
digest (an overflow key carries its channel name) is replaced by its SHA-256. Log text
(templates, samples, entities, channels) only ever appears in values.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = ["DEFAULT_PREFIX", "RedisKeys", "encode_text"]

DEFAULT_PREFIX = "jibe-alerts"
_SAFE_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def encode_text(text: str) -> bytes:
    """Return ``text`` as UTF-8, lone surrogates included (what ``surrogateescape`` made)."""
    return text.encode("utf-8", "surrogatepass")


def _name(text: str) -> str:
    # "~" never matches _SAFE_NAME, so a hashed name cannot collide with a plain one.
    if _SAFE_NAME.fullmatch(text):
        return text
    return "~" + hashlib.sha256(encode_text(text)).hexdigest()


@dataclass(frozen=True)
class RedisKeys:
    """Key names under one prefix.

    Raises:
        ValueError: ``prefix`` is empty, longer than 64 characters, or has characters other
            than letters, digits and ``_.:-`` (braces would break the hash tag).
    """

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        if not _SAFE_PREFIX.fullmatch(self.prefix):
            raise ValueError(
                f"Redis key prefix {self.prefix!r} must be 1-64 letters, digits or _.:-")

    @property
    def base(self) -> str:
        """What every key starts with: ``{prefix}:``."""
        return "{" + self.prefix + "}:"

    @property
    def pattern(self) -> str:
        """A SCAN pattern that matches every key of this prefix."""
        escaped = re.sub(r"([\\*?\[\]{}])", r"\\\1", self.base)
        return escaped + "*"

    @property
    def groups(self) -> str:
        """Sorted set: open group key -> last ``active_at`` (counts open incidents)."""
        return self.base + "groups"

    @property
    def outbox(self) -> str:
        """Sorted set: group key -> when its next digest is due."""
        return self.base + "outbox"

    @property
    def message_due(self) -> str:
        """Sorted set: message id -> when the flusher must look at the message again."""
        return self.base + "mdue"

    @property
    def message_updated(self) -> str:
        """Sorted set: message id -> its ``updated_at`` (what adders need to schedule it)."""
        return self.base + "mupd"

    @property
    def counters(self) -> str:
        """Hash of store counters (overflowed, entities dropped, incidents opened/resolved)."""
        return self.base + "counters"

    @property
    def lease(self) -> str:
        """String: the flush lease holder's token (with a PX expiry)."""
        return self.base + "lease"

    def group(self, key: str) -> str:
        """Hash of one group's scalar fields."""
        return self.base + "g:" + _name(key)

    def entities(self, key: str) -> str:
        """Sorted set of one group's entities (member: entity, score: count)."""
        return self.base + "ge:" + _name(key)

    def samples(self, key: str) -> str:
        """List of one group's sample messages (capped)."""
        return self.base + "gs:" + _name(key)

    def group_keys(self, key: str) -> tuple[str, str, str]:
        """The group's hash, entities and samples keys, in the order the scripts expect."""
        return self.group(key), self.entities(key), self.samples(key)

    def message(self, message_id: str) -> str:
        """Hash of one posted digest message."""
        return self.base + "m:" + _name(message_id)
