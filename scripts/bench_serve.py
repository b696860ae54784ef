"""``jibe-alerts serve`` under load: signed Acknowledge clicks at a steady rate against a real
serve process, with its own private redis-server and the local Slack stand-in (loopback only).

    .venv/bin/python scripts/bench_serve.py [--rate 50] [--seconds 10] [--groups 20]
        [--samples 50] [--json]

Reports the request latency (p50/p95/p99/max; target p99 < 100 ms) and the ack propagation:
the time from sending an Acknowledge until a second process (this one, polling Redis through
its own ``RedisStore``) sees the group's ``acked_by``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import print_table
from slack_sdk.signature import SignatureVerifier

from jibe_alerts.digest_handler import SlackDigestHandler
from jibe_alerts.digest_render import ACK_ACTION
from jibe_alerts.stores.redis import RedisStore, describe_window
from jibe_alerts.testing.redis_server import RedisServer
from jibe_alerts.testing.slack_standin import DEFAULT_TOKEN, SlackStandIn

REPO_ROOT = Path(__file__).resolve().parents[1]
SIGNING_SECRET = secrets.token_hex(16)


def _click(key: str, *, channel: str, ts: str, user: str, trigger: str) -> str:
    """A signed-to-be interactivity body: ``user`` clicked Acknowledge on group ``key``."""
    payload = {
        "type": "block_actions", "trigger_id": trigger, "user": {"id": user},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "channel": {"id": channel},
        "actions": [{"type": "button", "action_id": ACK_ACTION, "block_id": f"g:{key}",
                     "value": key, "action_ts": trigger}],
    }
    return urlencode({"payload": json.dumps(payload)})


class Client:
    """One keep-alive connection to the serve process, signing every request."""

    def __init__(self, base: str) -> None:
        url = urlsplit(base)
        self._connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
        self._verifier = SignatureVerifier(SIGNING_SECRET)

    def post(self, body: str) -> int:
        """POST ``body`` to /slack/events, signed now; return the status."""
        timestamp = str(int(time.time()))
        signature = self._verifier.generate_signature(timestamp=timestamp, body=body) or ""
        self._connection.request("POST", "/slack/events", body=body.encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature})
        answer = self._connection.getresponse()
        answer.read()
        return answer.status

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


def _post_digest(slack: SlackStandIn, redis_url: str, groups: int) -> tuple[str, str, list[str]]:
    """Post one interactive digest of ``groups`` groups; return its channel, ts and keys."""
    handler = SlackDigestHandler(DEFAULT_TOKEN, "#alerts", base_url=slack.base_url,
                                 redis_url=redis_url, interactive=True, group_wait=0,
                                 max_groups=groups, flush_interval=0.1)
    logger = logging.getLogger("bench.serve")
    logger.propagate = False
    logger.addHandler(handler)
    for i in range(groups):
        logger.warning(f"Provider {i} sync delayed")  # one group per distinct text
    handler.flush()
    deadline = time.monotonic() + 10
    while not slack.messages("alerts") and time.monotonic() < deadline:
        time.sleep(0.05)
    (message,) = slack.messages("alerts")
    keys = handler.store.message_keys(message.channel, message.ts)
    logger.removeHandler(handler)
    handler.close()  # releases the flush lease: the serve process flushes from now on
    return message.channel, message.ts, keys


def _start_serve(workdir: Path, slack: SlackStandIn, redis_url: str) -> tuple[
        subprocess.Popen[str], str]:
    config = workdir / "logging.json"
    config.write_text(json.dumps({"version": 1, "handlers": {"digest": {
        "class": "jibe_alerts.SlackDigestHandler", "api_key": DEFAULT_TOKEN,
        "channel": "#alerts", "base_url": slack.base_url, "redis_url": redis_url,
        "interactive": True, "group_wait": "0s", "max_groups": 20}}}), encoding="utf-8")
    env = {**os.environ, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    env.pop("JIBE_REDIS_URL", None)
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jibe_alerts.cli", "serve", "--config", str(config), "--port",
         "0"], stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=REPO_ROOT)
    log.close()
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"listening on (http://[0-9.]+:[0-9]+)/", line)
    if found is None:
        process.kill()
        process.wait()
        raise RuntimeError(f"serve did not start: {line!r}\n{(workdir / 'serve.log').read_text()}")
    return process, found.group(1)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def load(base: str, target: tuple[str, str, list[str]], *, rate: float,
         seconds: float) -> dict[str, Any]:
    """Send signed Acknowledge clicks at ``rate`` per second for ``seconds`` (open loop: a
    late send goes out at once); return the latency figures."""
    channel, ts, keys = target
    client = Client(base)
    total = int(rate * seconds)
    latencies: list[float] = []
    failures = 0
    nonce = secrets.token_hex(4)
    started = time.perf_counter()
    for i in range(total):
        wait = started + i / rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        body = _click(keys[i % len(keys)], channel=channel, ts=ts, user=f"UL{i:07d}",
                      trigger=f"{nonce}.{i}")
        sent = time.perf_counter()
        failures += client.post(body) != 200
        latencies.append((time.perf_counter() - sent) * 1000)
    elapsed = time.perf_counter() - started
    client.close()
    return {"requests": total, "achieved req/s": total / elapsed, "non-200": failures,
            "p50 ms": statistics.median(latencies), "p95 ms": _percentile(latencies, 95),
            "p99 ms": _percentile(latencies, 99), "max ms": max(latencies),
            "target": "p99 < 100 ms"}


def propagation(base: str, target: tuple[str, str, list[str]], redis_url: str,
                samples: int) -> dict[str, Any]:
    """For ``samples`` clicks, time from sending until this process's own store read shows
    the new ``acked_by`` (polled on another thread while the request is in flight)."""
    channel, ts, keys = target
    client = Client(base)
    reader = RedisStore.from_url(redis_url)
    times: list[float] = []
    nonce = secrets.token_hex(4)
    for i in range(samples):
        key, user = keys[i % len(keys)], f"UP{i:07d}"
        seen = threading.Event()
        seen_at: list[float] = []

        def poll(key: str = key, user: str = user, seen: threading.Event = seen,
                 seen_at: list[float] = seen_at) -> None:
            deadline = time.perf_counter() + 5
            while time.perf_counter() < deadline:
                incidents = describe_window(reader, time.time())["incidents"]
                if any(x["key"] == key and x["acked_by"] == user for x in incidents):
                    seen_at.append(time.perf_counter())
                    seen.set()
                    return

        poller = threading.Thread(target=poll)
        poller.start()
        sent = time.perf_counter()
        client.post(_click(key, channel=channel, ts=ts, user=user, trigger=f"{nonce}.p{i}"))
        poller.join(6)
        if seen_at:
            times.append((seen_at[0] - sent) * 1000)
        time.sleep(0.05)
    client.close()
    return {"samples": samples, "seen": len(times), "p50 ms": statistics.median(times),
            "p95 ms": _percentile(times, 95), "max ms": max(times)}


def main() -> int:
    """Run the benchmark; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second (50)")
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration (10)")
    parser.add_argument("--groups", type=int, default=20, help="groups in the digest (20, at "
                        "most 20: one digest)")
    parser.add_argument("--samples", type=int, default=50, help="propagation samples (50)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, RedisServer() as redis_server, SlackStandIn(
            post_rate_per_sec=1000, post_burst=1000, update_rate_per_min=60_000) as slack:
        target = _post_digest(slack, redis_server.url, args.groups)
        process, base = _start_serve(Path(tmp), slack, redis_server.url)
        try:
            updates_before = sum(c.method == "chat.update" for c in slack.calls)
            latency = load(base, target, rate=args.rate, seconds=args.seconds)
            time.sleep(1.5)  # the last acknowledgements' update
            latency["digest updates (chat.update)"] = sum(
                c.method == "chat.update" for c in slack.calls) - updates_before
            spread = propagation(base, target, redis_server.url, args.samples)
        finally:
            process.terminate()
            process.wait(10)
            if process.stdout is not None:
                process.stdout.close()
    print_table(f"Signed block_actions (Acknowledge) at {args.rate:g} req/s for "
                f"{args.seconds:g} s, one keep-alive connection", [latency], as_json=args.json)
    print_table("Ack propagation: request sent → acked_by visible to another process's "
                "store read", [spread], as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
