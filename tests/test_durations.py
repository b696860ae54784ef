"""Durations in config: numbers and unit strings, and their human form."""

from __future__ import annotations

import pytest

from jibe_alerts.durations import format_duration, parse_duration


class TestParseDuration:
    """parse_duration accepts seconds and unit strings, and explains bad values."""

    @pytest.mark.parametrize(("value", "seconds"), [
        (30, 30.0), (2.5, 2.5), ("45", 45.0), ("30s", 30.0), ("5m", 300.0), ("4h", 14400.0),
        ("1d", 86400.0), ("1h30m", 5400.0), ("250ms", 0.25), (" 2 m ", 120.0), ("1w", 604800.0),
    ])
    def test_valid(self, value: object, seconds: float) -> None:
        """Each accepted form gives the right number of seconds."""
        assert parse_duration(value) == seconds

    @pytest.mark.parametrize("value", ["soon", "", "5 minutes", "-3s", -1, True, None, [1],
                                       float("inf"), "1h-30m"])
    def test_invalid(self, value: object) -> None:
        """Anything else is a ValueError that shows a valid example."""
        with pytest.raises(ValueError, match="30"):
            parse_duration(value)


class TestFormatDuration:
    """format_duration gives short human durations."""

    @pytest.mark.parametrize(("seconds", "text"), [
        (0, "0s"), (45, "45s"), (300, "5m"), (310, "5m 10s"), (15120, "4h 12m"), (3600, "1h"),
        (183600, "2d 3h"), (86400, "1d"),
    ])
    def test_forms(self, seconds: float, text: str) -> None:
        """Seconds, minutes, hours and days read naturally."""
        assert format_duration(seconds) == text
