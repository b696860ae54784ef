"""The ``jibe-alerts`` command: ``demo``, ``check``, ``send-test``, ``status``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from jibe_alerts import __version__

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jibe-alerts",
        description="Calm, grouped Slack digests from Python logging.",
    )
    parser.add_argument("--version", action="version", version=f"jibe-alerts {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run the Jibe simulator into digests, offline (local Slack stand-in)",
        description="Simulate Jibe's provider log stream and show the Slack digests it becomes. "
                    "Offline by default: a local Slack stand-in receives the messages.")
    demo.add_argument("--config", help="dictConfig JSON file (default: config/logging.json)")
    demo.add_argument("--records", type=int, default=5000, help="records to simulate (5000)")
    demo.add_argument("--seconds", type=float, default=15.0,
                      help="spread the records over this long (15)")
    demo.add_argument("--group-wait", default="3s", help="first digest after (3s)")
    demo.add_argument("--group-interval", default="4s", help="in-place updates at most every (4s)")
    demo.add_argument("--resolve-timeout", default="6s", help="resolve after this silence (6s)")
    demo.add_argument("--out", default="demo-out", help="folder for the log files (demo-out)")
    demo.add_argument("--seed", type=int, default=7, help="simulator seed (7)")
    demo.add_argument("--slack-token", help="post to a real Slack workspace with this bot token")
    demo.add_argument("--channel", default="#alerts", help="channel for the digests (#alerts)")

    check = commands.add_parser(
        "check", help="validate a dictConfig file and explain any problem",
        description="Validate a JSON dictConfig file: exit 0 if it can be applied, 1 if not "
                    "(each problem named by key path, with a fix).")
    check.add_argument("path", help="the JSON dictConfig file")

    send = commands.add_parser(
        "send-test", help="send one test message through a configured Slack handler",
        description="Send one test message through a Slack handler of a config file and print "
                    "what Slack answered (tokens redacted).")
    send.add_argument("--config", required=True, help="the JSON dictConfig file")
    send.add_argument("--handler", help="handler name (default: the first Slack handler)")

    status = commands.add_parser(
        "status", help="show the shared (Redis) window: incidents, lease, counters",
        description="Show the open incidents of the shared digest window, who holds the flush "
                    "lease, and the counters. Exit 1 when Redis cannot be reached.")
    status.add_argument("--redis", help="Redis URL (default: $JIBE_REDIS_URL or --config's)")
    status.add_argument("--config", help="take redis_url from this dictConfig file")
    status.add_argument("--prefix", help="key prefix (default: jibe-alerts)")
    status.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "check":
        from jibe_alerts.commands.check import run_check  # noqa: PLC0415 - fast --help

        return run_check(args.path)
    if args.command == "send-test":
        from jibe_alerts.commands.send_test import run_send_test  # noqa: PLC0415

        return run_send_test(args.config, args.handler)
    if args.command == "status":
        from jibe_alerts.commands.status import run_status  # noqa: PLC0415

        return run_status(redis_url=args.redis, config=args.config, prefix=args.prefix,
                          as_json=args.json)
    from jibe_alerts.commands.demo import DemoOptions, run_demo  # noqa: PLC0415

    return run_demo(DemoOptions(
        config=args.config, records=args.records, seconds=args.seconds,
        group_wait=args.group_wait, group_interval=args.group_interval,
        resolve_timeout=args.resolve_timeout, out=args.out, seed=args.seed,
        slack_token=args.slack_token, channel=args.channel))


if __name__ == "__main__":
    sys.exit(main())
