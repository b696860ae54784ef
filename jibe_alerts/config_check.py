"""Validating a dictConfig before it is applied, with a fix for every problem found.

``logging.config.dictConfig`` fails half-way with messages such as "Unable to configure handler
'x'"; we check first, so a broken file never replaces a working config and the person reading
the error learns the file, the key path and what to write instead.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jibe_alerts.config_errors import ConfigError, ConfigProblem

__all__ = ["check_config", "find_problems", "resolve_class"]

_TOP_KEYS = ("version", "formatters", "filters", "handlers", "loggers", "root",
             "incremental", "disable_existing_loggers")
_HANDLER_META = ("class", "()", "level", "formatter", "filters", ".")
_LOGGER_KEYS = ("level", "handlers", "propagate", "filters")
_FORMATTER_KEYS = ("format", "datefmt", "style", "validate", "class", "()", "defaults", ".")
_WHEN = ("S", "M", "H", "D", "MIDNIGHT", "W0", "W1", "W2", "W3", "W4", "W5", "W6")


def check_config(config: Mapping[str, Any], *, source: str = "<config>") -> None:
    """Raise :class:`ConfigError` listing every problem in ``config``; return if it is usable."""
    problems = find_problems(config)
    if problems:
        raise ConfigError(source, problems)


def find_problems(config: Mapping[str, Any]) -> list[ConfigProblem]:
    """Return every problem found in ``config`` (empty when it can be applied)."""
    problems: list[ConfigProblem] = []
    add = problems.append
    if config.get("version") != 1:
        add(ConfigProblem("version", f"is {config.get('version')!r}, dictConfig needs 1",
                          'add "version": 1 at the top level'))
    for key in config:
        if key not in _TOP_KEYS:
            add(ConfigProblem(key, "unknown top-level key", _did_you_mean(key, _TOP_KEYS)))
    formatters = _section(config, "formatters", add)
    filters = _section(config, "filters", add)
    handlers = _section(config, "handlers", add)
    for name, spec in formatters.items():
        _check_formatter(f"formatters.{name}", spec, add)
    sections = {"formatters": formatters, "filters": filters, "handlers": handlers}
    for name, spec in handlers.items():
        _check_handler(f"handlers.{name}", spec, sections, add)
    for name, spec in _section(config, "loggers", add).items():
        _check_logger(f"loggers.{name}", spec, handlers, filters, add)
    if "root" in config:
        _check_logger("root", config["root"], handlers, filters, add)
    return problems


def _section(config: Mapping[str, Any], key: str, add: Callable[[ConfigProblem], None]
             ) -> Mapping[str, Any]:
    value = config.get(key, {})
    if not isinstance(value, dict):
        add(ConfigProblem(key, f"must be an object of named entries, not {type(value).__name__}",
                          f'write "{key}": {{"name": {{...}}}}'))
        return {}
    return value


def _check_formatter(key: str, spec: Any, add: Callable[[ConfigProblem], None]) -> None:
    if not isinstance(spec, dict):
        add(ConfigProblem(key, "must be an object",
                          'write {"format": "%(levelname)s - %(message)s"}'))
        return
    for option in spec:
        if option not in _FORMATTER_KEYS:
            add(ConfigProblem(f"{key}.{option}", "unknown formatter option",
                              _did_you_mean(option, _FORMATTER_KEYS)))
    fmt, style = spec.get("format"), spec.get("style", "%")
    if fmt is None or "()" in spec or "class" in spec:
        return
    try:
        logging.Formatter(fmt, spec.get("datefmt"), style)
    except (ValueError, TypeError, KeyError) as exc:
        add(ConfigProblem(f"{key}.format", f"is not a valid {style}-style format ({exc})",
                          "use LogRecord attributes such as %(asctime)s - %(levelname)s - "
                          "%(message)s"))


def _check_handler(key: str, spec: Any, config: Mapping[str, Mapping[str, Any]],
                   add: Callable[[ConfigProblem], None]) -> None:
    formatters, filters, handlers = config["formatters"], config["filters"], config["handlers"]
    if not isinstance(spec, dict):
        add(ConfigProblem(key, "must be an object", 'write {"class": "logging.StreamHandler"}'))
        return
    _check_level(f"{key}.level", spec.get("level"), add)
    formatter = spec.get("formatter")
    if formatter is not None and formatter not in formatters:
        add(ConfigProblem(f"{key}.formatter", f"names a formatter {formatter!r} that is not "
                          "defined", _did_you_mean(str(formatter), list(formatters),
                                                   "define it in formatters")))
    for name in spec.get("filters") or ():
        if name not in filters:
            add(ConfigProblem(f"{key}.filters", f"names a filter {name!r} that is not defined",
                              "define it under filters or remove it"))
    if "()" in spec:
        return  # a user factory: its arguments are its own business
    target = spec.get("class")
    if not isinstance(target, str) or not target:
        add(ConfigProblem(f"{key}.class", "is missing",
                          'name a handler class, e.g. "logging.StreamHandler" or '
                          '"jibe_alerts.SlackLogHandler"'))
        return
    try:
        klass = resolve_class(target)
    except (ImportError, AttributeError, ValueError) as exc:
        add(ConfigProblem(f"{key}.class", f"cannot import {target!r} ({exc})",
                          "check the spelling and that its package is installed"))
        return
    options = {k: v for k, v in spec.items() if k not in _HANDLER_META}
    _check_handler_options(key, klass, options, handlers, add)


def _check_handler_options(key: str, klass: Any, options: dict[str, Any],
                           handlers: Mapping[str, Any], add: Callable[[ConfigProblem], None]
                           ) -> None:
    try:
        params = inspect.signature(klass).parameters
    except (TypeError, ValueError):
        return
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    known = [n for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    for option in options:
        if not accepts_any and option not in known:
            add(ConfigProblem(f"{key}.{option}", f"{klass.__name__} has no option {option!r}",
                              _did_you_mean(option, known, "remove it")))
    for name, param in params.items():
        required = param.default is param.empty and param.kind not in (
            param.VAR_POSITIONAL, param.VAR_KEYWORD)
        if required and name not in options and not (name == "stream" and "strm" in options):
            add(ConfigProblem(f"{key}.{name}", f"{klass.__name__} needs the option {name!r}",
                              _example(name)))
    validate = getattr(klass, "validate_options", None)
    if callable(validate):
        for option, problem, fix in validate(options):
            add(ConfigProblem(f"{key}.{option}" if option else key, problem, fix))
    if "when" in options and str(options["when"]).upper() not in _WHEN:
        add(ConfigProblem(f"{key}.when", f"{options['when']!r} is not a rotation interval",
                          'use "midnight", "S", "M", "H", "D" or "W0"…"W6"'))
    if "target" in options and options["target"] not in handlers:
        add(ConfigProblem(f"{key}.target", f"names a handler {options['target']!r} that is "
                          "not defined", "define it under handlers"))
    filename = options.get("filename")
    if isinstance(filename, str):
        _check_log_directory(f"{key}.filename", filename, add)


def _check_log_directory(key: str, filename: str, add: Callable[[ConfigProblem], None]) -> None:
    folder = Path(filename).expanduser().parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        add(ConfigProblem(key, f"{existing} is not a directory", "point filename into a folder"))


def _check_logger(key: str, spec: Any, handlers: Mapping[str, Any], filters: Mapping[str, Any],
                  add: Callable[[ConfigProblem], None]) -> None:
    if not isinstance(spec, dict):
        add(ConfigProblem(key, "must be an object", 'write {"level": "INFO", "handlers": [...]}'))
        return
    for option in spec:
        if option not in _LOGGER_KEYS:
            add(ConfigProblem(f"{key}.{option}", "unknown logger option",
                              _did_you_mean(option, _LOGGER_KEYS)))
    _check_level(f"{key}.level", spec.get("level"), add)
    names = spec.get("handlers", [])
    if not isinstance(names, list):
        add(ConfigProblem(f"{key}.handlers", "must be a list of handler names",
                          'write "handlers": ["info_file_handler"]'))
        names = []
    for name in names:
        if name not in handlers:
            add(ConfigProblem(f"{key}.handlers", f"names a handler {name!r} that is not defined",
                              _did_you_mean(str(name), list(handlers), "define it in handlers")))
    for name in spec.get("filters") or ():
        if name not in filters:
            add(ConfigProblem(f"{key}.filters", f"names a filter {name!r} that is not defined",
                              "define it under filters or remove it"))
    if "propagate" in spec and not isinstance(spec["propagate"], bool):
        add(ConfigProblem(f"{key}.propagate", "must be true or false", 'write "propagate": true'))


def _check_level(key: str, level: Any, add: Callable[[ConfigProblem], None]) -> None:
    if level is None:
        return
    if isinstance(level, int) and not isinstance(level, bool):
        return
    if isinstance(level, str) and isinstance(logging.getLevelName(level.upper()), int):
        if level != level.upper():
            add(ConfigProblem(key, f"{level!r} must be upper case", f'write "{level.upper()}"'))
        return
    add(ConfigProblem(key, f"{level!r} is not a log level",
                      'use "DEBUG", "INFO", "WARNING", "ERROR" or "CRITICAL"'))


def resolve_class(path: str) -> Any:
    """Import and return the object named by a dotted ``path`` (as dictConfig does)."""
    if "." not in path:
        raise ValueError("a class path needs a module, e.g. logging.StreamHandler")
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"no module named {parts[0]!r}")


def _did_you_mean(word: str, options: Any, otherwise: str = "remove it") -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f'did you mean "{close[0]}"?' if close else otherwise


_EXAMPLES = {
    "api_key": '"api_key": "${SLACK_BOT_TOKEN}" (a bot token, xoxb-…)',
    "channel": '"channel": "#alerts"',
    "filename": '"filename": "logs/info.log"',
}


def _example(name: str) -> str:
    return "add " + _EXAMPLES.get(name, f'"{name}": …')

