"""The shared window store: the digest window in Redis, for many processes and hosts.

Every process adds its deltas with one Lua call per batch; one process at a time (the flush
lease holder) reads what is due and records what it delivered. Layout and encodings are in
:mod:`~jibe_alerts.stores.redis_keys`, the scripts in :mod:`~jibe_alerts.stores.redis_scripts`.

A Redis that is down, hung or restarted empty never reaches the caller: deltas wait in a
bounded buffer (merged per group; records of groups past ``max_open_groups`` are counted as
dropped) and go out with the next successful call; meanwhile the flusher sees no lease and
nothing due. Retries back off from 0.5 s to 30 s, measured on the injected clock.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import ClusterError, ReadOnlyError, RedisClusterException, TryAgainError
from redis.retry import Retry
from redis.sentinel import Sentinel

from jibe_alerts.stores import redis_keys as rk
from jibe_alerts.stores import redis_scripts as lua
from jibe_alerts.stores.base import Due, StoreLimits
from jibe_alerts.window_state import GroupDelta, GroupState, MessageState, Timers, merge_entities

__all__ = ["RedisStore", "connect", "describe_window"]

log = logging.getLogger(__name__)
Client = redis.Redis | RedisCluster
T = TypeVar("T")
CONNECT_TIMEOUT, READ_TIMEOUT = 0.5, 1.0
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0
#: Errors that mean "Redis is not reachable right now" (buffer and back off).
_TRANSIENT = (redis.ConnectionError, redis.TimeoutError, ClusterError, ReadOnlyError,
              TryAgainError, RedisClusterException, OSError)
_DOWN, _ERROR = object(), object()
_SHARED = ("overflowed", "entities_dropped", "incidents_opened", "incidents_resolved",
           "open_groups", "messages", "pending_records")
_LOCAL = ("dropped_while_down", "dropped_on_error", "reconnects", "store_errors")


def connect(url: str) -> Client:
    """Return a client for ``url`` with short timeouts (0.5 s connect, 1 s read, no retries
    but one reconnect). ``redis://``, ``rediss://`` (TLS), ``unix://``; Redis Cluster with
    ``redis+cluster://``, ``rediss+cluster://`` or ``?cluster=true``; Sentinel with
    ``redis+sentinel://[user:password@]host:port[,host:port]/service_name[/db]``.

    Raises:
        ValueError: another scheme, or a Sentinel URL without a service name.
    """
    parts = urlsplit(url)
    scheme, _, mode = parts.scheme.partition("+")
    query = parse_qsl(parts.query)
    cluster = [v.lower() in ("1", "true", "yes") for k, v in query if k == "cluster"]
    options: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT,
                               "socket_timeout": READ_TIMEOUT,
                               "retry": Retry(NoBackoff(), 1, (redis.ConnectionError,))}
    if mode == "sentinel":
        return _sentinel_master(parts.netloc, parts.path, tls=scheme == "rediss", **options)
    if mode not in ("", "cluster"):
        raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r}")
    if not mode and not cluster:
        return redis.Redis.from_url(url, **options)
    rest = urlencode([(k, v) for k, v in query if k != "cluster"])
    plain = f"{scheme}://{parts.netloc}{parts.path}" + (f"?{rest}" if rest else "")
    if mode or cluster[-1]:
        return RedisCluster.from_url(plain, **options)
    return redis.Redis.from_url(plain, **options)


def _sentinel_master(netloc: str, path: str, *, tls: bool, **options: Any) -> redis.Redis:
    userinfo, _, hosts = netloc.rpartition("@")
    username, _, password = (unquote(p) for p in userinfo.partition(":"))
    service, _, db = path.strip("/").partition("/")
    if not service or not hosts:
        raise ValueError("a Sentinel URL is redis+sentinel://host:26379[,host:port]/service_name")
    nodes = [(h.rpartition(":")[0] or h, int(h.rpartition(":")[2]) if ":" in h else 26379)
             for h in hosts.split(",")]
    timeouts = {k: options[k] for k in ("socket_connect_timeout", "socket_timeout")}
    sentinel = Sentinel(nodes, sentinel_kwargs=timeouts)  # type: ignore[no-untyped-call]
    master: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        service, db=int(db or 0), username=username or None, password=password or None,
        ssl=tls, **options)
    return master


class RedisStore:
    """The window in Redis, shared by every process using the same server and prefix.

    ``client`` must return bytes (``decode_responses=False``, redis-py's default) and should
    have short socket timeouts (:func:`connect` sets them).
    """

    shared = True

    def __init__(self, client: Client, *, prefix: str = rk.DEFAULT_PREFIX,
                 limits: StoreLimits | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.keys = rk.RedisKeys(prefix)
        self.limits = limits or StoreLimits()
        self._clock = clock
        self._scripts = {name: client.register_script(getattr(lua, name))
                         for name in lua.SCRIPT_NAMES}
        self._lock = threading.RLock()
        self._timers = Timers()
        self._ttl = rk.retention_ms(self._timers)
        # Deltas not sent yet (Redis down), and the one batch sent without an answer.
        self._pending: dict[str, GroupDelta] = {}
        self._unsure: tuple[int, list[GroupDelta]] | None = None
        self._sender, self._seq = secrets.token_hex(8), 0
        self._up, self._retry_at, self._backoff = True, 0.0, BACKOFF_FIRST
        self._local = dict.fromkeys(_LOCAL, 0)

    @classmethod
    def from_url(cls, url: str, *, limits: StoreLimits | None = None,
                 prefix: str = rk.DEFAULT_PREFIX) -> RedisStore:
        """Return a store on :func:`connect` ``(url)`` (no I/O yet)."""
        return cls(connect(url), prefix=prefix, limits=limits)

    # -- adders -------------------------------------------------------------------------------

    def add(self, deltas: Sequence[GroupDelta], *, now: float, timers: Timers) -> None:
        """Merge ``deltas`` (and any buffered ones) in one round trip; buffer them if down."""
        with self._lock:
            self._timers, self._ttl = timers, rk.retention_ms(timers)
            self._drain(deltas, now)

    def _drain(self, deltas: Sequence[GroupDelta], now: float) -> None:
        """Send the unsure batch again, then the buffer plus ``deltas`` as a new batch."""
        if self._unsure is not None and not self._send_unsure(now):
            self._hold(deltas)
            return
        batch = [*self._pending.values(), *deltas]
        self._pending.clear()
        if batch:
            self._seq += 1
            self._unsure = (self._seq, batch)
            self._send_unsure(now)

    def _send_unsure(self, now: float) -> bool:
        """Send the batch whose outcome is unknown (the script skips it if it was applied);
        False if Redis is down."""
        assert self._unsure is not None
        seq, batch = self._unsure
        result = self._call(lambda: self._run_add(batch, seq, now))
        if result is _DOWN:
            return False
        if result is _ERROR:  # refused, not unreachable: the same batch would fail again
            self._local["dropped_on_error"] += sum(d.count for d in batch)
        self._unsure = None
        return True

    def _run_add(self, deltas: Sequence[GroupDelta], seq: int, now: float) -> object:
        return self._script("ADD", lua.add_call(
            self.keys, deltas, sender=self._sender, seq=seq, now=now, timers=self._timers,
            limits=self.limits, ttl=self._ttl))

    def _hold(self, deltas: Sequence[GroupDelta]) -> None:
        for delta in deltas:
            held = self._pending.get(delta.key)
            if held is None and len(self._pending) >= self.limits.max_open_groups:
                self._local["dropped_while_down"] += delta.count
            elif held is None:
                self._pending[delta.key] = dataclasses.replace(
                    delta, entities=dict(delta.entities), samples=list(delta.samples))
            else:
                held.count += delta.count
                held.level = max(held.level, delta.level)
                held.first_seen = min(held.first_seen, delta.first_seen)
                held.last_seen = max(held.last_seen, delta.last_seen)
                merge_entities(held.entities, delta.entities, limit=self.limits.max_entities)
                fresh = [s for s in delta.samples if s not in held.samples]
                held.samples += fresh[:max(0, self.limits.max_samples - len(held.samples))]

    # -- the flush lease ------------------------------------------------------------------------

    def acquire_lease(self, owner: str, *, ttl: float, now: float) -> bool:
        """Take or renew the flush lease (it expires ``ttl`` after the last renewal); first
        write deltas buffered during an outage, so they need not wait for the next record."""
        with self._lock:
            self._drain([], now)
        call = lua.lease_call(self.keys, owner, ttl)
        return bool(self._guard(0, lambda: self._script("LEASE_ACQUIRE", call)))

    def release_lease(self, owner: str) -> None:
        """Give the lease up if ``owner`` holds it."""
        call = lua.lease_call(self.keys, owner)
        self._guard(0, lambda: self._script("LEASE_RELEASE", call))

    # -- the flusher ----------------------------------------------------------------------------

    def due(self, now: float, *, everything: bool = False) -> Due:
        """Return copies of what is due at ``now``, in at most three round trips (four when
        expired entries are cleaned up); empty while Redis is down."""
        return self._guard(Due(), lambda: self._read_due(
            "+inf" if everything else rk.encode_time(now)))

    def _read_due(self, until: str) -> Due:
        pipe = self._pipe()
        pipe.zrangebyscore(self.keys.outbox, "-inf", until)
        pipe.zrangebyscore(self.keys.message_due, "-inf", until)
        outbox, ids = ([rk.decode_text(m) for m in reply] for reply in pipe.execute())
        pipe = self._pipe()
        for message_id in ids:
            pipe.hgetall(self.keys.message(message_id))
        fields, groups = self._read_groups(outbox, pipe)
        messages = {i: rk.message_from_hash(i, f) for i, f in zip(ids, fields, strict=True)}
        shown = dict.fromkeys(k for m in messages.values() if m
                              for k in (*m.keys, *m.overflow_keys) if k not in groups)
        groups.update(self._read_groups(list(shown))[1])
        gone = [k for k in outbox if groups[k] is None]
        lost = [i for i, m in messages.items() if m is None]
        if gone or lost:  # expired by TTL: forget them, atomically re-checking each
            self._script("FORGET_MISSING", lua.forget_call(self.keys, gone, lost))
        due = Due()
        for key in outbox:
            if group := groups[key]:
                due.outbox.setdefault(group.channel, []).append(_copy(group))
        for message in filter(None, messages.values()):
            keys = (*message.keys, *message.overflow_keys)
            due.messages.append((message, [_copy(g) for k in keys if (g := groups.get(k))]))
        return due

    def _read_groups(self, keys: Sequence[str], pipe: Any = None,
                     ) -> tuple[list[Any], dict[str, GroupState | None]]:
        """Read groups (None: gone) in one round trip, after the commands ``pipe`` already
        holds; return those commands' replies too."""
        pipe = pipe if pipe is not None else self._pipe()
        for key in keys:
            ghash, entities, samples = self.keys.group_keys(key)
            pipe.hgetall(ghash).zrange(entities, 0, -1, withscores=True).lrange(samples, 0, -1)
        replies = pipe.execute()
        head = len(replies) - 3 * len(keys)
        return replies[:head], {key: rk.group_from_hash(*replies[head + 3 * n:head + 3 * n + 3])
                                for n, key in enumerate(keys)}

    def record_post(self, *, channel: str, ts: str, shown: Sequence[GroupState],
                    overflow: Sequence[GroupState], now: float, next_due: float,
                    changed_due: float) -> MessageState:
        """Create the message record and attach the groups that still exist to it; due again
        at ``changed_due`` if any of them got records since it was read."""
        message = MessageState(id="m" + secrets.token_hex(8), channel=channel, ts=ts,
                               keys=[g.key for g in shown], posted_at=now, updated_at=now,
                               overflow_keys=[g.key for g in overflow])
        call = lua.post_call(self.keys, message, [*shown, *overflow], next_due=next_due,
                             changed_due=changed_due, ttl=self._ttl)
        self._guard(0, lambda: self._script("RECORD_POST", call))
        return message

    def record_update(self, message: MessageState, *, shown: Sequence[GroupState],
                      updated_at: float, next_due: float | None,
                      resolved: Sequence[str] = (), reminded: Sequence[str] = ()) -> None:
        """Store what ``message`` shows now; forget it once no group is attached."""
        call = lua.update_call(self.keys, message, shown, updated_at=updated_at,
                               next_due=next_due, resolved=resolved, reminded=reminded,
                               ttl=self._ttl)
        self._guard(0, lambda: self._script("RECORD_UPDATE", call))

    def resolve(self, groups: Sequence[GroupState]) -> list[str]:
        """Close the incidents whose ``active_at`` did not move since they were read."""
        call = lua.resolve_call(self.keys, groups, ttl=self._ttl)
        closed: list[int] = self._guard([], lambda: self._script("RESOLVE", call)) if groups else []
        return [groups[j - 1].key for j in closed]

    def requeue(self, groups: Sequence[GroupState], *, due_at: float, failed: bool,
                reminder: bool = False) -> None:
        """Put the groups that still exist in the outbox again, detached from their message."""
        call = lua.requeue_call(self.keys, groups, due_at=due_at, failed=failed,
                                reminder=reminder, ttl=self._ttl)
        if groups:
            self._guard(0, lambda: self._script("REQUEUE", call))

    def drop(self, keys: Sequence[str]) -> None:
        """Forget these groups."""
        pipe = self._pipe()
        for key in keys:
            member = rk.encode_text(key)
            pipe.delete(*self.keys.group_keys(key))
            pipe.zrem(self.keys.outbox, member).zrem(self.keys.groups, member)
        self._guard([], pipe.execute)

    def drop_message(self, message_id: str) -> None:
        """Forget a message record (and its (channel, ts) index entry)."""
        call = lua.drop_message_call(self.keys, message_id)
        self._guard(0, lambda: self._script("DROP_MESSAGE", call))

    # -- acknowledgements, resolve requests, mutes (jibe-alerts serve, resolve rules) ----------

    def acknowledge(self, keys: Sequence[str], *, by: str, at: float) -> list[str]:
        """Mark open incidents acknowledged; their messages become due at ``at`` (an earlier
        due time stays). Returns the keys acknowledged, in one atomic call; [] while Redis is
        down."""
        return self._mark(keys, at, [("acked_by", rk.encode_text(by)),
                                     ("acked_at", rk.encode_time(at))])

    def message_keys(self, channel: str, ts: str) -> list[str]:
        """Return the keys a posted message shows (two round trips through the (channel, ts)
        index); [] if unknown, or while Redis is down."""
        return self._guard([], lambda: self._read_message_keys(channel, ts))

    def _read_message_keys(self, channel: str, ts: str) -> list[str]:
        found = self.client.hget(self.keys.message_index, rk.message_index_field(channel, ts))
        if found is None:
            return []
        keys, overflow = self.client.hmget(self.keys.message(rk.decode_text(found)),
                                           ["keys", "overflow_keys"])
        if keys is None:
            return []
        return [*json.loads(rk.decode_text(keys)), *json.loads(rk.decode_text(overflow or b"[]"))]

    def request_resolve(self, keys: Sequence[str], *, at: float) -> list[str]:
        """Flag open incidents to resolve at the next flush; their messages become due at
        ``at``. Returns the keys flagged, in one atomic call; [] while Redis is down."""
        return self._mark(keys, at, [("resolve_requested", 1)])

    def _mark(self, keys: Sequence[str], at: float,
              fields: Sequence[tuple[str, rk.Arg]]) -> list[str]:
        distinct = list(dict.fromkeys(keys))
        if not distinct:
            return []
        call = lua.mark_call(self.keys, distinct, at=at, ttl=self._ttl, fields=fields)
        marked: list[int] = self._guard([], lambda: self._script("MARK_GROUPS", call))
        return [distinct[j - 1] for j in marked]

    def set_mute(self, target: str, *, until: float | None) -> None:
        """Mute ``target`` until ``until`` (``inf``: until unmuted; ``None`` unmutes). The
        mutes hash outlives its longest mute by an hour, and an indefinite mute by 30 days
        after the last read or write. Does nothing while Redis is down."""
        call = lua.set_mute_call(self.keys, target, until, now=self._clock())
        self._guard(0, lambda: self._script("SET_MUTE", call))

    def mutes(self, now: float) -> dict[str, float]:
        """Return the mutes in force at ``now`` (removing those over, in one atomic call);
        {} while Redis is down."""
        flat: list[bytes] = self._guard(
            [], lambda: self._script("READ_MUTES", lua.mutes_call(self.keys, now)))
        return {rk.decode_text(flat[i]): float(flat[i + 1]) for i in range(0, len(flat), 2)}

    @property
    def reachable(self) -> bool:
        """False while Redis is known to be unreachable (the last call failed)."""
        return self._up

    def counters(self) -> dict[str, int]:
        """Return the shared counters (open groups, messages, pending records…) and this
        process's: ``redis_up``, ``pending_while_down``, ``dropped_while_down``, ``reconnects``,
        ``store_errors`` (commands Redis refused), ``dropped_on_error`` (their records)."""
        shared: dict[str, int] = self._guard({}, self._read_counters)
        with self._lock:
            held = [*self._pending.values(), *(self._unsure[1] if self._unsure else [])]
            pending = sum(d.count for d in held)
            local = {**self._local, "redis_up": int(self._up), "pending_while_down": pending}
        return {**dict.fromkeys(_SHARED, 0), **shared, **local}

    def _read_counters(self) -> dict[str, int]:
        pipe = self._pipe()
        pipe.hgetall(self.keys.counters).zrange(self.keys.groups, 0, -1)
        pipe.zcard(self.keys.message_updated)
        stored, members, messages = pipe.execute()
        pipe = self._pipe()
        for member in members:
            pipe.hmget(self.keys.group(rk.decode_text(member)), "count", "posted_count")
        counts = [(int(c), int(p)) for c, p in pipe.execute() if c is not None]
        pending = sum(max(0, c - p) for c, p in counts)
        return {**{rk.decode_text(k): int(v) for k, v in stored.items()}, "messages": messages,
                "open_groups": len(counts), "pending_records": pending}

    # -- talking to Redis -----------------------------------------------------------------------

    def _pipe(self) -> Any:
        return self.client.pipeline(transaction=True)

    def _script(self, name: str, call: lua.Call) -> Any:
        keys, args = call
        return self._scripts[name](keys=keys, args=args)

    def _guard(self, fallback: T, op: Callable[[], Any]) -> T:
        result: Any = self._call(op)
        return fallback if result is _DOWN or result is _ERROR else result

    def _call(self, op: Callable[[], T]) -> T | object:
        """Run ``op`` unless backing off; ``_DOWN`` if Redis is unreachable, ``_ERROR`` if it
        refused the command (logged: a bug or a misconfigured server, not an outage)."""
        if self._clock() < self._retry_at:
            return _DOWN
        try:
            result = op()
        except _TRANSIENT as error:
            with self._lock:
                if self._up:
                    log.warning("Redis window store unreachable, buffering: %s", error)
                self._up, self._retry_at = False, self._clock() + self._backoff
                self._backoff = min(BACKOFF_MAX, self._backoff * 2)
            return _DOWN
        except redis.RedisError as error:
            log.error("Redis window store command failed: %s", error)
            self._local["store_errors"] += 1
            return _ERROR
        with self._lock:
            if not self._up:
                log.warning("Redis window store reachable again")
                self._local["reconnects"] += 1
            self._up, self._backoff = True, BACKOFF_FIRST
        return result


def describe_window(store: RedisStore, now: float) -> dict[str, Any]:
    """Return what ``jibe-alerts status`` shows: the open incidents (count, level, due time,
    message ts, ack, top 5 entities), the lease holder and its expiry, and the counters.
    Never raises for an unreachable Redis: ``redis_up`` is then False and nothing is listed."""
    def read() -> dict[str, Any]:
        ks, pipe = store.keys, store._pipe()
        pipe.zrange(ks.groups, 0, -1).zrange(ks.outbox, 0, -1, withscores=True)
        pipe.get(ks.lease).pttl(ks.lease)
        members, outbox, holder, pttl = pipe.execute()
        groups = [g for g in store._read_groups([rk.decode_text(m) for m in members])[1].values()
                  if g is not None]
        ids = sorted({g.message_id for g in groups if g.message_id})
        pipe = store._pipe()
        for message_id in ids:
            pipe.hget(ks.message(message_id), "ts")
        ts = {i: rk.decode_text(t) for i, t in zip(ids, pipe.execute(), strict=True) if t}
        due_at = {rk.decode_text(m): score for m, score in outbox}
        return {"lease": {"holder": rk.decode_text(holder) if holder else None,
                          "expires_in": pttl / 1000 if holder and pttl > 0 else None},
                "incidents": [_incident(g, due_at.get(g.key), ts.get(g.message_id or ""), now)
                              for g in sorted(groups, key=lambda g: g.opened_at)]}

    found = store._guard({"lease": {"holder": None, "expires_in": None}, "incidents": []}, read)
    counters = store.counters()
    return {**found, "redis_up": bool(counters["redis_up"]), "prefix": store.keys.prefix,
            "counters": counters}


def _incident(group: GroupState, due_at: float | None, ts: str | None,
              now: float) -> dict[str, Any]:
    return {"key": group.key, "channel": group.channel, "logger": group.logger,
            "template": group.template, "sample": group.sample, "count": group.count,
            "level": logging.getLevelName(group.level), "opened_at": group.opened_at,
            "last_seen": group.last_seen, "quiet_for": now - group.active_at, "due_at": due_at,
            "message_ts": ts, "acked_by": group.acked_by, "acked_at": group.acked_at,
            "entities": group.top_entities(5)}


def _copy(group: GroupState) -> GroupState:
    return dataclasses.replace(group, entities=dict(group.entities), samples=list(group.samples))
