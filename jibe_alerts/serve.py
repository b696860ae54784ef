"""Slack's requests for a digest handler, over HTTP (:class:`InteractionServer`) or Socket Mode.

HTTP: ``POST /slack/events`` takes the Events API, interactivity (buttons) and the ``/jibe``
slash command — point all three Request URLs of the Slack app at it — and ``GET /healthz``
answers ``ok`` (503 when the shared window's Redis is unreachable). Every POST is checked before
anything is parsed, and nothing changes in the window unless all checks pass:

* ``Content-Length`` missing, invalid or over 1 MiB: 413 (the body is not read);
* signature headers missing, signature wrong (``slack_sdk``'s ``SignatureVerifier``), or a
  timestamp more than 5 minutes old or ahead: 401;
* a body that is not UTF-8, JSON or a form Slack sends, or a payload without the fields Slack
  always sends: 400. Any other path: 404.

A request already seen (same timestamp and signature) is answered 200 and not applied again.
Neither the signing secret nor any token, header or body is ever logged or echoed.

Socket Mode: :func:`run_socket_mode` routes the envelopes of ``slack_sdk``'s built-in
``SocketModeClient`` through the same :class:`~jibe_alerts.interactions.Interactions`.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web import WebClient

from jibe_alerts.interactions import Answer, Interactions, PayloadError

if TYPE_CHECKING:
    from jibe_alerts.digest_handler import SlackDigestHandler

__all__ = ["EVENTS_PATH", "HEALTH_PATH", "MAX_BODY", "InteractionServer", "SlackCalls",
           "SocketModeListener", "run_socket_mode"]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1 << 20
#: Slack's own rule: a request signed longer ago (or ahead) than this is refused.
MAX_AGE = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_MAX_FORM_FIELDS = 50
#: After refusing a request whose body was not read, discard at most this much of it for at
#: most ``_DRAIN_SECONDS`` so that closing does not reset the connection under the answer.
_DRAIN_BYTES, _DRAIN_SECONDS = 4 * MAX_BODY, 1.0


class Readable(Protocol):
    """Where a request body is read from (the handler's ``rfile``)."""

    def read(self, size: int, /) -> bytes:
        """Return at most ``size`` bytes."""


@dataclass(frozen=True)
class Reply:
    """An HTTP answer; ``close`` when the request's body was left unread."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    close: bool = False

    @classmethod
    def text(cls, status: int, text: str, *, close: bool = False) -> Reply:
        """Return a plain-text answer."""
        return cls(status, (text + "\n").encode(), close=close)

    @classmethod
    def of(cls, answer: Answer) -> Reply:
        """Return 200 with ``answer``'s JSON body (or an empty body)."""
        if answer.body is None:
            return cls(200)
        return cls(200, json.dumps(answer.body).encode(), "application/json; charset=utf-8")


class SlackCalls:
    """Runs Slack calls on one daemon thread, so a request is answered without waiting for them.

    At most ``limit`` calls wait; more are dropped and logged (Slack would be far behind anyway).
    """

    def __init__(self, *, limit: int = 1000) -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=limit)
        self._thread = threading.Thread(target=self._run, name="jibe-serve-slack", daemon=True)
        self._thread.start()

    def __call__(self, call: Callable[[], None]) -> None:
        """Queue ``call``; never blocks."""
        try:
            self._queue.put_nowait(call)
        except queue.Full:
            log.warning("too many Slack calls waiting; one ephemeral note was dropped")

    def stop(self, timeout: float = 5.0) -> None:
        """Let the queued calls run for at most ``timeout`` seconds, then stop the thread."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while (call := self._queue.get()) is not None:
            try:
                call()
            except Exception:
                log.exception("a Slack call failed")


class _SeenRequests:
    """Signatures of the requests of the last ``MAX_AGE`` seconds (each applies once)."""

    def __init__(self, *, clock: Callable[[], float], limit: int = 100_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._clock, self._limit = clock, limit
        self._lock = threading.Lock()

    def first_time(self, signature: str) -> bool:
        """Remember ``signature``; return False if it was seen within the window."""
        now = self._clock()
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) < now
                                  or len(self._seen) >= self._limit):
                self._seen.popitem(last=False)
            if signature in self._seen:
                return False
            self._seen[signature] = now + 2 * MAX_AGE
            return True


class InteractionServer:
    """Serves Slack's requests for ``handler`` on a background thread (see the module docstring).

        server = InteractionServer(handler, signing_secret=os.environ["SLACK_SIGNING_SECRET"])
        server.start()          # http://127.0.0.1:3000/slack/events
        ...
        server.stop()

    Works with the embedded store too (the endpoint then runs inside the application process).
    ``port=0`` takes a free port (see :attr:`port`). Raises ``ValueError`` for an empty secret.
    """

    def __init__(self, handler: SlackDigestHandler, *, signing_secret: str,
                 host: str = "127.0.0.1", port: int = 3000,
                 interactions: Interactions | None = None) -> None:
        self.verifier = SignatureVerifier(signing_secret)  # ValueError when empty
        self.calls = SlackCalls()
        self.interactions = interactions or Interactions.for_handler(handler,
                                                                     background=self.calls)
        self._seen = _SeenRequests(clock=time.monotonic)
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind the address and serve on a daemon thread; raises ``OSError`` if it is taken."""
        if self._httpd is not None:
            raise RuntimeError("the interaction server is already running")
        httpd = _HTTPServer(self._address, _Endpoint)
        httpd.app = self
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                  name="jibe-serve-http", daemon=True)
        thread.start()
        self._httpd, self._thread = httpd, thread

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting requests and let queued Slack calls finish (bounded); idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        httpd.shutdown()
        thread.join(timeout)
        httpd.server_close()
        self._httpd = self._thread = None
        self.calls.stop(timeout)

    def __enter__(self) -> InteractionServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port served (the real one when ``port=0`` was asked); needs ``start()``."""
        if self._httpd is None:
            raise RuntimeError("start the interaction server first")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The Request URL to give Slack (``http://host:port/slack/events``)."""
        return f"http://{self._address[0]}:{self.port}{EVENTS_PATH}"

    # -- requests (handler threads) -----------------------------------------------------------

    def length_problem(self, headers: Mapping[str, str]) -> Reply | None:
        """Return the 413 for a missing, invalid or too large ``Content-Length``, else None."""
        raw = _header(headers, "content-length")
        if raw is None or not raw.isascii() or not raw.isdigit():
            return Reply.text(413, "a Content-Length (at most 1 MiB) is required", close=True)
        if int(raw) > MAX_BODY:
            return Reply.text(413, "request body too large (at most 1 MiB)", close=True)
        return None

    def post(self, path: str, headers: Mapping[str, str], body_file: Readable) -> Reply:
        """Check, parse and apply one POST (see the module docstring for the answers)."""
        if path.split("?", 1)[0] != EVENTS_PATH:
            return Reply.text(404, "not found", close=True)
        text = self._read(headers, body_file)
        if isinstance(text, Reply):
            return text
        refused = self._verify(headers, text)
        if refused is not None:
            return refused
        try:
            kind, payload = parse_body(_header(headers, "content-type") or "", text)
            answer = self.interactions.handle(kind, payload)
        except PayloadError as error:
            log.warning("refused a signed request: %s", error)
            return Reply.text(400, "not a Slack payload")
        except Exception:
            log.exception("could not apply a Slack request")
            return Reply.text(500, "internal error")
        log.info("%s", answer.note)
        return Reply.of(answer)

    def _read(self, headers: Mapping[str, str], body_file: Readable) -> str | Reply:
        problem = self.length_problem(headers)
        if problem is not None:
            return problem
        length = int(_header(headers, "content-length") or 0)
        body = body_file.read(length)
        if len(body) != length:
            return Reply.text(400, "incomplete body", close=True)
        try:
            return body.decode()
        except UnicodeDecodeError:
            return Reply.text(400, "the body is not UTF-8")

    def _verify(self, headers: Mapping[str, str], text: str) -> Reply | None:
        timestamp = _header(headers, "x-slack-request-timestamp")
        signature = _header(headers, "x-slack-signature")
        if not timestamp or not signature or not _TIMESTAMP.fullmatch(timestamp):
            log.warning("refused a request without Slack's signature headers")
            return Reply.text(401, "unauthorized")
        if not self.verifier.is_valid(body=text, timestamp=timestamp, signature=signature):
            log.warning("refused a request with a bad or expired signature")
            return Reply.text(401, "unauthorized")
        if not self._seen.first_time(signature):
            log.info("ignored a request seen before (same signature)")
            return Reply(200)
        return None

    def get(self, path: str) -> Reply:
        """Answer ``GET /healthz``: 200 ``ok``, or 503 when the store reports Redis down."""
        if path.split("?", 1)[0] != HEALTH_PATH:
            return Reply.text(404, "not found")
        try:
            up = self.interactions.store.counters().get("redis_up", 1)
        except Exception:
            log.exception("the health check could not read the store")
            up = 0
        return Reply.text(200, "ok") if up else Reply.text(503, "redis down")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Return header ``name`` (lower case) of ``headers``, whatever the case of its keys."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def parse_body(content_type: str, text: str) -> tuple[str, dict[str, Any]]:
    """Return (Socket Mode kind, payload) of a Slack request body.

    JSON is the Events API (``events_api``); a form with ``payload`` is interactivity
    (``interactive``); a form with ``command`` is a slash command (``slash_commands``).
    Raises :class:`PayloadError` for anything else.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json":
        return "events_api", _json_object(text)
    if media != "application/x-www-form-urlencoded":
        raise PayloadError(f"unexpected content type {media[:60]!r}")
    try:
        form = parse_qs(text, keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS)
    except ValueError:
        raise PayloadError("too many form fields") from None
    fields = {name: values[0] for name, values in form.items()}
    if "payload" in fields:
        return "interactive", _json_object(fields["payload"])
    if "command" in fields:
        return "slash_commands", fields
    raise PayloadError("a form without payload or command")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise PayloadError("the body is not JSON") from None
    if not isinstance(value, dict):
        raise PayloadError("the JSON body is not an object")
    return value


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    app: InteractionServer


class _Endpoint(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: A client that stalls mid-request is dropped after this long.
    timeout = 10
    server: _HTTPServer

    def do_POST(self) -> None:
        self._send(self.server.app.post(self.path, self._headers(), self.rfile))

    def do_GET(self) -> None:
        self._send(self.server.app.get(self.path))

    def handle_expect_100(self) -> bool:
        problem = self.server.app.length_problem(self._headers())
        if problem is None:
            return super().handle_expect_100()
        self._send(problem)
        return False

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(reply.body)
        self._unread_body = reply.close

    def finish(self) -> None:
        super().finish()
        if getattr(self, "_unread_body", False):
            _drain(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line may carry a query string: log the method and path only.
        log.debug("%s %s -> %s", self.command, self.path.split("?", 1)[0],
                  args[1] if len(args) > 1 else "")


def _drain(connection: socket.socket) -> None:
    """Send FIN, then discard what the client still sends (bounded): closing a socket with
    unread data resets the connection, and the client could lose the answer."""
    try:
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(_DRAIN_SECONDS / 4)
        deadline, left = time.monotonic() + _DRAIN_SECONDS, _DRAIN_BYTES
        while left > 0 and time.monotonic() < deadline:
            chunk = connection.recv(min(left, 65536))
            if not chunk:
                return
            left -= len(chunk)
    except OSError:
        return


# -- Socket Mode ------------------------------------------------------------------------------


class SocketModeListener:
    """Applies each Socket Mode envelope through ``interactions``, then acknowledges it (with
    the ephemeral answer of a slash command as the response payload)."""

    def __init__(self, interactions: Interactions) -> None:
        self.interactions = interactions

    def __call__(self, client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        try:
            answer = self.interactions.handle(request.type, request.payload)
            log.info("%s", answer.note)
        except PayloadError as error:
            log.warning("ignored a Socket Mode %s envelope: %s", request.type, error)
            answer = Answer()
        except Exception:
            log.exception("could not apply a Socket Mode %s envelope", request.type)
            answer = Answer()
        payload = answer.body if request.accepts_response_payload else None
        client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))


def run_socket_mode(interactions: Interactions, *, app_token: str, web_client: WebClient,
                    stop: threading.Event) -> None:
    """Connect to Slack with ``app_token`` (``xapp-…``) and apply its envelopes until ``stop``
    is set. Raises what ``SocketModeClient.connect`` raises (e.g. an invalid token)."""
    client = SocketModeClient(app_token=app_token, web_client=web_client)
    client.socket_mode_request_listeners.append(SocketModeListener(interactions))
    try:
        client.connect()
        stop.wait()
    finally:
        client.close()
