"""Group log records by the shape of their message (fingerprints).

``message_template`` masks the variable parts of a message, the way Sentry parameterizes
messages, so that ``Providers Still Sync Delayed: ['Eng Cloud - 4 days, ReSync Running']`` and
``Providers Still Sync Delayed: ['Sales GovCloud - 1 days, Real-Time Refresh On']`` share the
template ``Providers Still Sync Delayed: <list>``.  Placeholders: ``<str>`` (quoted text),
``<list>``, ``<uuid>``, ``<hex>``, ``<ip>``, ``<host>`` (``name.domain:port``), ``<url>``,
``<email>``, ``<path>``, ``<arn>``, ``<datetime>``, ``<date>``, ``<time>``, ``<duration>`` and
``<num>``.  The engine and its rules about where a value may start live in
:mod:`jibe_alerts._masking`.

Everything is deterministic and stateless: the same text gives the same template and key in
every process on every host.  The caches below only remember results of pure functions (and are
keyed by the text the result depends on), so they change speed, never output.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from jibe_alerts._masking import (
    MAX_MESSAGE_CHARS,
    MAX_TEMPLATE_CHARS,
    MaskedValue,
    Parameterized,
    parameterize_uncached,
    template_uncached,
)

__all__ = [
    "MAX_MESSAGE_CHARS",
    "MAX_TEMPLATE_CHARS",
    "Grouper",
    "Grouping",
    "GroupingRule",
    "MaskedValue",
    "Parameterized",
    "entities_of",
    "grouping_key",
    "message_template",
    "parameterize",
]

#: Results remembered per distinct message (first MAX_MESSAGE_CHARS characters).
CACHE_SIZE: Final = 4096
#: Entities longer than this are cut (with an ellipsis) so a digest line stays readable.
MAX_ENTITY_CHARS: Final = 200
_MAX_LITERAL_CHARS: Final = 2000  # largest list handed to ast.literal_eval
_THING_KINDS: Final = frozenset({"path", "url", "email", "ip", "host", "arn"})
_NOT_THINGS: Final = frozenset({"true", "false", "null", "none", "nil", ""})
_LIST_ITEM_RE: Final = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^,'"\[\]()]+)""")
_ESCAPED_QUOTE_RE: Final = re.compile(r"\\([\\'\"])")  # only \\ \' \" (C:\Users stays)
_RULE_FIELDS: Final = ("match", "key", "entity", "loggers")


@functools.lru_cache(maxsize=CACHE_SIZE)
def _cached_template(head: str) -> str:
    return template_uncached(head)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _cached_parameterize(head: str) -> Parameterized:
    return parameterize_uncached(head)


def message_template(text: str) -> str:
    """Return *text* with its variable parts replaced by ``<kind>`` placeholders.

    Only the first :data:`MAX_MESSAGE_CHARS` characters count; runs of whitespace become one
    space; the result is at most :data:`MAX_TEMPLATE_CHARS` long and is its own template.
    Never raises for a ``str`` (lone surrogates, NULs and control characters included).
    """
    return _cached_template(text[:MAX_MESSAGE_CHARS])


def parameterize(text: str) -> Parameterized:
    """Return the template of *text* together with the values masked out of it, in order.

    ``parameterize(t).template == message_template(t)`` for every ``t``.
    """
    return _cached_parameterize(text[:MAX_MESSAGE_CHARS])


def entities_of(p: Parameterized) -> list[str]:
    """Return the masked values of *p* that name things, deduplicated, in order of appearance.

    Quoted strings (without quotes), the items of lists, paths, URLs, emails, IPs, hosts and
    ARNs count; numbers, dates, times, durations, hex and UUIDs do not, and neither does a
    quoted string or list item that holds only such a value (``'2020-07-01 18:22:39 UTC'``).
    """
    found: dict[str, None] = {}
    for value in p.values:
        if value.kind == "str":
            items = [_unquote(value.text)]
        elif value.kind == "list":
            items = _list_items(value.text)
        elif value.kind in _THING_KINDS:
            items = [value.text]
        else:
            continue
        for item in items:
            name = " ".join(item.split())
            if _names_a_thing(name):
                found.setdefault(name)
    return list(found)


def _unquote(quoted: str) -> str:
    """Return the text inside a quoted value, with escaped quotes and backslashes unescaped."""
    return _ESCAPED_QUOTE_RE.sub(r"\1", quoted[1:-1])


def _list_items(text: str) -> list[str]:
    """Split a bracketed list into its string items (Python/JSON literal first, then a regex)."""
    # No backslashes: ast would warn about invalid escapes (an error under -W error).
    if len(text) <= _MAX_LITERAL_CHARS and "\\" not in text:
        try:
            value = ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
        else:
            return list(_strings_in(value, depth=2))
    return [
        _ESCAPED_QUOTE_RE.sub(r"\1", next(g for g in m.groups() if g is not None))
        for m in _LIST_ITEM_RE.finditer(text)
    ]


def _strings_in(value: object, *, depth: int) -> Iterable[str]:
    """Yield the strings in a literal value, looking into nested lists *depth* levels deep."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple | set | frozenset) and depth > 0:
        for item in value:
            yield from _strings_in(item, depth=depth - 1)


def _names_a_thing(item: str) -> bool:
    """Tell whether *item* is a name: not a lone number, date, duration, hex, bool or null."""
    if item.lower() in _NOT_THINGS:
        return False
    values = _cached_parameterize(item[:MAX_MESSAGE_CHARS]).values
    if len(values) == 1 and values[0].text == item:
        return values[0].kind in _THING_KINDS
    return True


def grouping_key(logger_name: str, template: str) -> str:
    """Return the short stable key of a group: a BLAKE2b digest of logger name and template."""
    data = f"{logger_name}\x00{template}".encode("utf-8", "backslashreplace")
    return hashlib.blake2b(data, digest_size=10).hexdigest()


@dataclass(frozen=True, slots=True)
class Grouping:
    """Where a record belongs: its group key, the group's template and the entities it names."""

    key: str
    template: str
    entities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GroupingRule:
    """A user override: records whose message matches *match* get *key* and *entity* values.

    *key* replaces the computed template (``None`` keeps it); every match of *entity* (a regex
    with a named group ``entity``) is an entity (``None`` uses :func:`entities_of`).  The rule
    applies to the loggers in *loggers* and their children (empty: every logger).  Rules see the
    first :data:`MAX_MESSAGE_CHARS` characters of a message.
    """

    match: re.Pattern[str]
    key: str | None = None
    entity: re.Pattern[str] | None = None
    loggers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.entity is not None and "entity" not in self.entity.groupindex:
            raise ValueError(
                f"entity: {self.entity.pattern!r} has no named group; "
                "write the part to collect as (?P<entity>...)"
            )
        object.__setattr__(self, "loggers", tuple(self.loggers))

    @classmethod
    def from_config(cls, obj: Mapping[str, object]) -> GroupingRule:
        """Build a rule from its JSON form, e.g. ``{"match": "^Sync", "entity": "..."}``.

        Raises ValueError naming the bad field: a missing or invalid ``match``, an invalid
        regex, an ``entity`` without ``(?P<entity>...)``, a malformed ``loggers``, or an
        unknown field.
        """
        if not isinstance(obj, Mapping):
            raise ValueError(f"grouping rule: expected an object, got {type(obj).__name__}")
        unknown = sorted(str(k) for k in obj if k not in _RULE_FIELDS)
        if unknown:
            raise ValueError(
                f"grouping rule: unknown field(s) {', '.join(unknown)}; "
                f"expected {', '.join(_RULE_FIELDS)}"
            )
        if "match" not in obj:
            raise ValueError("match: required (a regular expression the message must match)")
        key = obj.get("key")
        if key is not None and (not isinstance(key, str) or not key):
            raise ValueError(f"key: expected a non-empty string, got {key!r}")
        entity = obj.get("entity")
        return cls(
            match=_compile_field("match", obj["match"]),
            key=key,
            entity=None if entity is None else _compile_field("entity", entity),
            loggers=_logger_names(obj.get("loggers")),
        )

    def applies_to(self, logger_name: str) -> bool:
        """Tell whether the rule covers *logger_name* (one of its loggers, or a child of one)."""
        return not self.loggers or any(
            logger_name == name or logger_name.startswith(name + ".") for name in self.loggers
        )

    def entities_in(self, message: str) -> list[str]:
        """Return the text of every ``entity`` group match in *message* (empty ones skipped)."""
        if self.entity is None:
            return []
        return [m["entity"] for m in self.entity.finditer(message) if m["entity"]]


def _compile_field(name: str, pattern: object) -> re.Pattern[str]:
    """Compile a rule's regex field, naming the field in the error."""
    if not isinstance(pattern, str):
        raise ValueError(f"{name}: expected a regular expression string, got {pattern!r}")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{name}: invalid regular expression {pattern!r}: {exc}") from None


def _logger_names(loggers: object) -> tuple[str, ...]:
    """Validate a rule's ``loggers`` field: a list of logger names."""
    if loggers is None:
        return ()
    if isinstance(loggers, str):
        raise ValueError(f"loggers: expected a list of logger names, write [{loggers!r}]")
    if not isinstance(loggers, list | tuple) or not all(isinstance(n, str) and n for n in loggers):
        raise ValueError(f"loggers: expected a list of non-empty logger names, got {loggers!r}")
    return tuple(loggers)


def _analyse(head: str, *, max_entities: int) -> tuple[str, tuple[str, ...]]:
    """Return the template and the (bounded) entities of a message head."""
    p = _cached_parameterize(head)
    return p.template, _bounded(entities_of(p), max_entities)


def _bounded(entities: Iterable[str], limit: int) -> tuple[str, ...]:
    """Deduplicate, tidy and cap entities: at most *limit*, each at most MAX_ENTITY_CHARS."""
    kept: dict[str, None] = {}
    for entity in entities:
        if len(kept) >= limit:
            break
        name = " ".join(entity[:MAX_MESSAGE_CHARS].split())
        if len(name) > MAX_ENTITY_CHARS:
            name = name[: MAX_ENTITY_CHARS - 1] + "\u2026"
        if name:
            kept.setdefault(name)
    return tuple(kept)


class Grouper:
    """Assign log records to groups; construct once, call :meth:`group` for every record.

    Results are remembered per distinct logger name and message text (LRU caches of
    *cache_size* entries), so a flood of identical messages costs a dictionary lookup each.
    The cached functions are pure, so caching never changes a result.  Raises ValueError for a
    negative *max_entities_per_record*.
    """

    def __init__(
        self,
        rules: Sequence[GroupingRule] = (),
        *,
        max_entities_per_record: int = 20,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        if max_entities_per_record < 0:
            raise ValueError("max_entities_per_record must be >= 0")
        self._rules = tuple(rules)
        self._max_entities = max_entities_per_record
        memo = functools.lru_cache(maxsize=cache_size)
        analyse = memo(functools.partial(_analyse, max_entities=max_entities_per_record))
        key_of = memo(grouping_key)

        def masked(logger_name: str, head: str) -> Grouping:
            template, entities = analyse(head)
            return Grouping(key_of(logger_name, template), template, entities)

        self._analyse = analyse
        self._key_of = key_of
        self._masked = memo(masked)

    def group(self, logger_name: str, msg: object, args: object, message: str) -> Grouping:
        """Return the group of a record from its logger name, ``msg``, ``args`` and message.

        The first rule that covers the logger and matches the message decides; otherwise a
        record logged with ``args`` keeps ``msg`` (the format string) as its template and its
        string arguments as entities; otherwise the message is masked with
        :func:`message_template`.
        """
        head = message[:MAX_MESSAGE_CHARS]
        rule = self._rule_for(logger_name, head) if self._rules else None
        if rule is not None:
            template = self._analyse(head)[0] if rule.key is None else rule.key
            if rule.entity is None:
                entities = self._analyse(head)[1]
            else:
                entities = _bounded(rule.entities_in(head), self._max_entities)
        elif isinstance(msg, str) and isinstance(args, tuple | Mapping) and args:
            template = msg[:MAX_TEMPLATE_CHARS]
            entities = _bounded(_string_args(args), self._max_entities) or self._analyse(head)[1]
        else:
            return self._masked(logger_name, head)
        return Grouping(self._key_of(logger_name, template), template, entities)

    def _rule_for(self, logger_name: str, head: str) -> GroupingRule | None:
        """Return the first rule that covers *logger_name* and matches *head*."""
        for rule in self._rules:
            if rule.applies_to(logger_name) and rule.match.search(head):
                return rule
        return None


def _string_args(args: tuple[object, ...] | Mapping[object, object]) -> list[str]:
    """Return the arguments of a record that are strings (the values, for a mapping)."""
    values = args.values() if isinstance(args, Mapping) else args
    return [v for v in values if isinstance(v, str)]
