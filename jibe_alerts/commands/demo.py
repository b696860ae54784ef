"""``jibe-alerts demo``: the Jibe simulator's log stream, turned into Slack digests, offline.

Starts the local Slack stand-in (Slack's own posting limits), applies ``config/logging.json``
with short demo windows, runs the simulator for a few seconds with a progress line, closes the
handlers (which deliver everything pending) and prints every digest as it would look in Slack.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jibe_alerts.config_errors import ConfigError
from jibe_alerts.durations import parse_duration
from jibe_alerts.reload import configure
from jibe_alerts.sim import JibeSimulator
from jibe_alerts.slack_preview import preview_message
from jibe_alerts.testing.slack_standin import DEFAULT_TOKEN, SlackStandIn

__all__ = ["DemoOptions", "run_demo"]

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "logging.json"
#: Where the demo sends the per-record handler's messages (the stand-in's other channel).
ERRORS_CHANNEL = "general"


@dataclass(frozen=True)
class DemoOptions:
    """What ``jibe-alerts demo`` was asked for."""

    config: str | None = None
    records: int = 5000
    seconds: float = 15.0
    group_wait: str = "3s"
    group_interval: str = "4s"
    resolve_timeout: str = "6s"
    out: str = "demo-out"
    seed: int = 7
    slack_token: str | None = None
    channel: str = "#alerts"


def run_demo(options: DemoOptions) -> int:
    """Run the demo; return the exit code."""
    config = Path(options.config) if options.config else REPO_CONFIG
    if not config.is_file():
        print(f"demo: no config at {config}; pass --config PATH (config/logging.json of the "
              "repository)", file=sys.stderr)
        return 1
    out = Path(options.out).resolve()
    for name in ("info.log", "errors.log", "slack-dead-letter.jsonl"):
        (out / name).unlink(missing_ok=True)  # each demo run starts with fresh files
    with _slack(options) as slack:
        _set_environment(options, out, slack)
        try:
            watcher = configure(config, watch_interval=0)
        except ConfigError as error:
            print(error, file=sys.stderr)
            return 1
        digest = logging.getLogger("jibe.provider").handlers
        print(f"jibe-alerts demo: {options.records:,} simulated Jibe records over "
              f"{options.seconds:g}s → {'a local Slack stand-in' if slack else 'Slack'} "
              f"({options.channel})")
        _simulate(options, digest)
        print("\nclosing handlers (they deliver everything still pending)…")
        logging.shutdown()
        watcher.stop()
        stats = [h.stats() for h in digest if hasattr(h, "stats")]
        _report(options, slack, out, stats)
    return 0


@contextlib.contextmanager
def _slack(options: DemoOptions) -> Iterator[SlackStandIn | None]:
    if options.slack_token:
        yield None
        return
    with SlackStandIn() as slack:
        yield slack


def _set_environment(options: DemoOptions, out: Path, slack: SlackStandIn | None) -> None:
    os.environ.update({
        "SLACK_BOT_TOKEN": options.slack_token or DEFAULT_TOKEN,
        "JIBE_SLACK_CHANNEL": options.channel,
        "JIBE_SLACK_ERRORS_CHANNEL": "#" + ERRORS_CHANNEL,
        "JIBE_LOG_DIR": str(out),
        "JIBE_GROUP_WAIT": options.group_wait,
        "JIBE_GROUP_INTERVAL": options.group_interval,
        "JIBE_RESOLVE_TIMEOUT": options.resolve_timeout,
        "JIBE_CONSOLE_LEVEL": "CRITICAL",
    })
    if slack is not None:
        os.environ["JIBE_SLACK_BASE_URL"] = slack.base_url
    else:
        os.environ.pop("JIBE_SLACK_BASE_URL", None)


def _simulate(options: DemoOptions, digest: list[logging.Handler]) -> None:
    sim = JibeSimulator(seed=options.seed, start=time.time())
    started = time.monotonic()
    emitted = 0
    shown = 0.0
    while emitted < options.records:
        emitted += sim.step()
        # Spread the records over the requested time so the window's timers play out.
        target = started + options.seconds * min(1.0, emitted / options.records)
        time.sleep(max(0.0, target - time.monotonic()))
        if time.monotonic() - shown >= (0.25 if sys.stdout.isatty() else 2.0):
            shown = time.monotonic()
            _progress(emitted, options.records, digest)
    _progress(emitted, options.records, digest)
    # Let the last records' group_wait pass so they go out as digests, not only at close.
    time.sleep(parse_duration(options.group_wait) + 1.5)
    for handler in digest:
        handler.flush()
    _progress(emitted, options.records, digest)


def _progress(done: int, total: int, digest: list[logging.Handler]) -> None:
    counts: dict[str, int] = {}
    for handler in digest:
        stats = getattr(handler, "stats", None)
        if callable(stats):
            counts = stats()
    line = (f"  simulating Jibe: {min(done, total):,}/{total:,} records · digests posted "
            f"{counts.get('posted', 0)}, updated {counts.get('updated', 0)}, "
            f"open groups {counts.get('groups', 0)}")
    sys.stdout.write(f"\r{line}   " if sys.stdout.isatty() else line + "\n")
    sys.stdout.flush()


def _report(options: DemoOptions, slack: SlackStandIn | None, out: Path,
            stats: list[dict[str, int]]) -> None:
    if slack is not None:
        channel = options.channel.removeprefix("#")
        messages = slack.messages(channel)
        print(f"\n{len(messages)} digest(s) in #{channel}, as Slack shows them:\n")
        for message in messages:
            print(preview_message(message, channel=channel))
            print()
        errors = slack.messages(ERRORS_CHANNEL)
        records = sum(len(m.attachments) for m in errors)
        print(f"#{ERRORS_CHANNEL}: {len(errors)} message(s) from the per-record SlackLogHandler "
              f"({records} ERROR records of jibe.bucket/reports/syncevent), the last one:\n")
        if errors:
            print(preview_message(errors[-1], channel=ERRORS_CHANNEL))
    for counts in stats:
        shown = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()) if v)
        print(f"digest handler: {shown}")
    print(f"\nlog files (every record, as the file handlers wrote them): {out}")
    for path in sorted(out.glob("*")):
        lines = sum(1 for _ in path.open(encoding="utf-8", errors="replace"))
        print(f"  {path.name}: {lines:,} lines")
    if slack is not None:
        print("\nTo post to a real workspace: jibe-alerts demo --slack-token xoxb-… "
              "--channel '#your-channel' (see README: creating the Slack app).")
