"""Reading config files: JSON errors, ${VAR} substitution, the seed's old class path."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from jibe_alerts.config_errors import ConfigError
from jibe_alerts.config_file import JibeDeprecationWarning, load_config, parse_config


class TestParse:
    """JSON problems name the file, the place and the fix."""

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file says so and suggests the shipped config."""
        with pytest.raises(ConfigError) as error:
            load_config(tmp_path / "nope.json")
        assert "nope.json" in str(error.value)
        assert "file not found" in str(error.value)

    def test_bad_json_names_line_and_column(self) -> None:
        """A trailing comma is reported with its line and column and a fix."""
        text = '{\n  "version": 1,\n  "handlers": {},\n}'
        with pytest.raises(ConfigError) as error:
            parse_config(text, source="conf.json")
        message = str(error.value)
        assert "conf.json" in message and "line 4" in message
        assert "Fix:" in message and "Traceback" not in message

    def test_not_an_object(self) -> None:
        """A JSON list is not a dictConfig."""
        with pytest.raises(ConfigError, match="not an object"):
            parse_config("[1, 2]")


class TestSubstitution:
    """${VAR} and ${VAR:-default} are replaced in every string."""

    def test_variables_and_defaults(self) -> None:
        """Set variables are used; defaults fill unset ones; $$ is a literal dollar."""
        config = parse_config(
            '{"a": "${TOKEN}", "b": ["${UNSET:-fallback}"], "c": {"d": "x$${y}"}}',
            environ={"TOKEN": "xoxb-1"},
        )
        assert config == {"a": "xoxb-1", "b": ["fallback"], "c": {"d": "x${y}"}}

    def test_missing_variable_names_key_and_fix(self) -> None:
        """An unset variable without default is an error at its key path."""
        with pytest.raises(ConfigError) as error:
            parse_config('{"handlers": {"slack": {"api_key": "${SLACK_BOT_TOKEN}"}}}',
                         source="f.json", environ={})
        message = str(error.value)
        assert "handlers.slack.api_key" in message
        assert "SLACK_BOT_TOKEN is not set" in message
        assert "export SLACK_BOT_TOKEN" in message

    def test_empty_variable_takes_default(self) -> None:
        """A variable set to the empty string counts as unset (shell semantics of :-)."""
        assert parse_config('{"a": "${E:-d}"}', environ={"E": ""}) == {"a": "d"}


class TestLegacyClassPath:
    """The seed's src.slack_log_handler.SlackLogHandler still loads, with one warning."""

    def test_old_path_maps_with_one_warning(self) -> None:
        """Two handlers with the old path give one deprecation warning."""
        text = """{"handlers": {
            "a": {"class": "src.slack_log_handler.SlackLogHandler"},
            "b": {"class": "src.slack_log_handler.SlackLogHandler"}}}"""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            config = parse_config(text)
        assert config["handlers"]["a"]["class"] == "jibe_alerts.SlackLogHandler"
        assert config["handlers"]["b"]["class"] == "jibe_alerts.SlackLogHandler"
        ours = [w for w in caught if issubclass(w.category, JibeDeprecationWarning)]
        assert len(ours) == 1
        assert "jibe_alerts.SlackLogHandler" in str(ours[0].message)

    def test_shipped_config_parses(self) -> None:
        """config/logging.json parses with only the token set."""
        path = Path(__file__).resolve().parent.parent / "config" / "logging.json"
        config = load_config(path, environ={"SLACK_BOT_TOKEN": "xoxb-1"})
        assert config["handlers"]["slack_handler"]["api_key"] == "xoxb-1"
        assert set(config["loggers"]) == {
            "jibe.bucket", "jibe.provider", "jibe.provider.sync", "jibe.reports",
            "jibe.reports.ProviderReport", "jibe.syncevent"}
