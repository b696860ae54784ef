"""Validation before apply: each problem names its key path and a fix."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from jibe_alerts.config_check import check_config, find_problems
from jibe_alerts.config_errors import ConfigError
from jibe_alerts.config_file import load_config

SHIPPED = Path(__file__).resolve().parent.parent / "config" / "logging.json"


def shipped() -> dict[str, Any]:
    return load_config(SHIPPED, environ={"SLACK_BOT_TOKEN": "xoxb-1"})


def problems_of(config: dict[str, Any]) -> list[str]:
    return [p.describe() for p in find_problems(config)]


class TestCheck:
    """Problems found in dictConfigs, with fixes."""

    def test_shipped_config_is_valid(self) -> None:
        """The config we ship has no problems."""
        assert find_problems(shipped()) == []

    def test_unknown_class(self) -> None:
        """A handler class that cannot be imported is named at its key."""
        config = shipped()
        config["handlers"]["slack_handler"]["class"] = "jibe_alerts.NoSuchHandler"
        (problem,) = problems_of(config)
        assert problem.startswith("handlers.slack_handler.class: cannot import")

    def test_missing_required_option(self) -> None:
        """A Slack handler without channel says which option and how to write it."""
        config = shipped()
        del config["handlers"]["slack_handler"]["channel"]
        (problem,) = problems_of(config)
        assert "handlers.slack_handler.channel" in problem
        assert 'add "channel": "#alerts"' in problem

    def test_misspelt_option_gets_suggestion(self) -> None:
        """A typo in an option name suggests the right one."""
        config = shipped()
        config["handlers"]["slack_handler"]["chanel"] = "#x"
        assert any('did you mean "channel"' in p for p in problems_of(config))

    def test_bad_level(self) -> None:
        """A level that does not exist lists the valid ones."""
        config = shipped()
        config["loggers"]["jibe.provider"]["level"] = "WARN1NG"
        (problem,) = problems_of(config)
        assert problem.startswith("loggers.jibe.provider.level: 'WARN1NG' is not a log level")

    def test_bad_duration_and_channel(self) -> None:
        """Option values are checked by the handler class itself."""
        config = shipped()
        config["handlers"]["alert_slack_handler"]["group_wait"] = "soon"
        config["handlers"]["alert_slack_handler"]["channel"] = "Not A Channel"
        found = problems_of(config)
        assert any(p.startswith("handlers.alert_slack_handler.group_wait") for p in found)
        assert any(p.startswith("handlers.alert_slack_handler.channel") for p in found)

    def test_undefined_references(self) -> None:
        """Loggers and handlers naming things that are not defined are reported."""
        config = shipped()
        config["loggers"]["jibe.bucket"]["handlers"] = ["slack_handlr"]
        config["handlers"]["console"]["formatter"] = "fancy"
        found = problems_of(config)
        assert any('did you mean "slack_handler"' in p for p in found)
        assert any("formatter 'fancy'" in p for p in found)

    def test_logger_filter_must_exist(self) -> None:
        """A logger naming an undefined filter is reported at its key."""
        config = shipped()
        config["loggers"]["jibe.bucket"]["filters"] = ["nope"]
        (problem,) = problems_of(config)
        assert problem.startswith("loggers.jibe.bucket.filters: names a filter 'nope'")

    def test_bad_format_string(self) -> None:
        """A broken %-format is caught before dictConfig sees it."""
        config = shipped()
        config["formatters"]["simple"]["format"] = "%(message) without a conversion"
        assert any(p.startswith("formatters.simple.format") for p in problems_of(config))

    def test_unknown_top_level_key(self) -> None:
        """A misspelt section is reported, not ignored."""
        config = shipped()
        config["handler"] = {}
        assert any('did you mean "handlers"' in p for p in problems_of(config))

    def test_secret_never_in_errors(self) -> None:
        """An error about a handler with a token never prints the token."""
        config = copy.deepcopy(shipped())
        config["handlers"]["slack_handler"]["api_key"] = "xoxb-999-very-secret"
        config["handlers"]["slack_handler"]["channel"] = "!!"
        with pytest.raises(ConfigError) as error:
            check_config(config, source="x.json")
        assert "very-secret" not in str(error.value)
        assert "x.json" in str(error.value)
