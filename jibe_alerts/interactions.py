"""What a verified Slack payload does to the digest window: acknowledge, mute, answer.

No HTTP here. :mod:`jibe_alerts.serve` checks a request (size, signature, age), parses it and
hands it over under the name Socket Mode gives such payloads — ``events_api``, ``interactive``
or ``slash_commands`` — and Socket Mode envelopes arrive the same way, so both paths behave alike:

* Events API ``url_verification``: answer the ``challenge``.
* ``reaction_added`` of the handler's ``ack_reaction`` on a digest: acknowledge all its groups.
* ``block_actions``: ``jibe.ack`` acknowledges a group, ``jibe.ack_all`` every group of the
  message, ``jibe.mute`` mutes the group for an hour.
* ``/jibe mute TARGET [2h]``, ``/jibe unmute TARGET``, ``/jibe status``, ``/jibe help``:
  answered ephemerally in the response.

The store write happens on the caller's thread (a Redis round trip or two), so the window has
changed by the time Slack gets its answer; Slack calls (ephemeral notes, and the digest's
``chat.update`` that the handler's flusher makes after ``request_flush()``) run on
``background``. Only the allow-list's user-group lookup (at most once a minute per group, one
attempt, ``lookup_timeout``) may call Slack on the caller's thread.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jibe_alerts.digest_render import ACK_ACTION, ACK_ALL_ACTION, MUTE_ACTION
from jibe_alerts.durations import format_duration, parse_duration
from jibe_alerts.slack_delivery import SlackDelivery, build_client
from jibe_alerts.slack_text import escape, truncate
from jibe_alerts.stores.base import WindowStore

if TYPE_CHECKING:
    from jibe_alerts.digest_handler import SlackDigestHandler

__all__ = ["NOT_ALLOWED", "AckGate", "Answer", "Interactions", "PayloadError"]

log = logging.getLogger(__name__)

NOT_ALLOWED = "You are not allowed to acknowledge jibe-alerts digests"
#: How long the digest's "Mute 1h" button mutes a group.
MUTE_BUTTON_SECONDS = 3600.0
#: How long ``/jibe mute TARGET`` mutes when no duration is given (a chat command should not
#: silence something for ever by accident; ``forever`` does that on purpose).
SLASH_MUTE_SECONDS = 3600.0
MEMBERS_TTL = 60.0
#: After a failed user-group lookup, its members count as nobody for this long.
MEMBERS_RETRY = 10.0
MAX_TARGET = 200
_FOREVER = ("forever", "inf", "always")

#: Runs a Slack call later, off the thread that answers the request.
Background = Callable[[Callable[[], None]], None]

HELP = """*jibe-alerts* commands:
• `/jibe mute LOGGER_OR_GROUP [DURATION]` — leave its records out of digests (default 1h; \
e.g. `2h`, `30m`, `forever`). A logger mutes its children too.
• `/jibe unmute LOGGER_OR_GROUP` — let them back in.
• `/jibe status` — open incidents and the mutes in force.
• `/jibe help` — this text.
Acknowledge a digest with its buttons or a :{reaction}: reaction."""


class PayloadError(ValueError):
    """The payload lacks a field Slack always sends, or has it with the wrong type."""


@dataclass(frozen=True)
class Answer:
    """What to answer Slack (a JSON body; None: an empty 200) and what happened, for the log."""

    body: dict[str, Any] | None = None
    note: str = ""


def _run_now(call: Callable[[], None]) -> None:
    call()


class AckGate:
    """Who may acknowledge and mute: ``users`` and the members of ``usergroups``; when neither
    is given, everyone.

    Members are read with ``lookup`` (``usergroups.users.list``) and kept ``ttl`` seconds; a
    failed lookup is logged and its group counts as empty for ``retry`` seconds (fail closed).
    """

    def __init__(self, *, users: Sequence[str] = (), usergroups: Sequence[str] = (),
                 lookup: Callable[[str], Sequence[str]] | None = None,
                 ttl: float = MEMBERS_TTL, retry: float = MEMBERS_RETRY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if usergroups and lookup is None:
            raise ValueError("usergroups need a lookup (usergroups.users.list)")
        self.users = frozenset(users)
        self.usergroups = tuple(usergroups)
        self._lookup = lookup
        self._ttl, self._retry, self._clock = ttl, retry, clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    @property
    def restricted(self) -> bool:
        """True when an allow-list is set."""
        return bool(self.users or self.usergroups)

    def allows(self, user: str) -> bool:
        """Return whether ``user`` may acknowledge and mute."""
        if not self.restricted or user in self.users:
            return True
        return any(user in self._members_of(group) for group in self.usergroups)

    def _members_of(self, group: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            cached = self._members.get(group)
        if cached is not None and cached[0] > now:
            return cached[1]
        assert self._lookup is not None
        try:
            members, expires = frozenset(self._lookup(group)), now + self._ttl
        except Exception as error:  # any failure: nobody of this group may act for a while
            log.warning("could not read the members of user group %s: %s", group, error)
            members, expires = frozenset(), now + self._retry
        with self._lock:
            self._members[group] = (expires, members)
        return members


class Interactions:
    """Applies Slack payloads to one digest handler's window (see the module docstring)."""

    def __init__(self, *, store: WindowStore, gate: AckGate, slack: SlackDelivery,
                 request_flush: Callable[[], None], ack_reaction: str = "eyes",
                 background: Background = _run_now,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.gate = gate
        self.slack = slack
        self.request_flush = request_flush
        self.ack_reaction = ack_reaction.strip(":")
        self.background = background
        self.clock = clock
        self._routes: dict[str, Callable[[Mapping[str, Any]], Answer]] = {
            "events_api": self._event, "interactive": self._interactive,
            "slash_commands": self._command}

    @classmethod
    def for_handler(cls, handler: SlackDigestHandler, *, background: Background = _run_now,
                    clock: Callable[[], float] = time.time,
                    lookup_timeout: float = 1.0) -> Interactions:
        """Return the interactions of ``handler``: its store, allow-list, reaction and token."""
        options = handler.options
        client = build_client(options.api_key, base_url=options.base_url, timeout=lookup_timeout)
        lookups = SlackDelivery(client, max_attempts=1)

        def members(usergroup: str) -> list[str]:
            users = lookups.call("usergroups.users.list", usergroup=usergroup).get("users")
            return [u for u in users if isinstance(u, str)] if isinstance(users, list) else []

        gate = AckGate(users=handler.ack_users, usergroups=handler.ack_usergroups,
                       lookup=members)
        # A reloaded handler adopts its predecessor's embedded store object, so this one stays
        # the live window; with Redis every handler of the prefix shares it anyway.
        return cls(store=handler.store, gate=gate,
                   slack=SlackDelivery(client, max_attempts=3), ack_reaction=handler.ack_reaction,
                   request_flush=handler.request_flush, background=background, clock=clock)

    def handle(self, kind: str, payload: Mapping[str, Any]) -> Answer:
        """Apply ``payload`` (``events_api``, ``interactive`` or ``slash_commands``).

        Raises :class:`PayloadError` when a field Slack always sends is missing or malformed
        (nothing changed then); other kinds are ignored.
        """
        route = self._routes.get(kind)
        if route is None:
            return Answer(note=f"ignored a {kind!r} payload")
        return route(payload)

    # -- Events API ---------------------------------------------------------------------------

    def _event(self, envelope: Mapping[str, Any]) -> Answer:
        kind = envelope.get("type")
        if kind == "url_verification":
            return Answer({"challenge": _text(envelope, "challenge")}, "url_verification")
        if kind != "event_callback":
            return Answer(note=f"ignored event envelope {kind!r}")
        event = _mapping(envelope, "event")
        if event.get("type") != "reaction_added":
            return Answer(note=f"ignored event {event.get('type')!r}")
        # Skin tones arrive as "eyes::skin-tone-2".
        reaction = _text(event, "reaction").split("::")[0]
        item = _mapping(event, "item")
        if reaction != self.ack_reaction or item.get("type") != "message":
            return Answer(note=f"ignored reaction {reaction!r}")
        user, channel, ts = _text(event, "user"), _text(item, "channel"), _text(item, "ts")
        keys = self.store.message_keys(channel, ts)
        if not keys:
            return Answer(note=f"ignored reaction on {channel}/{ts}: not a digest")
        return self._acknowledge(keys, user=user, channel=channel, quiet=True)

    # -- buttons ------------------------------------------------------------------------------

    def _interactive(self, payload: Mapping[str, Any]) -> Answer:
        if payload.get("type") != "block_actions":
            return Answer(note=f"ignored interaction {payload.get('type')!r}")
        user = _text(_mapping(payload, "user"), "id")
        container = payload.get("container")
        container = container if isinstance(container, Mapping) else {}
        channel = container.get("channel_id") or _mapping(payload, "channel").get("id")
        if not isinstance(channel, str) or not channel:
            raise PayloadError("block_actions without a channel")
        actions = payload.get("actions")
        if not isinstance(actions, list):
            raise PayloadError("block_actions without actions")
        notes = [self._action(action, user=user, channel=channel, container=container)
                 for action in actions if isinstance(action, Mapping)]
        return Answer(note="; ".join(n.note for n in notes) or "no action")

    def _action(self, action: Mapping[str, Any], *, user: str, channel: str,
                container: Mapping[str, Any]) -> Answer:
        action_id = action.get("action_id")
        if action_id == ACK_ACTION:
            return self._acknowledge([_text(action, "value")], user=user, channel=channel)
        if action_id == ACK_ALL_ACTION:
            keys = self.store.message_keys(channel, _text(container, "message_ts"))
            return self._acknowledge(keys, user=user, channel=channel)
        if action_id == MUTE_ACTION:
            return self._mute_button(_text(action, "value"), user=user, channel=channel)
        return Answer(note=f"ignored action {action_id!r}")

    def _acknowledge(self, keys: Sequence[str], *, user: str, channel: str,
                     quiet: bool = False) -> Answer:
        if not self.gate.allows(user):
            self._tell(channel, user, NOT_ALLOWED)
            return Answer(note=f"refused {user}: not on the allow-list")
        done = self.store.acknowledge(keys, by=user, at=self.clock()) if keys else []
        if done:
            self.request_flush()
        elif not quiet:
            self._tell(channel, user, "Nothing to acknowledge: that incident has resolved.")
        return Answer(note=f"{user} acknowledged {len(done)} group(s) in {channel}")

    def _mute_button(self, key: str, *, user: str, channel: str) -> Answer:
        if not self.gate.allows(user):
            self._tell(channel, user, NOT_ALLOWED)
            return Answer(note=f"refused {user}: not on the allow-list")
        until = self.clock() + MUTE_BUTTON_SECONDS
        self.store.set_mute(key, until=until)
        self._tell(channel, user, f"Muted group `{escape(key)}` {_until(until)}: its records "
                                  f"stay out of digests. Undo: `/jibe unmute {escape(key)}`")
        return Answer(note=f"{user} muted {key} for 1h")

    def _tell(self, channel: str, user: str, text: str) -> None:
        def post() -> None:
            try:
                self.slack.call("chat.postEphemeral", channel=channel, user=user, text=text)
            except Exception as error:  # a note that did not reach the user is only logged
                log.warning("could not post an ephemeral note to %s in %s: %s",
                            user, channel, error)
        self.background(post)

    # -- the /jibe command --------------------------------------------------------------------

    def _command(self, fields: Mapping[str, Any]) -> Answer:
        user = _text(fields, "user_id")
        text = fields.get("text")
        words = text.split() if isinstance(text, str) else []
        verb, args = (words[0].lower(), words[1:]) if words else ("help", [])
        if verb in ("mute", "unmute"):
            if not self.gate.allows(user):
                return _ephemeral(NOT_ALLOWED, f"refused /jibe {verb} from {user}")
            if verb == "mute":
                return self._slash_mute(args, user)
            return self._slash_unmute(args, user)
        if verb == "status":
            return _ephemeral(self._status(), f"/jibe status for {user}")
        intro = "" if verb == "help" else f"Unknown command `{escape(truncate(verb, 40))}`.\n"
        return _ephemeral(intro + HELP.format(reaction=self.ack_reaction), "/jibe help")

    def _slash_mute(self, args: list[str], user: str) -> Answer:
        usage = "Usage: `/jibe mute LOGGER_OR_GROUP [DURATION]`, e.g. `/jibe mute jibe.bucket 2h`"
        if not 1 <= len(args) <= 2 or len(args[0]) > MAX_TARGET:
            return _ephemeral(usage, f"bad /jibe mute from {user}")
        target = args[0]
        try:
            seconds = _mute_seconds(args[1] if len(args) == 2 else None)
        except ValueError as error:
            return _ephemeral(f"{escape(str(error))}\n{usage}", f"bad /jibe mute from {user}")
        until = self.clock() + seconds
        self.store.set_mute(target, until=until)
        return _ephemeral(f"Muted `{escape(target)}` {_until(until)}. "
                          f"Undo: `/jibe unmute {escape(target)}`", f"{user} muted {target}")

    def _slash_unmute(self, args: list[str], user: str) -> Answer:
        if len(args) != 1:
            return _ephemeral("Usage: `/jibe unmute LOGGER_OR_GROUP`",
                              f"bad /jibe unmute from {user}")
        target = args[0]
        was_muted = target in self.store.mutes(self.clock())
        self.store.set_mute(target, until=None)
        text = f"Unmuted `{escape(target)}`." if was_muted else (
            f"`{escape(target)}` was not muted.")
        return _ephemeral(text, f"{user} unmuted {target}")

    def _status(self) -> str:
        now = self.clock()
        counters = self.store.counters()
        if not counters.get("redis_up", 1):
            return ":warning: The shared window (Redis) cannot be reached right now."
        mutes = self.store.mutes(now)
        lines = [f"*jibe-alerts*: {counters.get('open_groups', 0):,} open incident(s), "
                 f"{len(mutes)} mute(s)."]
        lines += [f"• `{escape(target)}` muted {_until(until, now=now)}"
                  for target, until in sorted(mutes.items(), key=lambda m: m[1])[:20]]
        if len(mutes) > 20:
            lines.append(f"… and {len(mutes) - 20} more")
        return "\n".join(lines)


def _ephemeral(text: str, note: str) -> Answer:
    return Answer({"response_type": "ephemeral", "text": text}, note)


def _mute_seconds(text: str | None) -> float:
    if text is None:
        return SLASH_MUTE_SECONDS
    if text.lower() in _FOREVER:
        return math.inf
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError("a mute must last longer than 0s")
    return seconds


def _until(until: float, *, now: float | None = None) -> str:
    if math.isinf(until):
        return "until unmuted"
    clock = datetime.fromtimestamp(until, UTC).strftime("%H:%M UTC")
    left = "" if now is None else f", {format_duration(until - now)} left"
    return f"until {clock}{left}"


def _mapping(payload: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = payload.get(name)
    if not isinstance(value, Mapping):
        raise PayloadError(f"{name!r} is missing or not an object")
    return value


def _text(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise PayloadError(f"{name!r} is missing or not a string")
    return value
