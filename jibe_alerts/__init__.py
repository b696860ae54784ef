"""jibe-alerts: calm, grouped Slack digests from Python logging.

Public API:

* :class:`SlackLogHandler` — the per-record Slack handler (the original Jibe handler, done right);
* :class:`SlackDigestHandler` — groups records in a window and posts updating digests;
* :class:`InteractionServer` — the Slack endpoint (acknowledge, mute, /jibe) run in-process;
* :func:`configure` — apply a JSON dictConfig file and re-apply it when it changes;
* :class:`ConfigError` — what :func:`configure` and ``jibe-alerts check`` report.
"""

from jibe_alerts.config_errors import ConfigError, ConfigProblem
from jibe_alerts.digest_handler import SlackDigestHandler
from jibe_alerts.reload import ConfigWatcher, apply_config, configure
from jibe_alerts.serve import InteractionServer
from jibe_alerts.slack_handler import SlackLogHandler

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "ConfigWatcher",
    "InteractionServer",
    "SlackDigestHandler",
    "SlackLogHandler",
    "apply_config",
    "configure",
]
__version__ = "0.1.0"
