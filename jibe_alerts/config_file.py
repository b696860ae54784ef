"""Reading a JSON dictConfig file: parse, ``${VAR}`` substitution, the seed's old class path."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jibe_alerts.config_errors import ConfigError, ConfigProblem

__all__ = ["LEGACY_CLASS_PATHS", "JibeDeprecationWarning", "load_config", "parse_config"]

#: Class paths of the original Jibe handler, mapped to ours.
LEGACY_CLASS_PATHS = {
    "src.slack_log_handler.SlackLogHandler": "jibe_alerts.SlackLogHandler",
    "slack_log_handler.SlackLogHandler": "jibe_alerts.SlackLogHandler",
}

_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class JibeDeprecationWarning(DeprecationWarning):
    """A config uses something that still works but will go away."""


# Show our own deprecations once, even where DeprecationWarning is hidden by default.
warnings.simplefilter("default", JibeDeprecationWarning)


def load_config(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
                ) -> dict[str, Any]:
    """Read ``path`` and return the dictConfig dict, with variables substituted.

    Raises :class:`ConfigError` naming the file, the key and the fix when the file cannot be
    read, is not JSON, or uses an unset ``${VAR}``.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [ConfigProblem(
            "", "file not found", f"check the path, or copy config/logging.json to {source}")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [ConfigProblem(
            "", f"cannot read the file ({type(exc).__name__}: {exc})",
            "make it a readable UTF-8 JSON file")]) from None
    return parse_config(text, source=source, environ=environ)


def parse_config(text: str, *, source: str = "<config>",
                 environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse JSON ``text`` (see :func:`load_config`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(source, [ConfigProblem(
            f"line {exc.lineno}, column {exc.colno}", f"not valid JSON ({exc.msg})",
            "look for a missing or trailing comma, an unquoted key or an unclosed bracket there")]
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigProblem(
            "", f"the file holds a JSON {type(data).__name__}, not an object",
            'write a dictConfig object: {"version": 1, "handlers": {...}, "loggers": {...}}')])
    problems: list[ConfigProblem] = []
    config = _substitute(data, "", os.environ if environ is None else environ, problems)
    if problems:
        raise ConfigError(source, problems)
    _map_legacy_classes(config)
    return config  # type: ignore[no-any-return]


def _substitute(value: Any, key: str, environ: Mapping[str, str],
                problems: list[ConfigProblem]) -> Any:
    if isinstance(value, str):
        return _substitute_text(value, key, environ, problems)
    if isinstance(value, dict):
        return {k: _substitute(v, _join(key, k), environ, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, f"{key}[{i}]", environ, problems) for i, v in enumerate(value)]
    return value


def _substitute_text(text: str, key: str, environ: Mapping[str, str],
                     problems: list[ConfigProblem]) -> str:
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name is None:
            return "$"
        if name in environ and environ[name] != "":
            return environ[name]
        if default is not None:
            return default
        problems.append(ConfigProblem(
            key, f"environment variable {name} is not set",
            f"export {name}=… before starting, or give a default: ${{{name}:-value}}"))
        return ""

    return _VARIABLE.sub(replace, text)


def _map_legacy_classes(config: dict[str, Any]) -> None:
    handlers = config.get("handlers")
    if not isinstance(handlers, dict):
        return
    warned = False
    for handler in handlers.values():
        if isinstance(handler, dict) and handler.get("class") in LEGACY_CLASS_PATHS:
            old = handler["class"]
            handler["class"] = LEGACY_CLASS_PATHS[old]
            if not warned:  # one warning per file, however many handlers use the old path
                warned = True
                warnings.warn(
                    f'handler class "{old}" is the old Jibe path; it now maps to '
                    f'"{LEGACY_CLASS_PATHS[old]}". Write that instead.',
                    JibeDeprecationWarning, stacklevel=4,
                )


def _join(key: str, name: object) -> str:
    return f"{key}.{name}" if key else str(name)
