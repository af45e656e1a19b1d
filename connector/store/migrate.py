"""Apply and inspect Alembic migrations programmatically (`healthscore db upgrade|downgrade|current`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from connector.store.db import get_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> str | None:
    """Upgrade the database to `revision`; returns the revision it is at afterwards."""
    command.upgrade(alembic_config(url), revision)
    return current(url)


def downgrade(url: str, revision: str = "base") -> str | None:
    command.downgrade(alembic_config(url), revision)
    return current(url)


def current(url: str) -> str | None:
    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def between(before: str | None, after: str | None) -> list[tuple[str, str]]:
    """(revision, its description) of each revision above `before` up to `after`, oldest first: what an
    upgrade from `before` to `after` applied."""
    if after is None or after == before:
        return []
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    revs = script.iterate_revisions(after, before or "base")
    return [(r.revision, " ".join((r.doc or "").split())) for r in reversed(list(revs))]


def revisions() -> set[str]:
    """Every revision this code knows (a database at another one was migrated by a newer version)."""
    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()}
