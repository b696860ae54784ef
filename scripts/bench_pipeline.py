"""End-to-end digest pipeline: sustained throughput into the window, and memory under a storm.

throughput: N logging calls through SlackDigestHandler (embedded store), timed until every
record is in the window (zero unaccounted), against N calls into a NullHandler in the same run.
memory: 1,000,000 records over 100,000 distinct message shapes; peak RSS of the process.

    .venv/bin/python scripts/bench_pipeline.py throughput [--records 200000] [--runs 5]
    .venv/bin/python scripts/bench_pipeline.py memory [--records 1000000] [--shapes 100000]
"""

from __future__ import annotations

import argparse
import functools
import gc
import logging
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import discard, isolated_logger, median_rate, print_table, time_calls

from jibe_alerts.digest_handler import SlackDigestHandler
from jibe_alerts.stores.memory import MemoryStore

TOKEN = "xoxb-bench"
PROVIDERS = ["Sales GovCloud", "Eng Cloud", "Shared Media", "S3 Cloud", "Finance Archive"]
SHAPES: list[tuple[str, Callable[[int], tuple[object, ...]]]] = [
    ("Providers Still Sync Delayed: %s", lambda i: ([f"{PROVIDERS[i % 5]} - {i % 9} days"],)),
    ("Start Folder Monitor '%s' - [AWSLogs]", lambda i: (PROVIDERS[i % 5],)),
    ("New bucket - %s/bucket%d_logs", lambda i: (PROVIDERS[i % 5], i % 97)),
    ("syncOnProviderEvent: PutObject:not_found - %s/%d.zip. %d attempts left.",
     lambda i: ("my-big-bucket", i, i % 3)),
]


def _handler(queue_size: int) -> SlackDigestHandler:
    return SlackDigestHandler(
        TOKEN, "#alerts", base_url="http://127.0.0.1:9/api/", group_wait="1h",
        queue_size=queue_size, store=MemoryStore(), flush_interval=3600)


def _log_mixed(logger: logging.Logger, i: int) -> None:
    template, args = SHAPES[i % len(SHAPES)]
    logger.warning(template, *args(i))


def _in_window(handler: SlackDigestHandler) -> int:
    store = handler.store
    assert isinstance(store, MemoryStore)
    return sum(g.count for g in store._groups.values())


def _pipeline_run(records: int) -> tuple[float, dict[str, int]]:
    handler = _handler(queue_size=records)
    logger = isolated_logger("bench.pipeline", handler)
    gc.collect()
    started = time.perf_counter()
    for i in range(records):
        _log_mixed(logger, i)
    while _in_window(handler) + handler.stats()["dropped"] < records:
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    stats = handler.stats()
    stats["in_window"] = _in_window(handler)
    discard(handler)
    return elapsed, stats


def throughput(records: int, runs: int) -> list[dict[str, Any]]:
    """Return rows: NullHandler vs digest pipeline, calls/s, and the ratio."""
    null_runs, ours_runs = [], []
    stats: dict[str, int] = {}
    for _ in range(runs):
        null_logger = isolated_logger("bench.null", logging.NullHandler())
        null_runs.append(time_calls(functools.partial(_log_mixed, null_logger), records))
        elapsed, stats = _pipeline_run(records)
        ours_runs.append(elapsed)
    null_ns, null_spread = median_rate(null_runs, records)
    ours_ns, ours_spread = median_rate(ours_runs, records)
    unaccounted = records - stats["in_window"] - stats["dropped"]
    return [
        {"path": "logging calls → NullHandler", "records/s (median)": 1e9 / null_ns,
         "spread %": null_spread, "× NullHandler": 1.0, "dropped": 0, "unaccounted": 0},
        {"path": "logging calls → digest window (embedded)", "records/s (median)": 1e9 / ours_ns,
         "spread %": ours_spread, "× NullHandler": null_ns / ours_ns,
         "dropped": stats["dropped"], "unaccounted": unaccounted},
    ]


def memory(records: int, shapes: int) -> list[dict[str, Any]]:
    """Return one row: peak RSS before/after a storm of ``shapes`` distinct templates."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    handler = _handler(queue_size=100_000)
    logger = isolated_logger("bench.memory", handler)
    words = [f"w{n:x}q" for n in range(int(shapes ** 0.5) + 1)]
    width = len(words)
    started = time.perf_counter()
    for i in range(records):
        shape = i % shapes
        logger.error(f"job {words[shape % width]} stage {words[shape // width]} failed on "
                     f"host-{i % 7} after {i % 300} ms")
        if i % 50_000 == 0:
            time.sleep(0.01)  # let the worker keep pace (a real app does other work too)
    handler.flush()
    while handler.stats()["queued"]:
        handler.flush()
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stats = handler.stats()
    store = handler.store.counters()
    discard(handler)
    return [{"records": records, "distinct shapes": shapes, "seconds": elapsed,
             "RSS before MiB": before, "peak RSS MiB": peak, "open groups": store["open_groups"],
             "overflowed records": store["overflowed"], "dropped": stats["dropped"],
             "accounted": _in_window_total(handler) + stats["dropped"]}]


def _in_window_total(handler: SlackDigestHandler) -> int:
    return _in_window(handler)


def main() -> int:
    """Run the chosen benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["throughput", "memory"])
    parser.add_argument("--records", type=int)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shapes", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.mode == "throughput":
        n = args.records or 200_000
        print_table(f"Sustained throughput into the window ({n:,} records × {args.runs} runs)",
                    throughput(n, args.runs), as_json=args.json)
    else:
        n = args.records or 1_000_000
        print_table(f"Memory: {n:,} records over {args.shapes:,} distinct shapes",
                    memory(n, args.shapes), as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
