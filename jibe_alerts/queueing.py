"""The base of both Slack handlers: a lock-free ``emit`` into a bounded queue, one worker thread.

The application thread only prepares a record (its message read once) and appends it to a
``deque``; a full queue drops the record and counts it. Everything slow happens on the worker
thread, which wakes every ``tick`` seconds. ``flush()`` waits (bounded) for the worker to take
what is queued; ``close()`` delivers within ``close_timeout`` and never hangs the exit. During a
config reload ``close()`` only parks the handler so its successor adopts the queue (see
:mod:`jibe_alerts._handover`).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from jibe_alerts import _handover
from jibe_alerts._selfguard import is_internal, mark_internal_thread, unmark_internal_thread
from jibe_alerts.secrets import redact

__all__ = ["QueueingHandler"]


def _drain(waiters: deque[threading.Event]) -> list[threading.Event]:
    drained = []
    with contextlib.suppress(IndexError):
        while True:
            drained.append(waiters.popleft())
    return drained


def _holds_logging_lock() -> bool:
    """True when this thread holds logging's module lock (inside dictConfig)."""
    is_owned = getattr(logging._lock, "_is_owned", None)  # type: ignore[attr-defined]
    return bool(is_owned()) if callable(is_owned) else False

T = TypeVar("T")


class QueueingHandler(logging.Handler, Generic[T]):
    """A handler whose ``emit`` never blocks: subclasses say how to prepare and process items."""

    #: Names the handover registry; a reloaded handler adopts the parked one of the same kind.
    kind: ClassVar[str] = "queueing"

    def __init__(
        self,
        *,
        level: int | str = logging.NOTSET,
        queue_size: int = 10_000,
        close_timeout: float = 5.0,
        tick: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(level)
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.queue_size = queue_size
        self.close_timeout = close_timeout
        self.tick = tick
        self.clock = clock
        self._queue: deque[T] = deque()
        self._counter_lock = threading.Lock()
        self._counts: dict[str, int] = {
            "dropped": 0, "dropped_after_close": 0, "undelivered_at_close": 0, "malformed": 0,
            "internal_errors": 0,
        }
        self._taken = 0
        self._successor: QueueingHandler[T] | None = None
        self._accepting = True  # False once closed for good or handed to a successor
        self._adopted: list[QueueingHandler[T]] = []
        self._handoff_lock = threading.Lock()
        self._parked_done = False
        self._accounted = False
        self._state = "open"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._final_deadline: float | None = None
        self._flush_waiters: deque[threading.Event] = deque()
        self._taken_at_handover = 0
        self._worker = threading.Thread(
            target=self._run, name=f"jibe-alerts-{self.kind}", daemon=True
        )
        self._worker.start()

    # -- application thread -------------------------------------------------------------------

    def handle(self, record: logging.LogRecord) -> Any:
        """Filter and emit ``record`` without taking the handler lock (``emit`` is lock-free)."""
        rv = self.filter(record)
        if rv:
            self.emit(record if rv is True else rv)
        return rv

    def emit(self, record: logging.LogRecord) -> None:
        """Queue ``record`` for the worker; never blocks, never raises."""
        if is_internal(record):
            return
        try:
            if self._accepting and len(self._queue) < self.queue_size:
                self._queue.append(self.prepare(record))
            else:
                self._emit_elsewhere(record)
        except Exception:
            self.handleError(record)

    def _emit_elsewhere(self, record: logging.LogRecord) -> None:
        successor = self._successor
        if successor is not None:
            successor.handle(record)
        elif self._state == "closed":
            self._count("dropped_after_close")
        else:
            self._count("dropped")

    def prepare(self, record: logging.LogRecord) -> T:
        """Return the item to queue for ``record`` (runs on the application thread)."""
        raise NotImplementedError

    # -- worker thread ------------------------------------------------------------------------

    def work(self) -> None:
        """Process what is queued and do any timed work (runs on the worker thread)."""
        raise NotImplementedError

    def finish_work(self, deadline: float) -> None:
        """Deliver everything still pending before ``deadline`` (at close; worker thread)."""
        self.work()

    def park_work(self) -> None:
        """Save what must survive a reload before the worker stops (worker thread)."""

    def leftovers(self) -> list[T]:
        """Remove and return items the worker had taken but not delivered (for a successor)."""
        return []

    def receive(self, items: list[T]) -> None:
        """Put ``items`` from a predecessor at the front of the queue."""
        self._queue.extendleft(reversed(items))
        self._taken -= len(items)

    def take_items(self) -> list[T]:
        """Remove and return everything queued now."""
        items: list[T] = []
        queue = self._queue
        try:
            while True:
                items.append(queue.popleft())
        except IndexError:
            pass
        self._taken += len(items)
        return items

    def _absorb_adopted(self) -> None:
        """Move records that reached a predecessor's queue after the swap into ours."""
        for previous in self._adopted:
            late = previous.take_items()
            if late:
                previous._taken -= len(late)
                self._queue.extendleft(reversed(late))

    def _run(self) -> None:
        mark_internal_thread()
        try:
            self._loop()
        finally:
            unmark_internal_thread()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.tick)
            self._wake.clear()
            waiters = _drain(self._flush_waiters)
            self._absorb_adopted()
            self._guarded(self.work)
            for waiter in waiters:
                waiter.set()
        self._finish_run()

    def _finish_run(self) -> None:
        deadline = self._final_deadline
        if deadline is None:
            self._guarded(self.park_work)
            with self._handoff_lock:
                self._parked_done = True
                if self._successor is not None:
                    self._successor.receive(self.leftovers())
        else:
            self._guarded(lambda: self.finish_work(deadline))
            self._account_leftovers()
        for waiter in _drain(self._flush_waiters):
            waiter.set()

    def _guarded(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:  # a bug of ours must not kill the worker
            self._count("internal_errors")
            self.report(f"internal error: {type(exc).__name__}: {exc}")

    # -- lifecycle ----------------------------------------------------------------------------
    #
    # dictConfig() closes handlers while holding logging's module lock, and the worker may need
    # that lock (any library logging on it can). So close() never *waits* for the worker while
    # that lock is held: it hands the final delivery to the worker and returns. Outside the
    # lock (logging.shutdown at exit, a plain close()), it waits up to close_timeout.

    def set_name(self, name: str) -> None:
        """Name the handler; during a reload, adopt the parked handler of the same name."""
        super().set_name(name)
        if name:
            _handover.adopt(self.kind, name, self)

    # logging.Handler.name is a property bound to the base class's set_name; rebind it so
    # dictConfig's ``handler.name = name`` reaches the override above.
    name = property(logging.Handler.get_name, set_name)

    def flush(self) -> None:
        """Wait (at most ``close_timeout``) until the worker has taken what is queued now."""
        if (not self._worker.is_alive() or threading.current_thread() is self._worker
                or _holds_logging_lock()):
            return
        done = threading.Event()
        self._flush_waiters.append(done)
        self._wake.set()
        done.wait(self.close_timeout)

    def close(self) -> None:
        """Deliver what is pending within ``close_timeout``; during a reload, park instead."""
        try:
            if self._state == "open":
                if _handover.in_reload() and self.name:
                    self._park()
                else:
                    self.finish()
        finally:
            super().close()

    def _park(self) -> None:
        self._state = "parked"
        self._stopping.set()
        self._wake.set()
        _handover.park(self.kind, self.name or "", self)

    def finish(self) -> None:
        """Deliver everything pending within ``close_timeout`` and stop for good."""
        if self._state == "closed":
            return
        parked = self._state == "parked"
        self._state = "closed"
        self._accepting = False
        deadline = self.clock() + self.close_timeout
        if not parked:
            self._final_deadline = deadline
            self._stopping.set()
            self._wake.set()
            if not _holds_logging_lock():
                self._worker.join(self.close_timeout + 0.5)
                if self._worker.is_alive():  # stuck in a Slack call past the deadline
                    self._account_leftovers()
            return
        # A parked handler nobody adopted: its worker has stopped (or is stopping).
        self._worker.join(max(0.0, deadline - self.clock()) + 0.5)
        self._guarded(lambda: self.finish_work(deadline))
        self._account_leftovers()

    def _account_leftovers(self) -> None:
        with self._handoff_lock:
            if self._accounted:
                return
            self._accounted = True
        left = len(self._queue) + self.pending_count()
        if left:
            self._count("undelivered_at_close", left)
            self.report(f"{left} record(s) could not be delivered before the close deadline")

    def take_over(self, previous: _handover.Successor) -> None:
        """Adopt the queue (and counters) of ``previous``, a handler parked by a reload."""
        if not isinstance(previous, QueueingHandler):
            return
        with previous._handoff_lock:
            previous._successor = self
            previous._state = "closed"
            previous._accepting = False
            if previous._parked_done:
                self.receive(previous.leftovers())
        # Records that reach the old queue after this (a racing emit) are swept up by
        # take_items() for a while.
        self._adopted = [*self._adopted[-4:], previous]
        self._absorb_adopted()
        with self._counter_lock:
            for key, value in previous.counts().items():
                if key not in ("records_in", "queued"):
                    self._counts[key] = self._counts.get(key, 0) + value
            previous._taken_at_handover = previous._taken
            self._taken += previous._taken
        self._wake.set()

    def pending_count(self) -> int:
        """Return how many records the subclass still holds undelivered (beyond the queue)."""
        return 0

    # -- counters and errors ------------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        with self._counter_lock:
            self._counts[key] = self._counts.get(key, 0) + n

    def counts(self) -> dict[str, int]:
        """Return the handler's counters (records in, dropped, …) as a new dict."""
        with self._counter_lock:
            counts = dict(self._counts)
        # A predecessor's worker may still take records it had queued (then counted there).
        late = sum(p._taken - p._taken_at_handover for p in self._adopted)
        counts["records_in"] = self._taken + late + len(self._queue)
        counts["queued"] = len(self._queue)
        return counts

    def report(self, message: str) -> None:
        """Write one concise, token-free line about a problem to stderr (as ``handleError``)."""
        if logging.raiseExceptions and sys.stderr is not None:
            label = f"{type(self).__name__} {self.name!r}" if self.name else type(self).__name__
            with contextlib.suppress(Exception):
                sys.stderr.write(f"jibe-alerts: {label}: {redact(message)}\n")
