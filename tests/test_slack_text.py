"""Escaping and truncating log text for Slack."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from jibe_alerts.slack_text import code_block, escape, safe_str, truncate


class TestEscape:
    """Log text can never become a link, a mention or a broadcast."""

    def test_entities(self) -> None:
        """&, < and > become entities; nothing else changes."""
        assert escape("a & b <c> d") == "a &amp; b &lt;c&gt; d"

    def test_mentions_and_broadcasts(self) -> None:
        """<!channel>, <@U1> and plain @here/@channel/@everyone cannot ping."""
        text = escape("<!channel> <@U1> @here @Channel @everyone x@here.com")
        assert "<" not in text
        for word in ("@here", "@Channel", "@everyone"):
            assert word not in text
        assert "@\u2060here" in text

    def test_surrogates_and_nul(self) -> None:
        """Lone surrogates and NULs are replaced so the text always encodes."""
        assert safe_str("a\udcffb\x00c").encode("utf-8")
        assert escape("a\ud800b").encode("utf-8")

    @given(st.text())
    def test_never_leaves_markup(self, text: str) -> None:
        """For any text, the escaped form has no < or > and encodes as UTF-8."""
        escaped = escape(text)
        assert "<" not in escaped and ">" not in escaped
        escaped.encode("utf-8")


class TestTruncate:
    """Truncation keeps limits and never splits an entity."""

    def test_short_text_unchanged(self) -> None:
        """Text within the limit is returned as is."""
        assert truncate("abc", 3) == "abc"

    def test_cut_with_marker(self) -> None:
        """Longer text is cut to the limit, ending in an ellipsis."""
        assert truncate("abcdef", 4) == "abc…"

    def test_does_not_split_entity(self) -> None:
        """A cut in the middle of &amp; drops the partial entity."""
        text = truncate(escape("aaaa&"), 7)
        assert text == "aaaa…"

    def test_code_block_keeps_the_end(self) -> None:
        """A long traceback keeps its last lines and stays within the limit."""
        block = code_block("start\n" + "x" * 5000 + "\nValueError: the end", 300)
        assert len(block) <= 300
        assert block.endswith("ValueError: the end\n```")
        assert block.startswith("```\n…")

    def test_code_block_cannot_close_early(self) -> None:
        """Backticks inside the text cannot end the code block."""
        assert code_block("a ``` b", 100).count("```") == 2
