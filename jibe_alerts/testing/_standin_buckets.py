"""Token buckets that model Slack's per-channel and per-method rate limits on an injected clock."""

from __future__ import annotations

import math
from collections.abc import Callable


class TokenBucket:
    """Holds up to ``capacity`` tokens, refilled at ``rate_per_sec``; one request takes one token.

    Not thread-safe on its own: the stand-in calls it under its lock.
    """

    def __init__(self, *, capacity: float, rate_per_sec: float, now: float) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        if rate_per_sec <= 0:
            raise ValueError(f"rate_per_sec must be > 0, got {rate_per_sec}")
        self._capacity = capacity
        self._rate = rate_per_sec
        self._tokens = capacity
        self._last = now

    def take(self, now: float) -> int:
        """Take a token and return 0, or take nothing and return the seconds to wait (>= 1)."""
        # A clock that steps backwards must not mint tokens or drain the bucket.
        elapsed = max(0.0, now - self._last)
        self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
        self._last = max(self._last, now)
        if self._tokens >= 1:
            self._tokens -= 1
            return 0
        return max(1, math.ceil((1 - self._tokens) / self._rate))


class BucketSet:
    """Lazily created token buckets keyed by a string (a channel ID, a method name)."""

    def __init__(self, *, capacity: float, rate_per_sec: float, clock: Callable[[], float]) -> None:
        TokenBucket(capacity=capacity, rate_per_sec=rate_per_sec, now=0.0)  # validate once, early
        self._capacity = capacity
        self._rate = rate_per_sec
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str) -> int:
        """Take a token from ``key``'s bucket; return 0, or the Retry-After seconds when empty."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(capacity=self._capacity, rate_per_sec=self._rate, now=now)
            self._buckets[key] = bucket
        return bucket.take(now)

    def clear(self) -> None:
        """Forget every bucket, so each key starts full again."""
        self._buckets.clear()
