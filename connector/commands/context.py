"""Settings for commands, loaded lazily so `--help` works even when the configuration is broken."""

from __future__ import annotations

import logging
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


def settings_from(ctx: click.Context, *, schema: bool = False) -> Settings:
    """The validated settings for a command (exit code 2 with every problem listed when invalid).

    With `schema=True` (every command that reads or writes the store) the database must be at this code's
    schema revision: an empty database, an older schema or one migrated by a newer healthscore stops the command
    with what to do, before anything is read or written."""
    lazy = ctx.find_object(LazySettings)
    if lazy is None:  # invoked outside the root group (tests of one group)
        lazy = LazySettings()
        ctx.obj = lazy
    settings = lazy.get()
    if schema:
        check_schema(settings.sqlalchemy_url)
    return settings


_CHECKED: set[str] = set()


def check_schema(url: str) -> None:
    """Exit 2 with a hint unless the database at `url` is at the code's head revision (checked once per
    process and URL). A database error reaching it is left to the root group's message."""
    if url in _CHECKED:
        return
    from connector.store import migrate

    quiet = logging.getLogger("alembic.runtime.migration")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # not "Context impl SQLiteImpl." before every command's output
    try:
        current = migrate.current(url)
    finally:
        quiet.setLevel(level)
    head = migrate.head()
    if current == head:
        _CHECKED.add(url)
        return
    if current is None:
        _stop(
            "the database has no healthscore tables yet",
            "run `healthscore db upgrade` (or `healthscore demo`), or check HEALTHSCORE_DATABASE_URL",
        )
    if current not in migrate.revisions():
        _stop(
            f"the database's schema is at revision {current}, which this healthscore does not know (its newest "
            f"is {head}): a newer healthscore migrated it, and this one would read or write it wrongly",
            "run the healthscore version that migrated it, or point HEALTHSCORE_DATABASE_URL at another database",
        )
    _stop(
        f"the database's schema is at revision {current}; this healthscore needs {head}",
        "run `healthscore db upgrade` (it keeps your data)",
    )


def _stop(message: str, hint: str) -> None:
    click.echo(f"error: {message}", err=True)
    click.echo(f"hint: {hint}", err=True)
    sys.exit(2)
