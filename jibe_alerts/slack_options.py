"""The Slack options both handlers share (the seed's ``api_key``, ``channel``, ``username``…)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jibe_alerts.secrets import Secret

__all__ = [
    "DEFAULT_ICON_EMOJI",
    "DEFAULT_USERNAME",
    "SlackOptions",
    "normalize_channel",
    "option_problems",
]

DEFAULT_USERNAME = "Python logger"
DEFAULT_ICON_EMOJI = ":heavy_exclamation_mark:"

_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")
_CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,79}")
_EMOJI = re.compile(r":?([a-z0-9_+\-']{1,100}):?")


def normalize_channel(channel: object) -> str:
    """Return ``channel`` as Slack takes it: a channel ID (``C0123…``) or ``#name``.

    Accepts ``"#general"``, ``"general"`` and IDs. Raises ``ValueError`` saying what a valid
    value looks like.
    """
    if not isinstance(channel, str) or not channel.strip():
        raise ValueError(
            'channel is required: a channel name such as "#alerts" or an ID such as "C0123ABCD"'
        )
    value = channel.strip()
    if _CHANNEL_ID.fullmatch(value):
        return value
    name = value.removeprefix("#")
    if not _CHANNEL_NAME.fullmatch(name):
        raise ValueError(
            f"channel {value[:90]!r} is not a Slack channel: use a name of lower-case letters, "
            'digits, "-" and "_" (e.g. "#alerts") or a channel ID (e.g. "C0123ABCD")'
        )
    return "#" + name


def _token(value: object) -> Secret:
    if isinstance(value, Secret) and value:
        return value
    if isinstance(value, str) and value.strip():
        return Secret(value.strip())
    raise ValueError('api_key is required: a Slack bot token (xoxb-…), e.g. "${SLACK_BOT_TOKEN}"')


def _username(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("username must be a non-empty string")
    return value.strip()


def _http_url(what: str, example: str) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise ValueError(f"{what} must be an http(s) URL such as {example}")
        return value
    return check


def _emoji(value: object) -> str | None:
    if value is None or value == "":
        return None
    match = _EMOJI.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f'icon_emoji {str(value)[:40]!r} is not an emoji name such as ":eyes:"')
    return f":{match.group(1)}:"


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("fail_silent must be true or false")
    return value


def _timeout(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError("timeout must be a positive number of seconds")
    return float(value)


_FIELDS: dict[str, Callable[[object], Any]] = {
    "api_key": _token,
    "channel": normalize_channel,
    "username": _username,
    "icon_url": _http_url("icon_url", "https://example.com/icon.png"),
    "icon_emoji": _emoji,
    "fail_silent": _flag,
    "base_url": _http_url("base_url", "https://slack.com/api/"),
    "timeout": _timeout,
}
_FIXES = {
    "api_key": 'set "api_key": "${SLACK_BOT_TOKEN}" and export SLACK_BOT_TOKEN=xoxb-…',
    "channel": 'set "channel": "#alerts" (or a channel ID)',
}


def option_problems(options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """Return ``(option, problem, fix)`` for each shared Slack option in ``options`` that is bad.

    Missing required options are reported by the config checker from the signature.
    """
    problems = []
    for name, check in _FIELDS.items():
        if name not in options:
            continue
        try:
            check(options[name])
        except ValueError as exc:
            problems.append((name, str(exc), _FIXES.get(name, "correct the value")))
    return problems


@dataclass(frozen=True)
class SlackOptions:
    """Validated Slack settings: where to post, as whom, and how to treat API errors."""

    api_key: Secret
    channel: str
    username: str = DEFAULT_USERNAME
    icon_url: str | None = None
    icon_emoji: str | None = None
    fail_silent: bool = False
    base_url: str | None = None
    timeout: float = 5.0

    @classmethod
    def build(cls, **options: object) -> SlackOptions:
        """Validate raw option values (from dictConfig or code); raise ``ValueError`` if wrong."""
        unknown = set(options) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown Slack option(s): {', '.join(sorted(unknown))}")
        values = {name: _FIELDS[name](value) for name, value in options.items()}
        return cls(**values)

    def identity(self) -> dict[str, Any]:
        """Return the ``username``/``icon_*`` params of ``chat.postMessage``.

        ``icon_emoji`` overrides ``icon_url``; with neither, ``:heavy_exclamation_mark:``.
        """
        params: dict[str, Any] = {"username": self.username}
        if self.icon_emoji:
            params["icon_emoji"] = self.icon_emoji
        elif self.icon_url:
            params["icon_url"] = self.icon_url
        else:
            params["icon_emoji"] = DEFAULT_ICON_EMOJI
        return params
