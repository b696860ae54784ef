"""jibe-alerts: calm, grouped Slack digests from Python logging."""
