"""`healthscore …`: the command line. Each command group lives in connector/commands/<name>.py and exposes
`COMMAND`; this module only builds the root group, loads settings once and registers the groups."""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import PackageNotFoundError, version

import click

from connector import commands
from connector.commands.context import LazySettings


def _version() -> str:
    try:
        return version("healthscore")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0.0.0+src"


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
