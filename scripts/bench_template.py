"""Time ``message_template`` per message over a corpus of typical log lines.

Usage: ``.venv/bin/python scripts/bench_template.py [--repeat N] [--loops N] [--json]``

*cold* calls the uncached engine (every call masks from scratch); *warm* calls the public,
memoized ``message_template`` after one pass has filled its cache.  Each figure is the median
over ``--repeat`` runs of the mean time per message in that run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from jibe_alerts._masking import parameterize_uncached, template_uncached
from jibe_alerts.grouping import Grouper, message_template

JIBE = (
    "Provider ReSync Found (Started Completed '2020-07-01 18:22:39 UTC') - Sales GovCloud",
    "Provider ReSync Found (Started Completed '2020-06-23 16:00:31 UTC') - Eng Cloud",
    "Start Folder Monitor 'Shared Media' - [AWSLogs]",
    "Providers Sync Delayed: ['Eng Cloud - 4 days, ReSync Running']",
    "Providers Sync Delayed: ['Sales GovCloud - 4 hours, Real-Time Refresh On']",
    "Providers No Longer Sync Delayed: ['Eng Cloud']",
    "Providers Still Sync Delayed: ['Sales GovCloud - 1 days, Real-Time Refresh On']",
    "Bucket removed S3 Cloud/sc-bucketing (Folder Id: 323257338, Jibe Sync: False)",
    "Found New Provider - 'Shared Media'",
    "New bucket - Shared Media/sharedmedia123_logs",
    "New bucket - Shared Media/media_assets_123",
    "Stop Folder Monitor 'Eng Cloud' - [AWSLogs]",
    "syncOnProviderEvent: PutObject:not_found - my-big-bucket/2020-07-28-19-53-04.zip. "
    "2 attempts left.",
)
OTHER_SYSTEMS = (
    '10.1.2.3 - - [28/Jul/2020:19:53:04 +0000] "GET /api/v1/users/42 HTTP/1.1" 200 512 "-" '
    '"curl/7.68.0"',
    '2020/07/28 19:53:04 [error] 2231#2231: *9 open() "/var/www/html/favicon.ico" failed '
    "(2: No such file or directory)",
    "upstream timed out (110: Connection timed out) while reading response header from upstream",
    'ERROR:  duplicate key value violates unique constraint "users_email_key"',
    "LOG:  checkpoint complete: wrote 1204 buffers (7.3%); 0 WAL file(s) added, 1 removed",
    'FATAL:  password authentication failed for user "app"',
    "LOG:  duration: 1532.221 ms  statement: SELECT * FROM orders WHERE id = 991",
    "1:M 28 Jul 2020 19:53:04.123 * Background saving started by pid 4242",
    "Error 111 connecting to redis-master.cache.svc.cluster.local:6379. Connection refused.",
    "OOM command not allowed when used memory > 'maxmemory'.",
    'Back-off restarting failed container api in pod "api-7d9f8b6c5-xk2pq"',
    "Successfully assigned default/web-5d78c9869d-abcde to node-3",
    "Readiness probe failed: Get http://10.244.1.17:8080/healthz: dial tcp 10.244.1.17:8080: "
    "connect: connection refused",
    "0/3 nodes are available: 3 Insufficient cpu.",
    'Exception in thread "main" java.lang.IllegalStateException: Queue full',
    "at com.example.orders.OrderService.place(OrderService.java:118)",
    "Caused by: java.net.SocketTimeoutException: Read timed out after 30000ms",
    "panic: runtime error: invalid memory address or nil pointer dereference",
    "goroutine 17 [running]:",
    "/app/internal/sync/worker.go:88 +0x1d4",
    "Jul 29 00:00:11 web-1 sshd[1234]: Failed password for root from 203.0.113.9 port 52211 ssh2",
    "Started Session 42 of user deploy.",
    "nginx.service: Main process exited, code=exited, status=1/FAILURE",
    "Request to https://api.stripe.com/v1/charges failed with 503 after 2.5s",
    "HTTPSConnectionPool(host='hooks.slack.com', port=443): Max retries exceeded with url: "
    "/services/T000/B000",
    "An error occurred (ThrottlingException) when calling the PutMetricData operation: "
    "Rate exceeded",
    "An error occurred (NoSuchKey) when calling the GetObject operation: The specified key "
    "does not exist.",
    "User arn:aws:iam::123456789012:user/deploy is not authorized to perform: s3:GetObject",
    '{"level":"error","msg":"payment failed","order_id":8812,"user":"ana@example.com"}',
    "Task retry-invoices-02 took 1h30m, processed 1,204 items (99.5% ok)",
    "Cache miss for key user:42:profile, fetched in 12ms",
    "Uploaded 12MB to s3://backups/db/2020-07-28.sql.gz",
    "Request 123e4567-e89b-12d3-a456-426614174000 took 250ms",
    "Deployed commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 to production",
    "Worker 7 heartbeat missed for 45 seconds",
    "Disk usage at 91% on /dev/sda1",
    "Connection pool exhausted (size=20), waiting",
)
CORPUS: tuple[str, ...] = JIBE + OTHER_SYSTEMS


def per_message_us(fn: Callable[[str], object], lines: Sequence[str], loops: int) -> float:
    """Return the mean microseconds per call of *fn* over *loops* passes of *lines*."""
    start = time.perf_counter()
    for _ in range(loops):
        for line in lines:
            fn(line)
    return (time.perf_counter() - start) / (loops * len(lines)) * 1e6


def median_us(fn: Callable[[str], object], lines: Sequence[str], loops: int, repeat: int) -> float:
    """Return the median over *repeat* runs of the mean microseconds per message."""
    per_message_us(fn, lines, 1)  # warm-up: compile regexes, fill caches
    return statistics.median(per_message_us(fn, lines, loops) for _ in range(repeat))


def run(repeat: int, loops: int) -> dict[str, object]:
    """Measure every figure and return them in a JSON-ready dict."""
    grouper = Grouper()

    def group(line: str) -> object:
        return grouper.group("bench", line, (), line)

    slowest = max(CORPUS, key=lambda line: median_us(template_uncached, [line], loops, repeat))
    return {
        "target_us_per_message": 3.0,
        "messages": len(CORPUS),
        "repeat": repeat,
        "loops": loops,
        "cold_us_per_message": median_us(template_uncached, CORPUS, loops, repeat),
        "cold_jibe_us_per_message": median_us(template_uncached, JIBE, loops, repeat),
        "warm_us_per_message": median_us(message_template, CORPUS, loops, repeat),
        "parameterize_cold_us_per_message": median_us(parameterize_uncached, CORPUS, loops, repeat),
        "grouper_warm_us_per_message": median_us(group, CORPUS, loops, repeat),
        "slowest_line": slowest,
        "slowest_line_cold_us": median_us(template_uncached, [slowest], loops, repeat),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per figure")
    parser.add_argument("--loops", type=int, default=200, help="passes over the corpus per run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args.repeat, args.loops)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, value in result.items():
            shown = f"{value:.2f}" if isinstance(value, float) else value
            print(f"{name:36} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
