"""The HTTP side of the Slack stand-in: a quiet threaded server that parses Web API requests.

The server knows nothing about Slack: it turns each request into an ``ApiRequest``, asks its
``respond`` callable for a ``Reply`` (None means: hang up without answering) and writes it.
"""

from __future__ import annotations

import json
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlsplit

from jibe_alerts.testing._standin_replies import JsonDict, Reply

API_PREFIX = "/api/"
# A client that opens a connection and sends nothing must not pin a handler thread for long.
READ_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One Web API call as received: the method, its merged arguments (no token) and the token."""

    method: str
    params: JsonDict
    token: str | None
    body_error: str | None = None


Responder = Callable[[ApiRequest], Reply | None]


class StandInServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer with daemon handler threads that ``join_handlers`` can wait for."""

    daemon_threads = True
    block_on_close = False  # stop() waits for handlers itself, with a deadline
    # The default backlog of 5 drops SYNs when a few clients connect at once, and the kernel
    # retries them only after a second.
    request_queue_size = 128
    # Bounds handle_request() should the listening socket turn out not to be readable after all.
    timeout = 0.5

    def __init__(self, address: tuple[str, int], respond: Responder) -> None:
        super().__init__(address, _Handler)
        self.respond = respond
        self._handlers: set[threading.Thread] = set()
        self._handlers_lock = threading.Lock()
        self._wake_reader, self._wake_writer = socket.socketpair()

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host, which stalls offline."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def serve_until_woken(self) -> None:
        """Accept connections until ``wake`` is called (no polling, so stopping is immediate)."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while True:
                events = selector.select()
                if any(key.fileobj is self._wake_reader for key, _ in events):
                    return
                self.handle_request()

    def wake(self) -> None:
        """Make ``serve_until_woken`` return."""
        self._wake_writer.send(b"x")

    def server_close(self) -> None:
        """Close the listening socket and the wake-up pair."""
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        """Handle the connection on a new daemon thread, remembered for ``join_handlers``."""
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="slack-standin-request",
            daemon=True,
        )
        with self._handlers_lock:
            self._handlers = {t for t in self._handlers if t.is_alive()}
            self._handlers.add(thread)
        thread.start()

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        """Stay silent: a client that hung up mid-answer is expected, and stderr must stay clean."""

    def join_handlers(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds in total for in-flight handler threads to finish."""
        deadline = time.monotonic() + timeout
        with self._handlers_lock:
            threads = list(self._handlers)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class _Handler(BaseHTTPRequestHandler):
    server: StandInServer
    protocol_version = "HTTP/1.0"  # one request per connection: nothing idles in keep-alive
    server_version = "SlackStandIn/1.0"
    disable_nagle_algorithm = True  # headers and body go out as two writes
    timeout = READ_TIMEOUT_SECONDS

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: requests carry tokens, and tests want a quiet stderr."""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        if not url.path.startswith(API_PREFIX):
            self._send(Reply.plain(404, "Not Found"))
            return
        reply = self.server.respond(self._api_request(url))
        if reply is None:
            self.close_connection = True
            return
        self._send(reply)

    def _api_request(self, url: SplitResult) -> ApiRequest:
        params: JsonDict = dict(parse_qsl(url.query, keep_blank_values=True))
        body_error = self._merge_body(params)
        form_token = params.pop("token", None)
        token = _bearer_token(self.headers.get("Authorization")) or form_token
        method = url.path.removeprefix(API_PREFIX)
        return ApiRequest(method, params, token if isinstance(token, str) else None, body_error)

    def _merge_body(self, params: JsonDict) -> str | None:
        """Merge the body's arguments into ``params``; return Slack's error for a bad body."""
        raw = self._read_body()
        if not raw:
            return None
        content_type = self.headers.get_content_type()
        if content_type == "application/x-www-form-urlencoded":
            params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
            return None
        if content_type != "application/json":
            return "invalid_post_type"
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return "invalid_json"
        if not isinstance(data, dict):
            return "invalid_json"
        # Slack ignores a token inside a JSON body: JSON callers must use the Authorization header.
        data.pop("token", None)
        params.update(data)
        return None

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, reply: Reply) -> None:
        if reply.body is None:
            data, content_type = reply.text.encode(), "text/plain; charset=utf-8"
        else:
            data, content_type = json.dumps(reply.body).encode(), "application/json; charset=utf-8"
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            # The client gave up (e.g. it timed out during an injected hang): nobody to tell.
            self.close_connection = True


def _bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()
