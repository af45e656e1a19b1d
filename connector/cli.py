"""`healthscore …`: the command line. Each command group lives in connector/commands/<name>.py and exposes
`COMMAND`; this module only builds the root group, loads settings once and registers the groups."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pkgutil
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click

from connector import commands
from connector.commands.context import LazySettings


def _version() -> str:
    try:
        return version("healthscore")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0.0.0+src"


logger = logging.getLogger(__name__)


def explain(exc: BaseException) -> tuple[str, str]:
    """(message, hint) for an error no command handled itself: what went wrong and what to do next."""
    from requests import RequestException
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from connector.demo.emulator import EmulatorUnavailableError

    if isinstance(exc, EmulatorUnavailableError):
        return str(
            exc
        ), "start it with `healthscore sandbox serve` (or `healthscore demo`), or leave out --sandbox"
    if isinstance(exc, OperationalError | ProgrammingError):
        return (
            f"the database is not reachable or not set up ({type(exc.orig or exc).__name__})",
            "check HEALTHSCORE_DATABASE_URL and run `healthscore db upgrade`",
        )
    if isinstance(exc, RequestException):
        return (
            f"a vendor or service did not answer ({type(exc).__name__})",
            "check the network and the installation's URL, then retry",
        )
    if isinstance(exc, OSError):
        return f"{exc.strerror or type(exc).__name__}: {exc.filename or ''}".strip(
            ": "
        ), "check the path and its permissions"
    return (
        f"{type(exc).__name__}: {exc}",
        "rerun with HEALTHSCORE_LOG_LEVEL=DEBUG for details, or report it with that output",
    )


class Root(click.Group):
    """The root group: an error no command handled becomes one message, a hint and exit code 2 (never a
    traceback); the traceback goes to the log at DEBUG."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # Ctrl-C: every step commits whole transactions (cursors with their records), so what is stored
            # is consistent and the next run carries on; exit 130 as shells expect, not click's "Aborted!" 1.
            click.echo("", err=True)
            click.echo("interrupted: stopped before finishing; what was already committed is kept", err=True)
            click.echo(
                "hint: run the same command again to finish (it carries on where it stopped)", err=True
            )
            sys.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except BrokenPipeError:
            # The reader went away (`healthscore … | head`): stop quietly as Unix tools do, and point stdout
            # at /dev/null so the interpreter's last flush does not print a second error.
            with contextlib.suppress(OSError, ValueError):  # no real stdout (tests)
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except Exception as exc:  # the last line of defence for every command
            logger.debug("command failed", exc_info=True)
            message, hint = explain(exc)
            click.echo(f"error: {message}", err=True)
            click.echo(f"hint: {hint}", err=True)
            sys.exit(2)


@click.group(cls=Root, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


if __name__ == "__main__":  # `python -m connector.cli`
    main()
