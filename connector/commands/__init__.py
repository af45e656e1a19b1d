"""CLI command groups; each module exposes COMMAND and is registered by connector.cli."""
