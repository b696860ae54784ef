"""Keeping Slack tokens and other secrets out of output, reprs, errors and logs."""

from __future__ import annotations

import re

__all__ = ["Secret", "redact"]

# Slack tokens (bot, user, app, config, workspace, refresh), signing secrets in URLs, and
# passwords in redis URLs.
_TOKEN = re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+")
_URL_PASSWORD = re.compile(r"(rediss?://[^:/@\s]*:)[^@\s]+@")


def redact(text: str) -> str:
    """Return ``text`` with anything that looks like a Slack token or URL password masked."""
    text = _TOKEN.sub(lambda m: m.group(0)[:5] + "…redacted", text)
    return _URL_PASSWORD.sub(r"\1…redacted@", text)


class Secret:
    """A string that never shows itself: ``repr``/``str``/format print a redacted form."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value, for the one place that must send it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('…redacted')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))
