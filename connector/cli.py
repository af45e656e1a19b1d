"""`healthscore …`: the command line. Each command group lives in connector/commands/<name>.py and exposes
`COMMAND`; this module only builds the root group, loads settings once and registers the groups."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pkgutil
import re
import signal
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


_CREDENTIALS = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def _driver_message(exc: BaseException) -> str:
    """The database driver's own first line (e.g. 'connection refused', 'file is not a database'), with any
    password in a URL it quotes masked."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return _CREDENTIALS.sub(r"\1***@", first)[:300]


def _database_problem(exc: BaseException) -> tuple[str, str]:
    detail = _driver_message(exc)
    low = detail.lower()
    if "no such table" in low or ("relation" in low and "does not exist" in low):
        return (
            f"the database has no healthscore tables yet ({detail})",
            "run `healthscore db upgrade` (or `healthscore demo`), or check HEALTHSCORE_DATABASE_URL",
        )
    if "not a database" in low or "malformed" in low:
        return (
            f"the database file is not a healthscore SQLite database ({detail})",
            "point HEALTHSCORE_DATABASE_URL at a new path (then `healthscore db upgrade`) or at the right file",
        )
    if "database is locked" in low:
        return (
            f"another healthscore process is writing to this SQLite database ({detail})",
            "wait for it to finish and run the command again; for concurrent work use PostgreSQL",
        )
    if "readonly" in low or "read-only" in low or "unable to open" in low:
        return (
            f"the SQLite database cannot be written ({detail})",
            "check the permissions of the file and its folder, or set HEALTHSCORE_DATABASE_URL",
        )
    missing = re.search(r'database "([^"]+)" does not exist', detail)
    if missing:
        return (
            f"the database {missing.group(1)} does not exist on that server ({detail})",
            f"create it (`createdb {missing.group(1)}` on the server, or psql -c 'CREATE DATABASE "
            f'"{missing.group(1)}"\'), then run `healthscore db upgrade`; or fix the name in HEALTHSCORE_DATABASE_URL',
        )
    if "password authentication failed" in low or re.search(r'role "[^"]+" does not exist', low):
        return (
            f"the database server refused the user ({detail})",
            "fix the user and password in HEALTHSCORE_DATABASE_URL (postgresql://USER:PASSWORD@HOST:5432/DB)",
        )
    if any(
        word in low
        for word in ("connection refused", "resolve host", "translate host", "timeout", "timed out")
    ):
        return (
            f"the database is not reachable ({detail})",
            "start the database server (`make services` starts the local PostgreSQL and Redis) or fix the host "
            "and port in HEALTHSCORE_DATABASE_URL",
        )
    return (
        f"the database is not reachable or not set up ({detail})",
        "check HEALTHSCORE_DATABASE_URL (server up? user, password, database name?) and run `healthscore db upgrade`",
    )


def explain(exc: BaseException) -> tuple[str, str]:
    """(message, hint) for an error no command handled itself: what went wrong and what to do next."""
    from alembic.util.exc import CommandError
    from requests import RequestException
    from sqlalchemy.exc import DBAPIError

    from connector.demo.emulator import EmulatorUnavailableError

    if isinstance(exc, EmulatorUnavailableError):
        return str(
            exc
        ), "start it with `healthscore sandbox serve` (or `healthscore demo`), or leave out --sandbox"
    if isinstance(exc, DBAPIError):
        return _database_problem(exc)
    if isinstance(exc, CommandError) and "Can't locate revision" in str(exc):
        return (
            f"the database's schema revision is unknown to this healthscore ({exc}): a newer healthscore "
            "migrated it, or the revision given does not exist",
            "run the healthscore version that migrated it (or give a revision `healthscore db current` "
            "lists), or point HEALTHSCORE_DATABASE_URL at another database",
        )
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start})",
            "check the file the command was given (save it as UTF-8), or leave that option out",
        )
    if isinstance(exc, RequestException):
        return (
            f"a vendor or service did not answer ({type(exc).__name__})",
            "check the network and the installation's URL, then retry",
        )
    if isinstance(exc, OSError):
        if exc.strerror:
            return f"{exc.strerror}: {exc.filename or ''}".strip(": "), "check the path and its permissions"
        return f"{type(exc).__name__}: {exc}", "check the path and its permissions"
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


# What a new user types first, shown at the end of each command's --help (commands whose docstring has its
# own "Example:" keep theirs). tests/connector/test_cli.py checks every command has one.
EXAMPLES: dict[str, list[str]] = {
    "backtest": [
        "healthscore backtest --tenant northwind",
        "healthscore backtest --as-of 2026-06-01 --horizon 90d --json",
    ],
    "db current": ["healthscore db current --json"],
    "db upgrade": [
        "healthscore db upgrade",
        "HEALTHSCORE_DATABASE_URL=postgresql://hs@db:5432/hs healthscore db upgrade",
    ],
    "demo": ["healthscore demo", "healthscore demo --no-serve --json --accounts 100 --history-days 0"],
    "embed package-zendesk": [
        "healthscore embed package-zendesk --api-url https://health.example.com --out sidebar.zip"
    ],
    "fields ensure": ["healthscore fields ensure --tenant northwind"],
    "keys generate": ['export HEALTHSCORE_TOKEN_KEYS="$(healthscore keys generate),$HEALTHSCORE_TOKEN_KEYS"'],
    "keys rotate": ["healthscore keys rotate --json"],
    "link confirm": [
        "healthscore link confirm --tenant northwind --organization 370000052 --account 001A000001"
    ],
    "link report": ["healthscore link report --tenant northwind", "healthscore link report --relink --json"],
    "model distil-loso": ["healthscore model distil-loso --layers 0,2,4 --loso-domain tickets"],
    "model evaluate": ["healthscore model evaluate --no-loso --test-cap 200"],
    "model export": ["healthscore model export --force"],
    "model train": [
        "healthscore model train --steps 320 --seed 13",
        "healthscore model train --frozen --no-export",
    ],
    "run": ["healthscore run", "healthscore run --tenant northwind --json"],
    "sandbox serve": ["healthscore sandbox serve --accounts 500 --port 8700"],
    "sandbox tick": ["healthscore sandbox tick --days 7 --sandbox http://127.0.0.1:8700"],
    "scheduler": ["HEALTHSCORE_SYNC_INTERVAL_MINUTES=15 healthscore scheduler"],
    "score": ["healthscore score --tenant northwind"],
    "sentiment explain": [
        'healthscore sentiment explain "Third outage this week, we are evaluating alternatives."',
        "healthscore sentiment explain - --json < message.txt",
    ],
    "serve": ["healthscore serve --port 5000"],
    "sync": ["healthscore sync", "healthscore sync --tenant northwind --vendor zendesk --full --json"],
    "users create-admin": [
        "healthscore users create-admin --tenant acme --email ana@acme.com --create-tenant Acme",
        "printf '%s' \"$PASSWORD\" | healthscore users create-admin --tenant acme --email ana@acme.com --password-stdin",
    ],
    "users invite": ["healthscore users invite --tenant acme --email bo@acme.com --role viewer"],
    "webhooks add": [
        "healthscore webhooks add https://hooks.example.com/health --tenant acme --events account.band_changed"
    ],
    "webhooks deliver": ["healthscore webhooks deliver --json"],
    "webhooks list": ["healthscore webhooks list --tenant acme"],
    "webhooks rotate": ["healthscore webhooks rotate 3 --tenant acme"],
    "worker": ["HEALTHSCORE_BROKER_URL=redis://127.0.0.1:6379/0 healthscore worker --concurrency 2"],
    "writeback": ["healthscore writeback --dry-run", "healthscore writeback --tenant northwind --json"],
}


def _add_examples(command: click.Command, path: str) -> None:
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            _add_examples(sub, f"{path} {name}".strip())
        return
    lines = EXAMPLES.get(path)
    if lines and "Example" not in (command.help or "") and not command.epilog:
        command.epilog = "\b\nExample:\n" + "\n".join(f"  {line}" for line in lines)


def _register() -> None:
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"connector.commands.{info.name}")
        command = getattr(module, "COMMAND", None)
        if isinstance(command, click.Command):
            main.add_command(command)
        for extra in getattr(module, "COMMANDS", ()):  # modules with several top-level commands
            main.add_command(extra)
    _add_examples(main, "")


def _start() -> None:
    """Register the commands. Their imports take about 2 s; a Ctrl-C then waits for them to finish (one
    interrupted half-way, a C extension's init, fails with ImportError instead of KeyboardInterrupt) and ends
    quietly with 130, not in a traceback."""
    pressed: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, _frame: pressed.append(signum))
    except ValueError:  # imported outside the main thread: no handler to swap
        previous = None
    try:
        _register()
    except KeyboardInterrupt:
        pressed.append(signal.SIGINT)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if pressed:
        sys.stderr.write("\ninterrupted while starting: nothing was done\n")
        sys.exit(130)


_start()


if __name__ == "__main__":  # `python -m connector.cli`
    main()
