"""Handing queued records from an old handler to its replacement during a config reload.

``logging.config.dictConfig`` closes every existing handler before it builds the new ones. A
handler closed *during a reload* therefore only parks: it stops its worker and keeps what it had
queued. The new handler of the same name (``dictConfig`` names handlers after building them)
adopts the parked one's queue, and from then on the old one forwards any late record to it. A
parked handler nobody adopted is finished for good (its queue delivered) when the reload ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["Successor", "adopt", "in_reload", "park", "reloading"]


class Successor(Protocol):
    """What the handover needs from a handler."""

    def take_over(self, previous: Successor) -> None:
        """Adopt ``previous``'s queued work."""

    def finish(self) -> None:
        """Deliver what is queued and stop for good."""


_lock = threading.RLock()
_reload_owner: int | None = None
_parked: dict[tuple[str, str], Successor] = {}


@contextmanager
def reloading() -> Iterator[None]:
    """Mark the calling thread as applying a new config; finish orphaned handlers at the end."""
    global _reload_owner
    with _lock:
        _reload_owner = threading.get_ident()
    try:
        yield
    finally:
        with _lock:
            _reload_owner = None
            orphans = list(_parked.values())
            _parked.clear()
        for handler in orphans:
            handler.finish()


def in_reload() -> bool:
    """Return True when the calling thread is applying a new config."""
    return _reload_owner == threading.get_ident()


def park(kind: str, name: str, handler: Successor) -> None:
    """Keep ``handler`` (closed during a reload) until a successor of the same name adopts it."""
    with _lock:
        _parked[(kind, name)] = handler


def adopt(kind: str, name: str, handler: Successor) -> None:
    """Let ``handler`` take over the parked handler of the same kind and name, if any."""
    with _lock:
        previous = _parked.pop((kind, name), None)
    if previous is not None and previous is not handler:
        handler.take_over(previous)
