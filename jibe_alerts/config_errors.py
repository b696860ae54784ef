"""Config problems a person can act on: which file, which key, what is wrong, how to fix it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jibe_alerts.secrets import redact

__all__ = ["ConfigError", "ConfigProblem"]


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config file, at ``key`` (a dotted path such as ``handlers.x.level``)."""

    key: str
    problem: str
    fix: str

    def describe(self) -> str:
        """Return the problem as one readable line (secrets redacted)."""
        where = self.key or "(top level)"
        return redact(f"{where}: {self.problem}. Fix: {self.fix}")


class ConfigError(ValueError):
    """A config file cannot be used; ``str()`` names the file, each key, and the fix."""

    def __init__(self, source: str, problems: Sequence[ConfigProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = [f"invalid logging config {source}:"]
        lines += [f"  - {p.describe()}" for p in self.problems]
        super().__init__("\n".join(lines))
