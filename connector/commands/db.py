"""`healthscore db`: apply and inspect schema migrations."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

import click

from connector.commands.context import settings_from
from connector.commands.output import emit, fail
from connector.store import migrate


@click.group("db")
def COMMAND() -> None:  # noqa: N802 - the registry looks for this name
    """Database schema: upgrade to the latest revision, or inspect/downgrade."""


@COMMAND.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.option("--verbose", is_flag=True, help="Also show Alembic's own log lines.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def upgrade(ctx: click.Context, revision: str, verbose: bool, as_json: bool) -> None:
    """Create or upgrade the database schema (safe to run repeatedly): one line per revision applied."""
    settings = settings_from(ctx)
    with _alembic_quiet(not verbose):
        before = migrate.current(settings.sqlalchemy_url)
        after = migrate.upgrade(settings.sqlalchemy_url, revision)
    applied = migrate.between(before, after) if after in migrate.revisions() else []
    if not as_json:
        for rev, doc in applied:
            click.echo(f"applied {rev} — {_short(doc)}" if doc else f"applied {rev}")
    emit(
        {
            "revision": after,
            "previous": before,
            "applied": [{"revision": rev, "description": doc} for rev, doc in applied],
            "head": migrate.head(),
            "database": _safe(settings.sqlalchemy_url),
        },
        as_json,
        f"database already current at revision {after}"
        if after == before
        else f"database at revision {after} (was {before or 'empty'})",
    )


def _short(text: str, limit: int = 100) -> str:
    """A revision's description on one terminal line (some run to a paragraph)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@contextlib.contextmanager
def _alembic_quiet(quiet: bool) -> Iterator[None]:
    """Alembic logs at INFO ("Context impl SQLiteImpl.", "Running upgrade 0001 -> 0002, …") through our
    root handler; the command says what it applied in its own words instead. --verbose shows them whatever
    the log level (the root logger's level does not filter what a child logger passes to its handlers)."""
    alembic = logging.getLogger("alembic")
    level = alembic.level
    alembic.setLevel(logging.WARNING if quiet else logging.INFO)
    try:
        yield
    finally:
        alembic.setLevel(level)


@COMMAND.command("current")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def current(ctx: click.Context, as_json: bool) -> None:
    """Show the database's revision, the code's head revision and what to do (state: current, empty,
    behind or newer)."""
    settings = settings_from(ctx)
    rev = migrate.current(settings.sqlalchemy_url)
    head = migrate.head()
    if rev == head:
        state, advice = "current", "up to date"
    elif rev is None:
        state, advice = "empty", "empty: run `healthscore db upgrade`"
    elif rev in migrate.revisions():
        state, advice = "behind", "behind: run `healthscore db upgrade`"
    else:
        state, advice = "newer", "migrated by a newer healthscore: run that version, or upgrade this one"
    emit({"revision": rev, "head": head, "state": state}, as_json, f"revision {rev} (head {head}): {advice}")


@COMMAND.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask: the tables and columns removed lose their data.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def downgrade(ctx: click.Context, revision: str, yes: bool, as_json: bool) -> None:
    """Downgrade the schema to REVISION ("base" drops everything, data included).

    \b
    Example:
      healthscore db current                # where it is
      healthscore db downgrade 0011 --yes   # back to revision 0011
    """
    settings = settings_from(ctx)
    if not yes:
        where = _safe(settings.sqlalchemy_url)
        if not sys.stdin.isatty():
            fail(
                f"not downgrading {where} without confirmation: the tables and columns it removes lose their data",
                f"back the database up, then run `healthscore db downgrade {revision} --yes`",
                code=2,
            )
        click.confirm(
            f"Downgrade {where} to {revision}? Removed tables and columns lose their data", abort=True
        )
    now = migrate.downgrade(settings.sqlalchemy_url, revision)
    emit({"revision": now}, as_json, f"database at revision {now or 'base (no tables)'}")


def _safe(url: str) -> str:
    """The URL without a password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return url
