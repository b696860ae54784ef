"""RedisStore beyond the shared contract: key layout and TTLs, hostile text, round trips,
outages (killed, hung, restarted empty), several processes, URLs, and ``describe_window``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import redis
from redis.cluster import RedisCluster

from jibe_alerts.stores.base import OVERFLOW_PREFIX, StoreLimits
from jibe_alerts.stores.redis import RedisStore, connect, describe_window
from jibe_alerts.stores.redis_keys import RedisKeys, retention_ms
from jibe_alerts.testing.redis_server import RedisServer, find_redis_server
from jibe_alerts.window_state import GroupDelta, Timers
from tests.conftest import FakeClock

T0 = 1_700_000_000.0
TIMERS = Timers(group_wait=30.0, group_interval=300.0, repeat_interval=3600.0,
                resolve_timeout=900.0)
BASE = "{jibe-alerts}:"


def delta(key: str = "a1", *, count: int = 1, level: int = 30, channel: str = "#alerts",
          logger: str = "app", template: str = "t", sample: str = "s",
          entities: dict[str, int] | None = None, samples: list[str] | None = None,
          ) -> GroupDelta:
    """A delta of ``count`` records of group ``key`` seen at T0."""
    return GroupDelta(key=key, channel=channel, logger=logger, template=template,
                      sample=sample, level=level, count=count, first_seen=T0, last_seen=T0,
                      entities=entities or {}, samples=samples or [])


def all_keys(client: redis.Redis | RedisCluster) -> list[str]:
    """Every key on the server (or on every master of a cluster)."""
    return sorted(k.decode() for k in client.scan_iter(count=1000))


def count_of(store: RedisStore, key: str = "a1") -> int:
    """The group's count in the window (everything due), 0 if it is not open."""
    groups = {g.key: g for gs in store.due(0, everything=True).outbox.values() for g in gs}
    return groups[key].count if key in groups else 0


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the private server (for inspecting keys)."""
    with redis.Redis.from_url(redis_url) as plain:
        yield plain


@pytest.fixture
def store(redis_url: str, clock: FakeClock) -> RedisStore:
    """A store as from_url makes it (short timeouts), on the fake clock."""
    return RedisStore(connect(redis_url), clock=clock)


class TestKeyLayout:
    def test_every_key_is_under_the_prefix_and_expires(self, store: RedisStore,
                                                       client: redis.Redis) -> None:
        """After a full cycle every key starts with {jibe-alerts}: and has a TTL within the
        retention of the timers."""
        store.add([delta(entities={"e": 1}, samples=["x"])], now=T0, timers=TIMERS)
        assert store.acquire_lease("me", ttl=30, now=T0 + 30)
        [groups] = store.due(T0 + 30).outbox.values()
        message = store.record_post(channel="#alerts", ts="1.0", shown=groups, overflow=[],
                                    now=T0 + 30, next_due=T0 + 330, changed_due=T0 + 330)
        store.add([delta()], now=T0 + 40, timers=TIMERS)
        store.record_update(message, shown=groups, updated_at=T0 + 330, next_due=T0 + 630)
        store.acknowledge(["a1"], by="U1", at=T0 + 331)
        store.request_resolve(["a1"], at=T0 + 332)
        store.requeue(groups, due_at=T0 + 700, failed=True)
        keys = all_keys(client)
        assert len(keys) == 12
        assert all(k.startswith(BASE) for k in keys)
        ttls = {k: client.pttl(k) for k in keys}
        assert all(0 < ttl <= retention_ms(TIMERS) for ttl in ttls.values()), ttls

    def test_a_message_dropped_after_the_due_key_emptied_keeps_every_ttl(
            self, store: RedisStore, client: redis.Redis) -> None:
        """An ack that recreates the message schedule (emptied by record_update) gives it a
        TTL, and dropping the message leaves no key without one."""
        store.add([delta()], now=T0, timers=TIMERS)
        [groups] = store.due(T0 + 30).outbox.values()
        message = store.record_post(channel="C1", ts="1.0", shown=groups, overflow=[],
                                    now=T0 + 30, next_due=T0 + 330, changed_due=T0 + 330)
        store.record_update(message, shown=groups, updated_at=T0 + 330, next_due=None)
        assert client.exists(store.keys.message_due) == 0
        assert store.acknowledge(["a1"], by="U1", at=T0 + 400) == ["a1"]
        assert all(client.pttl(k) > 0 for k in all_keys(client))
        store.drop_message(message.id)
        assert client.exists(store.keys.message(message.id), store.keys.message_index) == 0
        assert all(client.pttl(k) > 0 for k in all_keys(client))

    def test_the_mutes_hash_outlives_its_mutes(self, store: RedisStore, clock: FakeClock,
                                               client: redis.Redis) -> None:
        """The mutes hash lives until its longest finite mute ends plus an hour, an infinite
        mute 30 days after the last read or write, and goes with its last mute."""
        day, key = 24 * 3600.0, store.keys.mutes
        store.set_mute("long", until=clock() + 90 * day)
        assert 90 * day * 1000 < client.pttl(key) <= (90 * day + 3600) * 1000
        store.set_mute("forever", until=float("inf"))
        store.set_mute("long", until=None)
        assert 30 * day * 1000 <= client.pttl(key) <= (30 * day + 3600) * 1000
        client.pexpire(key, 5000)
        assert store.mutes(clock()) == {"forever": float("inf")}
        assert client.pttl(key) >= 30 * day * 1000  # reading renews it
        store.set_mute("brief", until=clock() + 60)
        store.set_mute("forever", until=None)
        assert 0 < client.pttl(key) <= (60 + 3600) * 1000
        assert store.mutes(clock() + 60) == {}
        assert client.exists(key) == 0

    def test_index_entries_of_expired_messages_are_swept(self, store: RedisStore,
                                                         client: redis.Redis) -> None:
        """Index entries of message records that expired unseen do not pile up: once they
        outnumber the live ones by 64 the next post sweeps them."""
        store.add([delta()], now=T0, timers=TIMERS)
        [groups] = store.due(T0 + 30).outbox.values()
        for n in range(70):
            message = store.record_post(channel="C1", ts=f"{n}.0", shown=groups, overflow=[],
                                        now=T0 + 30, next_due=T0 + 60, changed_due=T0 + 60)
            client.delete(store.keys.message(message.id))  # as if it expired
            client.zrem(store.keys.message_updated, message.id)
        assert client.hlen(store.keys.message_index) < 70
        assert store.message_keys("C1", "69.0") == []
        store.record_post(channel="C1", ts="live", shown=groups, overflow=[], now=T0 + 30,
                          next_due=T0 + 60, changed_due=T0 + 60)
        assert store.message_keys("C1", "live") == ["a1"]

    def test_custom_prefix_separates_deployments(self, redis_url: str,
                                                 client: redis.Redis) -> None:
        """Two prefixes on one server keep separate windows and separate key spaces."""
        one = RedisStore(connect(redis_url), prefix="team-one")
        two = RedisStore(connect(redis_url), prefix="team-two")
        one.add([delta(count=2)], now=T0, timers=TIMERS)
        two.add([delta(count=5)], now=T0, timers=TIMERS)
        assert (count_of(one), count_of(two)) == (2, 5)
        assert {k.split(":")[0] for k in all_keys(client)} == {"{team-one}", "{team-two}"}

    @pytest.mark.parametrize("prefix", ["", "a}b", "a{b", "x" * 65, "sp ace", "new\nline"])
    def test_unsafe_prefix_is_refused(self, redis_url: str, prefix: str) -> None:
        """A prefix that could break the hash tag or the key space is a ValueError."""
        with pytest.raises(ValueError, match="prefix"):
            RedisStore(connect(redis_url), prefix=prefix)


HOSTILE = [
    "{jibe-alerts}:g:victim",
    "}{:\n\r\t\"'\\/ *?[] <@U123> &amp;",
    "x" * 10_000,
    b"\xff\xfe invalid \xc3( utf-8".decode("utf-8", "surrogateescape"),
    "emoji \U0001f525 and \u2028 and \x00 nul",
]


class TestHostileText:
    @pytest.mark.parametrize("where", ["redis", "cluster"])
    def test_hostile_text_round_trips_and_never_shapes_key_names(
            self, request: pytest.FixtureRequest, where: str) -> None:
        """Braces, colons, newlines, 10 kB and invalid UTF-8 in keys, channels, templates,
        entities and samples come back exactly, with no cross-slot error and no key injection."""
        client: redis.Redis | RedisCluster
        if where == "redis":
            client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        else:
            client = RedisCluster.from_url(request.getfixturevalue("redis_cluster_url"))
        store = RedisStore(client, limits=StoreLimits(max_open_groups=len(HOSTILE),
                                                      max_entities=10, max_samples=10))
        deltas = [delta(text, channel=text, logger=text, template=text, sample=text,
                        entities={text: 2, "plain": 1}, samples=[text, "plain"])
                  for text in HOSTILE]
        store.add(deltas, now=T0, timers=TIMERS)
        store.add([delta("one more", channel=HOSTILE[1])], now=T0, timers=TIMERS)  # overflow
        keys, overflow_key = RedisKeys(), OVERFLOW_PREFIX + HOSTILE[1]
        names = all_keys(client)
        assert {n for n in names if not n.startswith(BASE + "applied:")} == {
            *(k for text in HOSTILE for k in keys.group_keys(text)), keys.groups, keys.outbox,
            keys.counters, keys.group(overflow_key), keys.entities(overflow_key)}
        assert len(names) == 5 * 3 + 2 + 3 + 1
        due = store.due(T0, everything=True).outbox
        assert sorted(due) == sorted(HOSTILE)
        for text in HOSTILE:
            group = {g.key: g for g in due[text]}[text]
            assert (group.channel, group.logger, group.template, group.sample) == (text,) * 4
            assert (group.entities, group.samples) == ({text: 2, "plain": 1}, [text, "plain"])
        assert overflow_key in {g.key for g in due[HOSTILE[1]]}

        shown = [g for gs in due.values() for g in gs]
        message = store.record_post(channel=HOSTILE[1], ts=HOSTILE[3], shown=shown,
                                    overflow=[], now=T0, next_due=T0, changed_due=T0)
        store.record_update(message, shown=shown[1:], updated_at=T0 + 1, next_due=T0 + 2)
        [(stored, groups)] = store.due(T0 + 2).messages
        assert (stored.keys, stored.channel, stored.ts) == (message.keys, HOSTILE[1], HOSTILE[3])
        assert len(groups) == len(shown)
        assert sorted(store.resolve(groups)) == sorted(message.keys)

        assert all(k.startswith(BASE) for k in all_keys(client))
        assert store.counters()["store_errors"] == 0
        client.close()

    @pytest.mark.parametrize("where", ["redis", "cluster"])
    def test_hostile_targets_channels_and_ts(self, request: pytest.FixtureRequest,
                                             where: str) -> None:
        """Hostile mute targets, acking users, channels and ts round trip exactly, shape no
        key name and cause no cross-slot error."""
        client: redis.Redis | RedisCluster
        if where == "redis":
            client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        else:
            client = RedisCluster.from_url(request.getfixturevalue("redis_cluster_url"))
        store = RedisStore(client)
        store.add([delta(text) for text in HOSTILE], now=T0, timers=TIMERS)
        shown = [g for gs in store.due(T0, everything=True).outbox.values() for g in gs]
        for n, text in enumerate(HOSTILE):
            store.record_post(channel=text, ts=HOSTILE[-1 - n], shown=shown[n:n + 1],
                              overflow=[], now=T0, next_due=T0 + 60, changed_due=T0 + 60)
            store.set_mute(text, until=T0 + n if n else float("inf"))
        for n, text in enumerate(HOSTILE):
            assert store.message_keys(text, HOSTILE[-1 - n]) == [shown[n].key]
        assert store.message_keys(HOSTILE[1], HOSTILE[0]) == []
        keys = [g.key for g in shown]
        assert store.acknowledge(keys, by=HOSTILE[1], at=T0 + 1) == keys
        assert store.request_resolve(keys[::-1], at=T0 + 1) == keys[::-1]
        groups = [g for _, gs in store.due(T0 + 1).messages for g in gs]
        assert sorted(g.key for g in groups) == sorted(HOSTILE)
        assert {(g.acked_by, g.resolve_requested) for g in groups} == {(HOSTILE[1], True)}
        assert store.mutes(T0 + 1) == {HOSTILE[0]: float("inf"),
                                       **{t: T0 + n for n, t in enumerate(HOSTILE) if n > 1}}
        names = set(all_keys(client))
        ks = RedisKeys()
        assert {ks.mutes, ks.message_index} <= names
        assert all(n.startswith(BASE) and len(n) < 100 for n in names)
        assert store.counters()["store_errors"] == 0
        client.close()

    def test_channel_and_ts_cannot_be_confused(self, store: RedisStore) -> None:
        """("a\x00b", "c") and ("a", "\x00bc") or ("a\x00", "bc") are distinct messages."""
        store.add([delta("k1"), delta("k2"), delta("k3")], now=T0, timers=TIMERS)
        groups = {g.key: g for gs in store.due(T0, everything=True).outbox.values()
                  for g in gs}
        for key, (channel, ts) in zip(groups, [("a\x00b", "c"), ("a", "\x00bc"),
                                               ("a\x00", "bc")], strict=True):
            store.record_post(channel=channel, ts=ts, shown=[groups[key]], overflow=[],
                              now=T0, next_due=T0 + 60, changed_due=T0 + 60)
        assert [store.message_keys("a\x00b", "c"), store.message_keys("a", "\x00bc"),
                store.message_keys("a\x00", "bc")] == [["k1"], ["k2"], ["k3"]]

    def test_keys_are_exactly_the_expected_ones(self, store: RedisStore,
                                                client: redis.Redis) -> None:
        """A group with a hostile key gets exactly its hash, entities and samples keys."""
        store.add([delta(HOSTILE[1], entities={"e": 1}, samples=["s"])], now=T0, timers=TIMERS)
        keys = RedisKeys()
        expected = {*keys.group_keys(HOSTILE[1]), keys.groups, keys.outbox, keys.counters}
        assert set(all_keys(client)) - expected == {
            k for k in all_keys(client) if k.startswith(BASE + "applied:")}
        assert keys.group(HOSTILE[1]).startswith(BASE + "g:~")


class CountingConnection(redis.Connection):
    """A connection that counts the commands it sends and its round trips."""

    seen: ClassVar[dict[str, int]] = {"commands": 0, "round_trips": 0}

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        """Count one command."""
        self.seen["commands"] += 1
        super().send_command(*args, **kwargs)  # type: ignore[no-untyped-call]

    def pack_commands(self, commands: Any) -> Any:
        """Count a pipeline's commands."""
        commands = list(commands)
        self.seen["commands"] += len(commands)
        return super().pack_commands(commands)  # type: ignore[no-untyped-call]

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        """Count one round trip."""
        self.seen["round_trips"] += 1
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]


class TestRoundTrips:
    def test_ten_thousand_records_of_ten_groups_cost_few_commands(
            self, redis_server: RedisServer, redis_url: str) -> None:
        """10,000 records of 10 groups in 10 batches, plus a flush, cost under 100 commands:
        one script call per batch whatever the number of records."""
        client = redis.Redis(connection_pool=redis.ConnectionPool(
            host="127.0.0.1", port=redis_server.port, connection_class=CountingConnection))
        store = RedisStore(client)
        client.script_flush()  # as on a fresh server: the scripts load on first use
        CountingConnection.seen.update(commands=0, round_trips=0)
        for batch in range(10):
            store.add([delta(f"g{n}", count=100, entities={f"e{n}": 100})
                       for n in range(10)], now=T0 + batch, timers=TIMERS)
        # one command per batch, plus SCRIPT LOAD and a second EVALSHA the first time
        assert CountingConnection.seen == {"commands": 12, "round_trips": 12}
        assert store.acquire_lease("me", ttl=30, now=T0 + 30)
        [groups] = store.due(T0 + 30).outbox.values()
        store.record_post(channel="#alerts", ts="1.0", shown=groups, overflow=[],
                          now=T0 + 30, next_due=T0 + 330, changed_due=T0 + 330)
        assert CountingConnection.seen["commands"] < 100
        assert CountingConnection.seen["round_trips"] <= 20
        assert sorted(g.count for g in groups) == [1000] * 10
        keys = [g.key for g in groups]
        store.set_mute("app", until=float("inf"))
        for call in (lambda: store.acknowledge(keys, by="U1", at=T0 + 40),
                     lambda: store.request_resolve(keys, at=T0 + 40),
                     lambda: store.mutes(T0 + 40)):
            call()  # the first use of a script loads it
            CountingConnection.seen.update(commands=0, round_trips=0)
            assert call()
            assert CountingConnection.seen == {"commands": 1, "round_trips": 1}
        client.close()


class TestOutage:
    def test_killed_redis_buffers_and_merges_exact_counts(
            self, redis_server: RedisServer, store: RedisStore, clock: FakeClock) -> None:
        """While Redis is dead add() buffers; after the restart the counts are exact."""
        redis_server.kill()
        for count in (5, 7, 11):
            store.add([delta(count=count), delta("b2", count=1)], now=T0, timers=TIMERS)
            clock.advance(0.1)
        counters = store.counters()
        assert (counters["redis_up"], counters["pending_while_down"]) == (0, 26)
        redis_server.start()
        clock.advance(60)
        store.add([delta(count=1)], now=T0 + 60, timers=TIMERS)
        counters = store.counters()
        assert (counters["redis_up"], counters["reconnects"]) == (1, 1)
        assert (counters["pending_while_down"], counters["dropped_while_down"]) == (0, 0)
        assert (count_of(store, "a1"), count_of(store, "b2")) == (24, 3)

    def test_the_flush_lease_call_writes_the_buffer(
            self, redis_server: RedisServer, store: RedisStore, clock: FakeClock) -> None:
        """Buffered deltas reach Redis with the flusher's next lease call, without a new record."""
        redis_server.kill()
        store.add([delta(count=6)], now=T0, timers=TIMERS)
        redis_server.start()
        clock.advance(1)
        assert store.acquire_lease("me", ttl=30, now=T0 + 1)
        assert (count_of(store), store.counters()["pending_while_down"]) == (6, 0)

    def test_flusher_sees_nothing_and_never_raises_while_redis_is_down(
            self, redis_server: RedisServer, store: RedisStore) -> None:
        """Every flusher call returns an empty or harmless answer against a dead Redis."""
        store.add([delta()], now=T0, timers=TIMERS)
        [groups] = store.due(T0 + 30).outbox.values()
        redis_server.kill()
        assert not store.acquire_lease("me", ttl=30, now=T0 + 30)
        assert not store.due(T0 + 30, everything=True)
        message = store.record_post(channel="#a", ts="1", shown=groups, overflow=[],
                                    now=T0 + 30, next_due=T0 + 60, changed_due=T0 + 60)
        store.record_update(message, shown=groups, updated_at=T0 + 31, next_due=None)
        assert store.resolve(groups) == []
        store.requeue(groups, due_at=T0, failed=True)
        store.drop(["a1"])
        store.drop_message(message.id)
        store.release_lease("me")
        assert store.counters()["redis_up"] == 0
        assert describe_window(store, T0)["redis_up"] is False

    def test_acks_lookups_and_mutes_answer_empty_at_once_while_redis_is_down(
            self, redis_server: RedisServer, store: RedisStore, clock: FakeClock) -> None:
        """Against a killed Redis the new calls never raise and return [] or {} promptly,
        including the first call that meets the dead server."""
        store.add([delta()], now=T0, timers=TIMERS)
        [groups] = store.due(T0 + 30).outbox.values()
        store.record_post(channel="C1", ts="1.0", shown=groups, overflow=[], now=T0 + 30,
                          next_due=T0 + 60, changed_due=T0 + 60)
        store.set_mute("app", until=float("inf"))
        redis_server.kill()
        for _ in range(2):  # the first round meets the dead server, the second backs off
            started = time.monotonic()
            assert store.acknowledge(["a1"], by="U1", at=T0 + 40) == []
            assert store.message_keys("C1", "1.0") == []
            assert store.request_resolve(["a1"], at=T0 + 40) == []
            store.set_mute("app", until=None)
            assert store.mutes(T0 + 40) == {}
            assert time.monotonic() - started < 2.0
            clock.advance(1)
        assert store.counters()["store_errors"] == 0

    def test_retries_back_off_on_the_clock(self, redis_server: RedisServer,
                                           store: RedisStore, clock: FakeClock) -> None:
        """After a failure Redis is not tried for 0.5 s, then 1 s, doubling up to 30 s."""
        redis_server.kill()
        store.add([delta()], now=T0, timers=TIMERS)  # fails: next try after 0.5 s
        redis_server.start()
        clock.advance(0.4)
        store.add([delta()], now=T0, timers=TIMERS)
        assert store.counters()["pending_while_down"] == 2
        clock.advance(0.1)
        store.add([delta()], now=T0, timers=TIMERS)
        assert (store.counters()["pending_while_down"], count_of(store)) == (0, 3)
        redis_server.kill()
        for wait in (0.0, 0.5, 1.0, 2.0, 4.0):
            clock.advance(wait)
            store.add([delta()], now=T0, timers=TIMERS)  # each try fails and doubles the wait
        redis_server.start()
        clock.advance(7.9)
        store.add([delta()], now=T0, timers=TIMERS)
        assert store.counters()["redis_up"] == 0
        clock.advance(0.1)
        store.add([delta()], now=T0, timers=TIMERS)
        assert count_of(store) == 5 + 2  # the first 3 died with the killed server

    def test_buffer_is_bounded(self, redis_server: RedisServer, redis_url: str,
                               clock: FakeClock) -> None:
        """While down at most max_open_groups groups are kept; other records are counted."""
        store = RedisStore(connect(redis_url), limits=StoreLimits(max_open_groups=2),
                           clock=clock)
        redis_server.kill()
        store.add([delta("a1", count=3)], now=T0, timers=TIMERS)  # tried once, kept as sent
        store.add([delta(f"k{n}", count=n) for n in range(1, 5)], now=T0, timers=TIMERS)
        counters = store.counters()
        assert (counters["pending_while_down"], counters["dropped_while_down"]) == (3 + 3, 7)

    def test_a_hung_redis_costs_one_timeout_then_nothing(
            self, redis_server: RedisServer, store: RedisStore, clock: FakeClock) -> None:
        """Against a SIGSTOPped Redis a call returns within 2 s, later calls at once, and
        the batch sent into the hang is counted once after the resume."""
        store.add([delta(count=2)], now=T0, timers=TIMERS)
        redis_server.pause()
        started = time.monotonic()
        store.add([delta(count=3)], now=T0, timers=TIMERS)
        assert time.monotonic() - started < 2.0
        started = time.monotonic()
        assert not store.acquire_lease("me", ttl=30, now=T0)
        assert not store.due(T0, everything=True)
        store.add([delta(count=4)], now=T0, timers=TIMERS)
        assert time.monotonic() - started < 0.1
        redis_server.resume()
        clock.advance(1)
        store.add([delta(count=1)], now=T0, timers=TIMERS)
        assert count_of(store) == 2 + 3 + 4 + 1

    def test_redis_restarted_empty_opens_fresh_incidents(
            self, redis_server: RedisServer, store: RedisStore) -> None:
        """After Redis lost everything nothing raises, old messages are harmless, and new
        records open new incidents."""
        store.add([delta(count=9)], now=T0, timers=TIMERS)
        [groups] = store.due(T0 + 30).outbox.values()
        message = store.record_post(channel="#a", ts="1", shown=groups, overflow=[],
                                    now=T0 + 30, next_due=T0 + 60, changed_due=T0 + 60)
        redis_server.restart()
        store.record_update(message, shown=groups, updated_at=T0 + 61, next_due=T0 + 90)
        store.requeue(groups, due_at=T0 + 61, failed=False)
        assert store.resolve(groups) == []
        assert not store.due(T0 + 100, everything=True)
        store.add([delta(count=2)], now=T0 + 100, timers=TIMERS)
        assert store.due(T0 + 129).outbox == {}
        assert [g.count for g in store.due(T0 + 130).outbox["#alerts"]] == [2]
        counters = store.counters()
        assert (counters["redis_up"], counters["store_errors"], counters["messages"]) == (1, 0, 0)


class TestExpiry:
    def test_entries_whose_records_expired_are_forgotten(self, store: RedisStore,
                                                         client: redis.Redis) -> None:
        """A due entry whose group or message hash expired is skipped and removed."""
        store.add([delta("a1"), delta("b2")], now=T0, timers=TIMERS)
        [groups] = store.due(T0 + 30).outbox.values()
        message = store.record_post(channel="#alerts", ts="1", shown=groups[:1], overflow=[],
                                    now=T0 + 30, next_due=T0 + 60, changed_due=T0 + 60)
        client.delete(store.keys.message(message.id), store.keys.group(groups[1].key))
        assert not store.due(T0 + 60)
        keys = store.keys
        assert [client.zcard(k) for k in (keys.outbox, keys.message_due,
                                          keys.message_updated)] == [0, 0, 0]


class TestSharing:
    def test_two_processes_share_one_window(self, redis_url: str) -> None:
        """Two stores (processes) add to the same incident; only one holds the lease, and a
        group posted by it is not due for the other."""
        one, two = RedisStore(connect(redis_url)), RedisStore(connect(redis_url))
        one.add([delta(count=3)], now=T0, timers=TIMERS)
        two.add([delta(count=4), delta("b2")], now=T0 + 1, timers=TIMERS)
        assert one.acquire_lease("one", ttl=30, now=T0 + 31)
        assert not two.acquire_lease("two", ttl=30, now=T0 + 31)
        [groups] = one.due(T0 + 31).outbox.values()
        assert {g.key: g.count for g in groups} == {"a1": 7, "b2": 1}
        one.record_post(channel="#alerts", ts="1", shown=groups, overflow=[], now=T0 + 31,
                        next_due=T0 + 331, changed_due=T0 + 331)
        assert two.due(T0 + 31).outbox == {}
        assert two.counters()["incidents_opened"] == 2

    def test_concurrent_adders_lose_nothing(self, redis_url: str) -> None:
        """Four threads with their own stores adding at once leave the exact total."""
        def hammer() -> None:
            store = RedisStore(connect(redis_url))
            for n in range(100):
                store.add([delta(count=1), delta(f"k{n % 7}", count=2)], now=T0, timers=TIMERS)

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        store = RedisStore(connect(redis_url))
        assert count_of(store) == 400
        assert sum(count_of(store, f"k{n}") for n in range(7)) == 800


class _Sentinel(RedisServer):
    """A private redis-sentinel watching one master as service ``svc``."""

    def __init__(self, master_port: int) -> None:
        super().__init__()
        self.master_port = master_port

    def _command(self, workdir: Path) -> list[str]:
        conf = workdir / "sentinel.conf"
        conf.write_text(f"port {self.port}\nbind 127.0.0.1\n"
                        f"sentinel monitor svc 127.0.0.1 {self.master_port} 1\n")
        return [find_redis_server(), str(conf), "--sentinel"]


class TestConnect:
    def test_plain_cluster_and_sentinel_urls(self, redis_server: RedisServer, redis_url: str,
                                             redis_cluster_url: str) -> None:
        """redis://, ?cluster=true, redis+cluster:// and redis+sentinel:// reach a server."""
        assert isinstance(connect(redis_url), redis.Redis)
        for url in (redis_cluster_url + "/?cluster=true", redis_cluster_url.replace(
                "redis://", "redis+cluster://")):
            cluster = connect(url)
            assert isinstance(cluster, RedisCluster)
            RedisStore(cluster).add([delta()], now=T0, timers=TIMERS)
            assert count_of(RedisStore(cluster)) >= 1
        with _Sentinel(redis_server.port) as sentinel:
            store = RedisStore.from_url(f"redis+sentinel://127.0.0.1:{sentinel.port}/svc")
            store.add([delta(count=3)], now=T0, timers=TIMERS)
        assert count_of(RedisStore.from_url(redis_url)) == 3

    def test_unix_socket_and_tls_urls(self, tmp_path: Path) -> None:
        """unix:// reaches a server on its socket; rediss:// builds a TLS client with timeouts."""
        socket_path = tmp_path / "redis.sock"
        with RedisServer(extra_args=("--unixsocket", str(socket_path))):
            store = RedisStore.from_url(f"unix://{socket_path}")
            store.add([delta(count=2)], now=T0, timers=TIMERS)
            assert count_of(store) == 2
        tls = connect("rediss://127.0.0.1:1/0")
        assert isinstance(tls, redis.Redis)
        kwargs = tls.connection_pool.connection_kwargs
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (1.0, 0.5)
        assert tls.connection_pool.connection_class is redis.SSLConnection

    @pytest.mark.parametrize("url", ["http://127.0.0.1", "redis+mongo://x",
                                     "redis+sentinel://127.0.0.1:26379/"])
    def test_unsupported_urls_are_refused(self, url: str) -> None:
        """An unknown scheme or a Sentinel URL without a service is a ValueError."""
        with pytest.raises(ValueError, match=r"scheme|Sentinel"):
            connect(url)


class TestDescribeWindow:
    def test_lists_incidents_lease_and_counters(self, store: RedisStore,
                                                client: redis.Redis) -> None:
        """Open incidents with due time, message ts, ack and top entities; lease and counters."""
        entities = {f"e{n}": n for n in range(1, 8)}
        store.add([delta(count=4, entities=entities), delta("b2", level=40)], now=T0,
                  timers=TIMERS)
        groups = [g for g in store.due(T0 + 30).outbox["#alerts"] if g.key == "a1"]
        store.record_post(channel="#alerts", ts="1712.5", shown=groups, overflow=[],
                          now=T0 + 30, next_due=T0 + 330, changed_due=T0 + 330)
        client.hset(store.keys.group("a1"), mapping={"acked_by": "U42", "acked_at": T0 + 40})
        assert store.acquire_lease("host:1", ttl=30, now=T0 + 40)
        window = describe_window(store, T0 + 50)
        assert window["redis_up"] is True
        assert window["lease"]["holder"] == "host:1"
        assert 0 < window["lease"]["expires_in"] <= 30
        a1, b2 = sorted(window["incidents"], key=lambda i: i["key"])
        assert (a1["count"], a1["message_ts"], a1["due_at"]) == (4, "1712.5", None)
        assert (a1["acked_by"], a1["acked_at"]) == ("U42", T0 + 40)
        assert a1["entities"] == ["e7", "e6", "e5", "e4", "e3"]
        assert (b2["level"], b2["due_at"], b2["message_ts"]) == ("ERROR", T0 + 30, None)
        assert window["counters"]["open_groups"] == 2
