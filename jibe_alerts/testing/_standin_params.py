"""Reading Slack API arguments, which arrive as JSON values or as form/query strings."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from jibe_alerts.testing._standin_replies import ApiError

Params = dict[str, Any]

DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000


def required_str(params: Params, name: str) -> str:
    """A non-empty string argument; ``invalid_arguments`` when missing or not a string."""
    value = optional_str(params, name)
    if not value:
        raise invalid_arguments(f"missing required field: {name}")
    return value


def optional_str(params: Params, name: str) -> str | None:
    """A string argument or None; ``invalid_arguments`` when present but not a string."""
    value = params.get(name)
    if value is None or isinstance(value, str):
        return value
    raise invalid_arguments(f"{name} must be a string")


def json_list(params: Params, name: str, *, error: str) -> list[Any] | None:
    """A JSON array argument, given as a list (JSON body) or a JSON string (form body)."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError:
            raise ApiError(error) from None
    if not isinstance(value, list):
        raise ApiError(error)
    return value


def invalid_arguments(message: str) -> ApiError:
    """Slack's ``invalid_arguments`` answer, with the message Slack puts in response_metadata."""
    metadata = {"messages": [f"[ERROR] {message}"]}
    return ApiError("invalid_arguments", extra={"response_metadata": metadata})


def page(items: list[Any], params: Params) -> tuple[list[Any], str]:
    """The slice ``limit``/``cursor`` select, and the cursor of the next page ("" at the end)."""
    limit = _limit(params)
    start = _cursor_offset(params.get("cursor"))
    end = start + limit
    next_cursor = _encode_cursor(end) if end < len(items) else ""
    return items[start:end], next_cursor


def _limit(params: Params) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_PAGE_LIMIT
    if isinstance(raw, bool):
        raise ApiError("invalid_limit")
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise ApiError("invalid_limit") from None
    # Slack treats 0 as "no limit given" and caps large limits rather than rejecting them.
    if limit <= 0:
        return DEFAULT_PAGE_LIMIT
    return min(limit, MAX_PAGE_LIMIT)


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _cursor_offset(cursor: Any) -> int:
    if cursor is None or cursor == "":
        return 0
    if not isinstance(cursor, str):
        raise ApiError("invalid_cursor")
    try:
        prefix, _, number = base64.b64decode(cursor, validate=True).decode().partition(":")
        offset = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError("invalid_cursor") from None
    if prefix != "offset" or offset < 0:
        raise ApiError("invalid_cursor")
    return offset
