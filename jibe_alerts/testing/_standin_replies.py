"""What the Slack stand-in answers: HTTP replies, API errors, and Slack's JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jibe_alerts.testing._standin_workspace import Channel, Message

JsonDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the stand-in's bot is, in which team; used in auth.test and in message JSON."""

    team_id: str = "T0000JIBE"
    team: str = "Jibe Stand-in"
    bot_user_id: str = "U0000JIBEBOT"
    bot_id: str = "B0000JIBEBOT"
    app_id: str = "A0000JIBE"
    user_name: str = "jibe-alerts"
    url: str = "https://jibe-standin.slack.com/"


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer: a JSON body, or a plain-text body when ``body`` is None."""

    status: int
    body: JsonDict | None
    text: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def ok(cls, fields: JsonDict) -> Reply:
        """HTTP 200 with ``{"ok": true, **fields}``."""
        return cls(200, {"ok": True, **fields})

    @classmethod
    def plain(cls, status: int, text: str) -> Reply:
        """A non-JSON answer, like the HTML/text pages a load balancer sends on 5xx."""
        return cls(status, None, text=text)


class ApiError(Exception):
    """A Slack API error: raise it from a method handler to answer ``{"ok": false, ...}``."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        headers: tuple[tuple[str, str], ...] = (),
        extra: JsonDict | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers
        self.extra = extra or {}

    def reply(self) -> Reply:
        """The HTTP answer Slack gives for this error."""
        body = {"ok": False, "error": self.error, **self.extra}
        return Reply(self.status, body, headers=self.headers)


def ratelimited(retry_after: int) -> ApiError:
    """HTTP 429 with ``Retry-After`` in whole seconds, as Slack sends it."""
    return ApiError("ratelimited", status=429, headers=(("Retry-After", str(retry_after)),))


def invalid_blocks(errors: list[str]) -> ApiError:
    """Slack's ``invalid_blocks`` answer, with the per-field messages Slack includes."""
    messages = [f"[ERROR] {error}" for error in errors]
    extra = {"errors": errors, "response_metadata": {"messages": messages}}
    return ApiError("invalid_blocks", extra=extra)


def channel_json(channel: Channel, *, is_member: bool) -> JsonDict:
    """A channel as conversations.info / conversations.list describe it."""
    return {
        "id": channel.id,
        "name": channel.name,
        "name_normalized": channel.name,
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "is_private": False,
        "is_archived": False,
        "is_general": channel.name == "general",
        "is_member": is_member,
    }


def message_json(message: Message, identity: Identity) -> JsonDict:
    """A message as conversations.history / replies and chat.* responses describe it."""
    body: JsonDict = {
        "type": "message",
        "user": message.user,
        "bot_id": identity.bot_id,
        "app_id": identity.app_id,
        "team": identity.team_id,
        "text": message.text,
        "ts": message.ts,
    }
    optional = {
        "blocks": message.blocks,
        "attachments": message.attachments,
        "username": message.username,
        "icons": _icons(message),
        "edited": {"user": message.user, "ts": message.edited_ts} if message.edited_ts else None,
        "reactions": [
            {"name": name, "users": list(users), "count": len(users)}
            for name, users in message.reactions.items()
        ],
    }
    body.update({key: value for key, value in optional.items() if value})
    body.update(_thread_fields(message))
    return body


def _icons(message: Message) -> JsonDict | None:
    if message.icon_emoji:
        return {"emoji": message.icon_emoji}
    if message.icon_url:
        return {"image_48": message.icon_url}
    return None


def _thread_fields(message: Message) -> JsonDict:
    if message.thread_ts is not None:
        return {"thread_ts": message.thread_ts, "parent_user_id": message.user}
    if not message.replies:
        return {}
    return {
        "thread_ts": message.ts,
        "reply_count": len(message.replies),
        "reply_users": sorted({reply.user for reply in message.replies}),
        "latest_reply": message.replies[-1].ts,
    }
