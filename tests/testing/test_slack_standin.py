"""The Slack stand-in, driven by the real ``slack_sdk.WebClient`` over loopback HTTP."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from jibe_alerts.testing.slack_standin import Fault, SlackStandIn

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERAL, ALERTS = "C0000GENERAL", "C0000ALERTS"
DIVIDER = {"type": "divider"}
TS_PATTERN = re.compile(r"^\d{10}\.\d{6}$")


class FakeClock:
    """A monotonic clock that only moves when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


StandInFactory = Callable[..., SlackStandIn]


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    yield
    leftovers = [t.name for t in threading.enumerate() if t.name.startswith("slack-standin")]
    assert leftovers == []


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_standin(clock: FakeClock) -> Iterator[StandInFactory]:
    started: list[SlackStandIn] = []

    def make(**options: Any) -> SlackStandIn:
        options.setdefault("clock", clock)
        standin = SlackStandIn(**options)
        standin.start()
        started.append(standin)
        return standin

    yield make
    for standin in started:
        standin.stop()


@pytest.fixture
def slack(make_standin: StandInFactory) -> SlackStandIn:
    return make_standin(post_burst=10_000, update_rate_per_min=10_000)


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    return client_for(slack)


def client_for(slack: SlackStandIn, *, token: str | None = None, timeout: float = 2) -> WebClient:
    return WebClient(
        token=token or slack.token,
        base_url=slack.base_url,
        timeout=timeout,  # type: ignore[arg-type]  # hinted int; urllib takes float seconds
        retry_handlers=[],
    )


def api_error(call: Callable[[], object]) -> SlackResponse:
    """Run a client call that must fail and return the response Slack's error carried."""
    with pytest.raises(SlackApiError) as info:
        call()
    response: SlackResponse = info.value.response
    return response


def raw_request(
    url: str, *, body: bytes | None = None, content_type: str = "text/plain"
) -> tuple[int, dict[str, Any]]:
    """Send one plain HTTP request, for what WebClient never sends; return status and JSON."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=2) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return response.status, answer


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def header(text: str, *, text_type: str = "plain_text") -> dict[str, Any]:
    return {"type": "header", "text": {"type": text_type, "text": text}}


def button(*, text: str = "Ack", action_id: str = "ack", value: str = "v") -> dict[str, Any]:
    label = {"type": "plain_text", "text": text}
    return {"type": "button", "text": label, "action_id": action_id, "value": value}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def fields(count: int, *, length: int = 5) -> dict[str, Any]:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * length}] * count}


def context(count: int) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * count}


def with_attachment_blocks(top: int, nested: int) -> dict[str, Any]:
    return {"blocks": [DIVIDER] * top, "attachments": [{"blocks": [DIVIDER] * nested}]}


# Each case: message arguments just over one Block Kit limit, and the same at the limit.
BLOCK_LIMIT_CASES = [
    pytest.param({"blocks": [DIVIDER] * 51}, {"blocks": [DIVIDER] * 50}, id="50-blocks"),
    pytest.param(
        with_attachment_blocks(30, 21), with_attachment_blocks(30, 20), id="attachment-blocks"
    ),
    pytest.param(
        {"blocks": [section("x" * 3001)]}, {"blocks": [section("x" * 3000)]}, id="section-text"
    ),
    pytest.param({"blocks": [fields(11)]}, {"blocks": [fields(10)]}, id="section-fields"),
    pytest.param(
        {"blocks": [fields(1, length=2001)]}, {"blocks": [fields(1, length=2000)]}, id="field-text"
    ),
    pytest.param({"blocks": [header("h" * 151)]}, {"blocks": [header("h" * 150)]}, id="header"),
    pytest.param(
        {"blocks": [header("h", text_type="mrkdwn")]}, {"blocks": [header("h")]}, id="header-type"
    ),
    pytest.param({"blocks": [context(11)]}, {"blocks": [context(10)]}, id="context-elements"),
    pytest.param(
        {"blocks": [actions(*[button()] * 26)]},
        {"blocks": [actions(*[button()] * 25)]},
        id="actions-elements",
    ),
    pytest.param(
        {"blocks": [actions(button(text="b" * 76))]},
        {"blocks": [actions(button(text="b" * 75))]},
        id="button-text",
    ),
    pytest.param(
        {"blocks": [actions(button(action_id="a" * 256))]},
        {"blocks": [actions(button(action_id="a" * 255))]},
        id="action-id",
    ),
    pytest.param(
        {"blocks": [actions(button(value="v" * 2001))]},
        {"blocks": [actions(button(value="v" * 2000))]},
        id="button-value",
    ),
    pytest.param({"blocks": [{"type": "banner"}]}, {"blocks": [DIVIDER]}, id="unknown-type"),
]


class TestLifecycle:
    def test_base_url_points_at_loopback_api(self, slack: SlackStandIn) -> None:
        """The base_url is an http://127.0.0.1 URL on a real port that ends with /api/."""
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*/api/", slack.base_url)

    def test_base_url_needs_start(self) -> None:
        """Asking for base_url before start() says so instead of returning a dead URL."""
        with pytest.raises(RuntimeError, match="start"):
            _ = SlackStandIn().base_url

    def test_context_manager_serves_then_stops(self) -> None:
        """Inside ``with`` the stand-in answers; after it, the port refuses connections."""
        with SlackStandIn() as standin:
            client = client_for(standin)
            assert client.auth_test()["ok"] is True
        with pytest.raises(OSError, match="refused"):
            client.auth_test()

    def test_stop_is_idempotent(self, slack: SlackStandIn) -> None:
        """Stopping twice is harmless."""
        slack.stop()
        slack.stop()

    def test_requests_write_nothing_to_stderr(
        self, slack: SlackStandIn, client: WebClient, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """Served, failed and hung-up requests leave stderr empty."""
        client.auth_test()
        api_error(lambda: client.chat_postMessage(channel="nowhere", text="x"))
        slack.inject("auth.test", Fault.disconnect())
        with pytest.raises(ConnectionError):
            client.auth_test()
        assert capfd.readouterr().err == ""

    def test_tokens_are_never_recorded(self, slack: SlackStandIn, client: WebClient) -> None:
        """Neither a header token nor a form token ends up in the recorded calls."""
        client.auth_test()
        client_for(slack).api_call("auth.test", params={"token": slack.token})
        assert [call.params for call in slack.calls] == [{}, {}]
        assert slack.token not in repr(slack.calls)

    @pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["int", "term"])
    def test_command_line_serves_until_stopped(self, stop_signal: signal.Signals) -> None:
        """The command line prints a working base_url and token, and exits 0 on Ctrl-C or kill."""
        command = [sys.executable, "-m", "jibe_alerts.testing.slack_standin", "--port", "0"]
        with subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True) as proc:
            assert proc.stdout is not None
            first, second = proc.stdout.readline(), proc.stdout.readline()
            base_url = re.search(r"base_url=(\S+)", first)
            token = re.search(r"token=(\S+)", second)
            assert base_url, first
            assert token, second
            client = WebClient(token=token[1], base_url=base_url[1], retry_handlers=[])
            assert client.auth_test()["ok"] is True
            proc.send_signal(stop_signal)
            assert proc.wait(timeout=5) == 0


class TestAuth:
    def test_missing_token_is_not_authed(self, slack: SlackStandIn) -> None:
        """A request without any token gets not_authed."""
        client = WebClient(base_url=slack.base_url, retry_handlers=[])
        assert api_error(client.auth_test)["error"] == "not_authed"

    def test_wrong_token_is_invalid_auth(self, slack: SlackStandIn) -> None:
        """A token the stand-in does not know gets invalid_auth."""
        client = client_for(slack, token="xoxb-wrong")
        assert api_error(client.auth_test)["error"] == "invalid_auth"

    def test_form_token_is_accepted(self, slack: SlackStandIn) -> None:
        """A ``token`` form parameter authenticates like the Authorization header."""
        client = WebClient(base_url=slack.base_url, retry_handlers=[])
        assert client.api_call("auth.test", params={"token": slack.token})["ok"] is True

    def test_auth_test_names_the_bot(self, slack: SlackStandIn, client: WebClient) -> None:
        """auth.test reports the stand-in's bot user and team."""
        response = client.auth_test()
        assert (response["user_id"], response["team_id"]) == (slack.bot_user_id, slack.team_id)

    def test_unknown_method(self, client: WebClient) -> None:
        """A method the stand-in does not implement gets unknown_method."""
        assert api_error(lambda: client.api_call("files.upload"))["error"] == "unknown_method"


class TestRequestFormats:
    def test_get_with_query_string(self, slack: SlackStandIn) -> None:
        """A GET with token and arguments in the query string is answered."""
        query = urlencode({"token": slack.token, "channel": "#alerts"})
        status, body = raw_request(f"{slack.base_url}conversations.info?{query}")
        assert (status, body["channel"]["id"]) == (200, ALERTS)

    def test_token_inside_json_body_is_ignored(self, slack: SlackStandIn) -> None:
        """Like Slack, a token inside a JSON body does not authenticate."""
        body = json.dumps({"token": slack.token, "channel": ALERTS, "text": "x"}).encode()
        url = f"{slack.base_url}chat.postMessage"
        _, answer = raw_request(url, body=body, content_type="application/json")
        assert answer == {"ok": False, "error": "not_authed"}

    def test_malformed_json_is_invalid_json(self, slack: SlackStandIn) -> None:
        """A JSON body that does not parse gets invalid_json."""
        url = f"{slack.base_url}chat.postMessage"
        _, answer = raw_request(url, body=b"{oops", content_type="application/json")
        assert answer["error"] == "invalid_json"

    def test_paths_outside_api_are_404(self, slack: SlackStandIn) -> None:
        """Only /api/ paths are served."""
        with pytest.raises(urllib.error.HTTPError, match="404"):
            raw_request(slack.base_url.removesuffix("api/") + "index.html")


class TestChannels:
    @pytest.mark.parametrize("channel", [ALERTS, "#alerts", "alerts"])
    def test_every_channel_form_reaches_the_channel(
        self, slack: SlackStandIn, client: WebClient, channel: str
    ) -> None:
        """An ID, a #name and a bare name all post to the channel, answered with its ID."""
        response = client.chat_postMessage(channel=channel, text="disk full")
        assert response["channel"] == ALERTS
        assert [m.text for m in slack.messages(ALERTS)] == ["disk full"]
        assert slack.messages(ALERTS)[0].channel == ALERTS

    def test_unknown_channel(self, client: WebClient) -> None:
        """Posting to a channel that does not exist gets channel_not_found."""
        response = api_error(lambda: client.chat_postMessage(channel="#nope", text="x"))
        assert response["error"] == "channel_not_found"

    def test_missing_channel_is_invalid_arguments(self, client: WebClient) -> None:
        """Leaving out the channel argument gets invalid_arguments."""
        response = api_error(lambda: client.api_call("chat.postMessage", json={"text": "x"}))
        assert response["error"] == "invalid_arguments"

    def test_join_lets_the_bot_post(self, make_standin: StandInFactory) -> None:
        """Outside a channel the bot gets not_in_channel until conversations.join."""
        slack = make_standin(member_of=["general"])
        client = client_for(slack)
        response = api_error(lambda: client.chat_postMessage(channel="alerts", text="x"))
        assert response["error"] == "not_in_channel"
        assert client.conversations_join(channel=ALERTS)["channel"]["is_member"] is True
        assert client.chat_postMessage(channel="alerts", text="x")["ok"] is True
        assert client.conversations_join(channel=ALERTS)["warning"] == "already_in_channel"

    def test_history_needs_membership(self, make_standin: StandInFactory) -> None:
        """Reading history of a channel the bot is not in gets not_in_channel."""
        client = client_for(make_standin(member_of=[GENERAL]))
        response = api_error(lambda: client.conversations_history(channel=ALERTS))
        assert response["error"] == "not_in_channel"

    def test_list_pages_with_cursor(self, make_standin: StandInFactory) -> None:
        """conversations.list pages by limit/cursor and reports membership."""
        client = client_for(make_standin(member_of=["alerts"]))
        first = client.conversations_list(limit=1)
        cursor = first["response_metadata"]["next_cursor"]
        second = client.conversations_list(limit=1, cursor=cursor)
        channels = first["channels"] + second["channels"]
        assert [(c["id"], c["is_member"]) for c in channels] == [(GENERAL, False), (ALERTS, True)]
        assert second["response_metadata"]["next_cursor"] == ""

    def test_info_describes_the_channel(self, client: WebClient) -> None:
        """conversations.info answers with the channel's ID and name."""
        channel = client.conversations_info(channel=GENERAL)["channel"]
        assert (channel["id"], channel["name"]) == (GENERAL, "general")

    def test_history_is_newest_first(self, client: WebClient) -> None:
        """conversations.history lists top-level messages newest first, honouring limit."""
        for text in ("one", "two", "three"):
            client.chat_postMessage(channel=ALERTS, text=text)
        response = client.conversations_history(channel=ALERTS, limit=2)
        assert [m["text"] for m in response["messages"]] == ["three", "two"]
        assert response["has_more"] is True


class TestMessageContent:
    def test_no_content_is_no_text(self, client: WebClient) -> None:
        """A message without text, blocks or attachments gets no_text."""
        with pytest.warns(UserWarning, match="text"):
            response = api_error(lambda: client.chat_postMessage(channel=ALERTS))
        assert response["error"] == "no_text"

    def test_text_limit_is_40000_characters(self, slack: SlackStandIn, client: WebClient) -> None:
        """40,000 characters post; 40,001 get msg_too_long and store nothing."""
        assert client.chat_postMessage(channel=ALERTS, text="x" * 40_000)["ok"] is True
        response = api_error(lambda: client.chat_postMessage(channel=ALERTS, text="x" * 40_001))
        assert response["error"] == "msg_too_long"
        assert [len(m.text) for m in slack.messages(ALERTS)] == [40_000]

    def test_form_encoded_blocks_are_parsed(self, slack: SlackStandIn, client: WebClient) -> None:
        """A form body with blocks as a JSON string posts those blocks."""
        blocks = [section("*disk* full")]
        form = {"channel": ALERTS, "text": "disk full", "blocks": json.dumps(blocks)}
        client.api_call("chat.postMessage", data=form)
        assert slack.messages(ALERTS)[0].blocks == blocks

    def test_malformed_blocks_are_invalid_blocks_format(self, client: WebClient) -> None:
        """Blocks that are not a JSON array get invalid_blocks_format."""
        form = {"channel": ALERTS, "text": "x", "blocks": "{not json"}
        response = api_error(lambda: client.api_call("chat.postMessage", data=form))
        assert response["error"] == "invalid_blocks_format"

    def test_ts_is_unique_and_increasing(self, client: WebClient) -> None:
        """Each post gets a fresh Slack-style ts, later posts sorting after earlier ones."""
        stamps = [client.chat_postMessage(channel=ALERTS, text="x")["ts"] for _ in range(3)]
        assert all(TS_PATTERN.match(ts) for ts in stamps)
        assert stamps == sorted(stamps, key=float)
        assert len(set(stamps)) == 3

    def test_author_overrides_are_kept(self, slack: SlackStandIn, client: WebClient) -> None:
        """username, icon_emoji and icon_url are stored on the message."""
        client.chat_postMessage(
            channel=ALERTS, text="x", username="jibe", icon_emoji=":bell:", icon_url="http://i"
        )
        message = slack.messages(ALERTS)[0]
        assert (message.username, message.icon_emoji, message.icon_url) == (
            "jibe",
            ":bell:",
            "http://i",
        )


class TestBlockKitLimits:
    @pytest.mark.parametrize(("over", "at_limit"), BLOCK_LIMIT_CASES)
    def test_just_over_the_limit_is_invalid_blocks(
        self, slack: SlackStandIn, client: WebClient, over: dict[str, Any], at_limit: object
    ) -> None:
        """One past a Block Kit limit gets invalid_blocks, with a reason, and stores nothing."""
        response = api_error(lambda: client.chat_postMessage(channel=ALERTS, text="x", **over))
        assert response["error"] == "invalid_blocks"
        assert response["errors"]
        assert slack.messages(ALERTS) == []

    @pytest.mark.parametrize(("over", "at_limit"), BLOCK_LIMIT_CASES)
    def test_at_the_limit_is_accepted(
        self, slack: SlackStandIn, client: WebClient, over: object, at_limit: dict[str, Any]
    ) -> None:
        """Exactly at a Block Kit limit the message posts."""
        assert client.chat_postMessage(channel=ALERTS, text="x", **at_limit)["ok"] is True
        assert len(slack.messages(ALERTS)) == 1


class TestUpdates:
    def test_update_replaces_text_and_keeps_blocks(
        self, slack: SlackStandIn, client: WebClient
    ) -> None:
        """chat.update changes the text, keeps omitted blocks and counts the edit."""
        ts = client.chat_postMessage(channel=ALERTS, text="3 errors", blocks=[section("3")])["ts"]
        response = client.chat_update(channel="#alerts", ts=ts, text="4 errors")
        assert (response["channel"], response["ts"], response["text"]) == (ALERTS, ts, "4 errors")
        [message] = slack.messages(ALERTS)
        assert (message.text, message.blocks, message.edit_count) == ("4 errors", [section("3")], 1)
        history = client.conversations_history(channel=ALERTS)["messages"]
        assert history[0]["edited"]["user"] == slack.bot_user_id

    def test_unknown_ts_is_message_not_found(self, client: WebClient) -> None:
        """Updating a ts that was never posted gets message_not_found."""
        response = api_error(lambda: client.chat_update(channel=ALERTS, ts="1.000001", text="x"))
        assert response["error"] == "message_not_found"

    def test_missing_ts_is_invalid_arguments(self, client: WebClient) -> None:
        """chat.update without a ts gets invalid_arguments."""
        body = {"channel": ALERTS, "text": "x"}
        response = api_error(lambda: client.api_call("chat.update", json=body))
        assert response["error"] == "invalid_arguments"

    def test_update_checks_content_limits(self, client: WebClient) -> None:
        """chat.update enforces the same text limit as chat.postMessage."""
        ts = client.chat_postMessage(channel=ALERTS, text="x")["ts"]
        response = api_error(lambda: client.chat_update(channel=ALERTS, ts=ts, text="y" * 40_001))
        assert response["error"] == "msg_too_long"


class TestThreads:
    def test_thread_ts_makes_a_reply(self, slack: SlackStandIn, client: WebClient) -> None:
        """A post with thread_ts is nested under its parent, not listed at top level."""
        parent = client.chat_postMessage(channel=ALERTS, text="digest")["ts"]
        client.chat_postMessage(channel="alerts", text="details", thread_ts=parent)
        [message] = slack.messages(ALERTS)
        assert [(r.text, r.thread_ts) for r in message.replies] == [("details", parent)]
        replies = client.conversations_replies(channel=ALERTS, ts=parent)["messages"]
        assert [m["text"] for m in replies] == ["digest", "details"]
        assert replies[0]["reply_count"] == 1

    def test_reply_to_a_reply_joins_the_parent_thread(
        self, slack: SlackStandIn, client: WebClient
    ) -> None:
        """Using a reply's ts as thread_ts files the new reply under the thread's parent."""
        parent = client.chat_postMessage(channel=ALERTS, text="digest")["ts"]
        reply = client.chat_postMessage(channel=ALERTS, text="a", thread_ts=parent)["ts"]
        client.chat_postMessage(channel=ALERTS, text="b", thread_ts=reply)
        assert [r.text for r in slack.messages(ALERTS)[0].replies] == ["a", "b"]

    def test_unknown_thread(self, client: WebClient) -> None:
        """A thread_ts that matches no message gets thread_not_found."""
        response = api_error(
            lambda: client.chat_postMessage(channel=ALERTS, text="x", thread_ts="1.000001")
        )
        assert response["error"] == "thread_not_found"


class TestReactions:
    def test_added_reaction_is_reported(self, slack: SlackStandIn, client: WebClient) -> None:
        """add_reaction shows up in reactions.get and returns Slack's reaction_added event."""
        ts = client.chat_postMessage(channel=ALERTS, text="digest")["ts"]
        event = slack.add_reaction(channel="#alerts", ts=ts, name="white_check_mark", user="U1")
        assert event["type"] == "reaction_added"
        assert event["item"] == {"type": "message", "channel": ALERTS, "ts": ts}
        assert (event["reaction"], event["user"]) == ("white_check_mark", "U1")
        message = client.reactions_get(channel=ALERTS, timestamp=ts)["message"]
        assert message["reactions"] == [{"name": "white_check_mark", "users": ["U1"], "count": 1}]

    def test_bot_reacts_once(self, slack: SlackStandIn, client: WebClient) -> None:
        """reactions.add records the bot's reaction; a second identical one is already_reacted."""
        ts = client.chat_postMessage(channel=ALERTS, text="digest")["ts"]
        client.reactions_add(channel=ALERTS, timestamp=ts, name="eyes")
        response = api_error(
            lambda: client.reactions_add(channel=ALERTS, timestamp=ts, name="eyes")
        )
        assert response["error"] == "already_reacted"
        assert slack.messages(ALERTS)[0].reactions == {"eyes": [slack.bot_user_id]}

    def test_reactions_of_unknown_message(self, client: WebClient) -> None:
        """reactions.get on a ts that was never posted gets message_not_found."""
        response = api_error(lambda: client.reactions_get(channel=ALERTS, timestamp="1.000001"))
        assert response["error"] == "message_not_found"

    def test_add_reaction_to_unknown_message_raises(self, slack: SlackStandIn) -> None:
        """The test helper refuses to react to a message that does not exist."""
        with pytest.raises(LookupError):
            slack.add_reaction(channel=ALERTS, ts="1.000001", name="eyes", user="U1")


class TestPermalinkAndEphemeral:
    def test_permalink_names_channel_and_ts(self, client: WebClient) -> None:
        """chat.getPermalink links to the channel and the ts without its dot."""
        ts = client.chat_postMessage(channel=ALERTS, text="x")["ts"]
        link = client.chat_getPermalink(channel=ALERTS, message_ts=ts)["permalink"]
        assert link.endswith(f"/archives/{ALERTS}/p{ts.replace('.', '')}")

    def test_ephemeral_is_not_stored(self, slack: SlackStandIn, client: WebClient) -> None:
        """chat.postEphemeral answers with a message_ts but leaves the channel empty."""
        response = client.chat_postEphemeral(channel=ALERTS, user="U1", text="only you")
        assert TS_PATTERN.match(response["message_ts"])
        assert slack.messages(ALERTS) == []


class TestUsergroups:
    def test_members_of_a_usergroup(self, slack: SlackStandIn, client: WebClient) -> None:
        """usergroups.users.list returns the members set_usergroup gave, and survives reset."""
        slack.set_usergroup("S0ONCALL", ["U1", "U2"])
        slack.reset()
        assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == ["U1", "U2"]

    def test_unknown_usergroup_is_no_such_subteam(self, client: WebClient) -> None:
        """An ID that names no user group gets Slack's no_such_subteam."""
        response = api_error(lambda: client.usergroups_users_list(usergroup="S0NOPE"))
        assert response["error"] == "no_such_subteam"


class TestRateLimits:
    def test_burst_then_429_then_ok_after_refill(
        self, make_standin: StandInFactory, clock: FakeClock
    ) -> None:
        """Three quick posts pass, the fourth gets 429 + Retry-After and no message until refill."""
        slack = make_standin(post_rate_per_sec=1.0, post_burst=3)
        client = client_for(slack)
        for n in range(3):
            client.chat_postMessage(channel=ALERTS, text=f"post {n}")
        response = api_error(lambda: client.chat_postMessage(channel=ALERTS, text="post 3"))
        assert (response.status_code, response["error"]) == (429, "ratelimited")
        assert response.headers["Retry-After"] == "1"
        assert len(slack.messages(ALERTS)) == 3
        clock.advance(1.0)
        assert client.chat_postMessage(channel=ALERTS, text="post 3")["ok"] is True
        assert [c.status for c in slack.calls] == [200, 200, 200, 429, 200]

    def test_retry_after_rounds_up(self, make_standin: StandInFactory, clock: FakeClock) -> None:
        """At 0.3 posts/s the wait of 3.3 s is announced as Retry-After: 4."""
        client = client_for(make_standin(post_rate_per_sec=0.3, post_burst=1))
        client.chat_postMessage(channel=ALERTS, text="x")
        response = api_error(lambda: client.chat_postMessage(channel=ALERTS, text="x"))
        assert response.headers["Retry-After"] == "4"

    def test_limit_is_per_channel(self, make_standin: StandInFactory) -> None:
        """An exhausted channel does not slow down posting to another channel."""
        client = client_for(make_standin(post_burst=1))
        client.chat_postMessage(channel=ALERTS, text="x")
        api_error(lambda: client.chat_postMessage(channel=ALERTS, text="x"))
        assert client.chat_postMessage(channel=GENERAL, text="x")["ok"] is True

    def test_updates_have_their_own_budget(
        self, make_standin: StandInFactory, clock: FakeClock
    ) -> None:
        """chat.update allows update_rate_per_min in a burst, then 429 until a token refills."""
        slack = make_standin(update_rate_per_min=2)
        client = client_for(slack)
        ts = client.chat_postMessage(channel=ALERTS, text="v0")["ts"]
        client.chat_update(channel=ALERTS, ts=ts, text="v1")
        client.chat_update(channel=ALERTS, ts=ts, text="v2")
        response = api_error(lambda: client.chat_update(channel=ALERTS, ts=ts, text="v3"))
        assert (response.status_code, response.headers["Retry-After"]) == (429, "30")
        assert slack.messages(ALERTS)[0].text == "v2"
        clock.advance(30)
        assert client.chat_update(channel=ALERTS, ts=ts, text="v3")["ok"] is True


class TestFaults:
    def test_rate_limited_fault(self, slack: SlackStandIn, client: WebClient) -> None:
        """An injected rate limit answers 429 with its Retry-After once, then posts normally."""
        slack.inject("chat.postMessage", Fault.rate_limited(retry_after=7))
        response = api_error(lambda: client.chat_postMessage(channel=ALERTS, text="x"))
        assert (response.status_code, response.headers["Retry-After"]) == (429, "7")
        assert response["error"] == "ratelimited"
        assert slack.messages(ALERTS) == []
        assert client.chat_postMessage(channel=ALERTS, text="x")["ok"] is True

    @pytest.mark.parametrize("status", [500, 502, 503])
    def test_http_error_fault(self, slack: SlackStandIn, client: WebClient, status: int) -> None:
        """An injected HTTP error reaches the client as that status, and is recorded."""
        slack.inject("chat.postMessage", Fault.http_error(status))
        response = api_error(lambda: client.chat_postMessage(channel=ALERTS, text="x"))
        assert response.status_code == status
        assert (slack.calls[-1].status, slack.calls[-1].response) == (status, {})
        assert slack.messages(ALERTS) == []

    def test_api_error_fault(self, slack: SlackStandIn, client: WebClient) -> None:
        """An injected API error answers HTTP 200 with that error string."""
        slack.inject("auth.test", Fault.api_error("invalid_auth"))
        response = api_error(client.auth_test)
        assert (response.status_code, response["error"]) == (200, "invalid_auth")

    def test_faults_are_consumed_in_order_per_method(
        self, slack: SlackStandIn, client: WebClient
    ) -> None:
        """Faults apply to their own method only, ``times`` calls each, in injection order."""
        slack.inject("auth.test", Fault.api_error("fatal_error"), times=2)
        slack.inject("auth.test", Fault.http_error(502))
        assert client.chat_postMessage(channel=ALERTS, text="x")["ok"] is True
        assert api_error(client.auth_test)["error"] == "fatal_error"
        assert api_error(client.auth_test)["error"] == "fatal_error"
        assert api_error(client.auth_test).status_code == 502
        assert client.auth_test()["ok"] is True

    def test_hang_times_out_the_client_without_blocking_others(self, slack: SlackStandIn) -> None:
        """A hung request times a 0.5 s client out, others are still served, and stop() is quick."""
        slack.inject("chat.postMessage", Fault.hang(seconds=30))
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            client_for(slack, timeout=0.5).chat_postMessage(channel=ALERTS, text="x")
        assert time.monotonic() - started < 1.5
        assert client_for(slack).auth_test()["ok"] is True
        started = time.monotonic()
        slack.stop()
        assert time.monotonic() - started < 1.0
        assert [c.status for c in slack.calls] == [200, 0]

    def test_short_hang_then_normal_answer(self, slack: SlackStandIn, client: WebClient) -> None:
        """A hang shorter than the client's timeout only delays the normal answer."""
        slack.inject("chat.postMessage", Fault.hang(seconds=0.1))
        started = time.monotonic()
        assert client.chat_postMessage(channel=ALERTS, text="late")["ok"] is True
        assert time.monotonic() - started >= 0.1
        assert [m.text for m in slack.messages(ALERTS)] == ["late"]

    def test_disconnect_fault(self, slack: SlackStandIn, client: WebClient) -> None:
        """A disconnect closes the socket unanswered: the client sees RemoteDisconnected."""
        slack.inject("chat.postMessage", Fault.disconnect())
        with pytest.raises(http.client.RemoteDisconnected):
            client.chat_postMessage(channel=ALERTS, text="x")
        assert slack.messages(ALERTS) == []
        assert slack.calls[-1].status == 0

    def test_set_down_fails_everything_with_503(
        self, slack: SlackStandIn, client: WebClient
    ) -> None:
        """While down every method gets 503 and queued faults wait; back up, all is normal."""
        slack.inject("auth.test", Fault.api_error("fatal_error"))
        slack.set_down(True)
        assert api_error(client.auth_test).status_code == 503
        down = api_error(lambda: client.chat_postMessage(channel=ALERTS, text="x"))
        assert down.status_code == 503
        slack.set_down(False)
        assert api_error(client.auth_test)["error"] == "fatal_error"
        assert client.chat_postMessage(channel=ALERTS, text="x")["ok"] is True

    def test_fault_arguments_are_checked(self) -> None:
        """Impossible faults are refused when built, not when a request hits them."""
        with pytest.raises(ValueError, match="status"):
            Fault.http_error(200)
        with pytest.raises(ValueError, match="seconds"):
            Fault.hang(-1)


class TestInspection:
    def test_posts_lists_successful_posts_by_channel(
        self, slack: SlackStandIn, client: WebClient
    ) -> None:
        """posts() keeps successful chat.postMessage calls, optionally for one channel."""
        client.chat_postMessage(channel="#alerts", text="a")
        client.chat_postMessage(channel="general", text="g")
        api_error(lambda: client.chat_postMessage(channel="alerts", text="x" * 40_001))
        assert [c.params["text"] for c in slack.posts()] == ["a", "g"]
        assert [c.params["text"] for c in slack.posts("alerts")] == ["a"]

    def test_messages_are_snapshots(self, slack: SlackStandIn, client: WebClient) -> None:
        """Changing a returned message does not change the stand-in's state."""
        client.chat_postMessage(channel=ALERTS, text="x")
        slack.messages(ALERTS)[0].text = "tampered"
        assert slack.messages(ALERTS)[0].text == "x"

    def test_unknown_channel_raises(self, slack: SlackStandIn) -> None:
        """Inspecting a channel the stand-in does not have raises LookupError."""
        with pytest.raises(LookupError, match="nope"):
            slack.messages("nope")

    def test_reset_forgets_everything(self, slack: SlackStandIn, client: WebClient) -> None:
        """reset() clears messages, calls, faults and downtime."""
        client.chat_postMessage(channel=ALERTS, text="x")
        slack.inject("auth.test", Fault.api_error("fatal_error"))
        slack.set_down(True)
        slack.reset()
        assert (slack.messages(ALERTS), slack.calls) == ([], [])
        assert client.auth_test()["ok"] is True


class TestThreadSafety:
    def test_concurrent_posts_are_all_recorded(self, make_standin: StandInFactory) -> None:
        """Eight threads posting to eight channels at once lose no message and reuse no ts."""
        channels = [(f"C000000000{n}", f"team-{n}") for n in range(8)]
        slack = make_standin(channels=channels, post_burst=1000)
        errors: list[BaseException] = []

        def post_ten(channel_id: str) -> None:
            client = client_for(slack)
            try:
                for n in range(10):
                    client.chat_postMessage(channel=channel_id, text=f"{channel_id} {n}")
            except BaseException as error:  # surfaced by the assert below
                errors.append(error)

        threads = [threading.Thread(target=post_ten, args=(cid,)) for cid, _ in channels]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert errors == []
        assert len(slack.posts()) == 80
        for cid, _ in channels:
            assert [m.text for m in slack.messages(cid)] == [f"{cid} {n}" for n in range(10)]
        assert len({c.response["ts"] for c in slack.posts()}) == 80
