"""The Slack stand-in's workspace state: channels, the bot's memberships and the messages posted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Message timestamps start here and step by 100 microseconds, like a busy Slack channel.
TS_EPOCH = 1_700_000_000
TS_STEP_MICROS = 100


@dataclass(frozen=True, slots=True)
class Channel:
    """A public channel of the stand-in workspace."""

    id: str
    name: str


@dataclass(slots=True)
class Message:
    """A message as the stand-in holds it: its current state after any ``chat.update``."""

    ts: str
    channel: str
    text: str
    user: str
    blocks: list[Any] = field(default_factory=list)
    attachments: list[Any] = field(default_factory=list)
    username: str | None = None
    icon_url: str | None = None
    icon_emoji: str | None = None
    thread_ts: str | None = None
    replies: list[Message] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    edit_count: int = 0
    edited_ts: str | None = None


class Workspace:
    """Channels, memberships and messages; not thread-safe on its own (the stand-in locks it)."""

    def __init__(self, *, channels: Sequence[tuple[str, str]], member_of: Iterable[str] | None):
        self.channels = tuple(Channel(id=cid, name=name) for cid, name in channels)
        if not self.channels:
            raise ValueError("the stand-in needs at least one channel")
        self._by_id = {c.id: c for c in self.channels}
        self._by_name = {c.name: c for c in self.channels}
        if len(self._by_id) != len(self.channels) or len(self._by_name) != len(self.channels):
            raise ValueError(f"channel IDs and names must be unique: {channels!r}")
        self._initial_members = self._member_ids(member_of)
        self._members = set(self._initial_members)
        self._messages: dict[str, list[Message]] = {c.id: [] for c in self.channels}
        self._ts_counter = 0
        #: User groups (``S…`` ID → member user IDs), set by tests; kept across ``clear``.
        self.usergroups: dict[str, tuple[str, ...]] = {}

    def _member_ids(self, member_of: Iterable[str] | None) -> frozenset[str]:
        if member_of is None:
            return frozenset(self._by_id)
        ids = set()
        for ref in member_of:
            channel = self.resolve(ref)
            if channel is None:
                raise ValueError(f"member_of names an unknown channel: {ref!r}")
            ids.add(channel.id)
        return frozenset(ids)

    def resolve(self, ref: str) -> Channel | None:
        """Find a channel by ID, ``#name`` or ``name``."""
        if ref in self._by_id:
            return self._by_id[ref]
        return self._by_name.get(ref.removeprefix("#"))

    def is_member(self, channel_id: str) -> bool:
        """Whether the bot is a member of the channel."""
        return channel_id in self._members

    def join(self, channel_id: str) -> bool:
        """Make the bot a member; return False when it already was."""
        if channel_id in self._members:
            return False
        self._members.add(channel_id)
        return True

    def next_ts(self) -> str:
        """Return a fresh, strictly increasing Slack timestamp such as ``1700000000.000100``."""
        self._ts_counter += 1
        micros = self._ts_counter * TS_STEP_MICROS
        return f"{TS_EPOCH + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def add(self, message: Message) -> None:
        """Store a new message: top-level, or as a reply when its ``thread_ts`` names a parent."""
        if message.thread_ts is None:
            self._messages[message.channel].append(message)
            return
        parent = self.find(message.channel, message.thread_ts)
        if parent is None:
            raise LookupError(f"no thread {message.thread_ts} in {message.channel}")
        parent.replies.append(message)

    def top_level(self, channel_id: str) -> list[Message]:
        """Top-level messages of a channel, oldest first (the live objects)."""
        return self._messages[channel_id]

    def find(self, channel_id: str, ts: str) -> Message | None:
        """Find a message, top-level or reply, by channel ID and ts."""
        for message in self._messages.get(channel_id, ()):
            if message.ts == ts:
                return message
            for reply in message.replies:
                if reply.ts == ts:
                    return reply
        return None

    def thread_parent(self, channel_id: str, ts: str) -> Message | None:
        """The top-level message whose thread ``ts`` belongs to (itself or a reply of it)."""
        message = self.find(channel_id, ts)
        if message is None:
            return None
        if message.thread_ts is None:
            return message
        return self.find(channel_id, message.thread_ts)

    def clear(self) -> None:
        """Drop every message and restore the initial memberships; timestamps keep increasing."""
        for messages in self._messages.values():
            messages.clear()
        self._members = set(self._initial_members)
