"""The ``jibe-alerts`` command: ``demo``, ``check``, ``send-test``, ``status``, ``serve``,
``mute``, ``unmute``."""

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

    serve = commands.add_parser(
        "serve", help="serve Slack's Acknowledge/Mute buttons, ack reactions and /jibe",
        description="Receive Slack's interactivity, Events API (reactions) and /jibe slash "
                    "command on POST /slack/events (verified with $SLACK_SIGNING_SECRET), or "
                    "over Socket Mode ($SLACK_APP_TOKEN), and apply them to the shared window.")
    serve.add_argument("--config", required=True, help="the JSON dictConfig file")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=int, default=3000, help="port, 0 for any free one (3000)")
    serve.add_argument("--socket-mode", action="store_true",
                       help="connect to Slack over Socket Mode instead of serving HTTP")
    serve.add_argument("--handler", help="digest handler name (default: the config's only one)")

    for verb, what in (("mute", "leave a logger's or group's records out of digests"),
                       ("unmute", "lift a mute")):
        sub = commands.add_parser(
            verb, help=what, description=f"{what[0].upper()}{what[1:]} in the shared (Redis) "
                                         "window that every digest handler reads.")
        sub.add_argument("target", help="a logger name (its children too) or a group key")
        if verb == "mute":
            sub.add_argument("--for", dest="duration", metavar="DURATION",
                             help='how long, e.g. "2h", "30m" (default: until unmuted)')
        sub.add_argument("--config", help="take redis_url from this dictConfig file")
        sub.add_argument("--redis", help="Redis URL (default: --config's, or $JIBE_REDIS_URL)")
        sub.add_argument("--prefix", help="key prefix (default: the config's or jibe-alerts)")
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
    if args.command in ("serve", "mute", "unmute"):
        return _run_window_command(args)
    from jibe_alerts.commands.demo import DemoOptions, run_demo  # noqa: PLC0415

    return run_demo(DemoOptions(
        config=args.config, records=args.records, seconds=args.seconds,
        group_wait=args.group_wait, group_interval=args.group_interval,
        resolve_timeout=args.resolve_timeout, out=args.out, seed=args.seed,
        slack_token=args.slack_token, channel=args.channel))


def _run_window_command(args: argparse.Namespace) -> int:
    """``serve``, ``mute`` and ``unmute``: the commands that act on the shared window."""
    if args.command == "serve":
        from jibe_alerts.commands.serve import run_serve  # noqa: PLC0415

        return run_serve(config=args.config, host=args.host, port=args.port,
                         socket_mode=args.socket_mode, handler_name=args.handler)
    from jibe_alerts.commands.mute import run_mute, run_unmute  # noqa: PLC0415

    if args.command == "mute":
        return run_mute(args.target, duration=args.duration, redis_url=args.redis,
                        config=args.config, prefix=args.prefix)
    return run_unmute(args.target, redis_url=args.redis, config=args.config,
                      prefix=args.prefix)


if __name__ == "__main__":
    sys.exit(main())
