"""Block Kit limits that Slack enforces on messages, checked the way Slack reports them.

``block_kit_errors`` returns Slack-style messages such as
``"must be less than 51 items [json-pointer:/blocks]"``; an empty list means the blocks are fine.
Only the limits a digest bot can plausibly hit are checked, not the whole Block Kit schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_BLOCKS = 50
MAX_BLOCK_ID = 255
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_ACTION_ID = 255
MAX_BUTTON_VALUE = 2000

# Block types Slack accepts in a message; "input" is only valid in modals and Home tabs.
_FREE_FORM_BLOCKS = frozenset({"divider", "image", "rich_text", "file", "video", "markdown"})
_TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})


def block_kit_errors(blocks: list[Any] | None, attachments: list[Any] | None) -> list[str]:
    """Return every limit the message's blocks break (attachment blocks included)."""
    errors: list[str] = []
    total = 0
    if blocks is not None:
        total += len(blocks)
        errors += _block_list_errors(blocks, "/blocks")
    for index, attachment in enumerate(attachments or []):
        nested = attachment.get("blocks") if isinstance(attachment, dict) else None
        if isinstance(nested, list):
            total += len(nested)
            errors += _block_list_errors(nested, f"/attachments/{index}/blocks")
    if total > MAX_BLOCKS:
        errors.insert(0, _too_many(MAX_BLOCKS, "/blocks"))
    return errors


def _block_list_errors(blocks: list[Any], pointer: str) -> list[str]:
    errors: list[str] = []
    for index, block in enumerate(blocks):
        errors += _block_errors(block, f"{pointer}/{index}")
    return errors


def _block_errors(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict):
        return [f"must be an object [json-pointer:{pointer}]"]
    block_type = block.get("type")
    block_id = block.get("block_id")
    errors = _length_errors(block_id, MAX_BLOCK_ID, f"{pointer}/block_id")
    if block_type in _FREE_FORM_BLOCKS:
        return errors
    check = _BLOCK_CHECKS.get(block_type) if isinstance(block_type, str) else None
    if check is None:
        return [*errors, f"unsupported type: {block_type} [json-pointer:{pointer}/type]"]
    return errors + check(block, pointer)


def _section_errors(block: dict[str, Any], pointer: str) -> list[str]:
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        return [f"must provide either text or fields [json-pointer:{pointer}]"]
    errors: list[str] = []
    if text is not None:
        errors += _text_object_errors(text, f"{pointer}/text", limit=MAX_SECTION_TEXT)
    if fields is not None:
        errors += _list_size_errors(fields, 1, MAX_SECTION_FIELDS, f"{pointer}/fields")
        for index, field in enumerate(fields if isinstance(fields, list) else []):
            errors += _text_object_errors(field, f"{pointer}/fields/{index}", limit=MAX_FIELD_TEXT)
    accessory = block.get("accessory")
    if accessory is not None:
        errors += _element_errors(accessory, f"{pointer}/accessory")
    return errors


def _header_errors(block: dict[str, Any], pointer: str) -> list[str]:
    return _text_object_errors(
        block.get("text"), f"{pointer}/text", limit=MAX_HEADER_TEXT, plain_only=True
    )


def _context_errors(block: dict[str, Any], pointer: str) -> list[str]:
    elements = block.get("elements")
    return _list_size_errors(elements, 1, MAX_CONTEXT_ELEMENTS, f"{pointer}/elements")


def _actions_errors(block: dict[str, Any], pointer: str) -> list[str]:
    elements = block.get("elements")
    errors = _list_size_errors(elements, 1, MAX_ACTIONS_ELEMENTS, f"{pointer}/elements")
    for index, element in enumerate(elements if isinstance(elements, list) else []):
        errors += _element_errors(element, f"{pointer}/elements/{index}")
    return errors


def _element_errors(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"must be an object with a type [json-pointer:{pointer}]"]
    errors = _length_errors(element.get("action_id"), MAX_ACTION_ID, f"{pointer}/action_id")
    if element["type"] == "button":
        errors += _text_object_errors(
            element.get("text"), f"{pointer}/text", limit=MAX_BUTTON_TEXT, plain_only=True
        )
        errors += _length_errors(element.get("value"), MAX_BUTTON_VALUE, f"{pointer}/value")
    return errors


def _text_object_errors(
    obj: Any, pointer: str, *, limit: int, plain_only: bool = False
) -> list[str]:
    allowed = {"plain_text"} if plain_only else _TEXT_TYPES
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [f"must be a text object [json-pointer:{pointer}]"]
    if obj.get("type") not in allowed:
        expected = " or ".join(sorted(allowed))
        return [f"must be {expected} [json-pointer:{pointer}/type]"]
    return _length_errors(obj["text"], limit, f"{pointer}/text")


def _length_errors(value: Any, limit: int, pointer: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [f"must be a string [json-pointer:{pointer}]"]
    if len(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{pointer}]"]
    return []


def _list_size_errors(value: Any, low: int, high: int, pointer: str) -> list[str]:
    if not isinstance(value, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    if len(value) < low:
        return [f"must provide at least {low} items [json-pointer:{pointer}]"]
    if len(value) > high:
        return [_too_many(high, pointer)]
    return []


def _too_many(limit: int, pointer: str) -> str:
    return f"must be less than {limit + 1} items [json-pointer:{pointer}]"


_BLOCK_CHECKS: dict[str, Callable[[dict[str, Any], str], list[str]]] = {
    "section": _section_errors,
    "header": _header_errors,
    "context": _context_errors,
    "actions": _actions_errors,
}
