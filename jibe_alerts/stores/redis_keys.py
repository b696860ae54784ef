"""The window store's Redis layout: every key name, built here, and how values are encoded.

All keys of a deployment start with ``{<prefix>}:``: the prefix is a Redis Cluster hash tag, so
they share one slot and the multi-key Lua scripts stay legal on Cluster. Only safe text goes
into a key name: the prefix is checked, and a group key or message id that is not a plain
digest (an overflow key carries its channel name) is replaced by its SHA-256. Log text
(templates, samples, entities, channels) only ever appears in values, as UTF-8 bytes with
lone surrogates kept (``surrogatepass``), and times as ``repr`` strings that read back exactly.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from jibe_alerts.window_state import GroupState, MessageState, Timers

__all__ = ["DEFAULT_PREFIX", "MUTE_RETENTION", "RETENTION_MARGIN", "Arg", "RedisKeys",
           "decode_text", "encode_json", "encode_text", "encode_time", "group_from_hash",
           "message_from_hash", "message_index_field", "retention_ms"]

#: What the scripts accept as one ARGV entry.
Arg = bytes | str | int | float
DEFAULT_PREFIX = "jibe-alerts"
#: Every key expires this long after the window's longest timer, counted from its last write.
RETENTION_MARGIN = 3600.0
#: The mutes hash lives this long after its last read or write while an indefinite mute is in
#: it (a finite one keeps it until that mute ends, plus ``RETENTION_MARGIN``).
MUTE_RETENTION = 30 * 24 * 3600.0
_SAFE_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def encode_text(text: str) -> bytes:
    """Return ``text`` as UTF-8, lone surrogates included (what ``surrogateescape`` made)."""
    return text.encode("utf-8", "surrogatepass")


def decode_text(value: bytes | str) -> str:
    """Undo :func:`encode_text` (a ``str`` passes through)."""
    return value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value


def encode_json(value: object) -> bytes:
    """Return JSON for a script: raw UTF-8, since Redis's cjson rejects escaped surrogates."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass")


def encode_time(value: float) -> str:
    """Return a time as the exact ``repr`` the scripts store and compare."""
    return repr(float(value))


def message_index_field(channel: str, ts: str) -> bytes:
    """Return the field of the (channel, ts) -> message id index for a posted message.

    The channel's byte length leads, so no two (channel, ts) pairs share a field whatever
    bytes they hold.
    """
    channel_bytes = encode_text(channel)
    return b"%d:%s%s" % (len(channel_bytes), channel_bytes, encode_text(ts))


def retention_ms(timers: Timers) -> int:
    """Return how long (ms) an untouched key may live under these timers."""
    longest = max(timers.repeat_interval + timers.resolve_timeout,
                  timers.group_wait + timers.group_interval)
    return round(1000 * (longest + RETENTION_MARGIN))


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
    def message_index(self) -> str:
        """Hash: :func:`message_index_field` of a message's (channel, ts) -> its message id."""
        return self.base + "mts"

    @property
    def mutes(self) -> str:
        """Hash: mute target (logger name or group key) -> until (``inf``: until unmuted)."""
        return self.base + "mutes"

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

    def applied(self, sender: str) -> str:
        """String: the number of the last batch from ``sender`` (one store instance) applied."""
        return self.base + "applied:" + _name(sender)


def group_from_hash(fields: dict[bytes, bytes], entities: list[tuple[bytes, float]],
                    samples: list[bytes]) -> GroupState | None:
    """Build a group from its hash, entities and samples; None if it is not open."""
    f = {decode_text(k): decode_text(v) for k, v in fields.items()}
    if "count" not in f:
        return None
    opt = {k: f.get(k) or None for k in ("message_id", "posted_at", "acked_by", "acked_at")}
    return GroupState(
        key=f["key"], channel=f["channel"], logger=f["logger"], template=f["template"],
        sample=f["sample"], level=int(f["level"]), count=int(f["count"]),
        first_seen=float(f["first_seen"]), last_seen=float(f["last_seen"]),
        opened_at=float(f["opened_at"]), active_at=float(f["active_at"]),
        entities={decode_text(name): int(n) for name, n in entities},
        entities_other=int(f["entities_other"]), samples=[decode_text(s) for s in samples],
        message_id=opt["message_id"], posted_count=int(f["posted_count"]),
        posted_level=int(f["posted_level"]), posted_at=_float(opt["posted_at"]),
        attempts=int(f["attempts"]), reminder=f["reminder"] == "1", acked_by=opt["acked_by"],
        acked_at=_float(opt["acked_at"]), resolve_requested=f.get("resolve_requested") == "1")


def message_from_hash(message_id: str, fields: dict[bytes, bytes]) -> MessageState | None:
    """Build a message record from its hash; None if it is gone."""
    f = {decode_text(k): decode_text(v) for k, v in fields.items()}
    if "ts" not in f:
        return None
    return MessageState(id=message_id, channel=f["channel"], ts=f["ts"],
                        keys=json.loads(f["keys"]), posted_at=float(f["posted_at"]),
                        updated_at=float(f["updated_at"]),
                        overflow_keys=json.loads(f["overflow_keys"]),
                        resolved=json.loads(f.get("resolved", "[]")))


def _float(value: str | None) -> float | None:
    return None if value is None else float(value)
