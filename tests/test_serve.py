"""``jibe-alerts serve`` end to end: a real serve process over HTTP, signed like Slack signs,
the shared window in a private redis-server, the Slack stand-in; the in-process
``InteractionServer``; Socket Mode routing; ``jibe-alerts mute``/``unmute``."""

from __future__ import annotations

import http.client
import json
import logging
import math
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from jibe_alerts.cli import main
from jibe_alerts.digest_handler import SlackDigestHandler
from jibe_alerts.digest_render import ACK_ACTION, ACK_ALL_ACTION, MUTE_ACTION
from jibe_alerts.interactions import NOT_ALLOWED, Interactions
from jibe_alerts.serve import InteractionServer, SocketModeListener
from jibe_alerts.stores.memory import MemoryStore
from jibe_alerts.stores.redis import RedisStore, describe_window
from jibe_alerts.testing.redis_server import RedisServer
from jibe_alerts.testing.slack_standin import Fault, SlackStandIn
from tests.conftest import TOKEN, FakeClock
from tests.test_interactions import (
    ALICE,
    BOB,
    acked_by,
    block_actions,
    event_callback,
    post_digest,
    slash,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SECRET = "e3b0c44298fc1c149afbf4c8996fb924"
FORM = "application/x-www-form-urlencoded"
MIB = 1 << 20


# -- signing and sending ----------------------------------------------------------------------


def signed(body: str, *, age: float = 0.0, secret: str = SECRET) -> dict[str, str]:
    """Slack's signature headers for ``body``, signed ``age`` seconds ago."""
    timestamp = str(int(time.time() - age))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


def form(payload: dict[str, Any]) -> str:
    """An interactivity body: the payload JSON in the ``payload`` form field."""
    return urlencode({"payload": json.dumps(payload)})


@dataclass
class Response:
    """What the server answered."""

    status: int
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def send(base: str, path: str, body: bytes | str | None = None, *,
         headers: dict[str, str] | None = None, content_type: str = FORM) -> Response:
    """Send one request (POST when there is a body, else GET) and return the answer."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        data = body.encode() if isinstance(body, str) else body
        all_headers = {"Content-Type": content_type, **(headers or {})}
        connection.request("GET" if data is None else "POST", path, body=data,
                           headers=all_headers)
        answer = connection.getresponse()
        return Response(answer.status, answer.read())
    finally:
        connection.close()


def post_signed(base: str, body: str, *, content_type: str = FORM,
                age: float = 0.0) -> Response:
    """POST ``body`` to /slack/events, signed as Slack signs it."""
    return send(base, "/slack/events", body, headers=signed(body, age=age),
                content_type=content_type)


def raw_request(base: str, head: str) -> bytes:
    """Send ``head`` (request line and headers, no body) over a socket; return the answer."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname or "", url.port or 80), timeout=5) as sock:
        sock.sendall(head.encode())
        return sock.recv(4096)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


# -- the window shared with the serve process -------------------------------------------------


def redis_acks(store: RedisStore) -> dict[str, str | None]:
    """Group key → who acknowledged it, as any process reading the window sees it."""
    return {i["key"]: i["acked_by"] for i in describe_window(store, time.time())["incidents"]}


@dataclass
class Posted:
    """A digest posted by a handler of the test process into the shared window."""

    handler: SlackDigestHandler
    channel: str
    ts: str
    keys: list[str]

    @property
    def store(self) -> RedisStore:
        """The test process's view of the shared window."""
        assert isinstance(self.handler.store, RedisStore)
        return self.handler.store


@pytest.fixture
def posted(slack: SlackStandIn, redis_url: str) -> Iterator[Posted]:
    """Two groups logged into the shared window by this process, posted as one digest."""
    handler = SlackDigestHandler(TOKEN, "#alerts", base_url=slack.base_url, redis_url=redis_url,
                                 interactive=True, group_wait=0, flush_interval=0.1)
    logger = logging.getLogger("jibe.provider")
    logger.propagate = False
    logger.addHandler(handler)
    logger.warning("Providers Still Sync Delayed: %s", ["Eng Cloud - 1 days"])
    logger.error("Provider sync task crashed - %s", "Marketing Assets")
    handler.flush()
    wait_until(lambda: len(slack.messages("alerts")) == 1)
    (message,) = slack.messages("alerts")
    wait_until(lambda: len(handler.store.message_keys(message.channel, message.ts)) == 2)
    yield Posted(handler, message.channel, message.ts,
                 handler.store.message_keys(message.channel, message.ts))
    handler.close()


# -- the serve process ------------------------------------------------------------------------


def write_config(tmp_path: Path, slack: SlackStandIn, redis_url: str | None,
                 **options: Any) -> Path:
    """A dictConfig with one interactive digest handler on the stand-in and ``redis_url``."""
    handler: dict[str, Any] = {
        "class": "jibe_alerts.SlackDigestHandler", "api_key": TOKEN, "channel": "#alerts",
        "base_url": slack.base_url, "interactive": True, "group_wait": "0s",
        "flush_interval": 0.1, **options}
    if redis_url:
        handler["redis_url"] = redis_url
    config = {"version": 1, "disable_existing_loggers": False, "handlers": {"digest": handler},
              "loggers": {"jibe.provider": {"level": "WARNING", "handlers": ["digest"]}}}
    path = tmp_path / "logging.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def serve_env(**extra: str) -> dict[str, str]:
    """The environment of a serve process: the signing secret, no stray window settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("JIBE_REDIS_URL", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")}
    return {**env, "SLACK_SIGNING_SECRET": SECRET, **extra}


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The next stdout line of ``process``, or "" if none comes within ``timeout`` seconds."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline() if ready else ""


@dataclass
class Served:
    """A running ``jibe-alerts serve`` process."""

    base: str
    process: subprocess.Popen[str]
    log: Path


@pytest.fixture
def serve(tmp_path: Path, slack: SlackStandIn, redis_url: str) -> Iterator[
        Callable[..., Served]]:
    """Starts ``jibe-alerts serve --port 0`` (options go to the digest handler); stops it with
    SIGTERM afterwards and checks it exited cleanly without logging a secret."""
    started: list[Served] = []

    def start(**options: Any) -> Served:
        config = write_config(tmp_path, slack, redis_url, **options)
        log = tmp_path / f"serve-{len(started)}.log"
        with log.open("w") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "jibe_alerts.cli", "serve", "--config", str(config),
                 "--port", "0"], stdout=subprocess.PIPE, stderr=err, text=True,
                env=serve_env(), cwd=REPO_ROOT)
        line = read_line(process, 20)
        found = re.search(r"listening on (http://[0-9.]+:[0-9]+)/slack/events", line)
        if found is None:
            process.kill()
            process.wait()
            pytest.fail(f"serve did not start: {line!r} {log.read_text()}")
        served = Served(found.group(1), process, log)
        started.append(served)
        return served

    yield start
    for served in started:
        served.process.terminate()
        try:
            code = served.process.wait(10)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait()
            code = -9
        if served.process.stdout is not None:
            served.process.stdout.close()
        text = served.log.read_text()
        assert code == 0, text
        assert SECRET not in text and TOKEN not in text


class TestServeProcess:
    def test_signed_acknowledge_then_stale_replay_is_refused(
            self, serve: Callable[..., Served], posted: Posted, slack: SlackStandIn) -> None:
        """A signed Acknowledge is in the window before the answer and the digest is updated
        to say who; the same click signed 6 minutes ago is refused with 401."""
        served = serve()
        click = block_actions(ACK_ACTION, posted.keys[0], channel=posted.channel, ts=posted.ts)
        answer = post_signed(served.base, form(click))
        assert (answer.status, answer.body) == (200, b"")
        assert redis_acks(posted.store) == {posted.keys[0]: ALICE, posted.keys[1]: None}

        def updated() -> bool:
            return any(c.method == "chat.update" and c.response.get("ok")
                       and f"Acknowledged by <@{ALICE}>" in json.dumps(c.params["blocks"])
                       for c in slack.calls)
        wait_until(updated, timeout=5)
        stale = form({**click, "user": {"id": BOB}})
        assert post_signed(served.base, stale, age=360).status == 401
        assert redis_acks(posted.store)[posted.keys[0]] == ALICE

    def test_bad_requests_change_nothing(self, serve: Callable[..., Served], posted: Posted,
                                         redis_url: str) -> None:
        """Forged, unsigned, future-dated, oversized, length-less, garbage and misrouted
        requests get 401/401/401/413/413/400/400/404 and leave the window as it was."""
        served = serve()
        body = form(block_actions(ACK_ALL_ACTION, "all", channel=posted.channel, ts=posted.ts))
        forged = signed(body, secret="not-the-secret")
        assert send(served.base, "/slack/events", body, headers=forged).status == 401
        assert send(served.base, "/slack/events", body).status == 401
        ahead = {**signed(body), "X-Slack-Request-Timestamp": str(int(time.time()) + 360)}
        ahead["X-Slack-Signature"] = SignatureVerifier(SECRET).generate_signature(
            timestamp=ahead["X-Slack-Request-Timestamp"], body=body) or ""
        assert send(served.base, "/slack/events", body, headers=ahead).status == 401
        huge = "payload=" + "x" * (2 * MIB)
        assert send(served.base, "/slack/events", huge, headers=signed(huge)).status == 413
        no_length = raw_request(served.base, "POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                                             "Transfer-Encoding: chunked\r\n\r\n")
        assert no_length.startswith(b"HTTP/1.1 413")
        assert post_signed(served.base, "{not json", content_type="application/json"
                           ).status == 400
        assert post_signed(served.base, "payload=%7Bnot+json").status == 400
        assert send(served.base, "/slack/other", body, headers=signed(body)).status == 404
        assert set(redis_acks(posted.store).values()) == {None}
        assert posted.store.mutes(time.time()) == {}
        assert send(served.base, "/slack/events", None).status == 404  # GET

    def test_reaction_acknowledges_the_digest(self, serve: Callable[..., Served],
                                              posted: Posted, slack: SlackStandIn) -> None:
        """An :eyes: reaction_added event acknowledges every group of the digest."""
        served = serve()
        event = slack.add_reaction(channel="#alerts", ts=posted.ts, name="eyes", user=BOB)
        body = json.dumps(event_callback(event))
        assert post_signed(served.base, body, content_type="application/json").status == 200
        assert set(redis_acks(posted.store).values()) == {BOB}

    def test_slash_mute_status_unmute(self, serve: Callable[..., Served],
                                      posted: Posted) -> None:
        """/jibe mute, status and unmute answer ephemerally and change the shared mutes."""
        served = serve()

        def run(text: str) -> str:
            answer = post_signed(served.base, urlencode(slash(text)))
            assert answer.status == 200
            assert answer.json()["response_type"] == "ephemeral"
            return str(answer.json()["text"])

        assert "Muted `jibe.bucket` until" in run("mute jibe.bucket 2h")
        until = posted.store.mutes(time.time())["jibe.bucket"]
        assert 7190 < until - time.time() <= 7200
        assert "2 open incident(s), 1 mute(s)" in run("status")
        assert run("unmute jibe.bucket") == "Unmuted `jibe.bucket`."
        assert posted.store.mutes(time.time()) == {}

    def test_allow_list_refuses_others(self, serve: Callable[..., Served], posted: Posted,
                                       slack: SlackStandIn) -> None:
        """With ack_users, anyone else's click changes nothing and gets the ephemeral
        refusal in the channel."""
        served = serve(ack_users=[BOB])
        body = form(block_actions(ACK_ALL_ACTION, "all", channel=posted.channel, ts=posted.ts))
        assert post_signed(served.base, body).status == 200

        def refused() -> bool:
            return any(c.method == "chat.postEphemeral" and c.params.get("text") == NOT_ALLOWED
                       and c.params.get("user") == ALICE
                       and c.params.get("channel") == posted.channel for c in slack.calls)
        wait_until(refused, timeout=5)
        assert set(redis_acks(posted.store).values()) == {None}

    def test_url_verification_and_health(self, serve: Callable[..., Served],
                                         redis_server: RedisServer, redis_url: str) -> None:
        """The URL check gets its challenge; /healthz is ok, and 503 while Redis is down."""
        served = serve()
        check = json.dumps({"type": "url_verification", "token": "x", "challenge": "c-7"})
        answer = post_signed(served.base, check, content_type="application/json")
        assert answer.json() == {"challenge": "c-7"}
        assert send(served.base, "/healthz") == Response(200, b"ok\n")
        redis_server.pause()
        try:
            assert send(served.base, "/healthz").status == 503
        finally:
            redis_server.resume()
        wait_until(lambda: send(served.base, "/healthz").status == 200, timeout=10)

    @pytest.mark.parametrize(("with_secret", "with_window", "says"), [
        (False, True, "SLACK_SIGNING_SECRET"), (True, False, "no shared window")])
    def test_refuses_to_start(self, tmp_path: Path, slack: SlackStandIn, redis_url: str,
                              with_secret: bool, with_window: bool, says: str) -> None:
        """Without a signing secret, or without a shared window, serve exits 1 saying why."""
        config = write_config(tmp_path, slack, redis_url if with_window else None)
        env = serve_env()
        if not with_secret:
            del env["SLACK_SIGNING_SECRET"]
        done = subprocess.run([sys.executable, "-m", "jibe_alerts.cli", "serve", "--config",
                               str(config), "--port", "0"], capture_output=True, text=True,
                              env=env, cwd=REPO_ROOT, timeout=30, check=False)
        assert done.returncode == 1
        assert says in done.stderr


    def test_socket_mode_needs_an_app_token_and_reports_slack_refusing(
            self, tmp_path: Path, slack: SlackStandIn, redis_url: str) -> None:
        """--socket-mode without an xapp- token exits 1 naming SLACK_APP_TOKEN; with one, a
        Slack that refuses apps.connections.open makes it exit 1 with the error, token unshown."""
        config = write_config(tmp_path, slack, redis_url)
        argv = [sys.executable, "-m", "jibe_alerts.cli", "serve", "--config", str(config),
                "--socket-mode"]
        env = {**serve_env(), "JIBE_SLACK_BASE_URL": slack.base_url}
        del env["SLACK_SIGNING_SECRET"]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                              timeout=30, check=False)
        assert (done.returncode, "SLACK_APP_TOKEN" in done.stderr) == (1, True)
        token = "xapp-1-A0JIBE-secretpart"
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False,
                              env={**env, "SLACK_APP_TOKEN": token}, cwd=REPO_ROOT)
        assert done.returncode == 1
        assert "Socket Mode failed" in done.stderr and "unknown_method" in done.stderr
        assert "secretpart" not in done.stderr + done.stdout


class TestInProcess:
    @pytest.fixture
    def app(self, slack: SlackStandIn, clock: FakeClock) -> Iterator[
            tuple[SlackDigestHandler, InteractionServer, str, str]]:
        """An application's embedded-store handler with a posted digest, and an
        InteractionServer for it on a free port."""
        handler = SlackDigestHandler(TOKEN, "#alerts", base_url=slack.base_url,
                                     interactive=True, group_wait=0, ack_users=[ALICE, BOB],
                                     store=MemoryStore(clock=clock), flush_interval=3600,
                                     clock=clock)
        logger = logging.getLogger("jibe.provider")
        logger.propagate = False
        logger.addHandler(handler)
        logger.warning("Providers Still Sync Delayed: %s", ["Eng Cloud - 1 days"])
        handler.flush()
        (message,) = slack.messages("alerts")
        server = InteractionServer(handler, signing_secret=SECRET, port=0)
        server.start()
        yield handler, server, message.channel, message.ts
        server.stop()
        handler.close()

    def test_embedded_store_acknowledges_over_http(
            self, app: tuple[SlackDigestHandler, InteractionServer, str, str],
            clock: FakeClock) -> None:
        """In the application process, a signed Acknowledge all marks the embedded window."""
        handler, server, channel, ts = app
        base = server.url.removesuffix("/slack/events")
        body = form(block_actions(ACK_ALL_ACTION, "all", channel=channel, ts=ts, user=BOB))
        assert post_signed(base, body).status == 200
        assert set(acked_by(handler.store, clock()).values()) == {BOB}
        assert send(base, "/healthz") == Response(200, b"ok\n")

    def test_a_repeated_request_applies_once(
            self, app: tuple[SlackDigestHandler, InteractionServer, str, str]) -> None:
        """The very same signed request sent twice is answered both times, applied once."""
        _, server, _, _ = app
        base = server.url.removesuffix("/slack/events")
        body = urlencode(slash("mute jibe.bucket"))
        headers = signed(body)
        first = send(base, "/slack/events", body, headers=headers)
        again = send(base, "/slack/events", body, headers=headers)
        assert first.json()["text"].startswith("Muted")
        assert (again.status, again.body) == (200, b"")

    def test_slack_calls_do_not_hold_the_answer(
            self, app: tuple[SlackDigestHandler, InteractionServer, str, str],
            slack: SlackStandIn) -> None:
        """A refusal whose ephemeral note hangs in Slack is still answered at once."""
        _, server, channel, ts = app
        base = server.url.removesuffix("/slack/events")
        slack.inject("chat.postEphemeral", Fault.hang(1.5))
        body = form(block_actions(ACK_ALL_ACTION, "all", channel=channel, ts=ts,
                                  user="U0MALLORY"))
        started = time.monotonic()
        assert post_signed(base, body).status == 200
        assert time.monotonic() - started < 0.5

    def test_oversized_expect_continue_is_refused_before_the_body(
            self, app: tuple[SlackDigestHandler, InteractionServer, str, str]) -> None:
        """A client asking "Expect: 100-continue" for a 2 MiB body gets 413, not a 100."""
        _, server, _, _ = app
        base = server.url.removesuffix("/slack/events")
        answer = raw_request(base, f"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                                   f"Content-Length: {2 * MIB}\r\nExpect: 100-continue\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 413")

    @pytest.mark.parametrize("length", ["Transfer-Encoding: chunked", "Content-Length: abc",
                                        "Content-Length: -1", "Content-Length: 1e3"])
    def test_missing_or_invalid_length_is_413(
            self, app: tuple[SlackDigestHandler, InteractionServer, str, str],
            length: str) -> None:
        """A POST without a plain decimal Content-Length is refused before any read."""
        _, server, _, _ = app
        base = server.url.removesuffix("/slack/events")
        answer = raw_request(base, f"POST /slack/events HTTP/1.1\r\nHost: x\r\n{length}\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 413")

    def test_empty_secret_is_refused(self, slack: SlackStandIn) -> None:
        """An InteractionServer without a signing secret cannot be built."""
        handler = SlackDigestHandler(TOKEN, "#alerts", base_url=slack.base_url)
        try:
            with pytest.raises(ValueError, match="signing_secret"):
                InteractionServer(handler, signing_secret=" ")
        finally:
            handler.close()


class RecordingSocketModeClient(SocketModeClient):
    """The built-in Socket Mode client, recording its acknowledgements instead of sending."""

    def __init__(self) -> None:
        super().__init__(app_token="xapp-1-test")
        self.responses: list[SocketModeResponse] = []

    def send_socket_mode_response(self, response: dict[str, Any] | SocketModeResponse
                                  ) -> None:
        assert isinstance(response, SocketModeResponse)
        self.responses.append(response)


class TestSocketMode:
    @pytest.fixture
    def client(self) -> Iterator[RecordingSocketModeClient]:
        """A recording Socket Mode client, closed (its threads stopped) afterwards."""
        client = RecordingSocketModeClient()
        yield client
        client.close()

    @pytest.fixture
    def digest(self, slack: SlackStandIn, clock: FakeClock) -> Iterator[
            tuple[SlackDigestHandler, str, str]]:
        """An embedded-store handler with a posted two-group digest."""
        posted = post_digest(slack, clock)
        yield posted.handler, posted.channel, posted.ts
        posted.handler.close()

    def test_envelopes_are_applied_and_acknowledged(
            self, client: RecordingSocketModeClient, slack: SlackStandIn, clock: FakeClock,
            digest: tuple[SlackDigestHandler, str, str]) -> None:
        """Interactive, events_api and slash_commands envelopes act like their HTTP twins;
        each is acknowledged, the slash command with its ephemeral answer."""
        handler, channel, ts = digest
        keys = handler.store.message_keys(channel, ts)
        listener = SocketModeListener(Interactions.for_handler(handler, clock=clock))
        listener(client, SocketModeRequest("interactive", "env-1", block_actions(
            MUTE_ACTION, keys[0], channel=channel, ts=ts)))
        event = slack.add_reaction(channel="#alerts", ts=ts, name="eyes", user=BOB)
        listener(client, SocketModeRequest("events_api", "env-2", event_callback(event)))
        listener(client, SocketModeRequest("slash_commands", "env-3", slash("status"),
                                           accepts_response_payload=True))
        assert handler.store.mutes(clock()) == {keys[0]: clock() + 3600}
        assert set(acked_by(handler.store, clock()).values()) == {BOB}
        assert [r.envelope_id for r in client.responses] == ["env-1", "env-2", "env-3"]
        assert client.responses[0].payload is None and client.responses[1].payload is None
        status = client.responses[2].payload
        assert status is not None and status["response_type"] == "ephemeral"
        assert "2 open incident(s), 1 mute(s)" in status["text"]

    def test_raw_envelope_through_the_client(
            self, client: RecordingSocketModeClient, clock: FakeClock,
            digest: tuple[SlackDigestHandler, str, str]) -> None:
        """A WebSocket message as Slack sends it goes through the client's own dispatch."""
        handler, channel, ts = digest
        client.socket_mode_request_listeners.append(
            SocketModeListener(Interactions.for_handler(handler, clock=clock)))
        client.enqueue_message(json.dumps({
            "type": "interactive", "envelope_id": "env-9", "accepts_response_payload": False,
            "payload": block_actions(ACK_ALL_ACTION, "all", channel=channel, ts=ts)}))
        wait_until(lambda: len(client.responses) == 1, timeout=5)
        assert client.responses[0].envelope_id == "env-9"
        assert set(acked_by(handler.store, clock()).values()) == {ALICE}

    def test_malformed_envelope_is_acknowledged_and_ignored(
            self, client: RecordingSocketModeClient, clock: FakeClock,
            digest: tuple[SlackDigestHandler, str, str]) -> None:
        """A payload without its user changes nothing but is still acknowledged (no retry)."""
        handler, channel, ts = digest
        listener = SocketModeListener(Interactions.for_handler(handler, clock=clock))
        payload = block_actions(ACK_ALL_ACTION, "all", channel=channel, ts=ts)
        del payload["user"]
        listener(client, SocketModeRequest("interactive", "env-5", payload))
        assert [r.envelope_id for r in client.responses] == ["env-5"]
        assert set(acked_by(handler.store, clock()).values()) == {None}


class TestMuteCommand:
    def test_mute_and_unmute(self, redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        """mute --for writes a timed mute, mute alone one until unmuted, unmute lifts it."""
        store = RedisStore.from_url(redis_url)
        assert main(["mute", "jibe.bucket", "--for", "2h", "--redis", redis_url]) == 0
        assert "muted jibe.bucket for 2h, until" in capsys.readouterr().out
        assert 7190 < store.mutes(time.time())["jibe.bucket"] - time.time() <= 7200
        assert main(["mute", "jibe.reports", "--redis", redis_url]) == 0
        assert "muted jibe.reports until unmuted" in capsys.readouterr().out
        assert math.isinf(store.mutes(time.time())["jibe.reports"])
        assert main(["unmute", "jibe.bucket", "--redis", redis_url]) == 0
        assert "unmuted jibe.bucket" in capsys.readouterr().out
        assert main(["unmute", "jibe.bucket", "--redis", redis_url]) == 0
        assert "jibe.bucket was not muted" in capsys.readouterr().out
        assert list(store.mutes(time.time())) == ["jibe.reports"]

    def test_mute_takes_the_window_from_the_config(
            self, tmp_path: Path, slack: SlackStandIn, redis_url: str,
            monkeypatch: pytest.MonkeyPatch) -> None:
        """--config finds the digest handler's redis_url."""
        monkeypatch.delenv("JIBE_REDIS_URL", raising=False)
        config = write_config(tmp_path, slack, redis_url)
        assert main(["mute", "jibe.bucket", "--for", "30m", "--config", str(config)]) == 0
        assert "jibe.bucket" in RedisStore.from_url(redis_url).mutes(time.time())

    @pytest.mark.parametrize(("argv", "says"), [
        (["mute", "jibe.bucket"], "no shared window"),
        (["mute", "jibe.bucket", "--for", "soon", "--redis", "redis://127.0.0.1:1"],
         "cannot read 'soon'"),
        (["unmute", "jibe.bucket", "--redis", "redis://127.0.0.1:1"], "cannot be reached"),
    ])
    def test_mute_problems_exit_1(self, argv: list[str], says: str,
                                  monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
        """No window, a bad duration or an unreachable Redis: exit 1 with the reason."""
        monkeypatch.delenv("JIBE_REDIS_URL", raising=False)
        assert main(argv) == 1
        assert says in capsys.readouterr().err


def test_no_threads_left(slack: SlackStandIn) -> None:
    """Starting and stopping an InteractionServer leaves none of its threads behind."""
    handler = SlackDigestHandler(TOKEN, "#alerts", base_url=slack.base_url)
    with InteractionServer(handler, signing_secret=SECRET, port=0):
        pass
    handler.close()
    wait_until(lambda: not [t for t in threading.enumerate()
                            if t.name.startswith("jibe-serve")], timeout=5)
