"""Faults the Slack stand-in can be told to answer with, and the per-method queue of them."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass


class FaultKind(enum.Enum):
    """What a queued fault does to the request that consumes it."""

    RATE_LIMITED = "rate_limited"
    HTTP_ERROR = "http_error"
    API_ERROR = "api_error"
    HANG = "hang"
    DISCONNECT = "disconnect"


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected failure; build it with the class methods, not the constructor."""

    kind: FaultKind
    retry_after: int = 0
    status: int = 0
    error: str = ""
    seconds: float = 0.0

    @classmethod
    def rate_limited(cls, retry_after: int) -> Fault:
        """Answer HTTP 429 with this ``Retry-After`` (seconds) and error ``ratelimited``."""
        if retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, got {retry_after}")
        return cls(FaultKind.RATE_LIMITED, retry_after=retry_after)

    @classmethod
    def http_error(cls, status: int) -> Fault:
        """Answer this HTTP status (e.g. 500, 502, 503) with a short plain-text body."""
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), got {status}")
        return cls(FaultKind.HTTP_ERROR, status=status)

    @classmethod
    def api_error(cls, error: str) -> Fault:
        """Answer HTTP 200 with ``{"ok": false, "error": error}``."""
        if not error:
            raise ValueError("error must be a non-empty Slack error string")
        return cls(FaultKind.API_ERROR, error=error)

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        """Wait this long, then handle the request normally (so a timed-out post may still land)."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        return cls(FaultKind.HANG, seconds=seconds)

    @classmethod
    def disconnect(cls) -> Fault:
        """Close the connection without sending any response."""
        return cls(FaultKind.DISCONNECT)


class FaultQueue:
    """Faults queued per API method, consumed one per call in the order they were injected.

    Not thread-safe on its own: the stand-in calls it under its lock.
    """

    def __init__(self) -> None:
        self._by_method: dict[str, deque[Fault]] = {}

    def add(self, method: str, fault: Fault, times: int) -> None:
        """Queue ``fault`` for the next ``times`` calls of ``method`` (after earlier faults)."""
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        self._by_method.setdefault(method, deque()).extend([fault] * times)

    def pop(self, method: str) -> Fault | None:
        """Return and remove the next fault for ``method``, or None when none is queued."""
        queue = self._by_method.get(method)
        if not queue:
            return None
        return queue.popleft()

    def clear(self) -> None:
        """Drop every queued fault."""
        self._by_method.clear()
