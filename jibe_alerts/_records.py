"""Reading a log record's message without ever raising."""

from __future__ import annotations

import logging

__all__ = ["record_message"]

_REPR_LIMIT = 500


def record_message(record: logging.LogRecord) -> tuple[str, bool]:
    """Return ``(message, ok)``: ``record.getMessage()``, or a readable stand-in when it fails.

    A record whose ``msg % args`` raises (wrong number of args, a ``__str__`` that raises…) is
    still reported: the stand-in shows the raw ``msg``, the ``args`` and what went wrong, and
    ``ok`` is False so callers can count it.
    """
    try:
        return record.getMessage(), True
    except Exception as exc:
        return (
            f"{_safe_repr(record.msg)} with args {_safe_repr(record.args)} "
            f"(could not be formatted: {type(exc).__name__}: {_safe_repr(exc)})",
            False,
        )


def _safe_repr(value: object) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<unrepresentable {type(value).__name__}>"
    return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 1] + "…"
