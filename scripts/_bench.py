"""Shared helpers of the benchmark scripts: timing loops, medians, JSON/markdown output."""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["discard", "isolated_logger", "median_rate", "print_table", "time_calls"]


def discard(handler: Any) -> None:
    """Stop one of our handlers without delivering anything (benchmarks post nowhere)."""
    handler._accepting = False
    handler._stopping.set()
    handler._wake.set()
    handler._worker.join(5)
    handler._state = "closed"
    logging.Handler.close(handler)


def isolated_logger(name: str, handler: logging.Handler) -> logging.Logger:
    """Return a logger with only ``handler`` attached (no propagation), at DEBUG."""
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def time_calls(call: Callable[[int], None], n: int) -> float:
    """Return the seconds ``call(i)`` takes for i in range(n) (one run)."""
    started = time.perf_counter()
    for i in range(n):
        call(i)
    return time.perf_counter() - started


def median_rate(runs: list[float], n: int) -> tuple[float, float]:
    """Return (median ns per call, spread in %) of several runs of ``n`` calls."""
    per_call = [r / n * 1e9 for r in runs]
    median = statistics.median(per_call)
    spread = (max(per_call) - min(per_call)) / median * 100 if median else 0.0
    return median, spread


def print_table(title: str, rows: list[dict[str, Any]], *, as_json: bool) -> None:
    """Print ``rows`` as a markdown table (or JSON)."""
    if as_json:
        print(json.dumps({"title": title, "rows": rows}, indent=2))
        return
    print(f"\n### {title}\n")
    headers = list(rows[0])
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(_cell(row[h]) for h in headers) + " |")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
