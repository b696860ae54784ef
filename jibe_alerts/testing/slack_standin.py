"""A local stand-in for Slack's Web API that the real ``slack_sdk.WebClient`` talks to.

    with SlackStandIn() as slack:
        client = WebClient(token=slack.token, base_url=slack.base_url)
        client.chat_postMessage(channel="#alerts", text="disk full")
        assert slack.messages("alerts")[0].text == "disk full"

It answers like Slack (HTTP 200 with ``{"ok": false, "error": ...}`` for API errors, HTTP 429 with
``Retry-After`` when rate limited), enforces the limits a digest bot can hit (message length, Block
Kit limits, per-channel posting rate) and can be told to fail on purpose (``inject``,
``set_down``). Run ``python -m jibe_alerts.testing.slack_standin --port 8765`` for a manual demo.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from types import FrameType, TracebackType
from typing import Any

from jibe_alerts.testing._standin_buckets import BucketSet
from jibe_alerts.testing._standin_faults import Fault, FaultKind, FaultQueue
from jibe_alerts.testing._standin_http import ApiRequest, StandInServer
from jibe_alerts.testing._standin_methods import SlackMethods
from jibe_alerts.testing._standin_replies import ApiError, Identity, Reply, ratelimited
from jibe_alerts.testing._standin_workspace import Channel, Message, Workspace

__all__ = ["DEFAULT_TOKEN", "Call", "Fault", "Message", "SlackStandIn", "main"]

DEFAULT_TOKEN = "xoxb-test-token"  # noqa: S105 - the stand-in's fake token, not a secret
DEFAULT_CHANNELS = (("C0000GENERAL", "general"), ("C0000ALERTS", "alerts"))
STOP_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Call:
    """One request the stand-in received and its answer (status 0: it hung up without one).

    ``params`` are the merged query, form and JSON arguments without the token; ``response`` is
    the JSON answer, or ``{}`` when the answer was not JSON (an injected HTTP error, or down).
    """

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float


class SlackStandIn:
    """A threaded HTTP server on 127.0.0.1 that speaks enough of Slack's Web API for jibe-alerts."""

    def __init__(
        self,
        *,
        tokens: Sequence[str] = (DEFAULT_TOKEN,),
        channels: Sequence[tuple[str, str]] = DEFAULT_CHANNELS,
        member_of: Iterable[str] | None = None,
        post_rate_per_sec: float = 1.0,
        post_burst: int = 3,
        update_rate_per_min: int = 50,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not tokens or not all(tokens):
            raise ValueError("tokens must hold at least one non-empty token")
        self._tokens = tuple(tokens)
        self._clock = clock
        self._address = (host, port)
        self._identity = Identity()
        self._workspace = Workspace(channels=channels, member_of=member_of)
        self._post_limits = BucketSet(
            capacity=post_burst, rate_per_sec=post_rate_per_sec, clock=clock
        )
        self._update_limits = BucketSet(
            capacity=update_rate_per_min, rate_per_sec=update_rate_per_min / 60, clock=clock
        )
        self._methods = SlackMethods(
            workspace=self._workspace,
            identity=self._identity,
            tokens=self._tokens,
            post_limits=self._post_limits,
            update_limits=self._update_limits,
        )
        self._lock = threading.Lock()
        self._faults = FaultQueue()
        self._calls: list[Call] = []
        self._down = False
        self._stopping = threading.Event()
        self._server: StandInServer | None = None
        self._serve_thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind the port and serve on a daemon thread; raises RuntimeError if already started."""
        if self._server is not None:
            raise RuntimeError("the Slack stand-in is already running")
        self._stopping.clear()
        server = StandInServer(self._address, self._respond)
        thread = threading.Thread(
            target=server.serve_until_woken, name="slack-standin", daemon=True
        )
        thread.start()
        self._server, self._serve_thread = server, thread

    def stop(self) -> None:
        """Stop serving, wake injected hangs, and wait (bounded) for handler threads; idempotent."""
        server, thread = self._server, self._serve_thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.wake()
        thread.join(STOP_TIMEOUT_SECONDS)
        server.server_close()
        server.join_handlers(STOP_TIMEOUT_SECONDS)
        self._server = self._serve_thread = None

    def __enter__(self) -> SlackStandIn:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- identity -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The URL to give ``WebClient(base_url=...)``, ending in ``/api/``; needs ``start()``."""
        if self._server is None:
            raise RuntimeError("start the Slack stand-in before asking for its base_url")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    @property
    def token(self) -> str:
        """The first accepted bot token, for building a client."""
        return self._tokens[0]

    @property
    def bot_user_id(self) -> str:
        """The bot's user ID, as auth.test reports it and as messages carry it."""
        return self._identity.bot_user_id

    @property
    def team_id(self) -> str:
        """The workspace's team ID, as auth.test reports it."""
        return self._identity.team_id

    # -- inspection ---------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request received so far, in arrival order, rejected ones included."""
        with self._lock:
            return list(self._calls)

    def messages(self, channel: str) -> list[Message]:
        """A snapshot of a channel's top-level messages, oldest first, replies nested inside."""
        with self._lock:
            found = self._channel(channel)
            return copy.deepcopy(self._workspace.top_level(found.id))

    def posts(self, channel: str | None = None) -> list[Call]:
        """Successful chat.postMessage calls, optionally only those to ``channel``."""
        with self._lock:
            channel_id = None if channel is None else self._channel(channel).id
            return [
                call
                for call in self._calls
                if call.method == "chat.postMessage"
                and call.response.get("ok") is True
                and (channel_id is None or call.response.get("channel") == channel_id)
            ]

    def reset(self) -> None:
        """Forget messages, calls, faults, rate-limit state and downtime; memberships restart."""
        with self._lock:
            self._workspace.clear()
            self._calls.clear()
            self._faults.clear()
            self._post_limits.clear()
            self._update_limits.clear()
            self._down = False

    # -- steering -----------------------------------------------------------------------------

    def add_reaction(self, *, channel: str, ts: str, name: str, user: str) -> dict[str, Any]:
        """Add ``user``'s reaction to a message; return the ``reaction_added`` event Slack sends.

        Raises LookupError when the channel or message does not exist.
        """
        with self._lock:
            found = self._channel(channel)
            message = self._workspace.find(found.id, ts)
            if message is None:
                raise LookupError(f"no message {ts} in {found.id}")
            users = message.reactions.setdefault(name, [])
            if user not in users:
                users.append(user)
            return {
                "type": "reaction_added",
                "user": user,
                "reaction": name,
                "item_user": message.user,
                "item": {"type": "message", "channel": found.id, "ts": ts},
                "event_ts": self._workspace.next_ts(),
            }

    def set_usergroup(self, usergroup: str, users: Sequence[str]) -> None:
        """Create or replace user group ``usergroup`` (an ``S…`` ID) with members ``users``, as
        ``usergroups.users.list`` reports them; ``reset`` keeps user groups."""
        with self._lock:
            self._workspace.usergroups[usergroup] = tuple(users)

    def inject(self, method: str, fault: Fault, *, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``fault``, after earlier faults."""
        with self._lock:
            self._faults.add(method, fault, times)

    def set_down(self, down: bool) -> None:
        """While down, every request gets HTTP 503 (queued faults wait until it is back up)."""
        with self._lock:
            self._down = down

    # -- request handling (handler threads) ---------------------------------------------------

    def _respond(self, request: ApiRequest) -> Reply | None:
        with self._lock:
            if self._down:
                return self._record(request, Reply.plain(503, "Service Unavailable"))
            fault = self._faults.pop(request.method)
        if fault is not None and fault.kind is FaultKind.HANG:
            # Wait outside the lock so other requests flow; stop() cuts the wait short.
            if self._stopping.wait(fault.seconds):
                with self._lock:
                    return self._record(request, None)
            fault = None
        with self._lock:
            if fault is not None:
                return self._record(request, _fault_reply(fault))
            reply = self._methods.dispatch(
                request.method, request.params, request.token, request.body_error
            )
            return self._record(request, reply)

    def _record(self, request: ApiRequest, reply: Reply | None) -> Reply | None:
        """Append the call to ``calls``; the caller holds the lock."""
        self._calls.append(
            Call(
                method=request.method,
                params=copy.deepcopy(request.params),
                status=0 if reply is None else reply.status,
                response=copy.deepcopy(reply.body) if reply and reply.body else {},
                at=self._clock(),
            )
        )
        return reply

    def _channel(self, ref: str) -> Channel:
        channel = self._workspace.resolve(ref)
        if channel is None:
            raise LookupError(f"the stand-in has no channel {ref!r}")
        return channel


def _fault_reply(fault: Fault) -> Reply | None:
    """The answer an injected (non-hang) fault gives; None means hang up without one."""
    if fault.kind is FaultKind.RATE_LIMITED:
        return ratelimited(fault.retry_after).reply()
    if fault.kind is FaultKind.HTTP_ERROR:
        try:
            phrase = HTTPStatus(fault.status).phrase
        except ValueError:  # a status without a registered name, e.g. 599
            phrase = "Error"
        return Reply.plain(fault.status, phrase)
    if fault.kind is FaultKind.API_ERROR:
        return ApiError(fault.error).reply()
    return None


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stand-in in the foreground until Ctrl-C or SIGTERM; print base_url and token."""
    parser = argparse.ArgumentParser(
        prog="python -m jibe_alerts.testing.slack_standin",
        description="Serve a local stand-in of Slack's Web API for slack_sdk clients.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port, 0 for any (default: %(default)s)"
    )
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="bot token to accept")
    args = parser.parse_args(argv)
    # `kill` should stop the demo as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    with SlackStandIn(tokens=(args.token,), host=args.host, port=args.port) as slack:
        channels = ", ".join(f"#{name} ({cid})" for cid, name in DEFAULT_CHANNELS)
        print(f"Slack stand-in: base_url={slack.base_url}", flush=True)
        print(f"token={slack.token}  channels: {channels}  (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
