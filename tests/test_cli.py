"""The jibe-alerts command: check, send-test, demo — as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jibe_alerts.cli import main
from jibe_alerts.testing.slack_standin import SlackStandIn
from tests.conftest import TOKEN

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "logging.json"


class TestCheck:
    """jibe-alerts check explains and sets the exit code."""

    def test_valid_file(self, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
        """The shipped config passes with exit 0 and a summary of handlers and loggers."""
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
        assert main(["check", str(SHIPPED)]) == 0
        out = capsys.readouterr().out
        assert "OK" in out and "alert_slack_handler" in out and "jibe.provider.sync" in out
        assert "secret-value" not in out

    def test_broken_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A broken file exits 1 and names file, key and fix, without a traceback."""
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"version": 1, "loggers": {"x": {"level": "LOUD"}}}))
        assert main(["check", str(path)]) == 1
        err = capsys.readouterr().err
        assert str(path) in err and "loggers.x.level" in err and "Fix:" in err
        assert "Traceback" not in err

    def test_missing_token_variable(self, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
        """Without SLACK_BOT_TOKEN the shipped config says which variable to export."""
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        assert main(["check", str(SHIPPED)]) == 1
        assert "export SLACK_BOT_TOKEN" in capsys.readouterr().err


class TestSendTest:
    """jibe-alerts send-test posts once and shows Slack's answer."""

    def test_sends_through_named_handler(self, slack: SlackStandIn,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
        """The test message reaches the handler's channel; the token is not printed."""
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("JIBE_SLACK_BASE_URL", slack.base_url)
        monkeypatch.setenv("JIBE_SLACK_ERRORS_CHANNEL", "#general")
        assert main(["send-test", "--config", str(SHIPPED), "--handler", "slack_handler"]) == 0
        (message,) = slack.messages("general")
        assert "jibe-alerts test message" in message.text
        out = capsys.readouterr().out
        assert '"ok": true' in out and TOKEN not in out

    def test_reports_slack_refusal(self, slack: SlackStandIn, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
        """A wrong token exits 1 with Slack's error, redacted."""
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong-123456")
        monkeypatch.setenv("JIBE_SLACK_BASE_URL", slack.base_url)
        assert main(["send-test", "--config", str(SHIPPED)]) == 1
        err = capsys.readouterr().err
        assert "invalid_auth" in err and "wrong-123456" not in err


class TestDemo:
    """jibe-alerts demo runs offline and shows digests."""

    def test_demo_runs_offline(self, tmp_path: Path) -> None:
        """A short demo exits 0, prints digests and writes the log files."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JIBE_", "SLACK_"))}
        result = subprocess.run(
            [sys.executable, "-m", "jibe_alerts.cli", "demo", "--records", "600", "--seconds",
             "2", "--group-wait", "1s", "--out", str(tmp_path / "out")],
            capture_output=True, text=True, timeout=90, cwd=tmp_path, env=env, check=False)
        assert result.returncode == 0, result.stderr
        assert "digest(s) in #alerts" in result.stdout
        assert "JIBE PROVIDER ALERTS" in result.stdout
        assert "Traceback" not in result.stderr
        assert (tmp_path / "out" / "info.log").stat().st_size > 0


class TestStatus:
    """jibe-alerts status shows the shared window."""

    def test_status_lists_incidents(self, redis_url: str, slack: SlackStandIn,
                                    capsys: pytest.CaptureFixture[str]) -> None:
        """An open incident appears with its count, level and logger; exit 0 while Redis is up."""
        import logging  # noqa: PLC0415

        from jibe_alerts import SlackDigestHandler  # noqa: PLC0415

        handler = SlackDigestHandler(TOKEN, "#alerts", base_url=slack.base_url,
                                     redis_url=redis_url, group_wait="1h")
        log = logging.getLogger("jibe.provider.sync")
        log.addHandler(handler)
        try:
            for i in range(7):
                log.warning("Providers Still Sync Delayed: %s", [f"Eng Cloud - {i} days"])
            handler.flush()
            assert main(["status", "--redis", redis_url]) == 0
            out = capsys.readouterr().out
            assert "Redis up" in out and "1 open incident(s)" in out
            assert "WARNING" in out and "7" in out and "jibe.provider.sync" in out
            assert main(["status", "--redis", redis_url, "--json"]) == 0
            view = json.loads(capsys.readouterr().out)
            assert view["incidents"][0]["count"] == 7
        finally:
            log.removeHandler(handler)
            handler.close()

    def test_status_without_redis_explains(self, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a Redis URL the command says where one comes from."""
        monkeypatch.delenv("JIBE_REDIS_URL", raising=False)
        assert main(["status"]) == 1
        assert "--redis" in capsys.readouterr().err

    def test_status_unreachable_redis(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An unreachable Redis gives exit 1 and says DOWN, without a traceback."""
        assert main(["status", "--redis", "redis://127.0.0.1:9/0"]) == 1
        captured = capsys.readouterr()
        assert "DOWN" in captured.out and "Traceback" not in captured.err
