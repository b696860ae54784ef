"""The subcommands of ``jibe-alerts`` (one module each)."""
