"""One behaviour suite for every window store: in memory, Redis, and a 3-master Redis Cluster.

Each test drives ``now`` by hand and asserts what the flusher would see through the
:class:`~jibe_alerts.stores.base.WindowStore` interface only.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
import redis
from redis.cluster import RedisCluster

from jibe_alerts.stores.base import OVERFLOW_PREFIX, OVERFLOW_TEMPLATE, StoreLimits, WindowStore
from jibe_alerts.stores.memory import MemoryStore
from jibe_alerts.stores.redis import RedisStore
from jibe_alerts.window_state import GroupDelta, GroupState, Timers

T0 = 1_700_000_000.0
TIMERS = Timers(group_wait=30.0, group_interval=300.0, repeat_interval=3600.0,
                resolve_timeout=900.0)
LIMITS = StoreLimits(max_open_groups=3, max_entities=3, max_samples=2)
WARNING, ERROR = 30, 40


@pytest.fixture(params=["memory", "redis", "cluster"])
def store(request: pytest.FixtureRequest) -> Iterator[WindowStore]:
    """The store under test, with small limits: embedded, single Redis, or Redis Cluster."""
    if request.param == "memory":
        yield MemoryStore(LIMITS)
        return
    client: redis.Redis | RedisCluster
    if request.param == "redis":
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    else:
        client = RedisCluster.from_url(request.getfixturevalue("redis_cluster_url"))
    yield RedisStore(client, limits=LIMITS)
    client.close()


def delta(key: str = "a1", *, count: int = 1, level: int = WARNING, at: float = T0,
          channel: str = "#alerts", logger: str = "app.sync",
          entities: dict[str, int] | None = None, samples: list[str] | None = None,
          first: float | None = None) -> GroupDelta:
    """A delta of ``count`` records of group ``key`` seen at ``at``."""
    return GroupDelta(key=key, channel=channel, logger=logger, template=f"template {key}",
                      sample=f"sample {key}", level=level, count=count,
                      first_seen=at if first is None else first, last_seen=at,
                      entities=entities or {}, samples=samples or [])


def outbox(store: WindowStore, now: float, *, everything: bool = False) -> dict[str, GroupState]:
    """The groups in the outbox due at ``now``, by key."""
    return {g.key: g for groups in store.due(now, everything=everything).outbox.values()
            for g in groups}


def post(store: WindowStore, now: float, *, next_due: float) -> str:
    """Post everything due at ``now`` as one message per channel; return the last message id."""
    message_id = ""
    for channel, groups in store.due(now).outbox.items():
        message_id = store.record_post(channel=channel, ts=f"{now}", shown=groups, overflow=[],
                                       now=now, next_due=next_due, changed_due=next_due).id
    return message_id


class TestAdd:
    def test_first_record_opens_an_incident_due_after_group_wait(self, store: WindowStore) -> None:
        """A new group is not due before group_wait and is due, with its fields, right at it."""
        store.add([delta(count=3)], now=T0, timers=TIMERS)
        assert outbox(store, T0 + 29.9) == {}
        group = outbox(store, T0 + 30)["a1"]
        assert (group.count, group.level, group.channel, group.logger) == (
            3, WARNING, "#alerts", "app.sync")
        assert (group.opened_at, group.active_at, group.template) == (T0, T0, "template a1")
        counters = store.counters()
        assert (counters["open_groups"], counters["incidents_opened"]) == (1, 1)
        assert counters["pending_records"] == 3

    def test_deltas_of_one_group_merge(self, store: WindowStore) -> None:
        """Counts add, the level is the highest, first/last seen widen, the first sample stays."""
        store.add([delta(count=2, at=T0)], now=T0, timers=TIMERS)
        store.add([delta(count=5, level=ERROR, at=T0 + 4, first=T0 - 3),
                   delta(count=1, at=T0 + 5)], now=T0 + 5.25, timers=TIMERS)
        group = outbox(store, T0 + 30)["a1"]
        assert (group.count, group.level) == (8, ERROR)
        assert (group.first_seen, group.last_seen) == (T0 - 3, T0 + 5)
        assert (group.opened_at, group.active_at, group.sample) == (T0, T0 + 5.25, "sample a1")
        assert store.counters()["incidents_opened"] == 1

    def test_groups_past_the_limit_fold_into_one_overflow_group_per_channel(
            self, store: WindowStore) -> None:
        """Past max_open_groups, new groups' records go to the channel's overflow group."""
        store.add([delta(f"k{i}", count=i + 1, logger=f"log{i}") for i in range(5)],
                  now=T0, timers=TIMERS)
        store.add([delta("k0", count=10), delta("k9", count=7, logger="log9")],
                  now=T0 + 1, timers=TIMERS)
        due = outbox(store, T0 + 31)
        assert sorted(due) == ["k0", "k1", "k2", OVERFLOW_PREFIX + "#alerts"]
        assert due["k0"].count == 11
        overflow = due[OVERFLOW_PREFIX + "#alerts"]
        assert (overflow.count, overflow.template, overflow.logger) == (4 + 5 + 7,
                                                                       OVERFLOW_TEMPLATE, "*")
        assert overflow.entities == {"log3": 4, "log4": 5, "log9": 7}
        assert store.counters()["overflowed"] == 16

    def test_entities_keep_the_most_frequent_and_count_the_rest(self, store: WindowStore) -> None:
        """At most max_entities per group, most frequent first, ties by name; drops counted."""
        store.add([delta(entities={"d": 1, "c": 1, "a": 5, "b": 1})], now=T0, timers=TIMERS)
        store.add([delta(entities={"e": 10, "b": 1})], now=T0 + 1, timers=TIMERS)
        group = outbox(store, T0 + 30)["a1"]
        assert group.entities == {"e": 10, "a": 5, "b": 2}
        assert group.entities_other == 2
        assert store.counters()["entities_dropped"] == 2

    def test_samples_are_distinct_and_bounded(self, store: WindowStore) -> None:
        """A group keeps the first max_samples distinct sample messages."""
        store.add([delta(samples=["one", "one", "two", "three"])], now=T0, timers=TIMERS)
        store.add([delta(samples=["four"])], now=T0 + 1, timers=TIMERS)
        assert outbox(store, T0 + 30)["a1"].samples == ["one", "two"]

    def test_due_everything_returns_groups_not_due_yet(self, store: WindowStore) -> None:
        """A final close sees every pending group whatever its due time."""
        store.add([delta("a1"), delta("b2", channel="#other")], now=T0, timers=TIMERS)
        assert outbox(store, T0) == {}
        assert sorted(outbox(store, T0, everything=True)) == ["a1", "b2"]

    def test_due_returns_copies(self, store: WindowStore) -> None:
        """Changing a group the store returned does not change the store."""
        store.add([delta(entities={"x": 1}, samples=["s"])], now=T0, timers=TIMERS)
        group = outbox(store, T0 + 30)["a1"]
        group.entities["y"], group.count = 5, 99
        group.samples.append("t")
        again = outbox(store, T0 + 30)["a1"]
        assert (again.entities, again.count, again.samples) == ({"x": 1}, 1, ["s"])


class TestPostedMessages:
    def test_posted_groups_leave_the_outbox(self, store: WindowStore) -> None:
        """After record_post the group is attached to the message and no longer in the outbox."""
        store.add([delta(count=4)], now=T0, timers=TIMERS)
        message_id = post(store, T0 + 30, next_due=T0 + 3600)
        assert outbox(store, T0 + 1000) == {}
        [(message, groups)] = store.due(T0 + 1000, everything=True).messages
        assert (message.id, message.keys, message.ts) == (message_id, ["a1"], f"{T0 + 30}")
        assert (groups[0].message_id, groups[0].posted_count, groups[0].posted_at) == (
            message_id, 4, T0 + 30)
        assert store.counters()["messages"] == 1
        assert store.counters()["pending_records"] == 0

    def test_message_is_due_only_after_a_change_and_group_interval(
            self, store: WindowStore) -> None:
        """An unchanged message waits for next_due; a new record makes it due at
        updated_at + group_interval, not before."""
        store.add([delta()], now=T0, timers=TIMERS)
        post(store, T0 + 30, next_due=T0 + 3600)
        assert store.due(T0 + 1000).messages == []
        store.add([delta(count=2, at=T0 + 100)], now=T0 + 100, timers=TIMERS)
        assert store.due(T0 + 329.9).messages == []
        [(_, [group])] = store.due(T0 + 330).messages
        assert (group.count, group.posted_count, group.changed) == (3, 1, True)

    def test_level_rise_makes_the_message_due_now(self, store: WindowStore) -> None:
        """An escalation is due at once, and a later plain record keeps that earlier due time."""
        store.add([delta()], now=T0, timers=TIMERS)
        post(store, T0 + 30, next_due=T0 + 3600)
        store.add([delta(level=ERROR, at=T0 + 40)], now=T0 + 40, timers=TIMERS)
        store.add([delta(at=T0 + 41)], now=T0 + 41, timers=TIMERS)
        [(_, [group])] = store.due(T0 + 41).messages
        assert (group.level, group.posted_level) == (ERROR, WARNING)

    def test_record_update_stores_what_the_message_shows(self, store: WindowStore) -> None:
        """After an update the group is unchanged and the message waits for the next record."""
        store.add([delta()], now=T0, timers=TIMERS)
        post(store, T0 + 30, next_due=T0 + 3600)
        store.add([delta(count=2)], now=T0 + 100, timers=TIMERS)
        [(message, groups)] = store.due(T0 + 330).messages
        shown = [dataclasses.replace(g, posted_count=g.count) for g in groups]
        store.record_update(message, shown=shown, updated_at=T0 + 330, next_due=None)
        assert store.due(T0 + 5000, everything=True).messages == []
        store.add([delta()], now=T0 + 400, timers=TIMERS)
        assert store.due(T0 + 629).messages == []
        [(updated, [group])] = store.due(T0 + 630).messages
        assert (updated.updated_at, group.posted_count, group.count) == (T0 + 330, 3, 4)

    def test_message_without_groups_is_forgotten(self, store: WindowStore) -> None:
        """Once its groups are resolved, record_update drops the message record."""
        store.add([delta()], now=T0, timers=TIMERS)
        post(store, T0 + 30, next_due=T0 + 930)
        [(message, groups)] = store.due(T0 + 930).messages
        assert store.resolve(groups) == ["a1"]
        store.record_update(message, shown=[], updated_at=T0 + 930, next_due=T0 + 2000)
        assert store.counters()["messages"] == 0
        assert store.due(T0 + 5000, everything=True).messages == []

    def test_drop_message_forgets_it(self, store: WindowStore) -> None:
        """drop_message removes the record and its schedule."""
        store.add([delta()], now=T0, timers=TIMERS)
        message_id = post(store, T0 + 30, next_due=T0 + 60)
        store.drop_message(message_id)
        assert store.due(T0 + 5000, everything=True).messages == []
        assert store.counters()["messages"] == 0


class TestResolveRequeueDrop:
    def test_resolve_closes_only_groups_quiet_since_they_were_read(
            self, store: WindowStore) -> None:
        """A record arriving after the snapshot keeps the incident open; a fresh one closes it."""
        store.add([delta()], now=T0, timers=TIMERS)
        stale = outbox(store, T0 + 30)["a1"]
        store.add([delta()], now=T0 + 31.5, timers=TIMERS)
        assert store.resolve([stale]) == []
        fresh = outbox(store, T0 + 40)["a1"]
        assert store.resolve([fresh, fresh]) == ["a1"]
        counters = store.counters()
        assert (counters["open_groups"], counters["incidents_resolved"]) == (0, 1)
        assert outbox(store, T0 + 10_000, everything=True) == {}

    def test_a_record_after_resolve_opens_a_new_incident(self, store: WindowStore) -> None:
        """The next record of a resolved group starts over: new count, new group_wait."""
        store.add([delta(count=5)], now=T0, timers=TIMERS)
        store.resolve([outbox(store, T0 + 30)["a1"]])
        store.add([delta(count=2)], now=T0 + 2000, timers=TIMERS)
        assert outbox(store, T0 + 2029) == {}
        group = outbox(store, T0 + 2030)["a1"]
        assert (group.count, group.opened_at, group.message_id) == (2, T0 + 2000, None)
        assert store.counters()["incidents_opened"] == 2

    def test_reminder_detaches_groups_into_a_fresh_digest(self, store: WindowStore) -> None:
        """requeue(reminder=True) puts the group back in the outbox without its message."""
        store.add([delta()], now=T0, timers=TIMERS)
        post(store, T0 + 30, next_due=T0 + 3630)
        [(_, groups)] = store.due(T0 + 3630).messages
        store.requeue(groups, due_at=T0 + 3630, failed=False, reminder=True)
        assert outbox(store, T0 + 3629) == {}
        group = outbox(store, T0 + 3630)["a1"]
        assert (group.reminder, group.message_id, group.attempts) == (True, None, 0)

    def test_failed_requeue_counts_attempts(self, store: WindowStore) -> None:
        """Each failed delivery adds an attempt; the group is due again at due_at."""
        store.add([delta()], now=T0, timers=TIMERS)
        for attempt in (1, 2):
            group = outbox(store, T0 + 1000, everything=True)["a1"]
            store.requeue([group], due_at=T0 + 2000 + attempt, failed=True)
            assert outbox(store, T0 + 2000 + attempt - 1) == {}
        assert outbox(store, T0 + 2002)["a1"].attempts == 2

    def test_drop_forgets_groups(self, store: WindowStore) -> None:
        """Dropped (dead-lettered) groups are neither open nor due."""
        store.add([delta("a1"), delta("b2")], now=T0, timers=TIMERS)
        store.drop(["a1", "missing"])
        assert sorted(outbox(store, T0 + 30)) == ["b2"]
        assert store.counters()["open_groups"] == 1

    def test_flusher_writes_never_bring_a_vanished_group_back(self, store: WindowStore) -> None:
        """record_post, requeue and record_update on resolved groups change nothing."""
        store.add([delta()], now=T0, timers=TIMERS)
        group = outbox(store, T0 + 30)["a1"]
        store.resolve([group])
        message = store.record_post(channel="#alerts", ts="1.0", shown=[group], overflow=[],
                                    now=T0 + 30, next_due=T0 + 60, changed_due=T0 + 60)
        store.requeue([group], due_at=T0 + 31, failed=True, reminder=True)
        store.record_update(message, shown=[group], updated_at=T0 + 61, next_due=T0 + 90)
        assert outbox(store, T0 + 10_000, everything=True) == {}
        counters = store.counters()
        assert (counters["open_groups"], counters["messages"]) == (0, 0)


class TestLease:
    def test_only_one_owner_holds_the_lease(self, store: WindowStore) -> None:
        """A second owner is refused while the first holds or renews the lease."""
        assert store.acquire_lease("a", ttl=30, now=T0)
        assert not store.acquire_lease("b", ttl=30, now=T0 + 1)
        assert store.acquire_lease("a", ttl=30, now=T0 + 2)
        store.release_lease("b")
        assert not store.acquire_lease("b", ttl=30, now=T0 + 3)
        store.release_lease("a")
        assert store.acquire_lease("b", ttl=30, now=T0 + 4)

    def test_a_lease_nobody_renews_expires(self, store: WindowStore) -> None:
        """After ttl without renewal (a killed holder) another owner takes the lease."""
        assert store.acquire_lease("dead", ttl=0.2, now=T0)
        time.sleep(0.25)
        assert store.acquire_lease("alive", ttl=30, now=T0 + 0.25)
        assert not store.acquire_lease("dead", ttl=30, now=T0 + 0.3)


class TestPostRace:
    def test_records_added_while_posting_make_the_message_due(self, store: WindowStore) -> None:
        """Records that arrive between reading a group and recording its post are not lost
        from view: the message is due again at changed_due, not only at the next timer."""
        store.add([delta(count=1)], now=T0, timers=TIMERS)
        (snapshot,) = outbox(store, T0 + 30).values()
        store.add([delta(count=4)], now=T0 + 31, timers=TIMERS)  # another process, meanwhile
        store.record_post(channel="#alerts", ts="1.0", shown=[snapshot], overflow=[],
                          now=T0 + 32, next_due=T0 + 3600, changed_due=T0 + 332)
        assert store.due(T0 + 331).messages == []
        ((message, groups),) = store.due(T0 + 332).messages
        assert message.ts == "1.0"
        assert [(g.count, g.posted_count) for g in groups] == [(5, 1)]

    def test_unchanged_groups_keep_next_due(self, store: WindowStore) -> None:
        """Without records meanwhile the message waits for next_due."""
        store.add([delta(count=1)], now=T0, timers=TIMERS)
        (snapshot,) = outbox(store, T0 + 30).values()
        store.record_post(channel="#alerts", ts="1.0", shown=[snapshot], overflow=[],
                          now=T0 + 32, next_due=T0 + 3600, changed_due=T0 + 332)
        assert store.due(T0 + 3599).messages == []
        assert len(store.due(T0 + 3600).messages) == 1


class TestResolvedLines:
    def test_resolved_lines_are_kept_and_bounded(self, store: WindowStore) -> None:
        """Lines of incidents resolved in a message come back with it, the newest 20 at most."""
        store.add([delta("a1"), delta("b2")], now=T0, timers=TIMERS)
        groups = list(outbox(store, T0 + 30).values())
        message = store.record_post(channel="#alerts", ts="1.0", shown=groups, overflow=[],
                                    now=T0 + 30, next_due=T0 + 40, changed_due=T0 + 40)
        for n in range(25):
            store.record_update(message, shown=[], updated_at=T0 + 30, next_due=T0 + 40,
                                resolved=[f"✅ line {n} &lt;x&gt;"])
        ((again, _),) = store.due(T0 + 40).messages
        assert len(again.resolved) == 20
        assert again.resolved[0] == "✅ line 5 &lt;x&gt;"
        assert again.resolved[-1] == "✅ line 24 &lt;x&gt;"


def posted(store: WindowStore, *, next_due: float = T0 + 3600) -> str:
    """Open a1 and b2 at T0 and post them at T0 + 30 as message ts "1.0" in #alerts."""
    store.add([delta("a1"), delta("b2")], now=T0, timers=TIMERS)
    shown = list(outbox(store, T0 + 30).values())
    return store.record_post(channel="#alerts", ts="1.0", shown=shown, overflow=[],
                             now=T0 + 30, next_due=next_due, changed_due=next_due).id


def message_groups(store: WindowStore, now: float) -> dict[str, GroupState]:
    """The groups of the messages due at ``now``, by key."""
    return {g.key: g for _, groups in store.due(now).messages for g in groups}


class TestAcknowledge:
    def test_ack_marks_the_group_and_makes_its_message_due_at_once(
            self, store: WindowStore) -> None:
        """The acked group shows who and when, and its message is due at the ack, not before."""
        posted(store)
        assert store.acknowledge(["a1", "a1"], by="U42", at=T0 + 100) == ["a1"]
        assert store.due(T0 + 99.9).messages == []
        groups = message_groups(store, T0 + 100)
        assert (groups["a1"].acked_by, groups["a1"].acked_at) == ("U42", T0 + 100)
        assert (groups["b2"].acked_by, groups["b2"].acked_at) == (None, None)

    def test_ack_never_postpones_an_earlier_due_time(self, store: WindowStore) -> None:
        """A message already due before the ack stays due at its earlier time."""
        posted(store, next_due=T0 + 60)
        assert store.acknowledge(["b2"], by="U1", at=T0 + 100) == ["b2"]
        assert message_groups(store, T0 + 60)["b2"].acked_by == "U1"

    def test_ack_of_a_group_not_posted_yet_shows_in_the_outbox(self, store: WindowStore) -> None:
        """An incident still waiting for its first digest carries the ack into it."""
        store.add([delta()], now=T0, timers=TIMERS)
        assert store.acknowledge(["a1"], by="U7", at=T0 + 5) == ["a1"]
        assert outbox(store, T0 + 29) == {}
        assert outbox(store, T0 + 30)["a1"].acked_by == "U7"

    def test_ack_of_resolved_or_unknown_keys_does_nothing(self, store: WindowStore) -> None:
        """Keys of resolved or never-seen incidents are ignored and open nothing."""
        store.add([delta()], now=T0, timers=TIMERS)
        store.resolve([outbox(store, T0 + 30)["a1"]])
        assert store.acknowledge(["a1", "nope"], by="U1", at=T0 + 40) == []
        assert store.acknowledge([], by="U1", at=T0 + 40) == []
        assert outbox(store, T0 + 10_000, everything=True) == {}
        assert store.counters()["open_groups"] == 0


class TestMessageKeys:
    def test_a_posted_message_is_found_by_channel_and_ts(self, store: WindowStore) -> None:
        """message_keys returns the shown then overflow keys; another channel or ts: []."""
        store.add([delta("a1"), delta("b2"), delta("c3")], now=T0, timers=TIMERS)
        groups = outbox(store, T0 + 30)
        store.record_post(channel="C0123", ts="1712.000100", shown=[groups["a1"], groups["b2"]],
                          overflow=[groups["c3"]], now=T0 + 30, next_due=T0 + 60,
                          changed_due=T0 + 60)
        assert store.message_keys("C0123", "1712.000100") == ["a1", "b2", "c3"]
        assert store.message_keys("C9999", "1712.000100") == []
        assert store.message_keys("C0123", "1712.0001") == []

    def test_keys_follow_updates_and_vanish_with_the_message(self, store: WindowStore) -> None:
        """After an update only attached groups are listed; after drop_message, nothing."""
        message_id = posted(store)
        ((message, groups),) = store.due(T0 + 3600).messages
        assert store.resolve([g for g in groups if g.key == "a1"]) == ["a1"]
        store.record_update(message, shown=[], updated_at=T0 + 3600, next_due=T0 + 7200)
        assert store.message_keys("#alerts", "1.0") == ["b2"]
        store.drop_message(message_id)
        assert store.message_keys("#alerts", "1.0") == []

    def test_a_message_forgotten_by_record_update_is_unknown(self, store: WindowStore) -> None:
        """Once its last group resolves and the update drops the record, message_keys is []."""
        posted(store)
        ((message, groups),) = store.due(T0 + 3600).messages
        store.resolve(groups)
        store.record_update(message, shown=[], updated_at=T0 + 3600, next_due=T0 + 7200)
        assert store.message_keys("#alerts", "1.0") == []


class TestRequestResolve:
    def test_request_flags_the_group_and_makes_its_message_due(self, store: WindowStore) -> None:
        """The flagged group shows resolve_requested in its due message from ``at`` on."""
        posted(store)
        assert store.request_resolve(["b2", "gone"], at=T0 + 200) == ["b2"]
        assert store.due(T0 + 199).messages == []
        groups = message_groups(store, T0 + 200)
        assert (groups["a1"].resolve_requested, groups["b2"].resolve_requested) == (False, True)

    def test_request_for_a_group_not_posted_yet(self, store: WindowStore) -> None:
        """An outbox group is flagged too; a resolved one is ignored."""
        store.add([delta("a1"), delta("b2")], now=T0, timers=TIMERS)
        store.resolve([outbox(store, T0 + 30)["b2"]])
        assert store.request_resolve(["a1", "b2"], at=T0 + 31) == ["a1"]
        assert outbox(store, T0 + 31)["a1"].resolve_requested is True
        assert store.counters()["open_groups"] == 1


class TestMutes:
    def test_finite_and_indefinite_mutes(self, store: WindowStore) -> None:
        """A finite mute is in force until it ends, an infinite one until unmuted."""
        store.set_mute("app.sync", until=T0 + 60)
        store.set_mute("a1", until=float("inf"))
        assert store.mutes(T0) == {"app.sync": T0 + 60, "a1": float("inf")}
        assert store.mutes(T0 + 59.5) == {"app.sync": T0 + 60, "a1": float("inf")}
        assert store.mutes(T0 + 60) == {"a1": float("inf")}
        assert store.mutes(T0) == {"a1": float("inf")}  # an ended mute is gone for good
        store.set_mute("a1", until=None)
        assert store.mutes(T0) == {}

    def test_setting_again_replaces_and_unmuting_the_unknown_is_harmless(
            self, store: WindowStore) -> None:
        """The last set_mute of a target wins; unmuting a target never muted changes nothing."""
        store.set_mute("app", until=float("inf"))
        store.set_mute("app", until=T0 + 10)
        store.set_mute("other", until=None)
        assert store.mutes(T0) == {"app": T0 + 10}
        assert store.mutes(T0 + 10) == {}


class TestReminded:
    def test_reminded_restarts_the_reminder_clock(self, store: WindowStore) -> None:
        """record_update(reminded=...) sets those groups' posted_at to updated_at."""
        store.add([delta("a1"), delta("b2")], now=T0, timers=TIMERS)
        groups = list(outbox(store, T0 + 30).values())
        message = store.record_post(channel="#alerts", ts="1.0", shown=groups, overflow=[],
                                    now=T0 + 30, next_due=T0 + 40, changed_due=T0 + 40)
        store.record_update(message, shown=[], updated_at=T0 + 500, next_due=T0 + 600,
                            reminded=["a1"])
        ((_, again),) = store.due(T0 + 600).messages
        posted = {g.key: g.posted_at for g in again}
        assert posted == {"a1": T0 + 500, "b2": T0 + 30}


class TestOwnGroupWait:
    def test_delta_group_wait_overrides_the_timers(self, store: WindowStore) -> None:
        """A group with its own group_wait (per-logger setting) is due after that, not 30 s."""
        fast = dataclasses.replace(delta("f1"), group_wait=5.0)
        store.add([fast, delta("s2")], now=T0, timers=TIMERS)
        assert set(outbox(store, T0 + 5)) == {"f1"}
        assert set(outbox(store, T0 + 30)) == {"f1", "s2"}
