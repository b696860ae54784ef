"""What Slack payloads do to a digest's window: buttons, reactions, /jibe, the allow-list."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from jibe_alerts.digest_handler import SlackDigestHandler
from jibe_alerts.digest_render import ACK_ACTION, ACK_ALL_ACTION, MUTE_ACTION
from jibe_alerts.interactions import NOT_ALLOWED, AckGate, Interactions, PayloadError
from jibe_alerts.secrets import Secret
from jibe_alerts.slack_delivery import SlackDelivery, build_client
from jibe_alerts.stores.base import WindowStore
from jibe_alerts.stores.memory import MemoryStore
from jibe_alerts.testing.slack_standin import SlackStandIn
from tests.conftest import TOKEN, FakeClock

ALICE, BOB = "U0ALICE", "U0BOB"


# -- payloads as Slack sends them (shared with test_serve and the benchmark) -------------------


def block_actions(action_id: str, value: str, *, channel: str, ts: str, user: str = ALICE,
                  trigger: str = "1.2.3") -> dict[str, Any]:
    """A ``block_actions`` payload: ``user`` clicked button ``action_id`` of message ``ts``."""
    return {
        "type": "block_actions", "team": {"id": "T0JIBE"}, "trigger_id": trigger,
        "user": {"id": user, "username": user.lower(), "team_id": "T0JIBE"},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel,
                      "is_ephemeral": False},
        "channel": {"id": channel, "name": "alerts"},
        "response_url": "https://hooks.slack.com/actions/T0JIBE/1/x",
        "actions": [{"type": "button", "action_id": action_id, "block_id": f"g:{value}",
                     "value": value, "action_ts": trigger,
                     "text": {"type": "plain_text", "text": "Acknowledge"}}],
    }


def event_callback(event: dict[str, Any]) -> dict[str, Any]:
    """The Events API envelope of ``event``."""
    return {"token": "unused", "team_id": "T0JIBE", "api_app_id": "A0JIBE", "type":
            "event_callback", "event_id": "Ev0001", "event_time": 1_700_000_000,
            "event": event}


def slash(text: str, *, user: str = ALICE, channel: str = "C0000ALERTS") -> dict[str, str]:
    """The form fields of ``/jibe <text>``."""
    return {"command": "/jibe", "text": text, "user_id": user, "user_name": user.lower(),
            "channel_id": channel, "team_id": "T0JIBE", "trigger_id": "9.9.9",
            "response_url": "https://hooks.slack.com/commands/T0JIBE/1/x"}


def acked_by(store: WindowStore, now: float) -> dict[str, str | None]:
    """Group key → who acknowledged it, for every posted group of an embedded store."""
    return {g.key: g.acked_by for _, groups in store.due(now, everything=True).messages
            for g in groups}


def ephemerals(slack: SlackStandIn) -> list[dict[str, Any]]:
    """The params of every chat.postEphemeral the stand-in took."""
    return [c.params for c in slack.calls if c.method == "chat.postEphemeral"
            and c.response.get("ok")]


# -- a posted interactive digest ---------------------------------------------------------------


@dataclass
class Digest:
    """An interactive digest in #alerts with two groups, and the interactions of its handler."""

    handler: SlackDigestHandler
    interactions: Interactions
    channel: str
    ts: str
    keys: list[str]

    @property
    def store(self) -> WindowStore:
        """The handler's window."""
        return self.handler.store


def post_digest(slack: SlackStandIn, clock: FakeClock, **options: Any) -> Digest:
    """Log two groups into a fresh interactive handler and let it post the digest."""
    handler = SlackDigestHandler(
        TOKEN, "#alerts", base_url=slack.base_url, interactive=True, group_wait=0,
        store=MemoryStore(clock=clock), flush_interval=3600, clock=clock, sleep=clock.sleep,
        **options)
    logger = logging.getLogger("jibe.provider")
    logger.propagate = False
    logger.addHandler(handler)
    logger.warning("Providers Still Sync Delayed: %s", ["Eng Cloud - 1 days"])
    logger.error("Provider sync task crashed - %s", "Marketing Assets")
    handler.flush()
    (message,) = slack.messages("alerts")
    keys = handler.store.message_keys(message.channel, message.ts)
    assert len(keys) == 2
    return Digest(handler, Interactions.for_handler(handler, clock=clock), message.channel,
                  message.ts, keys)


@pytest.fixture
def digest(slack: SlackStandIn, clock: FakeClock) -> Iterator[Digest]:
    """A posted two-group digest whose payloads are applied on the test's thread."""
    posted = post_digest(slack, clock)
    clock.advance(2)  # people click a while after the digest appears (ACK_UPDATE_GAP)
    yield posted
    posted.handler.close()


def digest_text(slack: SlackStandIn) -> str:
    """The text of the (only) digest in #alerts, as it stands now."""
    (message,) = slack.messages("alerts")
    return "\n".join(b["text"]["text"] for b in message.blocks if b["type"] == "section")


class TestButtons:
    def test_acknowledge_shows_who_in_the_digest(self, slack: SlackStandIn, clock: FakeClock,
                                                digest: Digest) -> None:
        """Acknowledge marks that group only, and the digest is updated in place to say who
        and when."""
        key = digest.keys[0]
        answer = digest.interactions.handle("interactive", block_actions(
            ACK_ACTION, key, channel=digest.channel, ts=digest.ts))
        assert answer.body is None
        digest.handler.flush()
        assert acked_by(digest.store, clock()) == {key: ALICE, digest.keys[1]: None}
        assert digest_text(slack).count(f"Acknowledged by <@{ALICE}> at 22:13 UTC") == 1

    def test_acknowledge_all(self, clock: FakeClock, digest: Digest) -> None:
        """Acknowledge all marks every group of the message."""
        answer = digest.interactions.handle("interactive", block_actions(
            ACK_ALL_ACTION, "all", channel=digest.channel, ts=digest.ts))
        assert set(acked_by(digest.store, clock()).values()) == {ALICE}
        assert "acknowledged 2 group(s)" in answer.note

    def test_mute_button_mutes_the_group_for_an_hour(self, slack: SlackStandIn,
                                                     clock: FakeClock, digest: Digest) -> None:
        """Mute 1h mutes the group key until an hour from now and tells the user how to undo."""
        key = digest.keys[1]
        digest.interactions.handle("interactive", block_actions(
            MUTE_ACTION, key, channel=digest.channel, ts=digest.ts))
        assert digest.store.mutes(clock()) == {key: clock() + 3600}
        (note,) = ephemerals(slack)
        assert (note["channel"], note["user"]) == (digest.channel, ALICE)
        assert f"/jibe unmute {key}" in note["text"]
        assert set(acked_by(digest.store, clock()).values()) == {None}

    def test_acknowledging_a_resolved_incident_says_so(self, slack: SlackStandIn,
                                                       clock: FakeClock, digest: Digest) -> None:
        """A click on a group that is no longer open changes nothing and tells the user why."""
        digest.interactions.handle("interactive", block_actions(
            ACK_ACTION, "0" * 20, channel=digest.channel, ts=digest.ts))
        assert set(acked_by(digest.store, clock()).values()) == {None}
        assert "resolved" in ephemerals(slack)[0]["text"]

    def test_other_interactions_change_nothing(self, clock: FakeClock, digest: Digest) -> None:
        """A view submission or an unknown action id is ignored."""
        digest.interactions.handle("interactive", {"type": "view_submission"})
        digest.interactions.handle("interactive", block_actions(
            "other.app", digest.keys[0], channel=digest.channel, ts=digest.ts))
        assert set(acked_by(digest.store, clock()).values()) == {None}

    @pytest.mark.parametrize("broken", ["user", "actions", "container_and_channel"])
    def test_payload_without_slack_fields_is_refused(self, clock: FakeClock, digest: Digest,
                                                     broken: str) -> None:
        """A block_actions payload lacking the user, the actions or the channel raises
        PayloadError and changes nothing."""
        payload = block_actions(ACK_ACTION, digest.keys[0], channel=digest.channel,
                                ts=digest.ts)
        for name in broken.split("_and_"):
            del payload[name]
        with pytest.raises(PayloadError):
            digest.interactions.handle("interactive", payload)
        assert set(acked_by(digest.store, clock()).values()) == {None}


class TestReactions:
    def test_eyes_reaction_acknowledges_every_group(self, slack: SlackStandIn,
                                                    clock: FakeClock, digest: Digest) -> None:
        """The ack reaction on a digest acknowledges all its groups and updates it."""
        event = slack.add_reaction(channel="#alerts", ts=digest.ts, name="eyes", user=BOB)
        digest.interactions.handle("events_api", event_callback(event))
        digest.handler.flush()
        assert set(acked_by(digest.store, clock()).values()) == {BOB}
        assert digest_text(slack).count(f"Acknowledged by <@{BOB}>") == 2

    def test_skin_tone_counts_as_the_reaction(self, slack: SlackStandIn, clock: FakeClock,
                                              digest: Digest) -> None:
        """A skin-tone variant of the ack reaction is the same reaction."""
        event = slack.add_reaction(channel="#alerts", ts=digest.ts, name="eyes::skin-tone-3",
                                   user=BOB)
        digest.interactions.handle("events_api", event_callback(event))
        assert set(acked_by(digest.store, clock()).values()) == {BOB}

    def test_other_reactions_and_messages_are_ignored(self, slack: SlackStandIn,
                                                      clock: FakeClock, digest: Digest) -> None:
        """Another emoji, or the ack emoji on a message that is not a digest, changes nothing
        and posts nothing."""
        other = slack.add_reaction(channel="#alerts", ts=digest.ts, name="tada", user=BOB)
        digest.interactions.handle("events_api", event_callback(other))
        plain = slack.add_reaction(channel="#alerts", ts=digest.ts, name="eyes", user=BOB)
        plain["item"]["ts"] = "1700000099.000100"
        answer = digest.interactions.handle("events_api", event_callback(plain))
        assert "not a digest" in answer.note
        assert set(acked_by(digest.store, clock()).values()) == {None}
        assert ephemerals(slack) == []

    def test_configured_reaction(self, slack: SlackStandIn, clock: FakeClock) -> None:
        """With ack_reaction ":white_check_mark:", that emoji acknowledges and :eyes: does not."""
        posted = post_digest(slack, clock, ack_reaction=":white_check_mark:")
        try:
            eyes = slack.add_reaction(channel="#alerts", ts=posted.ts, name="eyes", user=BOB)
            posted.interactions.handle("events_api", event_callback(eyes))
            assert set(acked_by(posted.store, clock()).values()) == {None}
            check = slack.add_reaction(channel="#alerts", ts=posted.ts,
                                       name="white_check_mark", user=BOB)
            posted.interactions.handle("events_api", event_callback(check))
            assert set(acked_by(posted.store, clock()).values()) == {BOB}
        finally:
            posted.handler.close()


class TestEvents:
    def test_url_verification_answers_the_challenge(self, digest: Digest) -> None:
        """Slack's URL check gets its challenge back."""
        answer = digest.interactions.handle(
            "events_api", {"type": "url_verification", "token": "x", "challenge": "c-42"})
        assert answer.body == {"challenge": "c-42"}

    def test_other_events_and_kinds_are_ignored(self, clock: FakeClock,
                                                digest: Digest) -> None:
        """A message event, an app_rate_limited envelope or an unknown kind changes nothing."""
        handle = digest.interactions.handle
        assert handle("events_api", event_callback({"type": "message", "text": "hi"})).body is None
        assert handle("events_api", {"type": "app_rate_limited"}).body is None
        assert handle("hello", {}).body is None
        assert set(acked_by(digest.store, clock()).values()) == {None}


class TestAllowList:
    def test_unlisted_user_is_refused(self, slack: SlackStandIn, clock: FakeClock) -> None:
        """With ack_users set, anyone else's click or reaction changes nothing and gets the
        refusal as an ephemeral note in the channel."""
        posted = post_digest(slack, clock, ack_users=[BOB])
        try:
            posted.interactions.handle("interactive", block_actions(
                ACK_ALL_ACTION, "all", channel=posted.channel, ts=posted.ts))
            posted.interactions.handle("interactive", block_actions(
                MUTE_ACTION, posted.keys[0], channel=posted.channel, ts=posted.ts))
            event = slack.add_reaction(channel="#alerts", ts=posted.ts, name="eyes", user=ALICE)
            posted.interactions.handle("events_api", event_callback(event))
            assert set(acked_by(posted.store, clock()).values()) == {None}
            assert posted.store.mutes(clock()) == {}
            notes = ephemerals(slack)
            assert [(n["channel"], n["user"], n["text"]) for n in notes] == [
                (posted.channel, ALICE, NOT_ALLOWED)] * 3
            posted.interactions.handle("interactive", block_actions(
                ACK_ALL_ACTION, "all", channel=posted.channel, ts=posted.ts, user=BOB))
            assert set(acked_by(posted.store, clock()).values()) == {BOB}
        finally:
            posted.handler.close()

    def test_usergroup_member_may_acknowledge(self, slack: SlackStandIn,
                                              clock: FakeClock) -> None:
        """With ack_usergroups set, a member (usergroups.users.list) may acknowledge and a
        non-member may not."""
        slack.set_usergroup("S0ONCALL", [BOB])
        posted = post_digest(slack, clock, ack_usergroups=["S0ONCALL"])
        try:
            posted.interactions.handle("interactive", block_actions(
                ACK_ACTION, posted.keys[0], channel=posted.channel, ts=posted.ts))
            assert set(acked_by(posted.store, clock()).values()) == {None}
            posted.interactions.handle("interactive", block_actions(
                ACK_ACTION, posted.keys[0], channel=posted.channel, ts=posted.ts, user=BOB))
            assert acked_by(posted.store, clock())[posted.keys[0]] == BOB
        finally:
            posted.handler.close()

    def test_slash_mute_is_refused_in_the_answer(self, slack: SlackStandIn,
                                                 clock: FakeClock) -> None:
        """An unlisted user's /jibe mute is answered with the refusal; /jibe status is open."""
        posted = post_digest(slack, clock, ack_users=[BOB])
        try:
            refused = posted.interactions.handle("slash_commands", slash("mute jibe.bucket"))
            assert refused.body == {"response_type": "ephemeral", "text": NOT_ALLOWED}
            assert posted.store.mutes(clock()) == {}
            status = posted.interactions.handle("slash_commands", slash("status"))
            assert status.body is not None
            assert "2 open incident(s)" in status.body["text"]
        finally:
            posted.handler.close()


class TestMembershipCache:
    @pytest.fixture
    def gate(self, slack: SlackStandIn, clock: FakeClock) -> AckGate:
        """A gate for user group S0ONCALL reading the stand-in, on the fake clock."""
        lookups = SlackDelivery(build_client(Secret(TOKEN), base_url=slack.base_url),
                                max_attempts=1)
        return AckGate(usergroups=["S0ONCALL"], clock=clock, lookup=lambda group: lookups.call(
            "usergroups.users.list", usergroup=group)["users"])

    @staticmethod
    def lookups(slack: SlackStandIn) -> int:
        return sum(c.method == "usergroups.users.list" for c in slack.calls)

    def test_members_are_read_once_a_minute(self, slack: SlackStandIn, clock: FakeClock,
                                            gate: AckGate) -> None:
        """Membership is cached for a minute: a removed member keeps acting until it expires."""
        slack.set_usergroup("S0ONCALL", [BOB])
        assert gate.allows(BOB) and not gate.allows(ALICE)
        slack.set_usergroup("S0ONCALL", [ALICE])
        clock.advance(59)
        assert gate.allows(BOB)
        assert self.lookups(slack) == 1
        clock.advance(2)
        assert gate.allows(ALICE) and not gate.allows(BOB)
        assert self.lookups(slack) == 2

    def test_failed_lookup_refuses_everyone_of_the_group(
            self, slack: SlackStandIn, clock: FakeClock, gate: AckGate,
            caplog: pytest.LogCaptureFixture) -> None:
        """A user group Slack does not know lets nobody in, and is asked again after 10 s."""
        with caplog.at_level(logging.WARNING, "jibe_alerts.interactions"):
            assert not gate.allows(BOB)
        assert "no_such_subteam" in caplog.text
        slack.set_usergroup("S0ONCALL", [BOB])
        assert not gate.allows(BOB)
        clock.advance(11)
        assert gate.allows(BOB)

    def test_no_allow_list_lets_everyone_in_without_lookups(self, slack: SlackStandIn) -> None:
        """Without users or user groups, everyone may act and Slack is never asked."""
        assert AckGate().allows(ALICE)
        assert self.lookups(slack) == 0


class TestSlashCommand:
    @staticmethod
    def run(digest: Digest, text: str, user: str = ALICE) -> str:
        answer = digest.interactions.handle("slash_commands", slash(text, user=user))
        assert answer.body is not None and answer.body["response_type"] == "ephemeral"
        return str(answer.body["text"])

    def test_mute_for_a_duration(self, clock: FakeClock, digest: Digest) -> None:
        """/jibe mute LOGGER 2h mutes it for two hours and says until when."""
        text = self.run(digest, "mute jibe.bucket 2h")
        assert digest.store.mutes(clock()) == {"jibe.bucket": clock() + 7200}
        assert "Muted `jibe.bucket` until 00:13 UTC" in text

    def test_mute_defaults_to_an_hour_and_forever_is_forever(self, clock: FakeClock,
                                                             digest: Digest) -> None:
        """Without a duration a mute lasts an hour; "forever" lasts until unmuted."""
        self.run(digest, "mute jibe.reports")
        text = self.run(digest, f"mute {digest.keys[0]} forever")
        assert digest.store.mutes(clock()) == {"jibe.reports": clock() + 3600,
                                               digest.keys[0]: math.inf}
        assert "until unmuted" in text

    @pytest.mark.parametrize("text", ["mute", "mute jibe.bucket soon", "mute jibe.bucket 0s",
                                      "mute a b c", f"mute {'x' * 201}"])
    def test_bad_mute_explains_usage(self, clock: FakeClock, digest: Digest,
                                     text: str) -> None:
        """A mute without a target, with a bad duration or extra words mutes nothing."""
        assert "Usage: `/jibe mute" in self.run(digest, text)
        assert digest.store.mutes(clock()) == {}

    def test_unmute(self, clock: FakeClock, digest: Digest) -> None:
        """/jibe unmute lifts a mute, and says so when there was none."""
        self.run(digest, "mute jibe.bucket")
        assert self.run(digest, "unmute jibe.bucket") == "Unmuted `jibe.bucket`."
        assert digest.store.mutes(clock()) == {}
        assert self.run(digest, "unmute jibe.bucket") == "`jibe.bucket` was not muted."

    def test_status_counts_incidents_and_lists_mutes(self, clock: FakeClock,
                                                     digest: Digest) -> None:
        """/jibe status gives the open incidents and each mute with its time left."""
        self.run(digest, "mute jibe.bucket 90m")
        text = self.run(digest, "status")
        assert "2 open incident(s), 1 mute(s)" in text
        assert "`jibe.bucket` muted until 23:43 UTC, 1h 30m left" in text

    @pytest.mark.parametrize("text", ["", "help", "HELP"])
    def test_help(self, digest: Digest, text: str) -> None:
        """/jibe and /jibe help list the commands and the ack reaction."""
        answer = self.run(digest, text)
        assert "/jibe mute LOGGER_OR_GROUP [DURATION]" in answer and ":eyes:" in answer

    def test_unknown_command_is_named_escaped(self, digest: Digest) -> None:
        """An unknown word is quoted back escaped (no ping), followed by the help."""
        text = self.run(digest, "<!channel>")
        assert text.startswith("Unknown command `&lt;!channel&gt;`")
        assert "/jibe status" in text

    def test_targets_are_escaped_in_answers(self, digest: Digest) -> None:
        """A mute target is echoed escaped, so it can never ping or link."""
        assert "`&lt;!here&gt;`" in self.run(digest, "mute <!here>")
