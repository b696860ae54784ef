"""``jibe-alerts serve``: Slack's buttons, reactions and ``/jibe`` command for the shared window.

Builds the config's ``SlackDigestHandler`` (not attached to any logger: in this process it only
delivers what is due, e.g. the in-place update after an acknowledgement) and serves
:class:`~jibe_alerts.serve.InteractionServer` until SIGTERM or Ctrl-C — or, with
``--socket-mode``, connects to Slack over Socket Mode instead.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from jibe_alerts.commands.mute import NO_SHARED_WINDOW, digest_specs
from jibe_alerts.config_check import resolve_class
from jibe_alerts.config_errors import ConfigError
from jibe_alerts.reload import read_checked
from jibe_alerts.secrets import redact

__all__ = ["APP_TOKEN_ENV", "SIGNING_SECRET_ENV", "run_serve"]

SIGNING_SECRET_ENV = "SLACK_SIGNING_SECRET"  # noqa: S105 - the variable's name, not a secret
APP_TOKEN_ENV = "SLACK_APP_TOKEN"  # noqa: S105 - the variable's name
#: Keys of a dictConfig handler spec that are not constructor arguments.
_NOT_OPTIONS = ("class", "()", ".", "level", "formatter", "filters")


class _Refused(Exception):
    """The command cannot start; the message says why and how to fix it."""


def run_serve(*, config: str, host: str, port: int, socket_mode: bool,
              handler_name: str | None = None) -> int:
    """Serve until SIGTERM/SIGINT; return 0, or 1 (with a message) when it cannot start."""
    try:
        name, spec = _pick_spec(config, handler_name)
        secret = _secret(socket_mode)
        handler = _build(spec)
    except (ConfigError, _Refused) as error:
        print(f"serve: {error}" if isinstance(error, _Refused) else error, file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = _stop_on_signals()
    what = (f"handler {name}, window {spec.get('key_prefix', 'jibe-alerts')} at "
            f"{redact(_redis_url(spec))}")
    try:
        if socket_mode:
            return _serve_socket_mode(handler, secret, stop, what)
        return _serve_http(handler, secret, stop, what, host=host, port=port)
    finally:
        handler.close()


def _pick_spec(config: str, wanted: str | None) -> tuple[str, dict[str, Any]]:
    specs = digest_specs(read_checked(config)[0])
    if wanted is not None:
        if wanted not in specs:
            raise _Refused(f"{config} has no SlackDigestHandler named {wanted!r} "
                           f"(it has: {', '.join(specs) or 'none'})")
        specs = {wanted: specs[wanted]}
    if not specs:
        raise _Refused(f"{config} has no jibe_alerts.SlackDigestHandler to serve")
    windows = {(_redis_url(s), s.get("key_prefix", "jibe-alerts")) for s in specs.values()}
    if len(windows) > 1:
        raise _Refused(f"{config} has digest handlers on different windows "
                       f"({', '.join(specs)}); pick one with --handler NAME (one serve each)")
    name, spec = next(iter(specs.items()))
    if not _redis_url(spec):
        raise _Refused(NO_SHARED_WINDOW)
    if not spec.get("interactive"):
        print(f"serve: note: handler {name} has no \"interactive\": true, so its digests "
              "carry no Acknowledge/Mute buttons (reactions and /jibe still work)",
              file=sys.stderr)
    return name, spec


def _redis_url(spec: dict[str, Any]) -> str:
    return str(spec.get("redis_url") or os.environ.get("JIBE_REDIS_URL") or "")


def _secret(socket_mode: bool) -> str:
    if socket_mode:
        token = os.environ.get(APP_TOKEN_ENV, "").strip()
        if not token.startswith("xapp-"):
            raise _Refused(f"--socket-mode needs {APP_TOKEN_ENV}: an app-level token (xapp-…) "
                           "with the connections:write scope (Basic Information → App-Level "
                           "Tokens), and Socket Mode switched on in the app's settings")
        return token
    secret = os.environ.get(SIGNING_SECRET_ENV, "").strip()
    if not secret:
        raise _Refused(f"set {SIGNING_SECRET_ENV} to the app's Signing Secret (Basic "
                       "Information → App Credentials): every request is verified with it")
    return secret


def _build(spec: dict[str, Any]) -> Any:
    options = {k: v for k, v in spec.items() if k not in _NOT_OPTIONS}
    try:
        return resolve_class(spec["class"])(**options)
    except (TypeError, ValueError) as error:
        raise _Refused(f"cannot build the digest handler: {redact(str(error))}") from None


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def stop_now(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stop_now)
    signal.signal(signal.SIGINT, stop_now)
    return stop


def _serve_http(handler: Any, secret: str, stop: threading.Event, what: str, *, host: str,
                port: int) -> int:
    from jibe_alerts.serve import InteractionServer  # noqa: PLC0415 - fast --help

    server = InteractionServer(handler, signing_secret=secret, host=host, port=port)
    try:
        server.start()
    except OSError as error:
        print(f"serve: cannot listen on {host}:{port}: {error}", file=sys.stderr)
        return 1
    print(f"jibe-alerts serve: {what}; listening on {server.url} "
          f"(health: http://{host}:{server.port}/healthz)", flush=True)
    stop.wait()
    server.stop()
    return 0


def _serve_socket_mode(handler: Any, app_token: str, stop: threading.Event, what: str) -> int:
    from slack_sdk.web import WebClient  # noqa: PLC0415

    from jibe_alerts.interactions import Interactions  # noqa: PLC0415 - fast --help
    from jibe_alerts.serve import SlackCalls, run_socket_mode  # noqa: PLC0415
    from jibe_alerts.slack_delivery import resolve_base_url  # noqa: PLC0415

    calls = SlackCalls()
    interactions = Interactions.for_handler(handler, background=calls)
    web_client = WebClient(base_url=resolve_base_url(handler.options.base_url), timeout=10)
    print(f"jibe-alerts serve: {what}; connecting to Slack over Socket Mode", flush=True)
    try:
        run_socket_mode(interactions, app_token=app_token, web_client=web_client, stop=stop)
    except Exception as error:  # e.g. invalid_auth from apps.connections.open
        print(f"serve: Socket Mode failed: {redact(str(error))}", file=sys.stderr)
        return 1
    finally:
        calls.stop()
    return 0
