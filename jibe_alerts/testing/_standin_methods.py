"""The Web API methods the Slack stand-in implements, checked with Slack's own error strings.

Every handler takes the request's arguments and returns the fields of an ``ok`` answer, or raises
``ApiError``. Handlers run under the stand-in's lock, so they may touch the workspace freely.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from jibe_alerts.testing._standin_blocks import block_kit_errors
from jibe_alerts.testing._standin_buckets import BucketSet
from jibe_alerts.testing._standin_params import (
    Params,
    json_list,
    optional_str,
    page,
    required_str,
)
from jibe_alerts.testing._standin_replies import (
    ApiError,
    Identity,
    JsonDict,
    Reply,
    channel_json,
    invalid_blocks,
    message_json,
    ratelimited,
)
from jibe_alerts.testing._standin_workspace import Channel, Message, Workspace

MAX_TEXT = 40_000
MAX_ATTACHMENTS = 100

Handler = Callable[[Params], JsonDict]


class SlackMethods:
    """Dispatches one authenticated API call to its handler and turns errors into replies."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        identity: Identity,
        tokens: Collection[str],
        post_limits: BucketSet,
        update_limits: BucketSet,
    ) -> None:
        self._workspace = workspace
        self._identity = identity
        self._tokens = frozenset(tokens)
        self._post_limits = post_limits
        self._update_limits = update_limits
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.list": self._conversations_list,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "reactions.get": self._reactions_get,
            "reactions.add": self._reactions_add,
            "usergroups.users.list": self._usergroups_users_list,
        }

    def dispatch(
        self, method: str, params: Params, token: str | None, body_error: str | None
    ) -> Reply:
        """Answer one call the way Slack would: unknown method, then body, auth and arguments."""
        handler = self._handlers.get(method)
        try:
            if handler is None:
                raise ApiError("unknown_method")
            if body_error is not None:
                raise ApiError(body_error)
            self._authenticate(token)
            return Reply.ok(handler(params))
        except ApiError as error:
            return error.reply()

    def _authenticate(self, token: str | None) -> None:
        if not token:
            raise ApiError("not_authed")
        if token not in self._tokens:
            raise ApiError("invalid_auth")

    # -- auth ---------------------------------------------------------------------------------

    def _auth_test(self, params: Params) -> JsonDict:
        me = self._identity
        return {
            "url": me.url,
            "team": me.team,
            "user": me.user_name,
            "team_id": me.team_id,
            "user_id": me.bot_user_id,
            "bot_id": me.bot_id,
            "is_enterprise_install": False,
        }

    # -- chat ---------------------------------------------------------------------------------

    def _chat_post_message(self, params: Params) -> JsonDict:
        channel = self._member_channel(params)
        self._take(self._post_limits, channel.id)
        text, blocks, attachments = _content(params)
        message = Message(
            ts=self._workspace.next_ts(),
            channel=channel.id,
            text=text or "",
            user=self._identity.bot_user_id,
            blocks=blocks or [],
            attachments=attachments or [],
            username=optional_str(params, "username"),
            icon_url=optional_str(params, "icon_url"),
            icon_emoji=optional_str(params, "icon_emoji"),
            thread_ts=self._thread_ts(channel, params),
        )
        self._workspace.add(message)
        json = message_json(message, self._identity)
        return {"channel": channel.id, "ts": message.ts, "message": json}

    def _chat_update(self, params: Params) -> JsonDict:
        channel = self._channel(params)
        ts = required_str(params, "ts")
        self._take(self._update_limits, "chat.update")
        message = self._message(channel, ts)
        text, blocks, attachments = _content(params)
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = blocks
        if attachments is not None:
            message.attachments = attachments
        message.edit_count += 1
        message.edited_ts = self._workspace.next_ts()
        json = message_json(message, self._identity)
        return {"channel": channel.id, "ts": ts, "text": message.text, "message": json}

    def _chat_post_ephemeral(self, params: Params) -> JsonDict:
        self._member_channel(params)
        required_str(params, "user")
        _content(params)
        return {"message_ts": self._workspace.next_ts()}

    def _chat_get_permalink(self, params: Params) -> JsonDict:
        channel = self._channel(params)
        message = self._message(channel, required_str(params, "message_ts"))
        return {"channel": channel.id, "permalink": self._permalink(message)}

    # -- conversations ------------------------------------------------------------------------

    def _conversations_list(self, params: Params) -> JsonDict:
        channels = [self._channel_json(channel) for channel in self._workspace.channels]
        selected, next_cursor = page(channels, params)
        return {"channels": selected, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_info(self, params: Params) -> JsonDict:
        return {"channel": self._channel_json(self._channel(params))}

    def _conversations_join(self, params: Params) -> JsonDict:
        channel = self._channel(params)
        if self._workspace.join(channel.id):
            return {"channel": self._channel_json(channel)}
        return {
            "channel": self._channel_json(channel),
            "warning": "already_in_channel",
            "response_metadata": {"warnings": ["already_in_channel"]},
        }

    def _conversations_history(self, params: Params) -> JsonDict:
        channel = self._member_channel(params)
        newest_first = list(reversed(self._workspace.top_level(channel.id)))
        return self._message_page(newest_first, params)

    def _conversations_replies(self, params: Params) -> JsonDict:
        channel = self._member_channel(params)
        parent = self._workspace.thread_parent(channel.id, required_str(params, "ts"))
        if parent is None:
            raise ApiError("thread_not_found")
        return self._message_page([parent, *parent.replies], params)

    def _message_page(self, messages: list[Message], params: Params) -> JsonDict:
        selected, next_cursor = page(messages, params)
        return {
            "messages": [message_json(message, self._identity) for message in selected],
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    # -- reactions ----------------------------------------------------------------------------

    def _reactions_get(self, params: Params) -> JsonDict:
        channel = self._channel(params)
        message = self._message(channel, required_str(params, "timestamp"))
        json = message_json(message, self._identity)
        json["permalink"] = self._permalink(message)
        return {"type": "message", "channel": channel.id, "message": json}

    def _reactions_add(self, params: Params) -> JsonDict:
        channel = self._channel(params)
        message = self._message(channel, required_str(params, "timestamp"))
        name = required_str(params, "name").strip(":")
        users = message.reactions.setdefault(name, [])
        if self._identity.bot_user_id in users:
            raise ApiError("already_reacted")
        users.append(self._identity.bot_user_id)
        return {}

    # -- user groups --------------------------------------------------------------------------

    def _usergroups_users_list(self, params: Params) -> JsonDict:
        users = self._workspace.usergroups.get(required_str(params, "usergroup"))
        if users is None:
            raise ApiError("no_such_subteam")
        return {"users": list(users)}

    # -- shared checks ------------------------------------------------------------------------

    def _channel(self, params: Params) -> Channel:
        channel = self._workspace.resolve(required_str(params, "channel"))
        if channel is None:
            raise ApiError("channel_not_found")
        return channel

    def _member_channel(self, params: Params) -> Channel:
        channel = self._channel(params)
        if not self._workspace.is_member(channel.id):
            raise ApiError("not_in_channel")
        return channel

    def _message(self, channel: Channel, ts: str) -> Message:
        message = self._workspace.find(channel.id, ts)
        if message is None:
            raise ApiError("message_not_found")
        return message

    def _thread_ts(self, channel: Channel, params: Params) -> str | None:
        ts = optional_str(params, "thread_ts")
        if not ts:
            return None
        # Slack files a reply to a reply under the thread's parent.
        parent = self._workspace.thread_parent(channel.id, ts)
        if parent is None:
            raise ApiError("thread_not_found")
        return parent.ts

    def _take(self, limits: BucketSet, key: str) -> None:
        retry_after = limits.take(key)
        if retry_after:
            raise ratelimited(retry_after)

    def _channel_json(self, channel: Channel) -> JsonDict:
        return channel_json(channel, is_member=self._workspace.is_member(channel.id))

    def _permalink(self, message: Message) -> str:
        link = f"{self._identity.url}archives/{message.channel}/p{message.ts.replace('.', '')}"
        if message.thread_ts is None:
            return link
        return f"{link}?thread_ts={message.thread_ts}&cid={message.channel}"


def _content(params: Params) -> tuple[str | None, list[Any] | None, list[Any] | None]:
    """A message's text, blocks and attachments, after Slack's content checks."""
    text = optional_str(params, "text")
    blocks = json_list(params, "blocks", error="invalid_blocks_format")
    attachments = json_list(params, "attachments", error="invalid_attachments")
    if not text and not blocks and not attachments:
        raise ApiError("no_text")
    if text is not None and len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    if attachments is not None and len(attachments) > MAX_ATTACHMENTS:
        raise ApiError("too_many_attachments")
    errors = block_kit_errors(blocks, attachments)
    if errors:
        raise invalid_blocks(errors)
    return text, blocks, attachments
