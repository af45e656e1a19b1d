"""`healthscore …`: the command line. Each command group lives in connector/commands/<name>.py and exposes
`COMMAND`; this module only builds the root group, loads settings once and registers the groups."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from importlib.metadata import PackageNotFoundError, version

import click

from connector import commands
from connector.config import ConfigError, Settings, load_settings
from connector.logs import configure_logging


def _version() -> str:
    try:
        return version("healthscore")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0.0.0+src"


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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(_version(), prog_name="healthscore")
@click.pass_context
def main(ctx: click.Context) -> None:
    """healthscore: customer health scores from Salesforce, HubSpot and Zendesk, written back into your CRM.

    Start with `healthscore demo` (embedded sandboxes + SQLite). Settings come from instance/healthscore.cfg
    and HEALTHSCORE_* environment variables; see README.md.
    """
    ctx.obj = LazySettings()


def _register() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"connector.commands.{info.name}")
        command = getattr(module, "COMMAND", None)
        if isinstance(command, click.Command):
            main.add_command(command)
        for extra in getattr(module, "COMMANDS", ()):  # modules with several top-level commands
            main.add_command(extra)


_register()
