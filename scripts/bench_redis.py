"""The Redis-backed window: throughput against the embedded store, Redis commands per batch,
and many processes draining into one window. Starts its own private redis-server.

    .venv/bin/python scripts/bench_redis.py [--records 100000] [--runs 3] [--procs 8]
        [--per-proc 100000] [--json]
"""

from __future__ import annotations

import argparse
import functools
import gc
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import redis
from _bench import discard, isolated_logger, print_table
from bench_pipeline import _log_mixed

from jibe_alerts.digest_handler import SlackDigestHandler
from jibe_alerts.stores.memory import MemoryStore
from jibe_alerts.stores.redis import RedisStore, describe_window
from jibe_alerts.testing.redis_server import RedisServer

TOKEN = "xoxb-bench"
BASE_URL = "http://127.0.0.1:9/api/"  # nothing is posted: group_wait is an hour


def _handler(*, store: Any = None, redis_url: str | None = None) -> SlackDigestHandler:
    return SlackDigestHandler(TOKEN, "#alerts", base_url=BASE_URL, group_wait="1h",
                              queue_size=1_000_000, store=store, redis_url=redis_url,
                              flush_interval=3600)


def _window_total(handler: SlackDigestHandler) -> int:
    if isinstance(handler.store, MemoryStore):
        return sum(g.count for g in handler.store._groups.values())
    assert isinstance(handler.store, RedisStore)
    return sum(i["count"] for i in describe_window(handler.store, time.time())["incidents"])


def _drain_time(handler: SlackDigestHandler, records: int) -> float:
    logger = isolated_logger("bench.redis", handler)
    gc.collect()
    started = time.perf_counter()
    for i in range(records):
        _log_mixed(logger, i)
    while handler.stats()["queued"] or _window_total(handler) < records:
        handler.flush()
        if handler.stats()["dropped"]:
            raise RuntimeError("records were dropped: the benchmark would not be exact")
    elapsed = time.perf_counter() - started
    discard(handler)
    return elapsed


def throughput(server: RedisServer, records: int, runs: int) -> list[dict[str, Any]]:
    """Embedded vs Redis window, same records, same run."""
    client = server.client()
    embedded, shared = [], []
    for _ in range(runs):
        embedded.append(_drain_time(_handler(store=MemoryStore()), records))
        client.flushall()
        shared.append(_drain_time(_handler(redis_url=server.url), records))
    embedded.sort()
    shared.sort()
    e, r = embedded[len(embedded) // 2], shared[len(shared) // 2]
    return [
        {"window": "embedded (memory)", "records/s (median)": records / e, "× embedded": 1.0},
        {"window": "Redis (one process)", "records/s (median)": records / r,
         "× embedded": e / r},
    ]


def commands_per_batch(server: RedisServer) -> list[dict[str, Any]]:
    """Client commands (and commands run inside Lua) for 10,000 records of 10 groups."""
    client = server.client()
    client.flushall()
    handler = _handler(redis_url=server.url)
    logger = isolated_logger("bench.commands", handler)
    handler.flush()  # connection, scripts loaded
    before = _stats(client)
    for i in range(10_000):
        logger.warning("group %s: %s", f"g{i % 10}", i)
    handler.flush()
    while handler.stats()["queued"]:
        handler.flush()
    after = _stats(client)
    discard(handler)
    return [{"records": 10_000, "groups": 10,
             "Redis commands (incl. flushes)": after - before - 1,  # minus our own INFO
             "target": "< 100"}]


def _stats(client: redis.Redis) -> int:
    return int(client.info("stats")["total_commands_processed"])


CHILD = """
import logging, sys, time
sys.path.insert(0, {scripts!r})
from bench_pipeline import _log_mixed
from jibe_alerts import SlackDigestHandler
handler = SlackDigestHandler("xoxb-bench", "#alerts", base_url="http://127.0.0.1:9/api/",
    redis_url=sys.argv[1], group_wait="1h", queue_size=1_000_000, flush_interval=3600)
log = logging.getLogger("bench.child")
log.propagate = False
log.addHandler(handler)
for i in range(int(sys.argv[2])):
    _log_mixed(log, i)
handler.flush()
while handler.stats()["queued"]:
    handler.flush()
print(handler.stats()["dropped"])
"""


def many_processes(server: RedisServer, procs: int, per_proc: int) -> list[dict[str, Any]]:
    """``procs`` processes log ``per_proc`` records each into one window."""
    client = server.client()
    client.flushall()
    script = CHILD.format(scripts=str(Path(__file__).resolve().parent))
    started = time.perf_counter()
    children = [subprocess.Popen([sys.executable, "-c", script, server.url, str(per_proc)],
                                 stdout=subprocess.PIPE, text=True) for _ in range(procs)]
    dropped = sum(int(child.communicate()[0].strip() or 0) for child in children)
    store = RedisStore.from_url(server.url)
    total = sum(i["count"] for i in describe_window(store, time.time())["incidents"])
    elapsed = time.perf_counter() - started
    keys = list(client.scan_iter(count=1000))
    no_ttl = sum(1 for k in keys if client.ttl(k) == -1)
    memory = int(client.info("memory")["used_memory"])
    return [{"processes": procs, "records": procs * per_proc, "in window": total,
             "dropped": dropped, "seconds (start to drained)": elapsed,
             "records/s": procs * per_proc / elapsed, "keys": len(keys),
             "keys without TTL": no_ttl, "Redis used_memory MiB": memory / 2**20}]


def main() -> int:
    """Run the three measurements against a private redis-server."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--per-proc", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    table = functools.partial(print_table, as_json=args.json)
    with RedisServer() as server:
        table(f"Window throughput, one process ({args.records:,} records × {args.runs} runs)",
              throughput(server, args.records, args.runs))
        table("Redis commands for 10,000 records of 10 groups", commands_per_batch(server))
        table(f"{args.procs} processes × {args.per_proc:,} records into one Redis window",
              many_processes(server, args.procs, args.per_proc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
