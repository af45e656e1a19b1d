"""Settings for commands, loaded lazily so `--help` works even when the configuration is broken."""

from __future__ import annotations

import sys

import click

from connector.config import ConfigError, Settings, load_settings
from connector.logs import configure_logging


class LazySettings:
    """Loads settings on first use so `--help` works even when the configuration is broken."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    def get(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings()
            except ConfigError as exc:
                click.echo(str(exc), err=True)
                click.echo(
                    "Fix the settings above (instance/healthscore.cfg or HEALTHSCORE_* variables).", err=True
                )
                sys.exit(2)
            configure_logging(self._settings.log_format, self._settings.log_level)
        return self._settings


def settings_from(ctx: click.Context) -> Settings:
    """The validated settings for a command (exit code 2 with every problem listed when invalid)."""
    lazy = ctx.find_object(LazySettings)
    if lazy is None:  # invoked outside the root group (tests of one group)
        lazy = LazySettings()
        ctx.obj = lazy
    return lazy.get()
