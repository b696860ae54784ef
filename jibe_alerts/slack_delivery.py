"""Calling Slack's Web API reliably: retries, Retry-After, a circuit breaker, per-channel pacing.

Every Slack call of both handlers goes through :class:`SlackDelivery`. It wraps the real
``slack_sdk.WebClient`` (with slack_sdk's own retry handlers switched off, so there is one
retry policy, ours) and uses ``tenacity`` for the retry loop:

* HTTP 429 waits exactly the ``Retry-After`` the server sent;
* 5xx answers, Slack's transient errors and connection errors back off exponentially with jitter;
* permanent errors (``invalid_auth``, ``channel_not_found``, ``not_in_channel``…) are never retried;
* after ``failure_threshold`` transient failures in a row the circuit opens for ``reset_timeout``
  seconds and calls fail at once with :class:`CircuitOpenError`, so a dead Slack is not hammered.

The clock and the sleep are injectable so tests control time without sleeping.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import tenacity
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from jibe_alerts.secrets import Secret, redact

__all__ = [
    "DEFAULT_BASE_URL",
    "CallAborted",
    "CircuitBreaker",
    "CircuitOpenError",
    "DeliveryError",
    "ErrorKind",
    "SlackDelivery",
    "build_client",
    "classify",
    "resolve_base_url",
]

DEFAULT_BASE_URL = "https://slack.com/api/"
BASE_URL_ENV = "JIBE_SLACK_BASE_URL"

#: Slack ``error`` strings that mean "the server is struggling, try again".
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class ErrorKind(Enum):
    """How a failed Slack call should be treated."""

    PERMANENT = "permanent"
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"


class DeliveryError(Exception):
    """A Slack call failed for good (permanent error, or retries exhausted).

    ``error`` is Slack's error string (or a short description of a connection failure),
    ``kind`` tells whether trying again later could help. The message never contains a token.
    """

    def __init__(self, method: str, error: str, kind: ErrorKind, attempts: int) -> None:
        self.method = method
        self.error = redact(error)
        self.kind = kind
        self.attempts = attempts
        super().__init__(f"Slack {method} failed after {attempts} attempt(s): {self.error}")

    @property
    def permanent(self) -> bool:
        """True when retrying the same call later cannot succeed."""
        return self.kind is ErrorKind.PERMANENT


class CallAborted(Exception):
    """Raised by a ``before_attempt`` hook to stop a call before (another) attempt is made."""


class CircuitOpenError(DeliveryError):
    """Slack failed too often recently; the call was not attempted."""

    def __init__(self, method: str, retry_in: float) -> None:
        error = f"circuit open, retrying in {retry_in:.0f}s"
        super().__init__(method, error, ErrorKind.TRANSIENT, 0)
        self.retry_in = retry_in


def classify(exc: BaseException) -> ErrorKind:
    """Return how ``exc`` (from a ``WebClient`` call) should be treated."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        if status == 429:
            return ErrorKind.RATE_LIMITED
        if status >= 500 or _api_error(exc) in TRANSIENT_ERRORS:
            return ErrorKind.TRANSIENT
        return ErrorKind.PERMANENT
    if isinstance(exc, OSError | TimeoutError | ConnectionError):
        return ErrorKind.TRANSIENT
    # http.client.HTTPException and friends: the connection broke mid-answer.
    if type(exc).__module__.startswith(("http.", "urllib.")):
        return ErrorKind.TRANSIENT
    return ErrorKind.PERMANENT


def retry_after(exc: BaseException) -> float | None:
    """Return the ``Retry-After`` seconds of a 429 answer, or None."""
    if not isinstance(exc, SlackApiError):
        return None
    headers: Mapping[str, Any] = getattr(exc.response, "headers", None) or {}
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None


def _api_error(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error", "unknown_error"))
    return "unexpected_response"


def describe(exc: BaseException) -> str:
    """Return a short, token-free description of a failed call."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        error = _api_error(exc)
        return error if status == 200 else f"HTTP {status} {error}"
    return redact(f"{type(exc).__name__}: {exc}")[:300]


def resolve_base_url(base_url: str | None) -> str:
    """Return the Web API base URL: the option, else ``$JIBE_SLACK_BASE_URL``, else Slack's."""
    url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def build_client(token: Secret, *, base_url: str | None = None, timeout: float = 5.0) -> WebClient:
    """Return a ``WebClient`` with a short timeout and slack_sdk's own retries switched off."""
    return WebClient(
        token=token.reveal(), base_url=resolve_base_url(base_url), timeout=max(1, round(timeout)),
        retry_handlers=[],
    )


class CircuitBreaker:
    """Opens after ``failure_threshold`` transient failures in a row; half-opens after a pause."""

    def __init__(
        self, *, failure_threshold: int = 5, reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    def retry_in(self) -> float:
        """Return 0 when a call may go ahead, else the seconds until the circuit half-opens."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._opened_at + self.reset_timeout - self._clock())

    @property
    def is_open(self) -> bool:
        """True while calls are being refused."""
        return self.retry_in() > 0

    def record_success(self) -> None:
        """Close the circuit."""
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def record_failure(self) -> None:
        """Count a transient failure; open (or re-open, when half-open) the circuit at the limit."""
        with self._lock:
            self._failures += 1
            if self._failures >= self.failure_threshold or self._opened_at is not None:
                self._opened_at = self._clock()


@dataclass
class DeliveryStats:
    """Counters of one :class:`SlackDelivery` (read them through ``snapshot()``)."""

    calls: int = 0
    retried: int = 0
    failed: int = 0
    rate_limited: int = 0
    circuit_refused: int = 0

    def snapshot(self) -> dict[str, int]:
        """Return the counters as a plain dict."""
        return dict(self.__dict__)


class SlackDelivery:
    """Calls Slack Web API methods with retries, a circuit breaker and per-channel pacing."""

    def __init__(
        self,
        client: WebClient,
        *,
        max_attempts: int = 5,
        max_delay: float = 60.0,
        min_post_interval: float = 1.0,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.max_attempts = max_attempts
        self.max_delay = max_delay
        self.min_post_interval = min_post_interval
        self.breaker = breaker or CircuitBreaker(clock=clock)
        self.stats = DeliveryStats()
        self._clock = clock
        self._sleep = sleep
        self._last_post: dict[str, float] = {}
        self._channel_ids: dict[str, str] = {}  # "#alerts" -> "C0123…", learnt from answers
        self._backoff = tenacity.wait_random_exponential(multiplier=0.5, max=30)

    def call(self, method: str, *, deadline: float | None = None,
             before_attempt: Callable[[], None] | None = None, **params: Any) -> dict[str, Any]:
        """Call ``method`` with ``params`` and return Slack's answer as a dict.

        Retries rate limits and transient failures until ``max_attempts``, ``max_delay`` or the
        absolute ``deadline`` (same clock) would be passed. ``before_attempt`` runs before
        every attempt and may raise :class:`CallAborted` to stop (it propagates as is).
        Raises :class:`DeliveryError` (permanent error or retries exhausted),
        :class:`CircuitOpenError` or :class:`CallAborted`; nothing else.
        """
        retry_in = self.breaker.retry_in()
        if retry_in > 0:
            self.stats.circuit_refused += 1
            raise CircuitOpenError(method, retry_in)
        channel = params.get("channel")
        if method == "chat.postMessage" and isinstance(channel, str):
            self._pace(channel, deadline)
        retrying = tenacity.Retrying(
            sleep=self._sleep,
            stop=self._stop(deadline),
            wait=self._wait,
            retry=tenacity.retry_if_exception(self._should_retry),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            response = retrying(self._attempt, method, params, before_attempt)
        except CallAborted:
            raise
        except Exception as exc:  # every failure becomes one DeliveryError
            self.stats.failed += 1
            attempts = retrying.statistics.get("attempt_number", 1)
            raise DeliveryError(method, describe(exc), classify(exc), attempts) from None
        self.breaker.record_success()
        if method == "chat.postMessage" and isinstance(channel, str):
            channel_id = str(response.get("channel") or channel)
            self._channel_ids[channel] = channel_id
            self._last_post[channel_id] = self._clock()
        return response

    def _attempt(self, method: str, params: dict[str, Any],
                 before_attempt: Callable[[], None] | None) -> dict[str, Any]:
        if before_attempt is not None:
            before_attempt()
        self.stats.calls += 1
        try:
            response = self.client.api_call(method, json=params)
        except Exception as exc:
            kind = classify(exc)
            if kind is ErrorKind.TRANSIENT:
                self.breaker.record_failure()
            elif kind is ErrorKind.RATE_LIMITED:
                self.stats.rate_limited += 1
            raise
        data = response.data
        return dict(data) if isinstance(data, dict) else {"ok": True}

    def _should_retry(self, exc: BaseException) -> bool:
        if isinstance(exc, CallAborted):
            return False
        return classify(exc) is not ErrorKind.PERMANENT and not self.breaker.is_open

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None:
            seconds = retry_after(exc)
            if seconds is not None:
                return seconds
        return float(self._backoff(state))

    def _stop(self, deadline: float | None) -> Callable[[tenacity.RetryCallState], bool]:
        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number >= self.max_attempts:
                return True
            if state.idle_for + state.upcoming_sleep > self.max_delay:
                return True
            return deadline is not None and self._clock() + state.upcoming_sleep > deadline
        return stop

    def _count_retry(self, state: tenacity.RetryCallState) -> None:
        self.stats.retried += 1

    def _pace(self, channel: str, deadline: float | None) -> None:
        """Wait until the channel's last post is ``min_post_interval`` old (Slack: ~1/s)."""
        last = self._last_post.get(self._channel_ids.get(channel, channel))
        if last is None:
            return
        wait = last + self.min_post_interval - self._clock()
        if wait <= 0:
            return
        if deadline is not None and self._clock() + wait > deadline:
            self.stats.failed += 1
            raise DeliveryError("chat.postMessage", "no time left before the close deadline",
                                ErrorKind.TRANSIENT, 0)
        self._sleep(wait)
