"""configure(): apply the dictConfig, re-apply on change, survive broken files, lose nothing."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from jibe_alerts import ConfigError, configure
from jibe_alerts.config_file import JibeDeprecationWarning
from jibe_alerts.testing.slack_standin import SlackStandIn
from tests.conftest import TOKEN

SEED_TOKEN = "xoxb-91872398123-098123987123-KHSQRKQHWEQWEEWQ"


def seed_config(log_dir: Path) -> dict[str, Any]:
    """The seed document's snippets, verbatim, assembled into one dictConfig."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "simpler": {"format": "%(levelname)s - %(message)s"},
            "simple": {"format": "%(asctime)s - %(levelname)s - %(message)s"},
            "detailed": {"format": "%(asctime)s - %(name)s - %(threadName)s - %(levelname)s - "
                                   "%(message)s"},
            "slack": {"format": "%(message)s"},
        },
        "handlers": {
            "info_file_handler": {
                "class": "logging.handlers.TimedRotatingFileHandler", "level": "INFO",
                "when": "midnight", "utc": False, "formatter": "detailed",
                "filename": str(log_dir / "info.log"), "encoding": "utf8",
            },
            "alert_slack_handler": {
                "class": "src.slack_log_handler.SlackLogHandler", "api_key": SEED_TOKEN,
                "level": "WARNING", "formatter": "slack", "channel": "#general",
                "fail_silent": True,
            },
        },
        "loggers": {
            "jibe.provider": {"level": "INFO", "handlers": ["alert_slack_handler"],
                              "propagate": True},
        },
        "root": {"level": "INFO", "handlers": ["info_file_handler"]},
    }


def write(path: Path, config: dict[str, Any]) -> None:
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")


def slack_texts(slack: SlackStandIn, channel: str) -> list[str]:
    return [block["text"]["text"] for m in slack.messages(channel) for a in m.attachments
            for block in a["blocks"] if block["type"] == "section"]


def close_all() -> None:
    """Close every handler as the interpreter's exit does (delivering), then reset logging."""
    logging.shutdown()
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})


@pytest.fixture
def seed_slack(monkeypatch: pytest.MonkeyPatch) -> Any:
    with SlackStandIn(tokens=(SEED_TOKEN, TOKEN), post_rate_per_sec=1000, post_burst=1000) as s:
        monkeypatch.setenv("JIBE_SLACK_BASE_URL", s.base_url)
        yield s


class TestSeedConfig:
    """The seed's config, written exactly as documented, loads and routes records."""

    def test_routes_warning_to_file_and_slack_info_to_file(
            self, tmp_path: Path, seed_slack: SlackStandIn) -> None:
        """A jibe.provider.sync WARNING reaches file and Slack; an INFO only the file."""
        path = tmp_path / "logging.json"
        write(path, seed_config(tmp_path / "logs"))
        with pytest.warns(JibeDeprecationWarning, match="src.slack_log_handler"):
            watcher = configure(path, watch_interval=0)
        sync = logging.getLogger("jibe.provider.sync")
        sync.warning("Providers Sync Delayed: %s", ["Eng Cloud - 4 days, ReSync Running"])
        sync.info("Provider ReSync Found (Started Completed '2020-07-01 18:22:39 UTC') - Eng Cloud")
        close_all()
        watcher.stop()
        lines = (tmp_path / "logs" / "info.log").read_text(encoding="utf8").splitlines()
        assert len(lines) == 2
        assert " - jibe.provider.sync - MainThread - WARNING - Providers Sync Delayed: " in lines[0]
        assert slack_texts(seed_slack, "general") == [
            "Providers Sync Delayed: ['Eng Cloud - 4 days, ReSync Running']"]

    @pytest.mark.filterwarnings("ignore::jibe_alerts.config_file.JibeDeprecationWarning")
    def test_broken_file_at_start_raises_clear_error(self, tmp_path: Path) -> None:
        """configure() on a broken file raises ConfigError naming file and key; nothing applied."""
        path = tmp_path / "logging.json"
        config = seed_config(tmp_path)
        config["loggers"]["jibe.provider"]["level"] = "LOUD"
        write(path, config)
        with pytest.raises(ConfigError) as error:
            configure(path, watch_interval=0)
        assert str(path) in str(error.value)
        assert "loggers.jibe.provider.level" in str(error.value)


class TestHotReload:
    """A changed file is applied at the next check; a broken one is reported once."""

    def test_level_and_channel_change_apply(self, tmp_path: Path, seed_slack: SlackStandIn) -> None:
        """Raising the level and moving the channel take effect after check_now().

        (A record still queued at the swap goes out through the new handler; flushing first
        pins "before" to the old channel.)
        """
        path = tmp_path / "logging.json"
        config = seed_config(tmp_path / "logs")
        write(path, config)
        with pytest.warns(JibeDeprecationWarning):
            watcher = configure(path, watch_interval=0)
        log = logging.getLogger("jibe.provider")
        log.warning("before")
        logging._handlers["alert_slack_handler"].flush()  # type: ignore[attr-defined]
        config["handlers"]["alert_slack_handler"]["channel"] = "alerts"
        config["handlers"]["alert_slack_handler"]["level"] = "ERROR"
        write(path, config)
        with pytest.warns(JibeDeprecationWarning):
            assert watcher.check_now() is True
        log.warning("filtered now")
        log.error("after")
        close_all()
        assert slack_texts(seed_slack, "general") == ["before"]
        assert slack_texts(seed_slack, "alerts") == ["after"]

    def test_unchanged_file_is_not_reapplied(self, tmp_path: Path,
                                             seed_slack: SlackStandIn) -> None:
        """Touching the file without changing its content does nothing."""
        path = tmp_path / "logging.json"
        write(path, seed_config(tmp_path / "logs"))
        with pytest.warns(JibeDeprecationWarning):
            watcher = configure(path, watch_interval=0)
        path.touch()
        assert watcher.check_now() is False
        close_all()

    def test_corrupt_file_keeps_old_config_and_logs_once(
            self, tmp_path: Path, seed_slack: SlackStandIn) -> None:
        """Broken JSON: the running config keeps working and one clear error is logged."""
        path = tmp_path / "logging.json"
        write(path, seed_config(tmp_path / "logs"))
        with pytest.warns(JibeDeprecationWarning):
            watcher = configure(path, watch_interval=0)
        errors: list[str] = []

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                errors.append(record.getMessage())

        config_log = logging.getLogger("jibe_alerts.config")
        config_log.addHandler(Collect())
        path.write_text('{"version": 1, "handlers": {', encoding="utf-8")
        assert watcher.check_now() is False
        assert watcher.check_now() is False  # same broken content: no second error
        logging.getLogger("jibe.provider").warning("still delivered")
        close_all()
        assert len(errors) == 1
        assert str(path) in errors[0] and "not valid JSON" in errors[0]
        assert "stays in place" in errors[0]
        assert slack_texts(seed_slack, "general") == ["still delivered"]
        lines = (tmp_path / "logs" / "info.log").read_text(encoding="utf8")
        assert "still delivered" in lines

    @pytest.mark.filterwarnings("ignore::jibe_alerts.config_file.JibeDeprecationWarning")
    def test_watcher_thread_applies_changes(self, tmp_path: Path, seed_slack: SlackStandIn) -> None:
        """With a short interval the watcher applies a change by itself."""
        path = tmp_path / "logging.json"
        config = seed_config(tmp_path / "logs")
        write(path, config)
        with pytest.warns(JibeDeprecationWarning):
            watcher = configure(path, watch_interval=0.05)
        try:
            config["loggers"]["jibe.provider"]["level"] = "ERROR"
            write(path, config)
            deadline = time.monotonic() + 5
            while logging.getLogger("jibe.provider").level != logging.ERROR:
                assert time.monotonic() < deadline, "watcher did not apply the change"
                time.sleep(0.02)
            assert watcher.reloads == 1
        finally:
            watcher.stop()
            close_all()


class TestNothingLost:
    """Records logged while the config is swapped again and again all arrive."""

    def test_no_record_lost_across_reloads(self, tmp_path: Path, seed_slack: SlackStandIn) -> None:
        """A thread logs 3,000 records during 10 reloads: file and Slack each get all of them."""
        path = tmp_path / "logging.json"
        config = seed_config(tmp_path / "logs")
        config["handlers"]["alert_slack_handler"]["class"] = "jibe_alerts.SlackLogHandler"
        config["handlers"]["alert_slack_handler"]["post_interval"] = 0
        write(path, config)
        watcher = configure(path, watch_interval=0)
        total = 3000
        done = threading.Event()

        def produce() -> None:
            log = logging.getLogger("jibe.provider.sync")
            for i in range(total):
                log.warning("record %d", i)
                if i % 100 == 0:
                    time.sleep(0.001)
            done.set()

        producer = threading.Thread(target=produce)
        producer.start()
        reloads = 0
        while not done.is_set() or reloads < 10:
            config["formatters"]["detailed"]["format"] += " "
            write(path, config)
            assert watcher.check_now() is True
            reloads += 1
        producer.join()
        close_all()
        lines = (tmp_path / "logs" / "info.log").read_text(encoding="utf8").splitlines()
        logged = {int(line.split("record ")[1]) for line in lines if "WARNING - record" in line}
        assert logged == set(range(total))
        delivered = slack_texts(seed_slack, "general")
        assert sorted(int(t.split()[-1]) for t in delivered) == list(range(total))


class TestToggleByReload:
    """Switching a logger off in the file takes effect on reload; files keep every record."""

    def test_disable_sync_logger_in_file(self, tmp_path: Path, seed_slack: SlackStandIn) -> None:
        """jibe.provider.sync off after reload: its records reach the file, not the digest."""
        path = tmp_path / "logging.json"
        config = seed_config(tmp_path / "logs")
        config["handlers"]["alert_slack_handler"] = {
            "class": "jibe_alerts.SlackDigestHandler", "api_key": SEED_TOKEN,
            "channel": "#general", "level": "WARNING", "group_wait": 0.2,
            "group_interval": 0.2, "flush_interval": 0.05}
        write(path, config)
        watcher = configure(path, watch_interval=0)
        sync = logging.getLogger("jibe.provider.sync")
        sync.warning("before the toggle %d", 1)
        config["handlers"]["alert_slack_handler"]["loggers"] = {
            "jibe.provider.sync": {"enabled": False}}
        write(path, config)
        assert watcher.check_now() is True
        sync.warning("after the toggle %d", 2)
        logging.getLogger("jibe.provider").warning("provider still on %d", 3)
        close_all()
        digests = "\n".join(b["text"]["text"] for m in seed_slack.messages("general")
                            for b in m.blocks if b["type"] == "section")
        assert "after the toggle 2" not in digests
        assert "provider still on 3" in digests
        lines = (tmp_path / "logs" / "info.log").read_text(encoding="utf8")
        assert "before the toggle 1" in lines and "after the toggle 2" in lines
