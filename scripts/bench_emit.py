"""App-thread cost of one logging call: NullHandler, stdlib QueueHandler, ours.

Same record, same run, same logger setup; our handlers' workers are stalled so that only the
application thread's work is timed (what ``emit`` costs the caller). Reports the median of
several runs and the ratio to ``QueueHandler``.

    .venv/bin/python scripts/bench_emit.py [--calls 200000] [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import gc
import logging
import logging.handlers
import queue
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import discard, isolated_logger, median_rate, print_table, time_calls

from jibe_alerts import SlackLogHandler
from jibe_alerts.digest_handler import SlackDigestHandler
from jibe_alerts.stores.memory import MemoryStore

TOKEN = "xoxb-bench"
DELAYED = ["Sales GovCloud - 1 days, Real-Time Refresh On"]


def _stalled(handler: Any) -> Any:
    handler.work = lambda: None  # only the application thread's work is timed
    return handler


def _handlers(calls: int) -> dict[str, logging.Handler]:
    return {
        "NullHandler": logging.NullHandler(),
        "QueueHandler (stdlib)": logging.handlers.QueueHandler(queue.Queue(-1)),
        "SlackLogHandler": _stalled(SlackLogHandler(
            TOKEN, "#alerts", base_url="http://127.0.0.1:9/api/", queue_size=calls + 1)),
        "SlackDigestHandler": _stalled(SlackDigestHandler(
            TOKEN, "#alerts", base_url="http://127.0.0.1:9/api/", queue_size=calls + 1,
            store=MemoryStore())),
    }


def measure(calls: int, runs: int) -> list[dict[str, Any]]:
    """Return one row per handler: median ns/call, spread, ratio to QueueHandler."""
    results: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, handler in _handlers(calls).items():  # interleaved: same machine state
            logger = isolated_logger(f"bench.{len(results)}", handler)
            gc.collect()
            def call(i: int, logger: logging.Logger = logger) -> None:
                logger.warning("Providers Still Sync Delayed: %s", DELAYED)

            results.setdefault(name, []).append(time_calls(call, calls))
            handler.close() if not hasattr(handler, "take_items") else _drain(handler)
    baseline, _ = median_rate(results["QueueHandler (stdlib)"], calls)
    rows = []
    for name, runs_ in results.items():
        ns, spread = median_rate(runs_, calls)
        rows.append({"handler": name, "ns/call (median)": ns, "spread %": spread,
                     "× QueueHandler": ns / baseline})
    return rows


def _drain(handler: Any) -> None:
    handler.take_items()
    discard(handler)


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = measure(args.calls, args.runs)
    print_table(f"App-thread cost per logging call ({args.calls:,} calls × {args.runs} runs)",
                rows, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
