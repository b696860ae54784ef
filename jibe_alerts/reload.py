"""Applying the JSON dictConfig file, and re-applying it when it changes (checked every minute).

A changed file is read, substituted and validated first; only a usable config replaces the
running one, and a broken file is reported once (naming file, key and fix) while the old
config keeps working. The swap loses no record: loggers get their new handler list in one
assignment (the stdlib removes old handlers before adding new ones, leaving a gap), and our
handlers hand what they had queued to their successors (see :mod:`jibe_alerts._handover`).
"""

from __future__ import annotations

import hashlib
import logging
import logging.config
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jibe_alerts import _handover
from jibe_alerts.config_check import check_config
from jibe_alerts.config_errors import ConfigError, ConfigProblem
from jibe_alerts.config_file import load_config, parse_config

__all__ = ["ConfigWatcher", "apply_config", "configure"]

log = logging.getLogger("jibe_alerts.config")

_active_lock = threading.Lock()
_active: ConfigWatcher | None = None


class _SwappingConfigurator(logging.config.DictConfigurator):
    """``DictConfigurator`` that replaces a logger's handlers in one step, leaving no gap."""

    def common_logger_config(self, logger: Any, config: Any, incremental: bool = False) -> None:
        if incremental:
            super().common_logger_config(logger, config, incremental)
            return
        level = config.get("level", None)
        if level is not None:
            logger.setLevel(logging._checkLevel(level))  # type: ignore[attr-defined]
        handlers = []
        for name in config.get("handlers", None) or ():
            try:
                handlers.append(self.config["handlers"][name])
            except Exception as exc:
                raise ValueError(f"Unable to add handler {name!r}") from exc
        filters = [self.config["filters"][name] for name in config.get("filters", None) or ()]
        logger.filters = filters
        logger.handlers = handlers  # one assignment: a concurrent record sees old or new


def apply_config(config: Mapping[str, Any]) -> None:
    """Apply a validated dictConfig, handing queued records from old handlers to new ones."""
    _make_log_directories(config)
    with _handover.reloading():
        _SwappingConfigurator(dict(config)).configure()


def _make_log_directories(config: Mapping[str, Any]) -> None:
    for spec in (config.get("handlers") or {}).values():
        filename = spec.get("filename") if isinstance(spec, dict) else None
        if isinstance(filename, str) and filename:
            Path(filename).expanduser().parent.mkdir(parents=True, exist_ok=True)


def read_checked(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """Return the validated config at ``path`` and the hash of its content.

    Raises :class:`ConfigError` (file, key, fix) when the file cannot be used.
    """
    try:
        content = Path(path).read_bytes()
    except OSError:
        load_config(path)  # raises the readable ConfigError for a missing/unreadable file
        raise
    return _checked(content, str(path)), _digest(content)


def _checked(content: bytes, source: str) -> dict[str, Any]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [ConfigProblem(
            f"byte {exc.start}", "the file is not UTF-8", "save it as UTF-8")]) from None
    config = parse_config(text, source=source)
    check_config(config, source=source)
    return config


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class ConfigWatcher:
    """Re-applies a config file whenever its content changes; checks every ``interval`` s."""

    def __init__(self, path: str | os.PathLike[str], *, interval: float = 60.0,
                 applied_hash: str | None = None) -> None:
        self.path = Path(path)
        self.interval = interval
        self.applied_hash = applied_hash
        self.reloads = 0
        self.errors = 0
        self._reported_hash: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start checking in a daemon thread."""
        if self._thread is None and self.interval > 0:
            self._thread = threading.Thread(target=self._run, name="jibe-alerts-config",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop checking (the applied config stays)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check_now()

    def check_now(self) -> bool:
        """Apply the file if its content changed and is valid; return True when applied."""
        try:
            content = self.path.read_bytes()
        except OSError as exc:
            self._report(f"unreadable:{exc}", f"cannot read logging config {self.path}: {exc}")
            return False
        digest = _digest(content)
        if digest == self.applied_hash:
            return False
        try:
            apply_config(_checked(content, str(self.path)))
        except ConfigError as exc:
            self._report(digest, str(exc))
            return False
        except Exception as exc:
            self._report(digest, f"could not apply {self.path}: {type(exc).__name__}: {exc}")
            return False
        self.applied_hash = digest
        self.reloads += 1
        log.info("applied changed logging config %s", self.path)
        return True

    def _report(self, digest: str, message: str) -> None:
        if digest == self._reported_hash:
            return  # one error per broken version of the file, not one a minute
        self._reported_hash = digest
        self.errors += 1
        log.error("%s\nThe running logging config stays in place until the file is fixed.",
                  message)


def configure(path: str | os.PathLike[str], watch_interval: float = 60.0) -> ConfigWatcher:
    """Apply the JSON dictConfig at ``path`` and re-apply it whenever it changes.

    Checks every ``watch_interval`` seconds (0 disables watching). Raises
    :class:`~jibe_alerts.config_errors.ConfigError` if the file cannot be used now; later broken
    versions are logged once and leave the running config in place. Calling it again replaces
    the previous watcher. Returns the watcher (``check_now()``, ``stop()``).
    """
    global _active
    config, digest = read_checked(path)
    apply_config(config)
    watcher = ConfigWatcher(path, interval=watch_interval, applied_hash=digest)
    with _active_lock:
        previous, _active = _active, watcher
    if previous is not None:
        previous.stop()
    watcher.start()
    return watcher
